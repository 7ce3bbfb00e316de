"""Play the browser for U2M tests: open the authorize URL, fill the sign-in form, submit.

Returns the final redirect Location (with `code` and `state`, or `error`) WITHOUT following it,
so the test decides what reaches the redirect URI. Works against the emulator's sign-in page,
whose form has `username`, `password` and an `action` button (`allow` / `deny`).
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


class SignInFailed(AssertionError):
    """The IdP answered with a page instead of a redirect (bad password, error page, ...)."""


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.alert: list[str] = []
        self._in_alert = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif a.get("role") == "alert" or a.get("id") in ("error", "error_description"):
            self._in_alert = True

    def handle_endtag(self, tag: str) -> None:
        self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._in_alert and data.strip():
            self.alert.append(data.strip())


def sign_in(
    authorize_url: str,
    username: str,
    password: str,
    *,
    client: httpx.Client | None = None,
    action: str = "allow",
) -> str:
    """Sign in as `username` and return the Location the IdP redirects the browser to."""
    own = client is None
    http = client or httpx.Client(trust_env=False, timeout=10)
    try:
        page = http.get(authorize_url, follow_redirects=False)
        if page.is_redirect:
            return page.headers["Location"]  # an error redirected straight back to the app
        if page.headers.get("Content-Type", "").startswith("application/json"):
            # Databricks shows a refused authorization request as bare JSON, e.g.
            # {"error_description": "redirect_uri '...' not registered for ...", "error": ...}
            raise SignInFailed(f"authorization refused ({page.status_code}): {page.text}")
        form = _FormParser()
        form.feed(page.text)
        if page.status_code != 200 or form.action is None:
            raise SignInFailed(f"no sign-in form ({page.status_code}): {' '.join(form.alert)}")
        data = {**form.fields, "username": username, "password": password, "action": action}
        result = http.post(urljoin(str(page.url), form.action), data=data, follow_redirects=False)
        if not result.is_redirect:
            failed = _FormParser()
            failed.feed(result.text)
            raise SignInFailed(f"sign-in refused ({result.status_code}): {' '.join(failed.alert)}")
        return result.headers["Location"]
    finally:
        if own:
            http.close()
