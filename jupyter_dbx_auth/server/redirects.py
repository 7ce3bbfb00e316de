"""Where the browser is sent: the OAuth callback URL and the `next` page after a sign-in.

`next` is user-controlled (it rides through the login request), so it is reduced to a path on
this origin under `base_url`; anything else falls back to JupyterLab. The callback URL comes from
configuration when set (the JupyterHub relay) and otherwise from the request, which jupyter-server
has already checked against `local_hostnames` for loopback servers.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ..core.hosts import is_loopback

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


def callback_url(*, explicit: str | None, protocol: str, host: str, base_url: str) -> str:
    """The redirect URI to register with the IdP for this request."""
    if explicit:
        return explicit
    return f"{protocol}://{host}{base_url}{CALLBACK_PATH}"


def host_is_loopback(host_header: str) -> bool:
    """True when the browser reached this server by a loopback name (laptop, SSH tunnel)."""
    host = host_header.strip()
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return bool(name) and is_loopback(name)
