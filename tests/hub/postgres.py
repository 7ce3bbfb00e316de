"""A throwaway PostgreSQL 15 server for tests: initdb into a temp dir, listen on a loopback port.

PostgreSQL refuses to run as root, so as root the server runs as an unprivileged user (`postgres`
when the package created it, else `nobody`) through `runuser`; its data directory lives outside
pytest's 0700 tmp tree so that user can reach it. Password authentication (scram) on TCP only, no
unix socket: the test connects the way a hub token service would.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("JDA_PG_BIN", "/usr/lib/postgresql/15/bin"))


@dataclass
class Postgres:
    port: int
    password: str
    datadir: Path

    @property
    def url(self) -> str:
        return f"postgresql://dbx:{self.password}@127.0.0.1:{self.port}/dbx"

    def dump(self) -> bytes:
        """`pg_dump` of the test database (a client: any user may run it)."""
        env = {**os.environ, "PGPASSWORD": self.password}
        return subprocess.run(
            [str(PG_BIN / "pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "dbx", "dbx"],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout


def available() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _runas() -> tuple[list[str], int | None, int | None]:
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as")


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    prefix, uid, gid = _runas()
    root = Path(tempfile.mkdtemp(prefix="jda-pg-"))
    datadir = root / "data"
    password = secrets.token_hex(16)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    if uid is not None:
        os.chown(root, uid, gid or -1)
        os.chown(pwfile, uid, gid or -1)
    os.chmod(root, 0o700)
    port = _free_port()
    try:
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "initdb"),
                "-D",
                str(datadir),
                "-U",
                "dbx",
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
            "-c fsync=off -c max_connections=60"
        )
        subprocess.run(
            [
                *prefix,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(datadir),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        server = Postgres(port, password, datadir)
        _create_db(server)
        yield server
    finally:
        subprocess.run(
            [*prefix, str(PG_BIN / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


def _create_db(server: Postgres) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=server.port,
                user="dbx",
                password=server.password,
                dbname="postgres",
                autocommit=True,
            ) as conn:
                conn.execute("CREATE DATABASE dbx")
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
