"""`HubTokenService` in-process against the emulator (no hub): group service principals follow the
configuration, secrets come only from the service's environment or files, and each hub user's
AuthService sees only that user's records; on SQLite and PostgreSQL. The same class under a real
hub: `test_hub_service.py`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from hub_keys import STORE_KEY

from jupyter_dbx_auth.core.errors import ConfigError, NotFound
from jupyter_dbx_auth.core.oauth.tokens import TokenSet
from jupyter_dbx_auth.core.secret import Secret
from jupyter_dbx_auth.core.service import OAuthApp
from jupyter_dbx_auth.hub.protocol import HubUser
from jupyter_dbx_auth.hub.service import HubTokenService, expiry_epoch, read_group_secret
from jupyter_dbx_auth.hub.store import HubStore

ETL = "5e1f0c1a-7d2b-4c3e-9f10-00000000a002"
ADMIN_SP = "5e1f0c1a-7d2b-4c3e-9f10-00000000a001"


@pytest.fixture
async def hub_service(emulator, db_url: str):
    db = HubStore(db_url, key=STORE_KEY)  # SQLite, and a real PostgreSQL 15 (conftest)
    service = HubTokenService(
        db,
        connections={"emu": {"host": emulator.url}},
        app=OAuthApp(client_id="app", redirect_url="https://hub.example.com/services/x/callback"),
        http=httpx.AsyncClient(trust_env=False, timeout=30),
    )
    yield service
    await service.aclose()
    db.close()


def secret_of(emulator, client_id: str) -> str:
    return next(
        sp["secret"] for sp in emulator.config["service_principals"] if sp["client_id"] == client_id
    )


async def test_group_principals_follow_the_configuration(
    hub_service: HubTokenService, emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ETL_SECRET", secret_of(emulator, ETL))
    secret_file = tmp_path / "admin-sp"
    secret_file.write_text(secret_of(emulator, ADMIN_SP) + "\n")
    config = {
        "etl": [{"connection": "emu", "client_id": ETL, "client_secret_env": "ETL_SECRET"}],
        "ops": [{"connection": "emu", "client_id": ADMIN_SP, "client_secret_file": secret_file}],
    }
    await hub_service.load_group_service_principals(config)
    member = HubUser("carol", frozenset({"etl"}))
    token = await hub_service.token(member, "emu@etl")
    me = httpx.get(
        f"{emulator.url}/api/2.0/preview/scim/v2/Me",
        headers={"Authorization": f"Bearer {token.access_token.reveal()}"},
    ).json()
    assert me["applicationId"] == ETL
    with pytest.raises(NotFound):
        await hub_service.token(member, "emu@ops")
    overview = await hub_service.overview()
    assert {(p["group"], p["client_id"]) for p in overview["group_service_principals"]} == {
        ("etl", ETL),
        ("ops", ADMIN_SP),
    }
    assert hub_service.db.owners("group") == ["etl", "ops"]

    # The admin removes "ops" and gives "etl" another principal: the old records go.
    await hub_service.load_group_service_principals(
        {"etl": [{"connection": "emu", "client_id": ADMIN_SP, "client_secret_file": secret_file}]}
    )
    assert hub_service.db.owners("group") == ["etl"]
    assert hub_service.db.keys("group", "etl", "sp") == [f"emu/{ADMIN_SP}"]
    assert (await hub_service.token(member, "emu@etl")).access_token != token.access_token


def test_group_secrets_come_from_the_services_environment_or_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SP_SECRET", "from-env")
    assert read_group_secret("g", {"client_secret_env": "SP_SECRET"}).reveal() == "from-env"
    path = tmp_path / "s"
    path.write_text("from-file\n")
    assert read_group_secret("g", {"client_secret_file": str(path)}).reveal() == "from-file"
    with pytest.raises(ConfigError, match="UNSET_SP_SECRET is empty or unreadable"):
        read_group_secret("g", {"client_id": "x", "client_secret_env": "UNSET_SP_SECRET"})
    with pytest.raises(ConfigError, match="is empty or unreadable"):
        read_group_secret("g", {"client_secret_file": str(tmp_path / "missing")})
    assert expiry_epoch("2030-01-01") == pytest.approx(1893542399.999999)
    assert expiry_epoch(None) is None


async def test_each_user_sees_only_their_own_records(
    hub_service: HubTokenService, emulator
) -> None:
    now = 2_000_000_000.0
    record = TokenSet(
        access_token=Secret("at-alice"),
        refresh_token=Secret("rt-alice"),
        expires_at=now,
        issued_at=now - 100,
    ).to_record(host=emulator.url)
    hub_service.db.for_user("alice").put("u2m", "emu", record)
    alice = await hub_service.status(HubUser("alice"))
    bob = await hub_service.status(HubUser("bob"))
    assert [c["status"] for c in alice["connections"]] == ["ok"]
    assert [c["status"] for c in bob["connections"]] == ["logged_out"]
    # Nothing of another user's can be named: there is no user argument, only the caller.
    assert hub_service.user_service("bob").store.keys("u2m") == []
    assert await hub_service.revoke("bob", "emu") is False
    assert await hub_service.revoke("alice", "emu") is True
    assert hub_service.db.keys("user", "alice", "u2m") == []
    with pytest.raises(NotFound):
        await hub_service.revoke("alice", "nope")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_idle_users_are_forgotten_and_read_again_from_the_store(emulator, db_url) -> None:
    clock = Clock()
    db = HubStore(db_url, key=STORE_KEY)
    service = HubTokenService(
        db,
        connections={"emu": {"host": emulator.url}},
        app=OAuthApp(client_id="app", redirect_url="https://hub.example.com/services/x/callback"),
        http=httpx.AsyncClient(trust_env=False, timeout=30),
        user_idle=3600,
        clock=clock,
    )
    try:
        record = TokenSet(
            access_token=Secret("at-alice"),
            refresh_token=Secret("rt-alice"),
            expires_at=2_000_000_000.0,
            issued_at=1_999_999_000.0,
        ).to_record(host=emulator.url)
        db.for_user("alice").put("u2m", "emu", record)
        alice = service.user_service("alice")
        assert [c["status"] for c in (await service.status(HubUser("alice")))["connections"]] == [
            "ok"
        ]
        carol = HubUser("carol")
        await service.begin_login(
            carol, "emu", redirect_uri=service.app.redirect_url or "", next_url=None
        )

        clock.now += 3599  # used within the hour: kept
        assert service.user_service("bob") is not None
        assert service.user_service("alice") is alice
        clock.now += 3600  # an hour after alice's and bob's last request
        service.user_service("dave")
        assert repr(service) == "<HubTokenService users=2 groups=[]>"  # carol (signing in), dave
        # alice comes back: a new AuthService, her sign-in read again from the store.
        again = service.user_service("alice")
        assert again is not alice
        assert [c["status"] for c in (await service.status(HubUser("alice")))["connections"]] == [
            "ok"
        ]
    finally:
        await service.aclose()
        db.close()
