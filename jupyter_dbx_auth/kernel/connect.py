"""One connect operation shared by `%dbx_connect`, the picker's Connect button and `connect()`.

Resolve the connection, get a first token (waiting for a browser sign-in when a U2M connection is
not signed in yet and a Jupyter server is there to receive it), then build the client: a
`WorkspaceClient`, an `AccountClient` or a `databricks.sql` connection whose credentials read one
`TokenCache`. Returns the client, the variable name it goes to by default and a one-line summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.errors import ConfigError, CredentialsMissing, DbxAuthError, LoginRequired
from .backends import Backend, ConnectionInfo, current_backend
from .tokens import KernelToken, TokenCache

#: How long `%dbx_connect` waits for a browser sign-in by default.
LOGIN_TIMEOUT = 300.0
#: Statuses that end a notebook's wait for a browser sign-in without one: the server sets
#: "login_pending" before it hands out the sign-in link, so any of these came after it. Not
#: "error": a failed code exchange can be retried from the same link, and a hub service that
#: did not answer for a moment heals by itself; the wait goes on for those.
SIGN_IN_ENDED = frozenset({"logged_out", "login_required"})

SP_MISSING_HINT = (
    'Add the secret with jupyter_dbx_auth.picker() ("Add service principal") or in the '
    "Databricks sidebar, then run %dbx_connect again."
)


#: What each kind of injected object is called in messages.
KIND_NAMES = {
    "workspace": "WorkspaceClient",
    "account": "AccountClient",
    "sql": "SQL",
    "spark": "DatabricksSession",
}


@dataclass
class ConnectOptions:
    name: str | None = None
    host: str | None = None
    sp: str | None = None  # label or client id of a stored service principal
    user: bool = False  # insist on the user login (U2M)
    account: bool = False
    sql: bool = False
    warehouse: str | None = None
    http_path: str | None = None
    var: str | None = None
    login_timeout: float = LOGIN_TIMEOUT
    env: bool = False  # also export the metadata-service variables (env_export.py)
    spark: bool = False  # a Databricks Connect session (spark.py)
    cluster: str | None = None
    serverless: bool = False


@dataclass
class Connected:
    client: Any
    var: str
    info: ConnectionInfo
    cache: TokenCache
    identity: str | None
    kind: str  # "workspace" | "account" | "sql" | "spark"
    via: str  # backend kind
    sp: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    exported: Any = None  # env_export.Exported, with --env

    def describe(self) -> str:
        """`WorkspaceClient for ws as alice@example.com`: what the variable holds, no token."""
        who = self.identity or (f"service principal {self.sp}" if self.sp else "unknown identity")
        return f"{KIND_NAMES[self.kind]} for {self.info.name} as {who}"

    def summary(self, now: float | None = None) -> str:
        token = self.cache.peek()
        who = self.identity or (f"service principal {self.sp}" if self.sp else "unknown identity")
        what = KIND_NAMES[self.kind]
        if "warehouse" in self.extra:
            what = f"SQL warehouse {self.extra['warehouse']}"
        line = (
            f"{self.var} = {what} for {self.info.name} ({self.info.host}) as {who}, "
            f"{self.info.method if not self.sp else 'm2m'} via {self.via}; "
            f"{describe_expiry(token, now)}, refreshed automatically."
        )
        return line if self.exported is None else f"{line}\n{self.exported.summary()}"


class LoginUI:
    """How a waiting login shows itself; the magic prints, the picker updates its status line."""

    def link(self, url: str, name: str) -> None:  # pragma: no cover - overridden
        print(f"Sign in to {name}: {url}")

    def progress(self, text: str) -> None:  # pragma: no cover - overridden
        print(text)

    def done(self) -> None:  # pragma: no cover - overridden
        pass

    def paste(self, name: str, start: dict[str, Any]) -> str | None:
        """The sign-in may end on an address the browser cannot open (`start["paste_prefix"]`,
        `start["message"]`): the address the person pasted, or None to wait for the sign-in to
        finish another way (the localhost:8020 hand-off, the sidebar's paste field)."""
        return None


def describe_expiry(token: KernelToken | None, now: float | None = None) -> str:
    """`token valid 59 min (until 18:47)`: the format of the sidebar and `%dbx_status`."""
    from .status import validity

    if token is None:
        return "no token yet"
    if token.expires_at is None:
        return "token does not expire"
    return f"token {validity(token.expires_at, now)}"


def pick_sp(backend: Backend, info: ConnectionInfo, wanted: str) -> dict[str, Any]:
    """A stored service principal of `info` by label or client id."""
    sps = backend.service_principals(info.name)
    for sp in sps:
        if wanted in (sp.get("label"), sp.get("client_id")):
            if not sp.get("has_secret", True):
                break
            return sp
    if info.method == "m2m" and wanted == info.client_id:
        return {"client_id": info.client_id, "label": ""}
    known = ", ".join(str(sp.get("label") or sp.get("client_id")) for sp in sps) or "none stored"
    raise CredentialsMissing(
        f"No secret is stored for service principal {wanted!r} of connection {info.name} "
        f"(stored: {known}).",
        hint=SP_MISSING_HINT,
    )


def connect(
    options: ConnectOptions,
    *,
    backend: Backend | None = None,
    ui: LoginUI | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Connected:
    backend = backend or current_backend()
    if options.sql and options.account:
        raise ConfigError("--sql and --account cannot be combined.", hint="Pick one of them.")
    if options.user and options.sp:
        raise ConfigError("--user and --sp cannot be combined.", hint="Pick one of them.")
    if options.spark:
        from .spark import check_options

        check_options(options)
    info = backend.info(options.name, host=options.host)
    if options.user and info.method != "u2m":
        raise ConfigError(
            f"Connection {info.name} signs in with {info.method}, not as a user.",
            hint="Drop --user, or use a connection whose auth type is databricks-cli (U2M).",
        )
    client_id = None
    if options.sp:
        client_id = str(pick_sp(backend, info, options.sp)["client_id"])
    if options.account:
        info = backend.account_info(info)
    cache = TokenCache(backend.fetcher(info, client_id=client_id), label=info.name)
    _first_token(backend, info, cache, options, ui or LoginUI(), sleep, sp=client_id)
    if not client_id and backend.kind == "server":
        info = _refreshed_info(backend, info)
    kind = "sql" if options.sql else ("account" if info.account else "workspace")
    extra: dict[str, Any] = {}
    if kind == "sql":  # no --warehouse: the only running one (or an error listing them)
        from .sql import sql_target

        path, warehouse = sql_target(cache, info.host, options.warehouse, options.http_path)
        options = replace(options, http_path=path)
        extra["warehouse"] = f'"{warehouse.name}" ({warehouse.id})' if warehouse else path
    kind = "spark" if options.spark else kind
    exported = None
    if options.env:
        from . import env_export

        exported = env_export.export(backend, info, client_id=client_id)
    client = _build(kind, cache, info, options)
    identity = info.identity if not client_id else None
    if identity is None:
        identity = _who(cache, info)
    # Importing the sdk and building the client can outlast a short token: the summary line
    # shows the one the client will use next, not one that expired meanwhile.
    cache.token()
    var = options.var or {"workspace": "w", "account": "a", "sql": "conn", "spark": "spark"}[kind]
    return Connected(
        client,
        var,
        info,
        cache,
        identity,
        kind,
        backend.kind,
        sp=client_id,
        extra=extra,
        exported=exported,
    )


def _first_token(
    backend: Backend,
    info: ConnectionInfo,
    cache: TokenCache,
    options: ConnectOptions,
    ui: LoginUI,
    sleep: Callable[[float], None],
    *,
    sp: str | None,
) -> None:
    try:
        cache.token()
        return
    except CredentialsMissing as exc:
        hint = exc.hint if backend.kind == "in-process" else SP_MISSING_HINT
        raise CredentialsMissing(exc.message, hint=hint) from None
    except LoginRequired:
        if sp or info.method != "u2m":
            raise
    # Not signed in (or the sign-in expired): start a login and wait for the server to say ok.
    start = backend.start_login(info.name)
    ui.link(str(start.get("login_url") or ""), info.name)
    asked = start.get("finish") != "paste"  # a custom app's callback needs no paste
    deadline = time.monotonic() + options.login_timeout
    started = time.monotonic()
    try:
        while True:
            sleep(1.0)
            waited = time.monotonic() - started
            ui.progress(f"Waiting for the sign-in to {info.name} in the browser... {waited:.0f} s")
            current = backend.info(info.name)
            if current.status == "ok":
                break
            if current.status in SIGN_IN_ENDED:  # declined, cancelled or timed out
                said = current.message or "it was cancelled, or its window was closed."
                raise LoginRequired(
                    f"The sign-in to {info.name} did not complete: {said}",
                    hint="Run %dbx_connect again to start a new sign-in.",
                )
            # The browser opened the link from another machine (or 8020 was busy): the sign-in
            # ends on an address it cannot open, which the person pastes.
            if not asked and (current.sign_in or {}).get("finish") == "paste":
                asked = True
                address = ui.paste(info.name, {**start, **(current.sign_in or {})})
                if address:
                    backend.paste(info.name, address)
            if time.monotonic() >= deadline:
                raise LoginRequired(
                    f"The sign-in to {info.name} did not finish within "
                    f"{options.login_timeout:.0f} s.",
                    hint="Open the sign-in link above (allow pop-ups), finish the sign-in, then "
                    "run %dbx_connect again; --timeout SECONDS waits longer.",
                )
    finally:
        ui.done()
    cache.token()


def _refreshed_info(backend: Backend, info: ConnectionInfo) -> ConnectionInfo:
    try:
        return backend.info(info.name)
    except DbxAuthError:
        return info


def _build(kind: str, cache: TokenCache, info: ConnectionInfo, options: ConnectOptions) -> Any:
    from . import sdk

    if kind == "account":
        if not info.account_id:
            raise ConfigError(
                f"Connection {info.name} has no account id.",
                hint="Set account_id on the connection (or DATABRICKS_ACCOUNT_ID).",
            )
        return sdk.account_client(cache, info.host, info.account_id)
    if kind == "sql":
        from .sql import sql_connect, warehouse_path

        path = options.http_path or warehouse_path(str(options.warehouse))
        return sql_connect(cache, info.host, http_path=path)
    if kind == "spark":
        from .spark import spark_session

        return spark_session(cache, info, cluster=options.cluster, serverless=options.serverless)
    return sdk.workspace_client(cache, info.host)


def _who(cache: TokenCache, info: ConnectionInfo) -> str | None:
    """SCIM Me with the token we hold: the name for the one-line summary (best effort), read by
    the same rule as the server's (`core.service.identity_from_scim`)."""
    import httpx

    from ..core.service import identity_from_scim, scim_me_url

    token = cache.token()
    url = scim_me_url(info.host, account=info.account, account_id=info.account_id)
    try:
        r = httpx.get(url, headers={"Authorization": token.authorization()}, timeout=10)
        body = r.json() if r.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return None
    return identity_from_scim(body)


def connect_client(
    name: str | None = None,
    *,
    host: str | None = None,
    sp: str | None = None,
    account: bool = False,
    sql: bool = False,
    warehouse: str | None = None,
    http_path: str | None = None,
    login_timeout: float = LOGIN_TIMEOUT,
) -> Any:
    """`jupyter_dbx_auth.connect(name)`: the client `%dbx_connect` would inject, returned.

    A `WorkspaceClient` (an `AccountClient` for an account connection or with `account=True`, a
    `databricks.sql` connection with `sql=True` (the only running warehouse), `warehouse=` or
    `http_path=`) whose token is refreshed
    shortly before it expires.
    """
    options = ConnectOptions(
        name=name,
        host=host,
        sp=sp,
        account=account,
        sql=sql or bool(warehouse or http_path),
        warehouse=warehouse,
        http_path=http_path,
        login_timeout=login_timeout,
    )
    return connect(options).client
