"""Process options through separate emulator processes: --base-path, --public-url, --token-ttl."""

from __future__ import annotations

from databricks.sdk import WorkspaceClient

from .helpers import http


def test_base_path_and_short_ttl_with_real_sdk(emulator_factory):
    emu = emulator_factory(base_path="/proxy/8900/", token_ttl=2)
    assert emu.url.endswith("/proxy/8900")
    sp = emu.service_principal("emulator-etl-sp")
    w = WorkspaceClient(host=emu.url, client_id=sp["client_id"], client_secret=sp["secret"])
    assert w.current_user.me().display_name == "emulator-etl-sp"
    token = w.config.oauth_token()
    assert token.access_token
    with http() as c:
        meta = c.get(f"{emu.url}/.well-known/databricks-config").json()
        assert meta["oidc_endpoint"] == emu.url + "/oidc"  # a workspace's own issuer
        assert (
            c.get(emu.url.replace("/proxy/8900", "") + "/.well-known/databricks-config").status_code
            == 404
        )
        emu.set_clock_offset(3.1)  # past the 2-second --token-ttl (exp rounds up), no sleep
        expired = c.get(
            f"{emu.url}/api/2.0/preview/scim/v2/Me",
            headers={"Authorization": f"Bearer {token.access_token}"},
        )
    assert expired.status_code == 401


def test_state_file_replaces_the_seed(emulator_factory, tmp_path):
    import json

    from jupyter_dbx_auth.emulator.seed import default_seed

    seed = default_seed()
    seed["account_id"] = "0f0f0f0f-0000-4000-8000-000000000abc"
    seed["users"] = [
        {"id": "9", "username": "carol@example.com", "password": "carol-pw", "account_admin": True}
    ]
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    emu = emulator_factory(state=str(path))
    assert emu.account_id == seed["account_id"]
    assert [u["username"] for u in emu.config["users"]] == ["carol@example.com"]
    with http() as c:
        meta = c.get(f"{emu.url}/.well-known/databricks-config").json()
    assert meta["account_id"] == seed["account_id"]


def test_keep_sign_ins_carries_refresh_tokens_across_a_restart(emulator_factory, tmp_path):
    """`make demo` restarts the emulator: a user's sign-in survives it, as at Databricks."""
    import socket
    import stat

    from browser import sign_in

    from .helpers import CLI, LOOPBACK_REDIRECT, authorize_url, pkce_pair, query, token_url

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    keep = tmp_path / "sign-ins.json"
    emu = emulator_factory(port=port, keep_sign_ins=keep)
    verifier, challenge = pkce_pair()
    location = sign_in(
        authorize_url(emu, challenge=challenge), "alice@example.com", "alice-demo-password"
    )
    code = query(location)["code"]
    with http() as c:
        tokens = c.post(
            token_url(emu),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": LOOPBACK_REDIRECT,
                "code_verifier": verifier,
                "client_id": CLI,
            },
        ).json()
    emu.stop()
    assert stat.S_IMODE(keep.stat().st_mode) == 0o600
    assert tokens["refresh_token"] not in keep.read_text()  # hashes only

    def refresh(emu):
        with http() as c:
            return c.post(
                token_url(emu),
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": tokens["refresh_token"],
                    "client_id": CLI,
                },
            )

    again = emulator_factory(port=port, keep_sign_ins=keep)
    assert refresh(again).status_code == 200
    again.stop()
    # Without the option, a restarted emulator knows no sign-in (the strict default).
    plain = emulator_factory(port=port)
    assert refresh(plain).status_code == 400


def test_public_url_names_only_the_authorize_page(emulator_factory):
    """--public-url (a deployment option for a proxy, e.g. Binder's): browsers are sent to the
    proxied address; the issuer, token and key endpoints stay on the emulator's own address."""
    public = "https://hub.example.test/user/me/dbx-emulator"
    emu = emulator_factory(public_url=public + "/")
    with http() as c:
        doc = c.get(f"{emu.url}/oidc/.well-known/oauth-authorization-server").json()
        account = c.get(
            f"{emu.url}/oidc/accounts/{emu.account_id}/.well-known/oauth-authorization-server"
        ).json()
    assert doc["authorization_endpoint"] == public + "/oidc/v1/authorize"
    assert (doc["issuer"], doc["token_endpoint"]) == (
        emu.url + "/oidc",
        emu.url + "/oidc/v1/token",
    )
    assert account["authorization_endpoint"] == (
        f"{public}/oidc/accounts/{emu.account_id}/v1/authorize"
    )
    assert account["token_endpoint"].startswith(emu.url + "/oidc/accounts/")
    # Reached by another name (as through the proxy), the issuer is still the loopback one:
    # a code the browser got through the proxy is redeemed by the server over loopback.
    other = emu.url.replace("127.0.0.1", "localhost")
    with http() as c:
        again = c.get(f"{other}/oidc/.well-known/oauth-authorization-server").json()
    assert again["issuer"] == emu.url + "/oidc"
