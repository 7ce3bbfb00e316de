"""The store across processes: kill -9 during writes, and concurrent read-modify-write.

Both run real subprocesses of this interpreter against one EncryptedFileStore directory. Rounds
and counts can be raised for a soak run: JDA_KILL_ROUNDS, JDA_INCREMENTS.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from jupyter_dbx_auth.core.store import EncryptedFileStore

ROOT = Path(__file__).resolve().parents[2]
KEY = "22" * 32

WRITER = """
import sys
from jupyter_dbx_auth.core.store import EncryptedFileStore
store = EncryptedFileStore(sys.argv[1], key=sys.argv[2])
n = int(sys.argv[3])
pad = "x" * 20000  # a larger record widens the window in which a kill lands mid-write
print("ready", flush=True)
while True:
    n += 1
    store.put("u2m", "conn", {"n": n, "pad": pad})
    print(n, flush=True)  # reported only after put() returned: committed
"""

INCREMENTER = """
import sys
from jupyter_dbx_auth.core.store import EncryptedFileStore
store = EncryptedFileStore(sys.argv[1], key=sys.argv[2])
print("ready", flush=True)
sys.stdin.readline()  # start together, so the two really interleave
for _ in range(int(sys.argv[3])):
    store.update("u2m", "counter", lambda r: {"n": (r or {"n": 0})["n"] + 1})
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


def test_kill_9_during_writes_keeps_last_committed_value(tmp_path: Path) -> None:
    rounds = int(os.environ.get("JDA_KILL_ROUNDS", "15"))
    rng = random.Random(int(os.environ.get("JDA_SEED", "0")) or None)
    committed = 0
    kills_mid_write = 0
    for _ in range(rounds):
        proc = _spawn(WRITER, str(tmp_path), KEY, str(committed))
        assert proc.stdout is not None
        # Wait for one committed write before the kill: on a loaded machine the interpreter can
        # be slow enough that a kill lands before the first write, which tests nothing.
        first = int(proc.stdout.readline())
        time.sleep(rng.uniform(0.005, 0.06))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        reported = [first] + [int(n) for n in proc.stdout.read().split() if n.isdigit()]
        proc.stdout.close()
        last_reported = reported[-1] if reported else committed
        # A fresh process must load the store, and find the last reported value or, when the
        # kill landed after os.replace but before the print, the one after it. Never older.
        value = EncryptedFileStore(tmp_path, key=KEY).get("u2m", "conn")
        assert value is not None
        assert value["n"] in (last_reported, last_reported + 1), (value["n"], last_reported)
        kills_mid_write += value["n"] == last_reported + 1 or any(
            name.endswith(".tmp") for name in os.listdir(tmp_path / "u2m")
        )
        committed = value["n"]
        assert EncryptedFileStore(tmp_path, key=KEY).keys("u2m") == ["conn"]
    assert committed > rounds  # every round wrote something
    print(f"{rounds} kills, {kills_mid_write} inside a write")
    assert kills_mid_write > 0  # the test did hit the dangerous window


def test_two_processes_increment_without_lost_updates(tmp_path: Path) -> None:
    per_process = int(os.environ.get("JDA_INCREMENTS", "500"))
    procs = [
        _spawn(INCREMENTER, str(tmp_path), KEY, str(per_process), stdin=subprocess.PIPE)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        assert proc.wait(timeout=90) == 0
        assert proc.stdout is not None
        proc.stdout.close()
        assert proc.stdin is not None
        proc.stdin.close()
    value = EncryptedFileStore(tmp_path, key=KEY).get("u2m", "counter")
    assert value == {"n": 2 * per_process}
