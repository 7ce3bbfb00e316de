"""Single-use refresh tokens rotated by two processes sharing one encrypted store.

Each worker process runs its own broker on the same `EncryptedFileStore` directory and forces a
refresh in a loop. With the cross-process lock and the re-read of the store inside it, every one
of the 1,000 rotations spends the refresh token the other process (or itself) saved last: no
`invalid_grant`, and the emulator counts exactly 1,000 refresh requests.

Run as a script (`python test_broker_rotation.py worker ...`) this file is the worker.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
SINGLE_USE_APP = "7c0b5e0e-1111-4a1a-8a1a-00000000c002"
REDIRECT = "http://127.0.0.1:8888/dbx-auth/callback"
ROTATIONS = 1000
WORKERS = 2


def _connection(host: str):
    from jupyter_dbx_auth.core.connections import AuthMethod, Connection

    return Connection(name="emu", host=host, method=AuthMethod.USER, client_id=SINGLE_USE_APP)


async def _worker(store_path: str, host: str, count: int) -> dict[str, object]:
    from jupyter_dbx_auth.core.broker import TokenBroker
    from jupyter_dbx_auth.core.errors import DbxAuthError
    from jupyter_dbx_auth.core.oauth import OAuthEngine
    from jupyter_dbx_auth.core.store import EncryptedFileStore

    conn = _connection(host)
    done, failures, errors = 0, 0, []
    async with OAuthEngine() as engine:
        broker = TokenBroker(EncryptedFileStore(store_path), engine)
        for _ in range(count):
            try:
                await broker.get_token(conn, force_refresh=True)
                done += 1
            except DbxAuthError as exc:
                failures += 1
                errors.append(exc.message)
    return {"rotations": done, "failures": failures, "errors": errors[:3]}


def test_1000_rotations_across_two_processes(emulator, tmp_path) -> None:
    from cryptography.fernet import Fernet

    from jupyter_dbx_auth.core.broker import TokenBroker
    from jupyter_dbx_auth.core.oauth import OAuthEngine
    from jupyter_dbx_auth.core.store import EncryptedFileStore
    from tests.browser import sign_in

    key = Fernet.generate_key().decode()
    store_path = tmp_path / "store"
    conn = _connection(emulator.url)

    async def login() -> None:
        async with OAuthEngine() as engine:
            broker = TokenBroker(EncryptedFileStore(store_path, key=key), engine)
            url, pending = await broker.begin_login(conn, REDIRECT)
            alice = emulator.user("alice@example.com")
            location = sign_in(url, alice["username"], alice["password"])
            params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
            await broker.complete_login(conn, pending, params["code"])

    asyncio.run(login())
    env = {
        **os.environ,
        "JUPYTER_DBX_AUTH_CRYPT_KEY": key,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    per_worker = ROTATIONS // WORKERS
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "worker", str(store_path), emulator.url, str(per_worker)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=100)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert sum(r["failures"] for r in results) == 0, results
    assert sum(r["rotations"] for r in results) == ROTATIONS
    assert all(r["rotations"] == per_worker for r in results)
    assert emulator.token_requests()["refresh_token"] == ROTATIONS

    # The refresh token left in the store is the live one: one more rotation works.
    async def once_more() -> None:
        async with OAuthEngine() as engine:
            broker = TokenBroker(EncryptedFileStore(store_path, key=key), engine)
            await broker.get_token(conn, force_refresh=True)

    asyncio.run(once_more())
    assert emulator.token_requests()["refresh_token"] == ROTATIONS + 1


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "worker":
    report = asyncio.run(_worker(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    print(json.dumps(report))
