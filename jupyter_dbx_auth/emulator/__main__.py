"""`jupyter-dbx-emulator` / `python -m jupyter_dbx_auth.emulator`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import urllib.parse
import uuid
from collections.abc import Sequence
from pathlib import Path

import tornado.httpserver
import tornado.netutil

from .admin import ADMIN_KEY_ENV
from .app import make_app, normalize_base_path
from .jwt_keys import SigningKeys
from .seed import Seed, load_seed, public_config
from .state import EmulatorState

READY_PREFIX = "JUPYTER_DBX_EMULATOR_READY "


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="jupyter-dbx-emulator",
        description="A Databricks workspace + account console emulator (OIDC, SCIM, REST).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8900, help="port; 0 picks a free one")
    parser.add_argument("--state", metavar="FILE", help="seed JSON replacing the default seed")
    parser.add_argument(
        "--token-ttl", type=int, default=3600, metavar="SECONDS", help="access token lifetime"
    )
    parser.add_argument("--base-path", default="", help="URL prefix when served behind a proxy")
    parser.add_argument(
        "--keep-sign-ins",
        metavar="FILE",
        help="keep users' sign-ins (refresh token hashes) in FILE across restarts (the demo)",
    )
    parser.add_argument(
        "--public-url",
        default="",
        metavar="URL",
        help="where browsers reach this emulator when a proxy serves it under another address "
        "(e.g. https://hub.example/user/me/dbx-emulator): the authorize endpoint in the "
        "discovery documents names it; API calls keep using the address they came to",
    )
    parser.add_argument(
        "--account-port",
        type=int,
        default=None,
        metavar="PORT",
        help="also serve the account console on this port (0 picks a free one): its host "
        "metadata names the account issuer, as accounts.cloud.databricks.com does",
    )
    parser.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="CLIENT_ID=REDIRECT_URL",
        help="register a public custom OAuth app with exactly this redirect URL (repeat for "
        "more URLs or apps), as an account admin would; it is part of the seed",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the seeded identities as JSON and exit"
    )
    args = parser.parse_args(argv)
    if args.token_ttl <= 0:
        parser.error("--token-ttl must be positive")
    public = urllib.parse.urlsplit(args.public_url)
    if args.public_url and (public.scheme not in ("http", "https") or not public.netloc):
        parser.error(f"--public-url needs an http(s) URL, got {args.public_url!r}")
    try:
        args.apps = parse_apps(args.app)
    except ValueError as exc:
        parser.error(str(exc))
    return args


def parse_apps(values: Sequence[str]) -> dict[str, list[str]]:
    """`--app ID=URL` options as {client id: [redirect URLs]}."""
    apps: dict[str, list[str]] = {}
    for value in values:
        client_id, sep, url = value.partition("=")
        if not sep or not client_id.strip() or not url.strip():
            raise ValueError(f"--app needs CLIENT_ID=REDIRECT_URL, got {value!r}")
        apps.setdefault(client_id.strip(), []).append(url.strip())
    return apps


async def serve(args: argparse.Namespace) -> None:
    # The emulator speaks plain HTTP on loopback (or behind a TLS-terminating proxy); Authlib
    # refuses http:// URIs unless told this is deliberate.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    state = EmulatorState(with_apps(load_seed(args.state), args.apps), token_ttl=args.token_ttl)
    keep = Path(args.keep_sign_ins) if args.keep_sign_ins else None
    if keep is not None and keep.exists():
        state.restore_sign_ins(json.loads(keep.read_text()))
    base = normalize_base_path(args.base_path)
    admin_key = os.environ.get(ADMIN_KEY_ENV) or None
    keys = SigningKeys()
    shown_host = "127.0.0.1" if args.host in ("0.0.0.0", "") else args.host  # noqa: S104
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    servers = []
    ready: dict[str, object] = {"account_id": state.account_id, "workspace_id": state.workspace_id}
    roles = [("workspace", args.port)]
    if args.account_port is not None:
        roles.append(("account", args.account_port))
    for role, wanted in roles:
        # One state and one signing key: the account console and the workspace are one
        # Databricks account, as on the real thing.
        app = make_app(
            state,
            base_path=base,
            admin_key=admin_key,
            keys=keys,
            role=role,
            public_url=args.public_url if role == "workspace" else "",
        )
        sockets = tornado.netutil.bind_sockets(wanted, args.host)
        server = tornado.httpserver.HTTPServer(app, xheaders=True)
        server.add_sockets(sockets)
        servers.append(server)
        port = sockets[0].getsockname()[1]
        prefix = "" if role == "workspace" else "account_"
        ready[prefix + "url"] = f"http://{shown_host}:{port}{base}"
        if role == "workspace" and args.public_url:
            app.settings["emulator_internal_origin"] = ready["url"]
        ready[prefix + "port"] = port
    print(READY_PREFIX + json.dumps(ready), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.stop()
    if keep is not None:
        # Hashes only (as the state holds them): the file gives no usable token away.
        tmp = keep.with_name(keep.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(state.sign_ins(), f)
        os.replace(tmp, keep)


def with_apps(seed: Seed, apps: dict[str, list[str]]) -> Seed:
    """The seed plus the `--app` registrations (public custom apps, exact redirect URLs)."""
    for client_id, urls in apps.items():
        seed.setdefault("oauth_apps", []).append(
            {
                "client_id": client_id,
                "integration_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "emulator-app:" + client_id)),
                "name": client_id,
                "confidential": False,
                "redirect_urls": urls,
                "scopes": ["all-apis", "offline_access", "sql", "openid", "email", "profile"],
                "token_access_policy": {},
            }
        )
    return seed


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.print_config:
        try:
            seed = with_apps(load_seed(args.state), args.apps)
        except (OSError, ValueError) as exc:
            print(f"jupyter-dbx-emulator: cannot read seed: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(public_config(seed), indent=2))
        return 0
    try:
        asyncio.run(serve(args))
    except (OSError, ValueError, KeyError) as exc:
        print(f"jupyter-dbx-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
