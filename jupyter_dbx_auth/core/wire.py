"""The kernel API on the wire: names both ends must agree on, in one place.

The server (`server/`) answers and the kernel (`kernel/`) asks; neither imports the other, so the
environment variables, the credential scheme, the routes and the query and reply fields live here.
Nothing here is secret; the values of these variables and headers are.
"""

from __future__ import annotations

from typing import Any

from .connections import Connection
from .oauth.tokens import TokenSet

#: Environment of kernels started by the server: the kernel key, the server's loopback URL, and
#: the token API's unix socket (the fast path), when the server offers one.
ENV_KEY = "JUPYTER_DBX_AUTH_KERNEL_KEY"
ENV_URL = "JUPYTER_DBX_AUTH_SERVER_URL"
ENV_SOCKET = "JUPYTER_DBX_AUTH_TOKEN_SOCKET"

#: `Authorization: DbxKernelKey <key>`. A scheme of its own, so that jupyter-server's identity
#: provider never reads the key as the Jupyter token (`token`/`bearer`), nor the reverse.
SCHEME = "DbxKernelKey"

#: Routes under `{base_url}` (HTTP) and the token route on the unix socket.
API_PREFIX = "dbx-auth/api/"
TOKEN_ROUTE = API_PREFIX + "token"
SOCKET_TOKEN_PATH = "/token"  # noqa: S105 - a path, not a token

#: Query of the token API: `connection`, optionally `client_id` (one of its service principals),
#: and after a 401 from Databricks `refresh=1&rejected=<fingerprint of the refused token>`.
Q_CONNECTION = "connection"
Q_CLIENT_ID = "client_id"
Q_REFRESH = "refresh"
Q_REJECTED = "rejected"

#: Reply fields: `access_token`, `token_type`, `expires_at` (epoch s), `host`, `account_id`,
#: `account`. Errors: `{"message", "hint", "error": <core.errors class name>}`.
TOKEN_FIELDS = ("access_token", "token_type", "expires_at", "host", "account_id", "account")

_SCHEME_LOWER = SCHEME.lower()


def token_reply(conn: Connection, tokens: TokenSet) -> dict[str, Any]:
    """The token API's answer: what a kernel holds of a token (never a refresh token)."""
    return {
        "access_token": tokens.access_token.reveal(),
        "token_type": tokens.token_type,
        "expires_at": tokens.expires_at,
        "host": conn.host,
        "account_id": conn.account_id,
        "account": conn.account,
    }


def presented_key(authorization: str | None) -> str | None:
    """The key in an `Authorization: DbxKernelKey <key>` header, else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != _SCHEME_LOWER:
        return None
    return value.strip()


def kernel_key_header(key: str) -> str:
    return f"{SCHEME} {key}"
