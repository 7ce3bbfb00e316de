"""Where the browser is sent: the OAuth callback URL and the `next` page after a sign-in.

`next` is user-controlled (it rides through the login request), so it is reduced to a path on
this origin under `base_url`; anything else is refused.

The callback URL (security finding 8) never trusts the request's Host header on its own: it is the
configured `redirect_url` (the JupyterHub token service), else `public_url` (the address browsers
use for this server) + `base_url`, else the Host header only when it is a loopback name (a laptop,
an SSH tunnel), which jupyter-server has already checked against `local_hostnames`. A server
reached by any other name must be told its public address.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..errors import BadRequest, ConfigError
from ..hosts import is_loopback

CALLBACK_PATH = "dbx-auth/callback"
DOCS_URL = "https://github.com/jupyter-dbx-auth/jupyter-dbx-auth/blob/main/docs/oauth-app.md"


def default_next(base_url: str) -> str:
    return f"{base_url}lab"


def safe_next(candidate: str | None, base_url: str) -> str | None:
    """`candidate` if it is a same-origin path under `base_url`, else None."""
    if not candidate or not isinstance(candidate, str) or len(candidate) > 2048:
        return None
    # Browsers treat "\" like "/" and drop tabs/newlines: "/\evil.com" or "/\t/evil.com" would
    # leave the origin, so refuse them outright rather than trying to normalise.
    if any(c in candidate for c in "\\\r\n\t") or any(ord(c) < 0x20 for c in candidate):
        return None
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or candidate.startswith("//"):
        return None
    path = parts.path
    if not path.startswith(base_url):
        return None
    decoded = unquote(path)
    if decoded.startswith("//") or "\\" in decoded:
        return None
    # Dot segments would climb out of base_url (e.g. to another user's server on a hub).
    if any(seg in (".", "..") for seg in decoded.split("/")):
        return None
    return candidate


def normalize_public_url(url: str | None) -> str | None:
    """`scheme://host[:port]` of `c.DatabricksAuth.public_url`, or None when unset."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            f"c.DatabricksAuth.public_url must be http(s)://host[:port], not {url!r}.",
            hint="Give the address browsers use for this server, e.g. https://jupyter.example.com"
            " (the server's base_url is added to it).",
        )
    if parts.path not in ("", "/"):
        raise ConfigError(
            "c.DatabricksAuth.public_url takes no path: the server's base_url is added to it.",
            hint=f"Use {parts.scheme}://{parts.netloc}.",
        )
    return f"{parts.scheme}://{parts.netloc}"


def host_is_loopback(host_header: str) -> bool:
    """True when the browser reached this server by a loopback name (laptop, SSH tunnel)."""
    host = host_header.strip()
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return bool(name) and is_loopback(name)


def callback_url(
    *,
    redirect_url: str | None,
    public_url: str | None,
    protocol: str,
    host: str,
    base_url: str,
    public_app: bool = False,
) -> str:
    """The redirect URI to send to the IdP for a sign-in the browser started at `host`.

    `public_app`: the sign-in uses Databricks' public `databricks-cli` app, which accepts
    loopback callbacks only."""
    if redirect_url:
        return redirect_url
    if public_url:
        url = f"{public_url}{base_url}{CALLBACK_PATH}"
        if public_app and not host_is_loopback(public_url.partition("://")[2]):
            raise BadRequest(
                "Signing in from a server reached at a non-loopback address needs a custom "
                "Databricks OAuth app: the public databricks-cli app only accepts localhost "
                "callbacks.",
                hint=f"Register an OAuth app with redirect URL {url} and set "
                f"c.DatabricksAuth.oauth_client_id; see {DOCS_URL}.",
            )
        return url
    if host_is_loopback(host):
        return f"{protocol}://{host}{base_url}{CALLBACK_PATH}"
    raise BadRequest(
        "This server does not know its public address, and the browser reached it by a "
        "non-loopback name, which is not trusted for the sign-in's callback URL.",
        hint="Set c.DatabricksAuth.public_url to the address browsers use (e.g. "
        f"https://jupyter.example.com) and register {{public_url}}{base_url}{CALLBACK_PATH} "
        f"with your OAuth app; see {DOCS_URL}.",
    )
