"""One exception hierarchy for the whole client side.

Every error a person can meet carries two parts: what happened (`str(exc)`) and what to do next
(`exc.hint`). Messages never include a token, a refresh token or a secret: build them from names,
hosts and IdP error codes only.
"""

from __future__ import annotations


class DbxAuthError(Exception):
    """Base class. `hint` tells the reader what to do next."""

    default_hint = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip() if self.hint else self.message

    def to_dict(self) -> dict[str, str]:
        """JSON-safe form for API responses and events."""
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class ConfigError(DbxAuthError):
    """A connection, profile or host is malformed, missing or ambiguous."""


class DiscoveryError(DbxAuthError):
    """The workspace's discovery documents could not be read."""

    default_hint = "Check the host URL and that the workspace is reachable from the Jupyter server."


class OAuthError(DbxAuthError):
    """The identity provider refused or failed a request."""

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.error = error
        self.status = status


class LoginRequired(OAuthError):
    """No usable refresh token: the user has to sign in again (U2M)."""

    default_hint = "Sign in again from the Databricks sidebar, the login widget or %dbx_connect."


class ClientSecretRejected(OAuthError):
    """The IdP rejected a service principal's client id or secret (invalid_client)."""

    default_hint = (
        "Check the client id and create a new OAuth secret for the service principal "
        "in the account console, then save it again."
    )


class TransientOAuthError(OAuthError):
    """The IdP kept failing (5xx, 429, connection errors) after bounded retries."""

    default_hint = "Databricks may be unavailable; try again in a minute."


class CredentialsMissing(DbxAuthError):
    """A connection needs a secret or token that is not stored."""


class StoreError(DbxAuthError):
    """The secret store cannot be read or written."""


class NotFound(DbxAuthError):
    """An unknown connection or service principal."""


class BadRequest(DbxAuthError):
    """Input the service cannot act on."""


class TooManyRequests(DbxAuthError):
    """A bound was reached (sign-ins in progress, forced refreshes); try again later."""

    def __init__(self, message: str, *, hint: str | None = None, retry_after: float = 0) -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


# What each error means to an HTTP front end (the server's API, the hub token service), most
# specific first: the first isinstance match decides. One table, so every front end answers alike.
_HTTP_STATUS: tuple[tuple[type[DbxAuthError], int], ...] = (
    (NotFound, 404),
    (BadRequest, 400),  # StateRejected too
    (TooManyRequests, 429),  # TooManyLogins, forced refreshes
    (ConfigError, 400),
    (LoginRequired, 409),
    (CredentialsMissing, 409),
    (ClientSecretRejected, 400),
    (TransientOAuthError, 503),
    (DiscoveryError, 502),
    (OAuthError, 502),
    (StoreError, 503),
    (DbxAuthError, 400),
)


def http_status(exc: BaseException) -> int:
    """The HTTP status for `exc`: a `DbxAuthError` by its kind, anything else 500."""
    return next((code for cls, code in _HTTP_STATUS if isinstance(exc, cls)), 500)
