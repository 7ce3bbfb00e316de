"""databricks-sdk adapter: a `CredentialsStrategy` whose header factory reads the `TokenCache`.

`import databricks.sdk` takes seconds, so nothing here imports it at module level: the strategy
class is built on first use (`strategy_class()`), when a notebook asks for a client. That keeps
`%load_ext jupyter_dbx_auth` fast.

    w = workspace_client(cache, host)           # WorkspaceClient
    a = account_client(cache, host, account_id) # AccountClient
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Any

from .tokens import TokenCache

AUTH_TYPE = "jupyter-dbx-auth"


@functools.cache
def strategy_class() -> type:
    """`JupyterDbxCredentials`, a `databricks.sdk.credentials_provider.CredentialsStrategy`."""
    from databricks.sdk import oauth
    from databricks.sdk.credentials_provider import CredentialsStrategy, OAuthCredentialsProvider

    class JupyterDbxCredentials(CredentialsStrategy):
        """Headers from the kernel's token cache; the cache refreshes shortly before expiry."""

        def __init__(self, cache: TokenCache) -> None:
            self.cache = cache

        def auth_type(self) -> str:
            return AUTH_TYPE

        def __call__(self, cfg: Any) -> Any:
            cache = self.cache

            def oauth_token() -> Any:
                # For sdk features that want the token object (e.g. data-plane requests).
                tok = cache.token()
                expiry = (
                    datetime.fromtimestamp(tok.expires_at, tz=timezone.utc)
                    if tok.expires_at is not None
                    else None
                )
                return oauth.Token(
                    access_token=tok.access_token.reveal(),
                    token_type=tok.token_type,
                    expiry=expiry,
                )

            # The bound method is the header factory itself: no extra frame per request.
            return OAuthCredentialsProvider(cache.headers, oauth_token)

        def __repr__(self) -> str:
            return f"<JupyterDbxCredentials {self.cache!r}>"

    return JupyterDbxCredentials


def credentials_strategy(cache: TokenCache) -> Any:
    return strategy_class()(cache)


def _config_kwargs(cache: TokenCache, host: str, **extra: Any) -> dict[str, Any]:
    # `auth_type` names our strategy, so DATABRICKS_* variables in the kernel's environment
    # (a token, a client id) cannot make the sdk report "more than one authorization method".
    return {
        "host": host,
        "credentials_strategy": credentials_strategy(cache),
        "auth_type": AUTH_TYPE,
        "product": "jupyter-dbx-auth",
        "product_version": _version(),
        **{k: v for k, v in extra.items() if v is not None},
    }


def config(cache: TokenCache, host: str, **extra: Any) -> Any:
    """A `databricks.sdk.config.Config` carrying the strategy (Databricks Connect takes one)."""
    from databricks.sdk.config import Config

    return Config(**_config_kwargs(cache, host, **extra))


def workspace_client(cache: TokenCache, host: str, **extra: Any) -> Any:
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(**_config_kwargs(cache, host, **extra))


def account_client(cache: TokenCache, host: str, account_id: str, **extra: Any) -> Any:
    from databricks.sdk import AccountClient

    return AccountClient(**_config_kwargs(cache, host, account_id=account_id, **extra))


def _version() -> str:
    from .._version import __version__

    return __version__
