"""Single-user servers in hub mode, on a real JupyterHub 6.1 with the real `dbx-auth` service and
the emulator's 5-second tokens: alice (data-science) and bob (finance) sign in from their own
server's `POST api/connections/emu/login` through the hub's one callback, their servers list the
hub's connections beside their own profiles, `%dbx_connect` in a real kernel of each server gets
their own identity across expiries, bob cannot use alice's server, and alice's server holds no
refresh token or secret. One hub, emulator and set of servers for the module (`env`); the tests
run in order and leave alice and bob signed in.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from browser import sign_in
from harness import SERVICE, Hub, proxy_available
from hub_env import SP_DATA_SCIENCE, SP_FINANCE, add_hub_app, configure_service, sp_secret
from hub_keys import STORE_KEY
from hub_mode_env import (
    EMAILS,
    OWN_SP,
    Env,
    EventStream,
    hub_mode_config,
    path_of,
    start_named_server,
    user_server_token,
    write_own_profiles,
)

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.emulator.harness import EmulatorProcess
from jupyter_dbx_auth.emulator.seed import default_seed
from jupyter_dbx_auth.hub.store import HubStore

pytestmark = [
    pytest.mark.timeout(600),  # the first test also starts the hub and two servers
    pytest.mark.skipif(
        not proxy_available() and not os.environ.get("CI"),
        reason="configurable-http-proxy not installed: run `make hub-proxy`",
    ),
]
TTL = 5
GROUP_SP = {"alice": ("emu@data-science", SP_DATA_SCIENCE), "bob": ("emu@finance", SP_FINANCE)}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    workdir = tmp_path_factory.mktemp("hub-mode")
    db = f"sqlite:///{workdir}/dbx-auth/store.sqlite"
    hub = Hub(workdir)
    seed = add_hub_app(default_seed(), hub)
    seed["service_principals"].append(OWN_SP)
    with EmulatorProcess(state=seed, token_ttl=TTL) as emulator:
        configure_service(hub, emulator, db_url=db, store_key=STORE_KEY)
        hub.extra_config = hub_mode_config(hub)
        write_own_profiles(workdir / "home" / "alice", emulator)
        started = time.monotonic()
        with hub:
            running = Env(hub, emulator, db)
            for user in EMAILS:
                hub.start_server(user)
                running.tokens[user] = user_server_token(hub, user)
            print(f"hub and two servers in hub mode up in {time.monotonic() - started:.1f} s")
            yield running
            for person in running.people.values():
                person.close()


# -- listing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", sorted(EMAILS))
def test_hub_connections_are_listed_beside_own_profiles(env: Env, user: str) -> None:
    listed = env.person(user).connections()
    emu = listed["emu"]
    assert (emu["source"], emu["hub"], emu["method"]) == ("hub", SERVICE, "u2m")
    assert emu["status"] == "logged_out" and emu["identity"] is None
    group_sp, client_id = GROUP_SP[user]
    other = next(name for name, _ in GROUP_SP.values() if name != group_sp)
    assert listed[group_sp]["method"] == "m2m" and listed[group_sp]["status"] == "ok"
    assert listed[group_sp]["client_id"] == client_id and other not in listed
    if user == "alice":  # her own ~/.databrickscfg: `mine` is hers; `emu` is the hub's
        assert listed["mine"]["source"] == "profile:mine"
        assert any("hidden by the hub's connection" in w for w in emu["warnings"])
    else:
        assert "mine" not in listed and emu["warnings"] == []


# -- sign-in from the server --------------------------------------------------------------------


def test_alices_sign_in_reaches_her_sidebar_by_the_event_stream(env: Env) -> None:
    """Nothing reloads: the server polls the hub service while the sign-in is pending and the
    event stream says "signed in as alice" before the window's last page is even opened."""
    alice = env.person("alice")
    stream = EventStream(alice)
    try:
        callback = env.at_databricks("alice", env.begin("alice"))
        stream.wait_for(lambda e: e["name"] == "emu" and e["status"] == "login_pending", 30)
        assert alice.connections()["emu"]["sign_in"]["finish"] == "callback"
        back = alice.browser.get(callback, follow_redirects=False)  # the hub's callback
        assert back.status_code == 302 and back.headers["Location"] == (
            "/user/alice/dbx-auth/signed-in/emu"
        )
        ok = stream.wait_for(lambda e: e["name"] == "emu" and e["status"] == "ok", 30)
        assert ok["identity"] == EMAILS["alice"] and ok["sign_in"] is None
    finally:
        stream.close()
    page = alice.browser.get(env.hub.url.rstrip("/") + back.headers["Location"])
    assert page.status_code == 200 and "Signed in to emu" in page.text
    assert EMAILS["alice"] in page.text


def test_bobs_sign_in_ends_on_his_servers_page(env: Env) -> None:
    done = env.sign_in("bob")
    assert path_of(str(done.url)) == "/user/bob/dbx-auth/signed-in/emu"
    assert "Signed in to emu" in done.text and EMAILS["bob"] in done.text
    emu = env.person("bob").connections()["emu"]
    assert emu["status"] == "ok" and emu["identity"] == EMAILS["bob"]


# -- kernels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", sorted(EMAILS))
def test_dbx_connect_in_each_users_kernel_across_expiries(env: Env, user: str) -> None:
    kernel = env.kernel(user)
    out, status = kernel.run("%dbx_connect emu")
    assert status == "ok" and f"as {EMAILS[user]}" in out, out
    for _ in range(3):  # the first, and after two expiries of the 5-second tokens
        out, status = kernel.run("print(w.current_user.me().user_name)")
        assert (status, out.strip()) == ("ok", EMAILS[user]), out
        time.sleep(TTL + 1)
    group_sp, client_id = GROUP_SP[user]
    out, status = kernel.run(
        f"%dbx_connect {group_sp}\nme = w.current_user.me()\n"
        "print(me.user_name, getattr(me, 'application_id', None))"
    )
    assert status == "ok" and client_id in out, out


def test_the_picker_lists_and_connects_hub_connections(env: Env) -> None:
    code = (
        "from jupyter_dbx_auth.kernel.widgets import picker\n"
        "p = picker('emu', live=False)\n"
        "print(sorted(c.name for c in p.model.state.connections))\n"
        "p.model.connect(var='pw')\n"
        "print(p.model.status_line())\n"
        "print(pw.current_user.me().user_name)"
    )
    out, status = env.kernel("alice").run(code)
    assert status == "ok", out
    assert "['emu', 'emu@data-science', 'mine']" in out and EMAILS["alice"] in out, out


def test_the_metadata_service_serves_hub_connections(env: Env) -> None:
    """`%dbx_connect --env`: plain `WorkspaceClient()` (databricks-sdk's metadata-service auth,
    as a subprocess or a terminal would use it) gets the hub's token for alice."""
    out, status = env.kernel("alice").run(
        "%dbx_connect emu --env\n"
        "from databricks.sdk import WorkspaceClient\n"
        "print(WorkspaceClient().current_user.me().user_name)"
    )
    assert status == "ok" and out.strip().endswith(EMAILS["alice"]), out


def test_own_profile_works_beside_the_hubs(env: Env) -> None:
    out, status = env.kernel("alice").run(
        "%dbx_connect mine\nme = w.current_user.me()\n"
        "print(me.user_name, getattr(me, 'application_id', None))"
    )
    assert status == "ok" and OWN_SP["application_id"] in out, out


def test_a_refused_token_is_passed_on_as_rejected(env: Env) -> None:
    key = env.kernel("alice").pid_environ()["JUPYTER_DBX_AUTH_KERNEL_KEY"]
    url = env.person("alice").server + "dbx-auth/api/token"
    headers = {"Authorization": f"DbxKernelKey {key}"}
    first = httpx.get(url, params={"connection": "emu"}, headers=headers, timeout=60)
    assert first.status_code == 200, first.text
    old = first.json()["access_token"]
    before = env.emulator.token_requests().get("refresh_token", 0)
    params = {"connection": "emu", "refresh": "1", "rejected": fingerprint(Secret(old))}
    second = httpx.get(url, params=params, headers=headers, timeout=60)
    assert second.status_code == 200, second.text
    assert second.json()["access_token"] != old
    assert env.emulator.token_requests().get("refresh_token", 0) - before == 1


# -- what hub connections refuse, cancel, sign-out ----------------------------------------------


def test_local_only_actions_are_refused_for_hub_connections(env: Env) -> None:
    alice = env.person("alice")
    attempts = {
        "dbx-auth/api/connections/emu/callback": {"url": "http://localhost:8020/?code=c&state=s"},
        "dbx-auth/api/connections/emu/cli-login": {},
        "dbx-auth/api/service-principals": {
            "connection": "emu",
            "client_id": OWN_SP["application_id"],
            "client_secret": OWN_SP["secrets"][0],
        },
    }
    for path, body in attempts.items():
        refused = alice.api("POST", path, json=body)
        assert refused.status_code == 400, (path, refused.text)
        said = refused.json()
        assert "sign-in for this connection happens at the hub" in said["message"], said
        assert said["hint"]
    principal = alice.api("POST", "dbx-auth/api/connections/emu@data-science/login", json={})
    assert principal.status_code == 400 and "nothing to sign in" in principal.json()["message"]


def test_cancel_stops_waiting(env: Env) -> None:
    alice = env.person("alice")
    env.begin("alice")
    assert alice.connections()["emu"]["status"] == "login_pending"
    cancelled = alice.api("POST", "dbx-auth/api/connections/emu/cancel", json={})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "ok" and cancelled.json()["reason"] == "cancelled"
    time.sleep(3)  # more than one poll interval: nothing puts it back to pending
    emu = alice.connections()["emu"]
    assert emu["status"] == "ok" and emu["identity"] == EMAILS["alice"]


def test_logout_signs_out_at_the_hub(env: Env) -> None:
    bob = env.person("bob")
    out = bob.api("POST", "dbx-auth/api/connections/emu/logout", json={})
    assert out.status_code == 200 and out.json()["status"] == "logged_out", out.text
    status = bob.browser.json(env.hub.service_url + "api/status")
    assert next(c for c in status["connections"] if c["name"] == "emu")["status"] == "logged_out"
    # A notebook asks for it: the sign-in link it prints (this server's page) leads to the hub.
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(env.kernel("bob").run, "%dbx_connect emu --timeout 150", 200)
        deadline = time.monotonic() + 60
        while bob.connections()["emu"]["status"] != "login_pending":
            assert not waiting.done(), waiting.result()
            assert time.monotonic() < deadline, bob.connections()["emu"]
            time.sleep(0.5)
        page = bob.browser.get(bob.server + "dbx-auth/login/emu")  # the printed link
        assert page.status_code == 200 and "sign" in page.text.lower(), page.url
        browser = bob.browser.http
        callback = sign_in(str(page.url), EMAILS["bob"], env.password("bob"), client=browser)
        assert bob.browser.get(callback).status_code == 200
        out, status = waiting.result(timeout=180)
    assert status == "ok" and f"as {EMAILS['bob']}" in out, out
    assert bob.connections()["emu"]["identity"] == EMAILS["bob"]


# -- named servers ------------------------------------------------------------------------------


def test_sign_in_from_a_named_server(env: Env) -> None:
    start_named_server(env.hub, "alice", "lab2")
    alice, lab2 = env.person("alice"), "/user/alice/lab2/"
    assert alice.open_server(lab2).status_code == 200 and alice.xsrf(lab2)
    out = alice.api("POST", "dbx-auth/api/connections/emu/logout", lab2, json={})
    assert out.status_code == 200 and out.json()["status"] == "logged_out", out.text
    assert alice.connections()["emu"]["status"] == "logged_out"  # her other server sees it
    done = env.sign_in("alice", lab2)
    assert path_of(str(done.url)) == "/user/alice/lab2/dbx-auth/signed-in/emu"
    for prefix in (lab2, None):
        emu = alice.connections(prefix)["emu"]
        assert emu["status"] == "ok" and emu["identity"] == EMAILS["alice"], (prefix, str(emu))


# -- isolation: bob against alice's server ------------------------------------------------------

ENDPOINTS = [
    ("GET", "dbx-auth/api/version"),
    ("GET", "dbx-auth/api/connections"),
    ("POST", "dbx-auth/api/connections/emu/login"),
    ("POST", "dbx-auth/api/connections/emu/logout"),
    ("GET", "dbx-auth/api/connections/emu/cli-login"),
    ("POST", "dbx-auth/api/connections/emu/cli-login"),
    ("POST", "dbx-auth/api/connections/emu/callback"),
    ("POST", "dbx-auth/api/connections/emu/cancel"),
    ("GET", "dbx-auth/api/service-principals"),
    ("POST", "dbx-auth/api/service-principals"),
    ("DELETE", "dbx-auth/api/service-principals?connection=emu&client_id=x"),
    ("GET", "dbx-auth/api/token?connection=emu"),
    ("GET", "dbx-auth/api/token?connection=emu@data-science"),
    ("GET", "dbx-auth/api/events"),
    ("GET", "dbx-auth/api/metadata-service?connection=emu"),
    ("GET", "dbx-auth/login/emu"),
    ("POST", "dbx-auth/login/emu"),
    ("GET", "dbx-auth/callback?code=c&state=s"),
    ("GET", "dbx-auth/signed-in/emu"),
]
ACTORS = ("bob-browser", "bob-server-token", "bob-user-token")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize("actor", ACTORS)
def test_bob_cannot_use_alices_server(env: Env, actor: str, method: str, path: str) -> None:
    url = env.person("alice").server + path
    bob = env.person("bob")
    if actor == "bob-browser":  # his hub cookie, his own server's XSRF token: a browser's all
        headers = {"X-XSRFToken": bob.xsrf()}
        response = bob.browser.http.request(method, url, headers=headers, json={}, timeout=30)
    else:
        token = env.hub.server_token("bob") if actor == "bob-server-token" else env.tokens["bob"]
        headers = {"Authorization": f"token {token}"}
        response = httpx.request(
            method, url, headers=headers, json={}, timeout=30, follow_redirects=True
        )
    assert response.status_code in (403, 404), (response.status_code, response.text[:300])
    assert EMAILS["alice"] not in response.text and "access_token" not in response.text
    emu = env.person("alice").connections()["emu"]
    assert emu["status"] == "ok" and emu["identity"] == EMAILS["alice"]


# -- nothing of the hub's on alice's server -----------------------------------------------------


def test_no_refresh_token_or_secret_on_alices_server(env: Env) -> None:
    db = HubStore(env.db, key=STORE_KEY)
    refresh = db.for_user("alice").get("u2m", "emu")["refresh_token"]
    db.close()
    secrets = [refresh, *(sp_secret(env.emulator, sp) for sp in (SP_DATA_SCIENCE, SP_FINANCE))]
    assert all(secrets)
    environs = [env.hub.server_environ("alice"), env.kernel("alice").pid_environ()]
    for environ in environs:
        text = "\0".join(f"{k}={v}" for k, v in environ.items())
        assert not any(s in text for s in secrets)
    home = env.hub.workdir / "home" / "alice"
    files = [p for p in home.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert ".databrickscfg" in names and any(p.suffix == ".json" for p in files), names
    for path in files:
        data = path.read_bytes()
        assert not any(s.encode() in data for s in secrets), path


# -- the service down, and back -----------------------------------------------------------------


def test_hub_service_down_is_an_error_that_heals(env: Env) -> None:
    alice = env.person("alice")
    old = env.hub.service_pid()
    os.kill(old, signal.SIGKILL)
    stream = EventStream(alice)
    listing = alice.api("GET", "dbx-auth/api/connections")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    emu = next(c for c in body["connections"] if c["name"] == "emu")
    assert emu["status"] == "error" and "could not be reached" in emu["message"], emu
    assert any(p["name"] == f"hub:{SERVICE}" and p["hint"] for p in body["problems"])
    assert body["connections"] and any(c["name"] == "mine" for c in body["connections"])
    time.sleep(TTL)  # the server's cached token is gone: the next one must come from the hub
    key = env.kernel("alice").pid_environ()["JUPYTER_DBX_AUTH_KERNEL_KEY"]
    down = httpx.get(
        alice.server + "dbx-auth/api/token",
        params={"connection": "emu"},
        headers={"Authorization": f"DbxKernelKey {key}"},
        timeout=60,
    )
    assert down.status_code == 503, down.text
    said = down.json()
    assert said["error"] == "HubServiceUnavailable" and "could not be reached" in said["message"]
    assert said["hint"]
    # Nobody lists or asks: the server keeps trying by itself and says so on its event stream.
    healed = stream.wait_for(lambda e: e["name"] == "emu" and e["status"] == "ok", 150)
    stream.close()
    assert healed["identity"] in (None, EMAILS["alice"])
    deadline = time.monotonic() + 30
    while True:
        again = httpx.get(down.url, headers={"Authorization": f"DbxKernelKey {key}"}, timeout=60)
        if again.status_code == 200:
            break
        assert again.status_code == 503 and time.monotonic() < deadline, again.text
        time.sleep(2)
    deadline = time.monotonic() + 30
    while True:
        emu = alice.connections()["emu"]
        if emu["status"] == "ok" and emu["identity"]:  # a restarted service reads it again
            break
        assert time.monotonic() < deadline, emu
        time.sleep(1)
    assert emu["identity"] == EMAILS["alice"]
    out, status = env.kernel("alice").run("%dbx_connect emu\nprint(w.current_user.me().user_name)")
    assert status == "ok" and EMAILS["alice"] in out, out
