"""The authorization response (RFC 6749 §4.1.2 / §4.1.2.1) read from an address a person pasted.

With Databricks' public `databricks-cli` app the only registered redirect is
`http://localhost:8020`. When the browser is not on the machine that runs Jupyter (a remote
server, Docker, Binder), the sign-in ends on a page the browser cannot open, and the person copies
that address into Jupyter. This module turns the address into the same `code` / `state` /
`error` the callback would have received, and refuses anything that is not an answer to the
redirect URI we sent: a pasted address is user input, and it must not become a way to feed the
server a code meant for another client.

The state, user binding and PKCE checks are not done here; the caller hands the result to the same
code path as the callback, so they stay in one place.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

from ..errors import DbxAuthError

#: Longer than any real authorization response (a code and a state are well under 1 KiB each).
MAX_PASTED_LENGTH = 8192


class PastedAddressRejected(DbxAuthError):
    """The pasted text is not the address a sign-in ended on."""


@dataclasses.dataclass(frozen=True)
class AuthorizationResponse:
    state: str | None
    code: str | None = None
    error: str | None = None
    error_description: str | None = None


def _origin_and_path(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path or "/"


def parse_pasted_address(text: object, redirect_uri: str) -> AuthorizationResponse:
    """The authorization response carried by `text`, which must be an answer to `redirect_uri`.

    Raises `PastedAddressRejected` with what was wrong and what to paste instead.
    """
    expected = redirect_uri.rstrip("/")
    hint = (
        f"Copy the whole address from the browser's address bar on the page the sign-in "
        f"ended on; it starts with {expected}/?code= (or ?error= if the sign-in was declined)."
    )
    if not isinstance(text, str) or not text.strip():
        raise PastedAddressRejected("No address was pasted.", hint=hint)
    url = text.strip()
    if len(url) > MAX_PASTED_LENGTH:
        raise PastedAddressRejected(
            "The pasted text is too long to be a sign-in address.", hint=hint
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise PastedAddressRejected("The pasted text contains control characters.", hint=hint)
    try:
        got = _origin_and_path(url)
        want = _origin_and_path(redirect_uri)
    except ValueError as exc:  # a port that is not a number, a malformed IPv6 literal
        raise PastedAddressRejected("The pasted text is not a valid address.", hint=hint) from exc
    if got[:3] != want[:3] or got[3].rstrip("/") != want[3].rstrip("/"):
        raise PastedAddressRejected(
            f"The pasted address does not start with {expected}, the address this sign-in "
            "returns to.",
            hint=hint,
        )
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    for name, values in query.items():
        if len(values) > 1:
            # Two values for one parameter is never a real response and could smuggle a code.
            raise PastedAddressRejected(f"The pasted address repeats {name!r}.", hint=hint)
    one = {name: values[0] for name, values in query.items()}
    state, code, error = one.get("state"), one.get("code"), one.get("error")
    if not state:
        raise PastedAddressRejected("The pasted address has no state parameter.", hint=hint)
    if code and error:
        raise PastedAddressRejected("The pasted address holds both a code and an error.", hint=hint)
    if not code and not error:
        raise PastedAddressRejected(
            "The pasted address holds neither a code nor an error: the sign-in has not "
            "finished yet.",
            hint="Finish signing in first, then copy the address of the page it ends on.",
        )
    return AuthorizationResponse(
        state=state,
        code=code or None,
        error=error or None,
        error_description=one.get("error_description") or None,
    )
