"""Fault knobs: latency, injected 5xx/429, IdP down, clock offset, counters, admin key."""

from __future__ import annotations

import time

import httpx
import pytest
from browser import sign_in

from jupyter_dbx_auth.emulator.admin import ADMIN_KEY_HEADER, ADMIN_PATH

from .helpers import authorize_url, http, pkce_pair, token_url


def cc(emu):
    sp = emu.service_principal("emulator-etl-sp")
    with http() as c:
        return c.post(
            token_url(emu),
            data={"grant_type": "client_credentials"},
            auth=(sp["client_id"], sp["secret"]),
        )


def test_fail_next_token_requests_with_5xx(emulator):
    emulator.fail_next_token_requests(2)
    assert [cc(emulator).status_code for _ in range(3)] == [503, 503, 200]
    assert emulator.token_requests() == {"client_credentials": 3}


def test_fail_next_token_requests_with_429_retry_after(emulator):
    emulator.fail_next_token_requests(1, status=429, retry_after=2)
    throttled = cc(emulator)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.json()["error"] == "slow_down"
    assert cc(emulator).status_code == 200


def test_latency(emulator):
    emulator.set_latency(0.3)
    start = time.monotonic()
    assert cc(emulator).status_code == 200
    assert time.monotonic() - start >= 0.3


def test_down_drops_authorize_too_and_recovers(emulator):
    _, challenge = pkce_pair()
    emulator.set_down(True)
    with pytest.raises(httpx.TransportError):
        sign_in(authorize_url(emulator, challenge=challenge), "alice@example.com", "x")
    with pytest.raises(httpx.TransportError):
        cc(emulator)
    emulator.set_down(False)
    assert cc(emulator).status_code == 200


def test_reset_clears_faults_and_counters(emulator):
    emulator.set_latency(5)
    emulator.fail_next_token_requests(5)
    emulator.set_clock_offset(10_000)
    emulator.set_down(True)
    emulator.reset()
    assert emulator.token_requests() == {}
    start = time.monotonic()
    assert cc(emulator).status_code == 200
    assert time.monotonic() - start < 2


def test_admin_endpoint_requires_the_key(emulator):
    with http() as c:
        for headers in ({}, {ADMIN_KEY_HEADER: "guess"}):
            response = c.post(emulator.url + ADMIN_PATH, json={"action": "reset"}, headers=headers)
            assert response.status_code == 403


def test_revoke_unknown_subject_is_an_error(emulator):
    from jupyter_dbx_auth.emulator.harness import EmulatorError

    with pytest.raises(EmulatorError):
        emulator.revoke("nobody@example.com")


def test_no_admin_surface_without_a_key(tmp_path):
    """Started by hand (as `make demo` does) the emulator has no admin endpoint at all."""
    import tornado.testing  # noqa: F401 - just the app table is inspected here

    from jupyter_dbx_auth.emulator.app import make_app
    from jupyter_dbx_auth.emulator.state import EmulatorState

    app = make_app(EmulatorState(), admin_key=None)
    paths = [rule.matcher.regex.pattern for rule in app.wildcard_router.rules]
    assert not any("__emulator__" in p for p in paths)


def test_the_demo_emulator_has_no_admin_endpoint(monkeypatch):
    """`make demo` (binder/demo.py) starts an emulator others may reach: no admin surface, even
    if a key is in the environment it was started from."""
    import importlib.util
    from pathlib import Path

    from jupyter_dbx_auth.emulator.admin import ADMIN_KEY_ENV, ADMIN_KEY_HEADER, ADMIN_PATH
    from jupyter_dbx_auth.emulator.harness import EmulatorError

    monkeypatch.setenv(ADMIN_KEY_ENV, "inherited-admin-key")
    spec = importlib.util.spec_from_file_location(
        "demo", Path(__file__).resolve().parents[2] / "binder" / "demo.py"
    )
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    emu = demo.start_emulator("127.0.0.1", 0, {})
    try:
        for key in ("inherited-admin-key", "anything"):
            r = httpx.post(
                emu.url + ADMIN_PATH,
                json={"action": "reset"},
                headers={ADMIN_KEY_HEADER: key},
                timeout=10,
            )
            assert r.status_code == 404, r.text  # no route at all, not merely a refused key
        with pytest.raises(EmulatorError, match="admin=False"):
            emu.reset()
    finally:
        emu.stop()
