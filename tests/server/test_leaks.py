"""A canary secret and the real refresh token never leave the server; fuzzed input never 500s."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_helpers import CANARY, ETL_SP, login


@pytest.fixture
def dbx_extra_config(emulator):
    # A connection whose configured secret is the canary (the IdP will refuse it), besides the
    # default ones; `oauth_client_secret` is a canary too (unused by the public U2M client).
    sp = emulator.service_principal(ETL_SP)
    return {
        "connections": {
            "ws": {"host": emulator.url, "auth_type": "databricks-cli"},
            "etl": {"host": emulator.url, "auth_type": "oauth-m2m", "client_id": sp["client_id"]},
            "leaky": {
                "host": emulator.url,
                "auth_type": "oauth-m2m",
                "client_id": sp["client_id"],
                "client_secret": CANARY,
            },
        },
    }


def _recorder(seen: list[str]):
    async def hook(response: httpx.Response) -> None:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            seen.append(repr(dict(response.headers)))  # the stream's lines are recorded below
            return
        await response.aread()
        seen.append(f"{response.status_code} {dict(response.headers)!r} {response.text}")

    return hook


async def test_canary_and_refresh_token_never_leave(
    browser, kernel_client, emulator, dbx_app, caplog, tmp_path
):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    browser.http.event_hooks["response"] = [_recorder(seen)]
    kernel_client.event_hooks["response"] = [_recorder(seen)]
    sp = emulator.service_principal(ETL_SP)

    await browser.get("dbx-auth/api/connections")
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "leaky"})
    assert r.status_code == 400, r.text  # ClientSecretRejected, said in words
    await browser.get("dbx-auth/api/connections")
    # Saving the canary as a service principal secret: refused by the IdP, never echoed.
    for client in (browser, kernel_client):
        body = {"connection": "etl", "client_id": sp["client_id"], "client_secret": CANARY}
        r = await (
            browser.post("dbx-auth/api/service-principals", body)
            if client is browser
            else kernel_client.post("dbx-auth/api/service-principals", json=body)
        )
        assert r.status_code == 400
    # The real secret too: saved (so it travels to the server and is stored) and used for a
    # token; before, it was never sent, so searching for it below could not fail.
    body = {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]}
    r = await browser.post("dbx-auth/api/service-principals", body)
    assert r.status_code == 201, r.text
    r = await kernel_client.get("dbx-auth/api/token", params={"connection": "etl"})
    assert r.status_code == 200, r.text
    await login(browser, emulator)
    refresh = dbx_app.service.store.get("u2m", "ws")["refresh_token"]
    assert refresh
    await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    await browser.get("dbx-auth/api/connections")
    await browser.get("dbx-auth/api/service-principals")
    async with browser.http.stream("GET", browser.server_url + "dbx-auth/api/events") as stream:
        async for line in stream.aiter_lines():
            seen.append(line)
            if line.startswith("data:"):
                break
    await browser.post("dbx-auth/api/connections/ws/logout")
    await asyncio.sleep(0.1)

    audit = (tmp_path / "audit.log").read_text()
    assert '"login"' in audit
    for secret in (CANARY, refresh, sp["secret"]):
        for text in seen:
            assert secret not in text
        assert secret not in caplog.text
        assert secret not in audit
    assert len(seen) > 10


QUERY = st.dictionaries(
    st.sampled_from(["connection", "client_id", "refresh", "next", "code", "state", "error", "x"]),
    st.one_of(st.text(max_size=40), st.sampled_from(["ws", "etl", "1", "", "%00", "../"])),
    max_size=4,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)
BODY_DICT = st.fixed_dictionaries(
    {},
    optional={
        "connection": st.one_of(st.sampled_from(["ws", "etl", "nope"]), JSON),
        "client_id": JSON,
        "client_secret": JSON,
        "label": JSON,
        "expires_at": JSON,
        "next": JSON,
    },
)
BODY = st.one_of(
    st.binary(max_size=64),
    JSON.map(lambda v: json.dumps(v).encode()),
    BODY_DICT.map(lambda v: json.dumps(v).encode()),
)
TARGETS = [
    ("GET", "dbx-auth/api/connections"),
    ("POST", "dbx-auth/api/connections/ws/login"),
    ("POST", "dbx-auth/api/connections/%E2%98%83/logout"),
    ("GET", "dbx-auth/api/service-principals"),
    ("POST", "dbx-auth/api/service-principals"),
    ("DELETE", "dbx-auth/api/service-principals"),
    ("GET", "dbx-auth/api/token"),
    ("GET", "dbx-auth/login/ws"),
    ("GET", "dbx-auth/callback"),
]


async def test_fuzzed_queries_and_bodies_never_500(browser, kernel_headers):
    cookies = dict(browser.http.cookies.items())
    base = browser.server_url
    statuses: dict[int, int] = {}

    def fuzz() -> None:
        with (
            httpx.Client(trust_env=False, timeout=20) as web,
            httpx.Client(trust_env=False, timeout=20, headers=kernel_headers) as kernel,
        ):
            web.cookies.update(cookies)

            @settings(
                max_examples=250,
                deadline=None,
                derandomize=True,  # seeded: the same examples every run
                suppress_health_check=[HealthCheck.too_slow],
                database=None,
            )
            @given(target=st.sampled_from(TARGETS), query=QUERY, body=BODY, as_kernel=st.booleans())
            def one(target, query, body, as_kernel) -> None:
                method, path = target
                client = kernel if as_kernel else web
                headers = {} if as_kernel else {"X-XSRFToken": cookies["_xsrf"]}
                r = client.request(
                    method,
                    base + path,
                    params=query,
                    content=body if method != "GET" else None,
                    headers=headers,
                )
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                assert r.status_code < 500 or r.status_code in (502, 503), (
                    method,
                    path,
                    query,
                    body,
                    r.status_code,
                    r.text,
                )
                assert r.status_code != 500

            one()

    await asyncio.to_thread(fuzz)
    assert 500 not in statuses
    assert sum(statuses.values()) >= 250
