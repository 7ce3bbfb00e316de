"""`next` and the sign-in endpoints under the base URLs people run: `/` (a laptop) and
`/user/alice/` (JupyterHub), besides the conftest's `/a%40b/` (issue 15).

Under `/a%40b/` one branch of `safe_next` cannot be reached: a path that starts with `/a%40b/`
never decodes to something starting with `//`. Under `/` it can (`/%2F%2Fevil.example`).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from server_helpers import login

from jupyter_dbx_auth.core.service.redirects import safe_next

REFUSED = {
    "/": [
        "//evil.example/",
        "/%2F%2Fevil.example/",
        "/%2f%2fevil.example",
        "/\\evil.example",
        "/%5Cevil.example",
        "/../evil",
        "/lab/%2e%2e/%2e%2e/evil",
        "https://evil.example/lab",
    ],
    "/user/alice/": [
        "/user/bob/lab",
        "/user/alice/../bob/lab",
        "/user/alice/%2e%2e/bob/lab",
        "/user/alice%2F..%2Fbob/lab",
        "/user/alicex/lab",
        "/user/alice",
        "//user/alice/lab",
        "/%2F%2Fevil.example/user/alice/",
    ],
}
ACCEPTED = {
    "/": ["/lab", "/lab/tree/a%20b.ipynb?x=1#f", "/notebooks/x.ipynb"],
    "/user/alice/": ["/user/alice/lab", "/user/alice/lab/tree/x.ipynb"],
}
BASES = list(REFUSED)


def _readable_id(value: str) -> str:
    # No backslashes in test ids: mutmut (`make mutate`) re-selects tests by id and misses them.
    return value.replace("\\", "<bs>")


@pytest.mark.parametrize(
    ("base", "target"), [(b, t) for b in BASES for t in REFUSED[b]], ids=_readable_id
)
def test_safe_next_refuses(base, target):
    assert safe_next(target, base) is None


@pytest.mark.parametrize(
    ("base", "target"), [(b, t) for b in BASES for t in ACCEPTED[b]], ids=_readable_id
)
def test_safe_next_accepts(base, target):
    assert safe_next(target, base) == target


@pytest.fixture(params=BASES)
def jp_base_url(request) -> str:
    return request.param


@pytest.fixture
def server_url(jp_serverapp, http_server, jp_http_port, jp_base_url) -> str:
    return f"http://127.0.0.1:{jp_http_port}{jp_base_url}"


async def test_sign_in_endpoints_refuse_next_off_this_base(browser, jp_base_url, dbx_app):
    for target in REFUSED[jp_base_url]:
        r = await browser.post("dbx-auth/api/connections/ws/login", {"next": target})
        assert r.status_code == 400, (target, r.text)
        page = await browser.get("dbx-auth/login/ws?" + urlencode({"next": target}))
        assert page.status_code == 400, target
        form = {"_xsrf": browser.http.cookies.get("_xsrf"), "next": target}
        r = await browser.http.post(browser.server_url + "dbx-auth/login/ws", data=form)
        assert r.status_code == 400, target
    assert len(dbx_app.service.pending) == 0


async def test_a_sign_in_under_this_base_returns_to_it(browser, emulator, jp_base_url):
    target = ACCEPTED[jp_base_url][0]
    r = await browser.post("dbx-auth/api/connections/ws/login", {"next": target})
    assert r.status_code == 200, r.text
    assert r.json()["login_url"].startswith(f"{jp_base_url}dbx-auth/login/ws?next=")
    # The full flow: `login` checks the IdP sends the browser to {base}dbx-auth/callback.
    done = await login(browser, emulator)
    assert done.status_code == 200, done.text
    assert f'href="{jp_base_url}lab"' in done.text  # "Back to JupyterLab" under this base
