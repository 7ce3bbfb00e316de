"""Seeded fuzz that reaches the code holding secrets (issue 15).

The older fuzz (`test_leaks.py`) only ever met a server with nothing signed in: the token endpoint
answered 400/404 and logout saw an unknown connection. Here `ws` is signed in (U2M, with a refresh
token) and a service principal is stored for `etl` and for `ws`, so most token requests succeed,
`refresh=1` with a real `rejected=` fingerprint forces real refreshes (rotating the refresh token),
and logout and delete find something to remove (both are undone after each example that did so).
Every reply is checked: no 5xx, no traceback, and none of the secrets the server holds.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_helpers import CANARY, ETL_SP

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret

EXAMPLES = 300


def test_fuzz_is_seeded():
    # `derandomize=True` (below) makes hypothesis draw the same examples on every run.
    assert _SETTINGS.derandomize and _SETTINGS.database is None


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


async def test_signed_in_fuzz_never_5xx_and_never_leaks(browser, kernel_headers, emulator, dbx_app):
    sp = emulator.service_principal(ETL_SP)
    cookies = dict(browser.http.cookies.items())
    base = browser.server_url
    store = dbx_app.service.store
    secrets_seen: set[str] = {CANARY, sp["secret"]}
    statuses: dict[tuple[str, int], int] = {}

    def fuzz() -> None:
        with (
            httpx.Client(trust_env=False, timeout=30) as web,
            httpx.Client(trust_env=False, timeout=30, headers=kernel_headers) as kernel,
        ):
            web.cookies.update(cookies)
            xsrf = {"X-XSRFToken": cookies["_xsrf"]}

            def sign_in_ws() -> None:
                from tests.browser import sign_in

                r = web.post(
                    f"{base}dbx-auth/api/connections/ws/login", content=b"{}", headers=xsrf
                )
                assert r.status_code == 200, r.text
                location = sign_in(
                    r.json()["authorize_url"],
                    "alice@example.com",
                    emulator.user("alice@example.com")["password"],
                )
                assert web.get(location).status_code == 200

            def restore() -> None:
                """Signed in, both service principals stored; remember every refresh token."""
                if not (store.get("u2m", "ws") or {}).get("refresh_token"):
                    sign_in_ws()
                for name in ("etl", "ws"):
                    listed = web.get(
                        f"{base}dbx-auth/api/service-principals", params={"connection": name}
                    ).json()["service_principals"]
                    if not any(p["client_id"] == sp["client_id"] for p in listed):
                        body = {
                            "connection": name,
                            "client_id": sp["client_id"],
                            "client_secret": sp["secret"],
                        }
                        r = web.post(
                            f"{base}dbx-auth/api/service-principals",
                            content=json.dumps(body),
                            headers=xsrf,
                        )
                        assert r.status_code == 201, r.text
                refresh = (store.get("u2m", "ws") or {}).get("refresh_token")
                if refresh:
                    secrets_seen.add(refresh)

            def current_fingerprint(connection: str) -> str:
                r = kernel.get(f"{base}dbx-auth/api/token", params={"connection": connection})
                if r.status_code != 200:
                    return "0" * 16
                return fingerprint(Secret(r.json()["access_token"]))

            restore()
            good = {
                "connection": st.sampled_from(["ws", "etl", "nope", "", "ws\x00", "w" * 300]),
                "client_id": st.sampled_from([sp["client_id"], "x", "", "A" * 100, "a/b"]),
                "refresh": st.sampled_from(["1", "true", "0", ""]),
                "rejected": st.sampled_from(["current", "0" * 16, "", "zz"]),
                "next": st.sampled_from(["/a%40b/lab", "//evil", "/a%40b/\u2603", ""]),
                "state": st.text(max_size=20),
                "code": st.text(max_size=20),
                "error": st.sampled_from(["access_denied", "server_error", "<b>x</b>"]),
            }
            # Mostly meaningful values (3 to 1), so that most requests get past validation.
            mixed = {k: st.one_of(v, v, v, st.text(max_size=12)) for k, v in good.items()}
            query = st.fixed_dictionaries({}, optional=mixed)
            token_query = st.fixed_dictionaries(
                {"connection": st.one_of(st.sampled_from(["ws", "etl"]), mixed["connection"])},
                optional={k: mixed[k] for k in ("client_id", "refresh", "rejected")},
            )
            delete_query = st.fixed_dictionaries(
                {
                    "connection": st.one_of(st.sampled_from(["ws", "etl"]), mixed["connection"]),
                    "client_id": st.one_of(st.just(sp["client_id"]), mixed["client_id"]),
                }
            )
            body = st.fixed_dictionaries(
                {},
                optional={
                    "connection": good["connection"],
                    "client_id": good["client_id"],
                    "client_secret": st.sampled_from([sp["secret"], "wrong", "", CANARY]),
                    "label": st.text(max_size=20),
                    "expires_at": st.sampled_from([None, "2099-01-31", 4e9, -1, "soon"]),
                    "next": good["next"],
                },
            )
            targets = st.sampled_from(
                [
                    ("GET", "dbx-auth/api/token", True),
                    ("GET", "dbx-auth/api/token", True),
                    ("GET", "dbx-auth/api/token", True),
                    ("GET", "dbx-auth/api/connections", False),
                    ("GET", "dbx-auth/api/service-principals", None),
                    ("POST", "dbx-auth/api/service-principals", None),
                    ("DELETE", "dbx-auth/api/service-principals", False),
                    ("POST", "dbx-auth/api/connections/ws/login", None),
                    ("POST", "dbx-auth/api/connections/ws/logout", None),
                    ("POST", "dbx-auth/api/connections/etl/logout", None),
                    ("GET", "dbx-auth/login/ws", False),
                    ("GET", "dbx-auth/callback", False),
                ]
            )

            @_SETTINGS
            @given(
                target=targets,
                params=query,
                token_params=token_query,
                delete_params=delete_query,
                payload=body,
                as_kernel=st.booleans(),
            )
            def one(target, params, token_params, delete_params, payload, as_kernel) -> None:
                method, path, kernel_route = target
                if path.endswith("api/token"):
                    params = token_params
                elif method == "DELETE":
                    params = delete_params
                use_kernel = as_kernel if kernel_route is None else kernel_route
                if params.get("rejected") == "current":
                    params = {**params, "rejected": current_fingerprint(params.get("connection"))}
                client = kernel if use_kernel else web
                r = client.request(
                    method,
                    base + path,
                    params=params,
                    content=json.dumps(payload) if method == "POST" else None,
                    headers={} if use_kernel else xsrf,
                )
                statuses[(path, r.status_code)] = statuses.get((path, r.status_code), 0) + 1
                assert r.status_code < 500, (method, path, params, payload, r.status_code, r.text)
                assert "Traceback" not in r.text
                restore()
                for secret in secrets_seen:
                    assert secret not in r.text, (method, path, params)
                    assert secret not in repr(dict(r.headers))
                location = r.headers.get("Location", "")
                assert not parse_qs(urlsplit(location).query).get("refresh_token")

            one()

    await asyncio.to_thread(fuzz)
    token_ok = statuses.get(("dbx-auth/api/token", 200), 0)
    assert token_ok >= 20, statuses  # the fuzz reached the code that issues tokens
    assert sum(n for (_, code), n in statuses.items() if code == 204) >= 1, statuses  # a delete
    assert len(secrets_seen) >= 3, "refresh tokens were not observed"
    assert sum(statuses.values()) >= EXAMPLES // 2
