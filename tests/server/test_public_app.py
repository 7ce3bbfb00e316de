"""Sign-in with Databricks' public `databricks-cli` app, whose one redirect is
`http://localhost:8020` (the emulator refuses any other, as Databricks does:
tests/emulator/test_oauth_apps.py::test_databricks_cli_refuses_every_other_redirect_as_databricks_does).

No custom app here. Laptop: the server listens on the real port 8020 while the sign-in is
pending and hands the browser on to its callback. Browser elsewhere: the browser stops at the
localhost:8020 address and the person pastes it. Port 8020 is fixed, so these tests are marked
`port8020` (run serially in one process; never in parallel with each other or with
`databricks auth login`) and skip only when something outside the test holds the port.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from databricks.sdk import AccountClient
from server_helpers import BASE_URL, Browser, open_sign_in_link, sign_in_async

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret

pytestmark = pytest.mark.port8020

ALICE = "alice@example.com"
PUBLIC_APP_REDIRECT = "http://localhost:8020"
REMOTE_HOST = "jupyter.example.test"


def port_8020_free() -> bool:
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family) as s:
            # As the hand-off binds: connections it closed linger in TIME_WAIT, harmlessly.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, 8020))
            except OSError as exc:
                if family == socket.AF_INET6 and exc.errno != 98:  # no IPv6 loopback here
                    continue
                return False
    return True


@pytest.fixture(autouse=True)
def _port_8020() -> None:
    if not port_8020_free():
        pytest.skip("port 8020 is held by another program (a `databricks auth login`?)")


@pytest.fixture
def dbx_oauth_app() -> dict[str, Any]:
    return {"client_id": None}  # the public databricks-cli app


@pytest.fixture
def jp_server_config(jp_server_config: dict[str, Any]) -> dict[str, Any]:
    # A remote server: browsers reach it by a name that is not loopback.
    jp_server_config["ServerApp"]["allow_remote_access"] = True
    return jp_server_config


@pytest.fixture
async def laptop(jp_serverapp, http_server, jp_http_port) -> AsyncIterator[Browser]:
    """The browser on the machine that runs Jupyter, which it reached as `localhost`."""
    b = Browser(f"http://localhost:{jp_http_port}{BASE_URL}", jp_serverapp.identity_provider.token)
    await b.log_in()
    yield b
    await b.aclose()


async def remote_browser(jp_serverapp, jp_http_port) -> Browser:
    """A browser on another machine: it connects to this server by the name `REMOTE_HOST`."""
    b = Browser(f"http://127.0.0.1:{jp_http_port}{BASE_URL}", jp_serverapp.identity_provider.token)
    b.http.headers["Host"] = f"{REMOTE_HOST}:{jp_http_port}"
    await b.log_in()
    return b


@pytest.fixture
async def remotes(jp_serverapp, http_server, jp_http_port) -> AsyncIterator[Any]:
    made: list[Browser] = []

    async def make() -> Browser:
        made.append(await remote_browser(jp_serverapp, jp_http_port))
        return made[-1]

    yield make
    for b in made:
        await b.aclose()


async def start(browser: Browser, connection: str = "ws") -> dict[str, Any]:
    r = await browser.post(f"dbx-auth/api/connections/{connection}/login")
    assert r.status_code == 200, r.text
    return r.json()


async def sign_in_at_databricks(emulator, reply: dict[str, Any], user: str = ALICE) -> str:
    """Where the browser ends after signing in (not followed)."""
    location = await sign_in_async(reply["authorize_url"], user, emulator.user(user)["password"])
    assert location.startswith(PUBLIC_APP_REDIRECT + "/?") or location.startswith(
        PUBLIC_APP_REDIRECT + "?"
    ), location
    return location


async def paste(browser: Browser, url: str, connection: str = "ws") -> httpx.Response:
    return await browser.post(f"dbx-auth/api/connections/{connection}/callback", {"url": url})


async def status_of(browser: Browser, name: str = "ws") -> dict[str, Any]:
    r = await browser.get("dbx-auth/api/connections")
    return next(c for c in r.json()["connections"] if c["name"] == name)


async def wait_closed(dbx_app) -> None:
    for _ in range(100):
        if not dbx_app.sign_in_finish.handoff.listening:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("localhost:8020 is still open after the sign-in ended")


async def test_laptop_sign_in_goes_through_the_real_8020_hand_off(laptop, emulator, dbx_app):
    reply = await start(laptop)
    assert reply["finish"] == "handoff" and reply["message"] is None
    assert (
        f"redirect_uri={PUBLIC_APP_REDIRECT.replace(':', '%3A').replace('/', '%2F')}"
        in (reply["authorize_url"])
    )
    location = await sign_in_at_databricks(emulator, reply)
    handed = await laptop.http.get(location)  # the real listener on localhost:8020
    assert handed.status_code == 302
    callback = handed.headers["location"]
    assert callback.startswith(f"{laptop.server_url}dbx-auth/callback?code=")
    page = await laptop.http.get(callback)  # with the Jupyter cookie of this browser
    assert page.status_code == 200, page.text
    status = await status_of(laptop)
    assert (status["status"], status["identity"]) == ("ok", ALICE)
    await wait_closed(dbx_app)  # listening only while a sign-in is pending
    with pytest.raises(httpx.ConnectError):
        await laptop.http.get(location)


async def test_remote_browser_finishes_by_paste(remotes, emulator, dbx_app):
    browser = await remotes()
    reply = await start(browser)
    assert reply["finish"] == "paste"
    assert reply["paste_prefix"] == "http://localhost:8020/?"
    assert "paste" in reply["message"]
    assert not dbx_app.sign_in_finish.handoff.listening  # nothing to hand on to
    location = await sign_in_at_databricks(emulator, reply)
    r = await paste(browser, location)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["identity"]) == ("ok", ALICE)
    assert (await status_of(browser))["identity"] == ALICE
    # The same address again: a state works once.
    again = await paste(browser, location)
    assert again.status_code == 400 and "already used" in again.json()["message"]


async def test_paste_is_refused_for_another_user_another_redirect_and_without_xsrf(
    remotes, emulator
):
    alice, mallory = await remotes(), await remotes()  # two cookie jars: two Jupyter users
    location = await sign_in_at_databricks(emulator, await start(alice))
    r = await alice.post("dbx-auth/api/connections/ws/callback", {"url": location}, xsrf=False)
    assert r.status_code == 403  # a write needs XSRF
    for other in (
        location.replace(":8020", ":8021"),
        location.replace("http://localhost", "http://127.0.0.1"),
        location.replace("http://", "https://"),
        "not an address",
    ):
        r = await paste(alice, other)
        assert r.status_code == 400 and "localhost:8020" in r.json()["hint"], other
    stolen = await paste(mallory, location)
    assert stolen.status_code == 400 and "another Jupyter user" in stolen.json()["message"]
    # Burnt by that attempt, as a stolen callback would be: alice starts again.
    assert (await paste(alice, location)).status_code == 400
    assert (await status_of(alice))["status"] != "ok"


async def test_a_declined_sign_in_pasted_burns_the_state(remotes, emulator):
    browser = await remotes()
    reply = await start(browser)
    declined = await sign_in_async(
        reply["authorize_url"], ALICE, emulator.user(ALICE)["password"], action="deny"
    )
    assert "error=access_denied" in declined
    r = await paste(browser, declined)
    assert r.status_code == 400 and "declined" in r.json()["hint"]
    assert "access_denied" in r.json()["message"]
    code_url = declined.split("?")[0] + "?code=x&state=" + declined.split("state=")[1]
    assert "already used" in (await paste(browser, code_url)).json()["message"]


async def test_busy_8020_says_so_and_paste_still_works(laptop, emulator, dbx_app):
    with socket.socket() as squatter:  # a `databricks auth login` waiting
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", 8020))
        squatter.listen()
        reply = await start(laptop)
        assert reply["finish"] == "paste"
        assert reply["message"].startswith("Port 8020 is in use")
        location = await sign_in_at_databricks(emulator, reply)
        r = await paste(laptop, location)
        assert r.status_code == 200, r.text
        assert r.json()["identity"] == ALICE


async def test_a_kernel_pastes_for_the_browser_that_opened_its_link(
    remotes, emulator, kernel_client
):
    r = await kernel_client.post("dbx-auth/api/connections/ws/login", json={})
    assert r.status_code == 200 and r.json()["finish"] == "paste", r.text
    browser = await remotes()  # the person opens the kernel's link in their browser
    authorize_url = await open_sign_in_link(browser, r.json()["login_url"].removeprefix(BASE_URL))
    location = await sign_in_async(authorize_url, ALICE, emulator.user(ALICE)["password"])
    done = await kernel_client.post("dbx-auth/api/connections/ws/callback", json={"url": location})
    assert done.status_code == 200, done.text
    assert done.json()["identity"] == ALICE


async def test_deleted_app_means_sign_in_again_naming_the_app(remotes, emulator, kernel_client):
    browser = await remotes()
    r = await paste(browser, await sign_in_at_databricks(emulator, await start(browser)))
    assert r.status_code == 200, r.text
    sp = emulator.service_principal("emulator-admin-sp")
    admin = AccountClient(
        host=emulator.account_url,
        account_id=emulator.account_id,
        client_id=sp["client_id"],
        client_secret=sp["secret"],
    )
    cli = next(i for i in admin.published_app_integration.list() if i.app_id == "databricks-cli")
    admin.published_app_integration.delete(cli.integration_id)  # undone by the next reset
    # Active tokens died with the app: the kernel reports the refused token, the server's
    # refresh is refused with invalid_client, and the connection asks for a new sign-in.
    token = await kernel_client.get("dbx-auth/api/token", params={"connection": "ws"})
    assert token.status_code == 200, token.text
    refused = fingerprint(Secret(token.json()["access_token"]))
    again = await kernel_client.get(
        "dbx-auth/api/token", params={"connection": "ws", "refresh": "1", "rejected": refused}
    )
    assert again.status_code == 409, again.text
    body = again.json()
    assert "sign in again" in body["message"] and "'databricks-cli'" in body["message"]
    assert "databricks-cli" in body["hint"] and "secret" not in body["message"].lower()
    status = await status_of(browser)
    assert status["status"] == "login_required", status
    assert "databricks-cli" in status["message"]


@pytest.fixture
def kernel_backend(dbx_app, server_url) -> Any:
    """The kernel side as a kernel of this server has it: a ServerClient with the kernel key."""
    from jupyter_dbx_auth.kernel.backends import ServerBackend, set_backend
    from jupyter_dbx_auth.kernel.server_client import ServerClient

    client = ServerClient(server_url, Secret(dbx_app.kernel_key.header().split(" ", 1)[1]))
    backend = ServerBackend(client)
    set_backend(backend)
    yield backend
    set_backend(None)
    client.close()


async def connect_in_background(view: Any) -> asyncio.Task[Any]:
    """The picker's Connect click (it waits like the cell would), until the link is shown."""
    task = asyncio.create_task(asyncio.to_thread(view.on_connect))
    for _ in range(200):
        if "dbx-auth/login/ws" in view.status.value or task.done():
            return task
        await asyncio.sleep(0.05)
    raise AssertionError(f"no sign-in link: {view.status.value}")


async def test_the_picker_shows_the_link_and_a_paste_box(remotes, emulator, kernel_backend):
    from jupyter_dbx_auth.kernel.widgets import picker

    view = await asyncio.to_thread(picker, "ws", backend=kernel_backend, live=False)
    connecting = await connect_in_background(view)
    assert view.paste_box.layout.display == "none"
    browser = await remotes()  # the person opens the link in their browser, elsewhere
    authorize_url = await open_sign_in_link(browser)
    status = await status_of(browser)  # the status says how this sign-in ends (sidebar too)
    assert status["status"] == "login_pending" and status["sign_in"]["finish"] == "paste"
    assert await asyncio.wait_for(connecting, 30) is None  # stops waiting: the cell is free
    assert view.paste_box.layout.display == ""
    assert "dbx-auth/login/ws" in view.paste_note.value
    assert "http://localhost:8020/?" in view.paste_note.value
    location = await sign_in_async(authorize_url, ALICE, emulator.user(ALICE)["password"])
    view.paste_text.value = "http://localhost:8021/?code=x&state=y"  # a wrong one first
    assert await asyncio.to_thread(view.on_paste) is None
    assert "localhost:8020" in view.status.value and view.paste_box.layout.display == ""
    view.paste_text.value = location
    connected = await asyncio.to_thread(view.on_paste)
    assert connected is not None and connected.identity == ALICE
    assert view.paste_box.layout.display == "none" and view.paste_text.value == ""
    assert (await status_of(browser))["sign_in"] is None


async def test_the_picker_on_a_laptop_is_handed_back_without_paste(
    laptop, emulator, kernel_backend
):
    from jupyter_dbx_auth.kernel.widgets import picker

    view = await asyncio.to_thread(picker, "ws", backend=kernel_backend, live=False)
    connecting = await connect_in_background(view)
    authorize_url = await open_sign_in_link(laptop)  # the kernel's link, in the laptop's browser
    location = await sign_in_async(authorize_url, ALICE, emulator.user(ALICE)["password"])
    handed = await laptop.http.get(location)  # localhost:8020 hands it on
    assert (await laptop.http.get(handed.headers["location"])).status_code == 200
    connected = await asyncio.wait_for(connecting, 30)
    assert connected is not None and connected.identity == ALICE
    assert view.paste_box.layout.display == "none"


async def test_dbx_login_paste_finishes_a_sign_in(remotes, emulator, kernel_backend):
    from IPython.core.interactiveshell import InteractiveShell

    browser = await remotes()
    authorize_url = await open_sign_in_link(browser)
    location = await sign_in_async(authorize_url, ALICE, emulator.user(ALICE)["password"])
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "jupyter_dbx_auth")
        await asyncio.to_thread(shell.run_line_magic, "dbx_login", f"ws --paste '{location}'")
    finally:
        InteractiveShell.clear_instance()
    assert (await status_of(browser))["identity"] == ALICE


async def test_dbx_connect_asks_for_the_address_in_the_notebook(kernel, remotes, emulator):
    browser = await remotes()
    address: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    out: list[str] = []
    tasks: list[asyncio.Task[None]] = []

    async def open_link() -> None:  # the person opens the printed link in their browser
        authorize_url = await open_sign_in_link(browser)
        password = emulator.user(ALICE)["password"]
        address.set_result(await sign_in_async(authorize_url, ALICE, password))

    def output(msg: dict[str, Any]) -> None:
        data = msg["content"].get("data", {}).get("text/plain") or msg["content"].get("text", "")
        out.append(data)
        if "dbx-auth/login/ws" in data and not tasks:
            tasks.append(asyncio.create_task(open_link()))

    async def stdin(msg: dict[str, Any]) -> None:
        assert "http://localhost:8020/?" in msg["content"]["prompt"]
        kernel.input(await address)

    reply = await kernel.execute_interactive(
        "%load_ext jupyter_dbx_auth\n%dbx_connect ws --timeout 90",
        allow_stdin=True,
        output_hook=output,
        stdin_hook=stdin,
        timeout=120,
    )
    assert reply["content"]["status"] == "ok", "".join(out)
    assert f"as {ALICE}" in "".join(out)
