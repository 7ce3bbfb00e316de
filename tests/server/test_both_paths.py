"""One implementation, two paths: the same suite against the Jupyter server and in-process.

A kernel reaches `AuthService` either through the server (`ServerBackend`: kernel key, HTTP and the
unix socket) or inside itself (`LocalBackend`: the sync facade, no server). Both must store service
principals under the same keys, show the same public view with the same expiry warnings, hand out
working tokens, and treat a refused token the same way.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from server_helpers import ETL_SP, scim_me

from jupyter_dbx_auth.core.errors import CredentialsMissing, TooManyRequests
from jupyter_dbx_auth.core.secret import Secret

DAY = 86400.0


@pytest.fixture(params=["server", "in-process"])
async def path(request, dbx_app, server_url, jp_server_config):
    """(backend, store of the service behind it). The same connections on both paths (the
    server is started for both, so that fixtures stay plain)."""
    if request.param == "server":
        from jupyter_dbx_auth.kernel.backends import ServerBackend
        from jupyter_dbx_auth.kernel.server_client import ServerClient

        key = Secret(dbx_app.kernel_key.header().split(" ", 1)[1])
        client = ServerClient(server_url, key)
        yield ServerBackend(client), dbx_app.service.store
        client.close()
    else:
        from jupyter_dbx_auth.kernel.backends import LocalBackend
        from jupyter_dbx_auth.kernel.inprocess import InProcessService

        config = jp_server_config["DatabricksAuth"]["connections"]
        service = InProcessService(explicit=config, env={}, config_file="/nonexistent")
        yield LocalBackend(service), service.store
        await asyncio.to_thread(service.close)


def call(fn, *args, **kw):
    return asyncio.to_thread(fn, *args, **kw)


async def test_service_principals_are_stored_viewed_and_warned_about_alike(path, dbx_emulator):
    backend, store = path
    sp = dbx_emulator.service_principal(ETL_SP)
    etl = {c.name: c for c in await call(backend.connections)}["etl"]
    assert etl.status == "logged_out"
    assert any(w.startswith("Credentials missing") for w in etl.warnings)
    with pytest.raises(CredentialsMissing):
        await call(backend.fetcher(etl), None)

    soon = time.time() + 10 * DAY
    await call(
        backend.add_service_principal,
        "etl",
        sp["client_id"],
        Secret(sp["secret"]),
        expires_at=soon,
        label="nightly",
    )
    await call(
        backend.add_service_principal,
        "ws",
        sp["client_id"],
        Secret(sp["secret"]),
        expires_at=None,
        label="beside a user",
    )
    # One record key scheme, whichever path stored them.
    assert sorted(store.keys("sp")) == [f"etl/{sp['client_id']}", f"ws/{sp['client_id']}"]
    # One public view, with the expiry warning, and never the secret.
    (view,) = await call(backend.service_principals, "etl")
    assert view == {
        "connection": "etl",
        "client_id": sp["client_id"],
        "label": "nightly",
        "expires_at": pytest.approx(soon),
        "has_secret": True,
        "warning": f"The secret of service principal {sp['client_id']} expires in 10 days; "
        "create a new one in the account console.",
    }
    (beside,) = await call(backend.service_principals, "ws")
    assert beside["warning"] is None and beside["label"] == "beside a user"
    # The connection's own warnings say the same.
    etl = {c.name: c for c in await call(backend.connections)}["etl"]
    assert etl.status == "ok" and etl.warnings == (view["warning"],)

    token = await call(backend.fetcher(etl), None)
    assert (await scim_me(dbx_emulator.url, token.access_token.reveal())).status_code == 200
    ws = {c.name: c for c in await call(backend.connections)}["ws"]
    as_sp = await call(backend.fetcher(ws, client_id=sp["client_id"]), None)
    assert (await scim_me(dbx_emulator.url, as_sp.access_token.reveal())).status_code == 200
    assert ws.status in ("logged_out", "needs Jupyter server")  # a user sign-in is untouched


async def test_a_refused_token_is_replaced_once_then_refused_alike(path, dbx_emulator):
    backend, _ = path
    sp = dbx_emulator.service_principal(ETL_SP)
    await call(
        backend.add_service_principal,
        "etl",
        sp["client_id"],
        Secret(sp["secret"]),
        expires_at=None,
        label="",
    )
    etl = {c.name: c for c in await call(backend.connections)}["etl"]
    fetch = backend.fetcher(etl)
    first = await call(fetch, None)
    before = dbx_emulator.token_requests()["client_credentials"]
    second = await call(fetch, first)  # Databricks said 401 to `first`
    assert second.access_token != first.access_token
    assert (await call(fetch, first)).access_token == second.access_token  # a late report
    assert dbx_emulator.token_requests()["client_credentials"] == before + 1
    with pytest.raises(TooManyRequests) as err:
        await call(fetch, second)  # refused again at once: no refresh loop
    assert "another refresh now would not help" in err.value.message
    assert dbx_emulator.token_requests()["client_credentials"] == before + 1


async def test_connections_are_listed_alike(path):
    backend, _ = path
    listed = {c.name: c for c in await call(backend.connections)}
    assert set(listed) == {"ws", "etl"}
    assert (listed["ws"].method, listed["etl"].method) == ("u2m", "m2m")
    assert listed["ws"].host == listed["etl"].host
    assert listed["etl"].client_id and listed["etl"].status == "logged_out"
    # A user sign-in: the server holds it; in-process says it needs the server (no token).
    assert listed["ws"].status in ("logged_out", "needs Jupyter server")
    assert listed["ws"].expires_at is None
