"""The SQL store across processes, on SQLite and PostgreSQL: single-use refresh-token rotation by
two processes, and kill -9 during writes. Counts can be raised for a soak run: JDA_ROTATIONS,
JDA_KILL_ROUNDS."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hub_keys import STORE_KEY

from jupyter_dbx_auth.hub.store import HubStore

ROOT = Path(__file__).resolve().parents[2]
# Real processes on a shared 2-core machine: more room than the suite-wide 120 s.
pytestmark = pytest.mark.timeout(360)

# Each process plays a broker: under the record's lock, read the refresh token, "spend" it at the
# IdP (print it: a single-use IdP refuses a second use), write the rotated one, release.
ROTATOR = """
import sys, time
from jupyter_dbx_auth.hub.store import HubStore
db = HubStore(sys.argv[1], key=sys.argv[2], lock_timeout=60)
store = db.for_user("alice")
print("ready", flush=True)
sys.stdin.readline()
for _ in range(int(sys.argv[3])):
    with store.lock("u2m", "emu"):
        record = store.get("u2m", "emu")
        print(record["refresh_token"], flush=True)
        time.sleep(0.001)  # the IdP round trip
        n = record["n"] + 1
        store.put("u2m", "emu", {"refresh_token": f"rt-{n}", "n": n})
"""

WRITER = """
import sys
from jupyter_dbx_auth.hub.store import HubStore
db = HubStore(sys.argv[1], key=sys.argv[2], lock_timeout=20)
store = db.for_user("alice")
n = int(sys.argv[3])
pad = "x" * 20000
print("ready", flush=True)
while True:
    n += 1
    store.update("u2m", "conn", lambda r: {"n": n, "pad": pad})
    print(n, flush=True)  # reported only after update() returned: committed
"""


def _spawn(script: str, *args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stdin=stdin,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_two_processes_rotate_a_single_use_token_without_loss(db_url: str) -> None:
    per_process = int(os.environ.get("JDA_ROTATIONS", "200"))
    db = HubStore(db_url, key=STORE_KEY)
    db.for_user("alice").put("u2m", "emu", {"refresh_token": "rt-0", "n": 0})
    procs = [
        _spawn(ROTATOR, db_url, STORE_KEY, str(per_process), stdin=subprocess.PIPE)
        for _ in range(2)
    ]
    started = time.monotonic()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    spent: list[list[str]] = []
    for proc in procs:
        assert proc.stdout is not None and proc.stdin is not None
        spent.append(proc.stdout.read().split())
        assert proc.wait(timeout=240) == 0
        proc.stdout.close()
        proc.stdin.close()
    elapsed = time.monotonic() - started
    every = spent[0] + spent[1]
    assert len(every) == 2 * per_process
    assert len(set(every)) == len(every), "a refresh token was spent twice"
    assert set(every) == {f"rt-{i}" for i in range(2 * per_process)}
    # Both really took turns (not one after the other).
    assert spent[0] and spent[1]
    final = db.for_user("alice").get("u2m", "emu")
    assert final == {"refresh_token": f"rt-{2 * per_process}", "n": 2 * per_process}
    db.close()
    print(f"{2 * per_process} rotations by 2 processes in {elapsed:.1f} s")


def test_kill_9_during_writes_keeps_last_committed_value(db_url: str) -> None:
    rounds = int(os.environ.get("JDA_KILL_ROUNDS", "8"))
    rng = random.Random(int(os.environ.get("JDA_SEED", "0")) or None)
    committed, ahead = 0, 0
    for _ in range(rounds):
        proc = _spawn(WRITER, db_url, STORE_KEY, str(committed))
        assert proc.stdout is not None
        first = int(proc.stdout.readline())  # it is writing (a loaded machine may be slow to start)
        time.sleep(rng.uniform(0.005, 0.1))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        reported = [first, *(int(line) for line in proc.stdout.read().split() if line.isdigit())]
        proc.stdout.close()
        last = reported[-1] if reported else committed
        # A fresh process (which must get the lock the dead one may have held) finds the last
        # reported value, or the one after it when the kill landed after the commit. Never older.
        db = HubStore(db_url, key=STORE_KEY, lock_timeout=20)
        with db.for_user("alice").lock("u2m", "conn"):
            value = db.for_user("alice").get("u2m", "conn")
        assert value is not None
        assert value["n"] in (last, last + 1), (value["n"], last)
        ahead += value["n"] == last + 1
        committed = value["n"]
        assert db.for_user("alice").keys("u2m") == ["conn"]
        db.close()
    assert committed > rounds
    print(f"{rounds} kills; {ahead} landed between a commit and its report")
