"""Token requests, one builder per grant (RFC 6749 §4.1.3, §6, §4.4; RFC 8693; RFC 7009).

Each builder returns a `TokenRequest`: the form body, the headers (client authentication included)
and the secret values it carries, so an error message can be scrubbed of them. Revealing a
`Secret` happens here and only here: this is the HTTP boundary. Encoding is Authlib's
(`prepare_token_request`, `ClientAuth`), so this module reads as Databricks policy.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from authlib.oauth2.rfc7009.parameters import prepare_revoke_token_request

from ..errors import CredentialsMissing
from ..secret import Secret
from .authorize import PendingLogin

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, repr=False)
class TokenRequest:
    grant: str
    body: str = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    sent_secrets: tuple[str, ...] = field(repr=False)
    client_has_secret: bool

    def __repr__(self) -> str:
        return f"TokenRequest(grant={self.grant!r})"


def _client_auth(
    body: str, client_id: str, client_secret: Secret | None
) -> tuple[str, dict[str, str], tuple[str, ...]]:
    """Confidential clients authenticate with HTTP Basic (what Databricks and the sdk use);
    public clients (databricks-cli, PKCE) send only their client_id in the body."""
    headers = {"Content-Type": FORM, "Accept": "application/json"}
    if client_secret:
        auth = ClientAuth(client_id, client_secret.reveal(), "client_secret_basic")
        _, headers, body = auth.prepare("POST", "", headers, body)
        return body, headers, (client_secret.reveal(), headers["Authorization"])
    _, headers, body = ClientAuth(client_id, None, "none").prepare("POST", "", headers, body)
    return body, headers, ()


def _scope(scopes: tuple[str, ...] | list[str]) -> str | None:
    return " ".join(scopes) or None


def authorization_code(
    pending: PendingLogin,
    code: str,
    *,
    client_secret: Secret | None = None,
    scopes: tuple[str, ...] | list[str] = (),
) -> TokenRequest:
    # `scope` is sent on the exchange too, as Databricks' manual U2M flow does (seed 003).
    body = prepare_token_request(
        "authorization_code",
        redirect_uri=pending.redirect_uri,
        code=code,
        code_verifier=pending.verifier.reveal(),
        scope=_scope(scopes),
    )
    body, headers, sent = _client_auth(body, pending.client_id, client_secret)
    return TokenRequest(
        "authorization_code",
        body,
        headers,
        (code, pending.verifier.reveal(), *sent),
        bool(client_secret),
    )


def refresh_token(
    refresh: Secret,
    *,
    client_id: str,
    client_secret: Secret | None = None,
    scopes: tuple[str, ...] | list[str] = (),
) -> TokenRequest:
    kwargs = {"refresh_token": refresh.reveal()}
    if scopes:
        kwargs["scope"] = _scope(scopes) or ""
    body = prepare_token_request("refresh_token", **kwargs)
    body, headers, sent = _client_auth(body, client_id, client_secret)
    return TokenRequest(
        "refresh_token", body, headers, (refresh.reveal(), *sent), bool(client_secret)
    )


def client_credentials(
    *, client_id: str, client_secret: Secret, scopes: tuple[str, ...] | list[str]
) -> TokenRequest:
    body = prepare_token_request("client_credentials", scope=_scope(scopes))
    body, headers, sent = _client_auth(body, client_id, client_secret)
    return TokenRequest("client_credentials", body, headers, sent, True)


def read_subject_token(
    env: str | None, file: str | None, *, environ: Mapping[str, str] | None = None
) -> Secret:
    """The external OIDC token for workload identity federation.

    Read on EVERY exchange, never cached: Kubernetes rewrites projected service-account tokens in
    place (hourly by default) and an old copy would be rejected once it expires.
    """
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CredentialsMissing(
                f"Cannot read the workload identity token file {file} ({type(exc).__name__}).",
                hint="Check DATABRICKS_OIDC_TOKEN_FILEPATH and that the file is mounted.",
            ) from None
        if not text:
            raise CredentialsMissing(
                f"The workload identity token file {file} is empty.",
                hint="Check that the projected token is mounted.",
            )
        return Secret(text)
    if env:
        value = (os.environ if environ is None else environ).get(env, "").strip()
        if not value:
            raise CredentialsMissing(
                f"The environment variable {env} holding the workload identity token is not set.",
                hint=f"Set {env}, or point the connection at a token file.",
            )
        return Secret(value)
    raise CredentialsMissing(
        "This workload identity connection names no token source.",
        hint="Set DATABRICKS_OIDC_TOKEN_ENV or DATABRICKS_OIDC_TOKEN_FILEPATH.",
    )


def token_exchange(
    subject_token: Secret,
    *,
    client_id: str | None,
    scopes: tuple[str, ...] | list[str],
    audience: str | None = None,
) -> TokenRequest:
    """RFC 8693 as Databricks federation expects it: a JWT subject token, `client_id` naming the
    service principal for a service-principal federation policy (omitted for account-wide)."""
    body = prepare_token_request(
        TOKEN_EXCHANGE,
        subject_token=subject_token.reveal(),
        subject_token_type=JWT_TOKEN_TYPE,
        scope=_scope(scopes),
        client_id=client_id,
        audience=audience,
    )
    headers = {"Content-Type": FORM, "Accept": "application/json"}
    return TokenRequest(TOKEN_EXCHANGE, body, headers, (subject_token.reveal(),), False)


def revocation(
    token: Secret, *, client_id: str, client_secret: Secret | None, hint: str
) -> TokenRequest:
    body, _ = prepare_revoke_token_request(token.reveal(), hint)
    body, headers, sent = _client_auth(body, client_id, client_secret)
    return TokenRequest("revocation", body, headers, (token.reveal(), *sent), bool(client_secret))
