"""Hub token service benchmark: the real `jupyter-dbx-hub` run by a real JupyterHub (with its
proxy) as the managed service `dbx-auth`, against the emulator, with 1,000 hub users' sign-ins in
its store.

- Store: 1,000 users' U2M records written straight into the service's SQLite store (the way a
  long-running hub accumulates them); 50 of them are real sign-ins at the emulator (PKCE code
  exchange with the hub's OAuth app and its one callback URL), the other 950 hold refresh tokens
  nobody will spend.
- Load: 50 "servers" (hub API tokens of 50 users with the scope a server's token has), 200 token
  requests at once (4 per token) through the hub's proxy, three times: cold (nothing in the
  service's memory, fresh access tokens in the store: each user's record is read once, no IdP
  call), warm (cached), and at expiry (every access token stale: exactly one IdP refresh per user,
  all of that user's requests handed its result). p50 / p99 / max from the client, which runs in
  this process (httpx, 200 connections), so the numbers include the proxy and the client.
- Memory: the service process's RSS idle, after the 50 users' requests, and after each of the
  1,000 users asked for their status once (one AuthService per user then lives in memory).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "hub"), str(ROOT / "tests")]

from browser import sign_in  # noqa: E402
from harness import SERVICE, Hub, proxy_available  # noqa: E402
from hub_env import APP_ID, add_hub_app, configure_service  # noqa: E402
from hub_keys import STORE_KEY  # noqa: E402

from jupyter_dbx_auth.core.connections import AuthMethod, Connection  # noqa: E402
from jupyter_dbx_auth.core.oauth.engine import OAuthEngine  # noqa: E402
from jupyter_dbx_auth.core.oauth.tokens import TokenSet  # noqa: E402
from jupyter_dbx_auth.core.secret import Secret  # noqa: E402
from jupyter_dbx_auth.emulator.harness import EmulatorProcess  # noqa: E402
from jupyter_dbx_auth.emulator.seed import default_seed  # noqa: E402
from jupyter_dbx_auth.hub.store import HubStore  # noqa: E402

RESULTS = Path(__file__).parent / "results.md"
USERS = 1_000
ACTIVE = 50
REQUESTS = 200
TTL = 60  # emulator access token lifetime (s): room for the cold and warm bursts on a busy machine
MARGIN = 5.0  # the service's refresh margin (s)


def user_name(i: int) -> str:
    return f"u{i:04d}"


def email(i: int) -> str:
    return f"bench{i:03d}@example.com"


def seed_with_users(hub: Hub) -> dict[str, Any]:
    seed = add_hub_app(default_seed(), hub)
    for i in range(ACTIVE):
        seed["users"].append(
            {
                "id": str(3_000_000_000_000_000 + i),
                "username": email(i),
                "display_name": f"Bench {i}",
                "password": f"bench-pw-{i:03d}",
                "account_admin": False,
            }
        )
    return seed


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError("no VmRSS")


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) the process has used so far, in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def seed_fake_sign_ins(db: HubStore, host: str) -> float:
    started = time.perf_counter()
    now = time.time()
    for i in range(ACTIVE, USERS):
        tokens = TokenSet(
            access_token=Secret(f"bench-unused-access-{i}"),
            refresh_token=Secret(f"bench-unused-refresh-{i}"),
            expires_at=now - 60,
            scope="all-apis offline_access",
            issued_at=now - 3660,
        )
        db.for_user(user_name(i)).put("u2m", "emu", tokens.to_record(host=host))
    return time.perf_counter() - started


async def real_sign_ins(db: HubStore, emulator: EmulatorProcess, hub: Hub) -> float:
    """The first ACTIVE users sign in at the emulator through the hub's OAuth app; their records
    go straight into the store. Returns the latest access token's expiry."""
    conn = Connection(name="emu", host=emulator.url, method=AuthMethod.USER, client_id=APP_ID)
    latest = 0.0
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        engine = OAuthEngine(http=http)
        for i in range(ACTIVE):
            url, pending = await engine.begin_login(conn, hub.service_url + "callback")
            location = await asyncio.to_thread(sign_in, url, email(i), f"bench-pw-{i:03d}")
            code = parse_qs(urlparse(location).query)["code"][0]
            tokens = await engine.exchange_code(conn, pending, code)
            record = tokens.to_record(host=emulator.url)
            await asyncio.to_thread(db.for_user(user_name(i)).put, "u2m", "emu", record)
            latest = max(latest, tokens.expires_at or 0)
    return latest


async def hub_tokens(hub: Hub, names: list[str]) -> dict[str, str]:
    """A hub API token per user with the one scope a server's token has for the service."""
    async with httpx.AsyncClient(
        base_url=f"{hub.url}hub/api/",
        headers={"Authorization": f"token {hub.admin_token}"},
        trust_env=False,
        timeout=120,
    ) as api:
        response = await api.post("users", json={"usernames": names})
        assert response.status_code in (201, 409), response.text
        limit = asyncio.Semaphore(16)

        async def one(name: str) -> tuple[str, str]:
            async with limit:
                made = await api.post(
                    f"users/{name}/tokens",
                    json={"scopes": [f"access:services!service={SERVICE}"], "note": "bench"},
                )
                assert made.status_code == 201, made.text
                return name, made.json()["token"]

        return dict(await asyncio.gather(*(one(n) for n in names)))


async def burst(
    hub: Hub, tokens: dict[str, str], path: str, *, base: str | None = None, pid: int = 0
) -> dict[str, Any]:
    """REQUESTS requests at once, spread evenly over the tokens; latencies in ms. `base`: another
    address for the service (its own port, skipping the proxy)."""
    base = base or hub.service_url
    names = list(tokens)
    plan = [names[i % len(names)] for i in range(REQUESTS)]
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    async with httpx.AsyncClient(trust_env=False, timeout=120, limits=limits) as http:

        async def one(name: str) -> tuple[str, float, int, str]:
            started = time.perf_counter()
            response = await http.get(
                base + path, headers={"Authorization": f"token {tokens[name]}"}
            )
            elapsed = (time.perf_counter() - started) * 1000
            token = response.json().get("access_token", "") if response.status_code == 200 else ""
            return name, elapsed, response.status_code, token

        started, cpu = time.perf_counter(), cpu_ms(pid) if pid else 0.0
        results = await asyncio.gather(*(one(n) for n in plan))
        wall = (time.perf_counter() - started) * 1000
        cpu = (cpu_ms(pid) - cpu) / REQUESTS if pid else 0.0
    latencies = sorted(r[1] for r in results)
    per_user: dict[str, set[str]] = {}
    for name, _, _, token in results:
        per_user.setdefault(name, set()).add(token)
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[int(0.99 * (len(latencies) - 1))],
        "max": latencies[-1],
        "wall": wall,
        "errors": sum(1 for r in results if r[2] != 200),
        "most_tokens_per_user": max(len(t) for t in per_user.values()),
        "cpu": cpu,
    }


async def sequential(url: str, token: str, n: int = 300) -> dict[str, float]:
    """`n` requests one after another on one kept-alive connection: the per-request cost."""
    latencies = []
    async with httpx.AsyncClient(trust_env=False, timeout=60) as http:
        headers = {"Authorization": f"token {token}"}
        for _ in range(n):
            started = time.perf_counter()
            response = await http.get(url, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    latencies.sort()
    return {"p50": statistics.median(latencies), "p99": latencies[int(0.99 * (n - 1))]}


async def status_sweep(hub: Hub, tokens: dict[str, str]) -> tuple[float, int]:
    limit = asyncio.Semaphore(32)
    errors = 0
    async with httpx.AsyncClient(trust_env=False, timeout=120) as http:

        async def one(token: str) -> None:
            nonlocal errors
            async with limit:
                response = await http.get(
                    hub.service_url + "api/status", headers={"Authorization": f"token {token}"}
                )
                if response.status_code != 200 or response.json()["connections"][0]["status"] != (
                    "ok"
                ):
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(t) for t in tokens.values()))
    return time.perf_counter() - started, errors


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


async def run(workdir: Path) -> list[tuple[str, str, str, bool | None]]:
    hub = Hub(workdir)
    db_url = f"sqlite:///{workdir}/dbx-auth/store.sqlite"
    with EmulatorProcess(state=seed_with_users(hub), token_ttl=TTL) as emulator:
        configure_service(
            hub,
            emulator,
            db_url=db_url,
            store_key=STORE_KEY,
            refresh_margin=MARGIN,
            group_sps=False,
        )
        db = HubStore(db_url, key=STORE_KEY)
        seeding = seed_fake_sign_ins(db, emulator.url)
        with hub:
            pid = hub.service_pid()
            names = [user_name(i) for i in range(USERS)]
            tokens = await hub_tokens(hub, names)
            active = {n: tokens[n] for n in names[:ACTIVE]}
            await asyncio.sleep(2)
            rss_idle = rss_kib(pid)
            latest_expiry = await real_sign_ins(db, emulator, hub)
            idp = emulator.token_requests
            before = idp().get("refresh_token", 0)
            cold = await burst(hub, active, "api/token/emu", pid=pid)
            warm = await burst(hub, active, "api/token/emu", pid=pid)
            warm_refreshes = idp().get("refresh_token", 0) - before
            # Every access token stale in the service's eyes (refresh margin before expiry).
            await asyncio.sleep(max(0.0, latest_expiry - MARGIN + 1 - time.time()))
            before = idp().get("refresh_token", 0)
            expiry = await burst(hub, active, "api/token/emu", pid=pid)
            expiry_refreshes = idp().get("refresh_token", 0) - before
            # Measured after the expiry burst: the fresh tokens outlive these.
            direct = f"http://127.0.0.1:{hub.service_port}/services/{SERVICE}/"
            warm_direct = await burst(hub, active, "api/token/emu", base=direct, pid=pid)
            one_by_one = await sequential(hub.service_url + "api/token/emu", active[names[0]])
            one_direct = await sequential(direct + "api/token/emu", active[names[0]])
            rss_active = rss_kib(pid)
            sweep_s, sweep_errors = await status_sweep(hub, tokens)
            await asyncio.sleep(1)
            rss_all = rss_kib(pid)
        db.close()
    per_user = (rss_all - rss_active) / (USERS - ACTIVE)
    return [
        ("store seeding (950 records, direct writes)", f"{seeding:.1f} s", "", None),
        *(
            (
                f"{REQUESTS} token requests at once from {ACTIVE} servers, {label}",
                f"p50 {r['p50']:.0f} / p99 {r['p99']:.0f} / max {r['max']:.0f} ms, "
                f"{r['errors']} errors, {r['most_tokens_per_user']} distinct token(s) per user, "
                f"service CPU {r['cpu']:.1f} ms per request"
                + (f", {n} IdP refresh(es)" if n is not None else ""),
                target,
                ok,
            )
            for label, r, n, target, ok in (
                (
                    "cold (records in the store, nothing in memory)",
                    cold,
                    warm_refreshes,
                    "0 errors, 0 IdP refreshes (cold and warm bursts)",
                    cold["errors"] == 0 and warm_refreshes == 0,
                ),
                ("warm (cached)", warm, None, "0 errors", warm["errors"] == 0),
                (
                    "warm, straight to the service's port (no proxy)",
                    warm_direct,
                    None,
                    "0 errors",
                    warm_direct["errors"] == 0,
                ),
                (
                    "at expiry",
                    expiry,
                    expiry_refreshes,
                    f"0 errors, exactly {ACTIVE} IdP refreshes (one per user)",
                    expiry["errors"] == 0
                    and expiry_refreshes == ACTIVE
                    and expiry["most_tokens_per_user"] == 1,
                ),
            )
        ),
        (
            "one request at a time, one kept-alive connection, warm (300 requests)",
            f"p50 {one_by_one['p50']:.1f} / p99 {one_by_one['p99']:.1f} ms through the proxy; "
            f"p50 {one_direct['p50']:.1f} / p99 {one_direct['p99']:.1f} ms straight to the service",
            "",
            None,
        ),
        (
            f"status of all {USERS:,} users (32 at a time)",
            f"{sweep_s:.1f} s, {sweep_errors} errors",
            "0 errors",
            sweep_errors == 0,
        ),
        ("service RSS idle", f"{rss_idle / 1024:.1f} MiB", "", None),
        (f"service RSS after {ACTIVE} users' requests", f"{rss_active / 1024:.1f} MiB", "", None),
        (
            f"service RSS with all {USERS:,} users loaded",
            f"{rss_all / 1024:.1f} MiB ({per_user:.1f} KiB per user)",
            "",
            None,
        ),
    ]


def main() -> None:
    if not proxy_available():
        raise RuntimeError("configurable-http-proxy missing under tests/hub: run `make hub-proxy`")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        rows = asyncio.run(run(Path(tmp)))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"## bench_hub — {stamp} — Python {platform.python_version()} on "
        f"{platform.machine()} ({sys.platform}), {os.cpu_count()} cores",
        "",
        f"The real `jupyter-dbx-hub` as JupyterHub 6.1's managed service (behind "
        f"configurable-http-proxy), SQLite store holding {USERS:,} users' sign-ins ({ACTIVE} real, "
        f"signed in at the emulator through the hub's OAuth app), emulator access tokens of "
        f"{TTL} s, refresh margin {MARGIN:.0f} s. {REQUESTS} requests at once from {ACTIVE} hub "
        "tokens with a server token's scope, client (httpx) in the bench process, so latencies "
        "include the proxy, hub token validation on first use, and the client. Machine load "
        f"(1-min average) at the end: {os.getloadavg()[0]:.1f}. Whole run "
        f"{time.perf_counter() - started:.0f} s.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
    ]
    for name, value, target, ok in rows:
        verdict = "" if ok is None else f" {_verdict(ok)}"
        lines.append(f"| {name} | {value} | {target}{verdict} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with RESULTS.open("a") as out:
        out.write("\n" + text)


if __name__ == "__main__":
    main()
