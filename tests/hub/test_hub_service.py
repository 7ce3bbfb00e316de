"""The hub token service (`jupyter-dbx-hub`, `HubTokenService` over `AuthService`) run by a real
JupyterHub 6.1 as the managed service `dbx-auth`, against the emulator with 5-second access
tokens. alice (group data-science) and bob (group finance) sign in through the one callback URL
with cookie-jar browsers; their own servers' `JUPYTERHUB_API_TOKEN`s fetch their tokens.

One hub, one emulator and two single-user servers for the whole module (`env`); the sign-ins are
made once (`signed_in`) and every later test leaves them signed in.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from harness import Hub, HubBrowser, proxy_available
from hub_env import (
    SP_DATA_SCIENCE,
    SP_FINANCE,
    add_hub_app,
    call,
    configure_service,
    scim_me,
    start_sign_in,
)
from hub_keys import STORE_KEY

from jupyter_dbx_auth.core.oauth.tokens import fingerprint
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.emulator.harness import EmulatorProcess
from jupyter_dbx_auth.emulator.seed import default_seed
from jupyter_dbx_auth.hub.store import HubStore

pytestmark = [
    pytest.mark.timeout(420),  # the first test also starts the hub and two servers
    pytest.mark.skipif(
        not proxy_available() and not os.environ.get("CI"),
        reason="configurable-http-proxy not installed: run `make hub-proxy`",
    ),
]
TTL = 5
EMAILS = {"alice": "alice@example.com", "bob": "bob@example.com"}


class Env:
    def __init__(self, hub: Hub, emulator: EmulatorProcess, db: str) -> None:
        self.hub, self.emulator, self.db = hub, emulator, db
        self.server_tokens: dict[str, str] = {}
        self.browsers: dict[str, HubBrowser] = {}

    def password(self, user: str) -> str:
        return self.emulator.user(EMAILS[user])["password"]

    def browser(self, user: str) -> HubBrowser:
        if user not in self.browsers:
            self.browsers[user] = self.hub.browser().login(user)
        return self.browsers[user]

    def server_call(self, user: str, path: str, method: str = "GET") -> httpx.Response:
        """A request from `user`'s own single-user server (its JUPYTERHUB_API_TOKEN)."""
        return call(self.hub, path, self.server_tokens[user], method)

    def token_of(self, user: str, connection: str = "emu") -> str:
        response = self.server_call(user, f"api/token/{connection}")
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def refreshes(self) -> int:
        return self.emulator.token_requests().get("refresh_token", 0)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    workdir = tmp_path_factory.mktemp("hub-service")
    db = f"sqlite:///{workdir}/dbx-auth/store.sqlite"
    hub = Hub(workdir)
    with EmulatorProcess(state=add_hub_app(default_seed(), hub), token_ttl=TTL) as emulator:
        configure_service(hub, emulator, db_url=db, store_key=STORE_KEY)
        started = time.monotonic()
        with hub:
            print(f"hub with the dbx-auth service up in {time.monotonic() - started:.1f} s")
            running = Env(hub, emulator, db)
            for user in EMAILS:
                hub.start_server(user)
                running.server_tokens[user] = hub.server_token(user)
            print(f"hub and two servers up in {time.monotonic() - started:.1f} s")
            yield running
            for browser in running.browsers.values():
                browser.close()


@pytest.fixture(scope="module")
def signed_in(env: Env) -> Env:
    """alice and bob, each signed in to `emu` through the one callback in their own browser."""
    for user in EMAILS:
        browser = env.browser(user)
        callback = start_sign_in(env.hub, browser, EMAILS[user], env.password(user))
        done = browser.get(callback)
        assert done.status_code == 200 and urlparse(str(done.url)).path == "/hub/home"
    return env


# -- sign-in and identity -----------------------------------------------------------------------


@pytest.mark.parametrize("user", sorted(EMAILS))
def test_each_user_gets_their_own_identity_through_their_own_server(
    signed_in: Env, user: str
) -> None:
    env = signed_in
    response = env.server_call(user, "api/token/emu")
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "expires_at", "token_type"}  # never a refresh token
    assert scim_me(env.emulator, body["access_token"])["userName"] == EMAILS[user]
    status = env.browser(user).json(env.hub.service_url + "api/status")
    assert status["user"] == user
    emu = next(c for c in status["connections"] if c["name"] == "emu")
    assert emu["status"] == "ok" and emu["identity"] == EMAILS[user]
    assert "access_token" not in str(status) and "refresh_token" not in str(status)


def test_state_is_single_use_and_idp_errors_are_explained(signed_in: Env) -> None:
    env = signed_in
    browser = env.browser("alice")
    callback = start_sign_in(env.hub, browser, EMAILS["alice"], env.password("alice"))
    assert browser.get(callback).status_code == 200
    again = browser.get(callback)
    assert again.status_code == 400 and "already used" in again.json()["message"]
    denied = browser.get(env.hub.service_url + "callback?error=access_denied&state=x")
    assert denied.status_code == 400 and "access_denied" in denied.text
    offsite = browser.get(env.hub.service_url + "login/emu?next=https://evil.example/")
    assert offsite.status_code == 400
    unknown = browser.get(env.hub.service_url + "login/nope")
    assert unknown.status_code == 404 and "Unknown connection 'nope'" in unknown.json()["message"]


# -- isolation: bob (his browser, his server's token) against alice's sign-in ------------------

ACTORS = ("bob-browser", "bob-server")
ACTIONS = ("start", "complete", "status", "token", "sign-out", "revoke")


def _as_bob(env: Env, actor: str, path: str, method: str = "GET") -> httpx.Response:
    if actor == "bob-server":
        return env.server_call("bob", path, method)
    browser = env.browser("bob")
    if method == "GET":
        return browser.get(env.hub.service_url + path)
    # The service's own XSRF cookie (set by hub OAuth at the service's path), as a page would send.
    prefix = urlparse(env.hub.service_url).path
    xsrf = next(c.value for c in browser.http.cookies.jar if c.name == "_xsrf" and c.path == prefix)
    return browser.http.request(method, env.hub.service_url + path, headers={"X-XSRFToken": xsrf})


def _alice_still_herself(env: Env) -> None:
    assert scim_me(env.emulator, env.token_of("alice"))["userName"] == EMAILS["alice"]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("actor", ACTORS)
def test_isolation_matrix(signed_in: Env, actor: str, action: str) -> None:
    env = signed_in
    if action == "start":
        # Bob cannot make a sign-in that lands in alice's records: a server's token cannot start
        # one at all, and a sign-in bob's browser started is bound to bob: alice's browser,
        # tricked into opening its callback, completes nothing.
        if actor == "bob-server":
            refused = _as_bob(env, actor, "login/emu")
            assert refused.status_code == 403 and "browser" in refused.json()["message"]
        else:
            bobs = start_sign_in(env.hub, env.browser("bob"), EMAILS["bob"], env.password("bob"))
            planted = env.browser("alice").get(bobs)
            assert planted.status_code == 400, planted.text
            assert "unknown or was already used" in planted.json()["message"]
    elif action == "complete":
        alices = start_sign_in(
            env.hub, env.browser("alice"), EMAILS["alice"], env.password("alice")
        )
        query = alices.partition("?")[2]
        stolen = _as_bob(env, actor, f"callback?{query}")
        assert stolen.status_code in (400, 403), stolen.text
        assert "access_token" not in stolen.text
        # Bob's attempt neither completed nor burned it: alice's own browser still can.
        assert env.browser("alice").get(alices).status_code == 200
    elif action == "status":
        for path in ("api/status", "api/status?user=alice", "api/admin"):
            seen = _as_bob(env, actor, path)
            text = seen.text
            assert EMAILS["alice"] not in text and '"alice"' not in text, (path, text[:300])
        mine = _as_bob(env, actor, "api/status?user=alice")
        assert mine.status_code == 200 and mine.json()["user"] == "bob"
        assert _as_bob(env, actor, "api/admin").status_code == 403
    elif action == "token":
        attempt = _as_bob(env, actor, "api/token/emu?user=alice")
        if actor == "bob-browser":
            assert attempt.status_code == 403 and "access_token" not in attempt.text
        else:
            assert attempt.status_code == 200, attempt.text
            who = scim_me(env.emulator, attempt.json()["access_token"])["userName"]
            assert who == EMAILS["bob"]
    elif action == "sign-out":
        # There is no way to name another user: the sign-out is bob's own.
        out = _as_bob(env, actor, "api/sign-ins/emu?user=alice", method="DELETE")
        assert out.status_code == 200, out.text
        assert out.json()["status"] == "logged_out" and EMAILS["alice"] not in out.text
        assert env.server_call("bob", "api/token/emu").status_code == 409
        again = start_sign_in(env.hub, env.browser("bob"), EMAILS["bob"], env.password("bob"))
        assert env.browser("bob").get(again).status_code == 200
    elif action == "revoke":
        revoked = _as_bob(env, actor, "api/admin/sign-ins/alice/emu", method="DELETE")
        assert revoked.status_code == 403, revoked.text
        assert "Only hub admins" in revoked.json()["message"]  # refused as bob, not for XSRF
    _alice_still_herself(env)


# Group service principals: members only, whoever asks and however.
GROUP_CELLS = [
    ("alice", "emu@data-science", SP_DATA_SCIENCE),
    ("alice", "emu@finance", None),
    ("bob", "emu@finance", SP_FINANCE),
    ("bob", "emu@data-science", None),
    ("bob", "emu@no-such-group", None),
]


@pytest.mark.parametrize(("user", "name", "client_id"), GROUP_CELLS)
def test_group_service_principal_is_for_members_only(
    env: Env, user: str, name: str, client_id: str | None
) -> None:
    response = env.server_call(user, f"api/token/{name}")
    status = env.browser(user).json(env.hub.service_url + "api/status")
    listed = {c["name"] for c in status["connections"]}
    if client_id is None:
        assert response.status_code == 404, response.text
        assert response.json()["message"] == f"No service principal {name!r} is available to you."
        assert name not in listed
        return
    assert response.status_code == 200, response.text
    me = scim_me(env.emulator, response.json()["access_token"])
    assert client_id in (me.get("applicationId"), me.get("userName"))
    assert name in listed
    # A browser never receives it, member or not.
    assert env.browser(user).get(env.hub.service_url + f"api/token/{name}").status_code == 403


def test_admin_sees_names_and_times_never_a_token(signed_in: Env) -> None:
    env = signed_in
    admin = env.hub.browser().login("hubadmin")
    overview = admin.json(env.hub.service_url + "api/admin")
    users = {(s["user"], s["connection"]) for s in overview["sign_ins"]}
    assert {("alice", "emu"), ("bob", "emu")} <= users
    groups = {(p["group"], p["client_id"]) for p in overview["group_service_principals"]}
    assert groups == {("data-science", SP_DATA_SCIENCE), ("finance", SP_FINANCE)}
    text = str(overview)
    assert "secret'" not in text.replace("has_secret", "") and "token" not in text
    assert env.token_of("alice") not in text
    admin.close()


def test_admin_page_lists_and_revokes_for_admins_only(signed_in: Env) -> None:
    env = signed_in
    page_url = env.hub.service_url + "admin"
    admin = env.hub.browser().login("hubadmin")
    page = admin.get(page_url)
    assert page.status_code == 200, page.text[:300]
    assert "<td>alice</td><td>emu</td>" in page.text and "data-science" in page.text
    assert env.token_of("alice") not in page.text
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
    assert xsrf is not None
    # bob is no admin: neither the page nor its form works for him, even with his own XSRF.
    bob = env.browser("bob")
    assert bob.get(page_url).status_code == 403
    bobs_xsrf = next(
        c.value for c in bob.http.cookies.jar if c.name == "_xsrf" and "services" in c.path
    )
    forged = bob.http.post(
        page_url, data={"_xsrf": bobs_xsrf, "user": "alice", "connection": "emu"}
    )
    assert forged.status_code == 403
    # Without the page's XSRF token even the admin's browser cannot revoke.
    csrf = admin.http.post(page_url, data={"user": "bob", "connection": "emu"})
    assert csrf.status_code == 403
    assert env.server_call("bob", "api/token/emu").status_code == 200
    done = admin.http.post(page_url, data={"_xsrf": xsrf[1], "user": "bob", "connection": "emu"})
    assert done.status_code == 200 and "bob revoked emu" in done.text
    assert env.server_call("bob", "api/token/emu").status_code == 409
    _alice_still_herself(env)
    again = start_sign_in(env.hub, bob, EMAILS["bob"], env.password("bob"))
    assert bob.get(again).status_code == 200
    admin.close()


# -- expiry, single flight, restart ------------------------------------------------------------


def test_tokens_survive_expiries_with_one_refresh_per_user_and_connection(
    signed_in: Env,
) -> None:
    env = signed_in
    for round_ in range(3):
        time.sleep(TTL + 0.5)  # every cached and stored access token has expired
        before = env.refreshes()
        barrier = threading.Barrier(20)

        def ask(user: str, barrier: threading.Barrier = barrier) -> tuple[str, str]:
            barrier.wait()
            return user, env.token_of(user)

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(ask, ["alice", "bob"] * 10))
        tokens = {user: {t for u, t in results if u == user} for user in EMAILS}
        # Ten requests per user at once: one refresh each, everyone handed its result.
        assert {u: len(t) for u, t in tokens.items()} == {"alice": 1, "bob": 1}, round_
        assert env.refreshes() - before == 2, round_
        for user, (token,) in tokens.items():
            assert scim_me(env.emulator, token)["userName"] == EMAILS[user]


def test_a_token_databricks_refused_is_replaced_once(signed_in: Env) -> None:
    env = signed_in
    old = env.token_of("alice")
    before = env.refreshes()
    path = f"api/token/emu?rejected={fingerprint(Secret(old))}"
    first = env.server_call("alice", path).json()["access_token"]
    second = env.server_call("alice", path).json()["access_token"]  # a second kernel, same 401
    assert first != old and second == first
    assert env.refreshes() - before == 1
    assert scim_me(env.emulator, first)["userName"] == EMAILS["alice"]


def _wait_for_restart(env: Env, old: int) -> None:
    deadline = time.monotonic() + 120  # the hub polls its services every 30 s (with jitter)
    while True:
        try:
            pid = env.hub.service_pid()
            if pid != old and env.server_call("alice", "api/status").status_code == 200:
                return
        except (LookupError, httpx.HTTPError):
            pass
        assert time.monotonic() < deadline, env.hub.log_tail()
        time.sleep(1)


def test_stopping_the_service_mid_refresh_loses_nothing(signed_in: Env) -> None:
    """SIGTERM (how the hub, Kubernetes or an admin stop it) while a refresh waits on Databricks:
    the service stops taking connections, lets that request finish (the rotated single-use
    refresh token is stored), then exits; the hub starts it again."""
    env = signed_in
    time.sleep(TTL + 0.5)  # alice's token is stale: her next request refreshes it
    before = env.refreshes()
    env.emulator.set_latency(4)
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(env.server_call, "alice", "api/token/emu")
            time.sleep(2)  # the refresh is now waiting on Databricks
            old = env.hub.service_pid()
            os.kill(old, signal.SIGTERM)
            answer = pending.result(timeout=60)
    finally:
        env.emulator.set_latency(0)
    assert answer.status_code == 200, answer.text
    assert env.refreshes() - before == 1
    _wait_for_restart(env, old)
    assert scim_me(env.emulator, env.token_of("alice"))["userName"] == EMAILS["alice"]
    time.sleep(TTL + 0.5)  # and the refresh token stored by the stopping process still works
    assert scim_me(env.emulator, env.token_of("alice"))["userName"] == EMAILS["alice"]


def test_restarting_the_service_keeps_every_sign_in(signed_in: Env) -> None:
    env = signed_in
    old = env.hub.service_pid()
    os.kill(old, signal.SIGKILL)  # as a crash or an OOM kill would
    _wait_for_restart(env, old)
    for user in EMAILS:
        assert scim_me(env.emulator, env.token_of(user))["userName"] == EMAILS[user]
        # The browser is still signed in to the service (cookie secret derived from the store key).
        status = env.browser(user).json(env.hub.service_url + "api/status")
        emu = next(c for c in status["connections"] if c["name"] == "emu")
        assert emu["status"] == "ok" and emu["identity"] == EMAILS[user]
    assert env.token_of("alice", "emu@data-science")


def test_nothing_secret_in_the_store_or_the_servers(signed_in: Env) -> None:
    env = signed_in
    path = Path(urlparse(env.db).path)
    raw = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.is_file())
    assert raw and b"alice" in raw
    secrets = [STORE_KEY, *(sp["secret"] for sp in env.emulator.config["service_principals"][:2])]
    for needle in ("refresh_token", *secrets):
        assert needle.encode() not in raw
    # Each user's refresh token as the service holds it: in no server's environment or files.
    db = HubStore(env.db, key=STORE_KEY)
    refresh = [db.for_user(user).get("u2m", "emu")["refresh_token"] for user in EMAILS]
    db.close()
    assert all(refresh)
    for user in EMAILS:
        environ = "\0".join(f"{k}={v}" for k, v in env.hub.server_environ(user).items())
        home = env.hub.workdir / "home" / user
        files = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
        assert files, f"{user}'s server wrote nothing to search"
        for needle in (*secrets, *refresh):
            assert needle not in environ
            assert not any(needle.encode() in data for data in files)
