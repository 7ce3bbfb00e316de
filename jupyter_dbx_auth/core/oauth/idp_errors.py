"""What to tell a person when the IdP sends the browser back with `?error=` (RFC 6749 4.1.2.1).

The callback page is served from the Jupyter origin, so anything on it reads as this server
speaking. `error` and `error_description` come from the query string: anyone can craft a callback
link with "call this number to unlock your account" in it. So the page says what happened in our
own words for the codes RFC 6749 (and OpenID Connect Core 3.1.2.6) define, and shows the IdP's free
text only separately, labelled as the IdP's words, shortened and escaped by the template.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Longest piece of IdP text shown (characters).
MAX_IDP_TEXT = 300

_KNOWN: dict[str, tuple[str, str]] = {
    "access_denied": (
        "Databricks did not grant access: the sign-in was declined.",
        "If that was not you, ignore it; otherwise start the sign-in again and allow access.",
    ),
    "invalid_request": (
        "Databricks refused the sign-in request as malformed.",
        "Start the sign-in again; if it keeps failing, check the OAuth app's settings.",
    ),
    "unauthorized_client": (
        "Databricks does not allow this OAuth app to sign users in this way.",
        "Check the OAuth app (client id, user authorization) in the account console.",
    ),
    "unsupported_response_type": (
        "Databricks does not support the kind of sign-in this server asked for.",
        "Check the OAuth app in the account console.",
    ),
    "invalid_scope": (
        "Databricks refused the requested scopes.",
        "Check the connection's scopes and the scopes the OAuth app allows.",
    ),
    "server_error": (
        "Databricks had an internal error during the sign-in.",
        "Start the sign-in again in a moment.",
    ),
    "temporarily_unavailable": (
        "Databricks could not handle the sign-in right now.",
        "Start the sign-in again in a moment.",
    ),
    "login_required": (
        "Databricks needs you to sign in interactively.",
        "Start the sign-in again from JupyterLab.",
    ),
    "interaction_required": (
        "Databricks needs you to interact with the sign-in page.",
        "Start the sign-in again from JupyterLab.",
    ),
    "consent_required": (
        "Databricks needs your consent for this OAuth app.",
        "Start the sign-in again and allow access.",
    ),
    "account_selection_required": (
        "Databricks needs you to choose an account.",
        "Start the sign-in again and pick the account.",
    ),
}


@dataclass(frozen=True)
class IdpError:
    """Our message and hint, and the IdP's own words (None when it sent none we would show)."""

    code: str | None
    message: str
    hint: str
    idp_text: str | None


def _clean(text: str | None) -> str:
    if not text:
        return ""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(printable.split())[:MAX_IDP_TEXT]


def describe(error: str, description: str | None) -> IdpError:
    """Known codes in our words; an unknown code and any description only as the IdP's text."""
    known = _KNOWN.get(error)
    said = _clean(description)
    if known is not None:
        return IdpError(error, known[0], known[1], said or None)
    code = _clean(error)
    idp_text = f"{code}: {said}" if said else code
    return IdpError(
        None,
        "Databricks refused the sign-in with an error this server does not know.",
        "Start the sign-in again; if it keeps failing, check the OAuth app and its settings.",
        idp_text or None,
    )
