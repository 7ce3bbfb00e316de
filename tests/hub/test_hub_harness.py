"""The real hub harness: hub OAuth identifies a browser at the service's one callback URL (query
intact), a single-user server's own token identifies its user, and anonymous requests are refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlparse

import httpx
import pytest
from harness import SERVICE, USERS, Hub, proxy_available

# Skipped only outside CI: under CI=true a missing proxy is a failure (`make test` installs it).
pytestmark = [
    pytest.mark.timeout(360),  # the first test also starts the hub, on a shared machine
    pytest.mark.skipif(
        not proxy_available() and not os.environ.get("CI"),
        reason="configurable-http-proxy not installed: run `make hub-proxy`",
    ),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    started = time.monotonic()
    with Hub(tmp_path_factory.mktemp("hub")) as running:
        print(f"hub up in {time.monotonic() - started:.1f} s")
        yield running


def test_alice_reaches_the_callback_url_as_alice_with_the_query_intact(hub: Hub) -> None:
    browser = hub.browser().login("alice")
    query = "code=c0de-1&state=st%2Fate&extra=a+b"
    response = browser.get(f"{hub.service_url}callback?{query}")
    assert response.status_code == 200, (response.url, response.text[:300])
    # It went through the hub's OAuth (authorize, then the service's oauth_callback) and back.
    hops = [urlparse(str(r.url)).path for r in response.history]
    assert "/hub/api/oauth2/authorize" in hops and f"/services/{SERVICE}/oauth_callback" in hops
    seen = response.json()
    assert (seen["kind"], seen["name"], seen["groups"]) == ("user", "alice", [USERS["alice"]])
    assert parse_qsl(seen["query"]) == [("code", "c0de-1"), ("state", "st/ate"), ("extra", "a b")]
    # Now the service's cookie alone identifies her (no further hub round trip).
    again = browser.get(f"{hub.service_url}callback?code=2&state=s2")
    assert again.status_code == 200 and not again.history
    assert again.json()["name"] == "alice"
    browser.close()


def test_bob_signs_in_separately_as_bob(hub: Hub) -> None:
    browser = hub.browser().login("bob")
    seen = browser.json(f"{hub.service_url}callback?state=b")
    assert (seen["name"], seen["groups"]) == ("bob", [USERS["bob"]])
    browser.close()


def test_wrong_password_does_not_log_in(hub: Hub) -> None:
    with pytest.raises(AssertionError, match="login as alice failed"):
        hub.browser().login("alice", password="not-it")


def test_anonymous_requests_are_refused(hub: Hub) -> None:
    api = httpx.get(hub.service_url + "api/whoami", trust_env=False)
    assert api.status_code == 403 and "token" in api.json()["error"]
    bogus = httpx.get(
        hub.service_url + "api/whoami",
        headers={"Authorization": "token not-a-token"},
        trust_env=False,
    )
    assert bogus.status_code == 403
    # A browser with no hub session ends on the hub's login page, identified as nobody.
    anonymous = httpx.get(
        hub.service_url + "callback?code=x&state=y", trust_env=False, follow_redirects=True
    )
    assert urlparse(str(anonymous.url)).path == "/hub/login"
    assert '"name"' not in anonymous.text


def test_bobs_server_token_is_identified_as_bob(hub: Hub) -> None:
    started = time.monotonic()
    hub.start_server("bob")
    print(f"bob's server up in {time.monotonic() - started:.1f} s")
    env = hub.server_environ("bob")
    token = env["JUPYTERHUB_API_TOKEN"]
    response = httpx.get(
        hub.service_url + "api/whoami",
        headers={"Authorization": f"token {token}"},
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    seen = response.json()
    assert (seen["kind"], seen["name"], seen["groups"]) == ("user", "bob", [USERS["bob"]])
    # The hub's own services see the same: the token belongs to bob and nobody else.
    assert hub.api.get("users/bob").json()["servers"][""]["ready"] is True
    # The server was handed its environment by the hub, not the test's secrets.
    assert hub.admin_token not in "\0".join(f"{k}={v}" for k, v in env.items())
