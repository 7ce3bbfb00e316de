"""Store reads and decryption never run on the event loop (issue 9).

Every store call the server makes while serving a whole session (sign-in, listings, tokens, a
service principal added, used and removed, sign-out) is recorded with the thread it ran on; none
may run on the event loop's thread, where a slow keyring or a decryption would stall every
request.
"""

from __future__ import annotations

import threading

from server_helpers import ETL_SP, login


async def test_no_store_call_runs_on_the_event_loop(browser, kernel_client, emulator, dbx_app):
    store = dbx_app.service.store
    loop_thread = threading.current_thread()  # the server shares the test's loop
    calls: list[tuple[str, str, bool]] = []
    for name in ("get", "put", "delete", "keys"):
        real = getattr(store, name)

        def spy(*args, _real=real, _name=name, **kw):
            calls.append((_name, str(args[:1]), threading.current_thread() is loop_thread))
            return _real(*args, **kw)

        setattr(store, name, spy)

    # First listing of a fresh server: every status is learnt from the store.
    assert (await browser.get("dbx-auth/api/connections")).status_code == 200
    await login(browser, emulator)
    assert (await browser.get("dbx-auth/api/connections")).status_code == 200
    assert (await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})).is_success
    sp = emulator.service_principal(ETL_SP)
    r = await browser.post(
        "dbx-auth/api/service-principals",
        {"connection": "etl", "client_id": sp["client_id"], "client_secret": sp["secret"]},
    )
    assert r.status_code == 201, r.text
    assert (await browser.get("dbx-auth/api/service-principals")).status_code == 200
    assert (await kernel_client.get("dbx-auth/api/token", params={"connection": "etl"})).is_success
    assert (await kernel_client.get("dbx-auth/api/token", params={"connection": "etl"})).is_success
    r = await browser.delete(
        "dbx-auth/api/service-principals", {"connection": "etl", "client_id": sp["client_id"]}
    )
    assert r.status_code == 204
    assert (await browser.post("dbx-auth/api/connections/ws/logout")).status_code == 200

    assert calls, "the session used the store"
    on_loop = [(name, ns) for name, ns, on in calls if on]
    assert on_loop == []
