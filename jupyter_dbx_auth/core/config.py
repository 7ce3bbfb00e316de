"""Resolve connections from explicit values, `DATABRICKS_*` variables and `.databrickscfg`.

The merge replicates databricks-sdk's `Config.__init__` (0.156) step by step, so that a connection
here and `WorkspaceClient(...)` in a kernel given the same inputs agree:

1. explicit values (`c.DatabricksAuth.connections = {"name": {...}}`; `None` means unset);
2. environment variables, only for attributes still unset (empty values count as unset);
3. `.databrickscfg`, skipped when no profile is named and a host or any auth attribute is set;
   profile: explicit / `DATABRICKS_CONFIG_PROFILE`, then `[__settings__] default_profile`, then
   `[DEFAULT]`; a profile's keys fill only what is still unset;
4. "more than one authorization method configured" unless an auth type says which one wins;
5. the credential chain picks the method in the sdk's order (pat, basic, oauth-m2m, env-oidc,
   file-oidc, ..., databricks-cli). U2M is what remains: where the sdk would fall through to the
   Databricks CLI's browser login, the Jupyter server does that login itself.

The sdk is not imported: it is an optional dependency and costs seconds to import. Its attribute
table is copied in `databrickscfg.SDK_ATTRIBUTES` and checked against the installed sdk by tests.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .connections import DEFAULT_SCOPES, M2M_SCOPES, AuthMethod, Connection
from .databrickscfg import (
    SDK_ATTRIBUTES,
    DatabricksCfg,
    SdkAttribute,
    config_file_path,
    read_databrickscfg,
)
from .errors import ConfigError
from .hosts import parse_host
from .secret import Secret

__all__ = [
    "SDK_ATTRIBUTES",
    "MergedConfig",
    "Resolved",
    "SdkAttribute",
    "connection_from_merged",
    "merge_config",
    "method_for_auth_type",
    "profile_names",
    "resolve_all",
    "resolve_connection",
]

log = logging.getLogger(__name__)


_ATTRS = {a.name: a for a in SDK_ATTRIBUTES}
# Our own keys in explicit values, on top of the sdk's: `method` is a friendlier `auth_type`,
# `account` marks an account-level connection on a host that cannot say so by its name.
_EXTRA_KEYS = {"method", "account", "oidc_token_file"}

# sdk auth type -> our method. Anything else the sdk knows is not something this server can run.
_AUTH_TYPES: dict[str, AuthMethod] = {
    "pat": AuthMethod.PAT,
    "oauth-m2m": AuthMethod.SERVICE_PRINCIPAL,
    "env-oidc": AuthMethod.WORKLOAD_IDENTITY,
    "file-oidc": AuthMethod.WORKLOAD_IDENTITY,
    "databricks-cli": AuthMethod.USER,
    "external-browser": AuthMethod.USER,
}
# The sdk's env-oidc default variable (a variable name, not a secret).
_DEFAULT_OIDC_TOKEN_ENV = "DATABRICKS_OIDC_TOKEN"  # noqa: S105


def method_for_auth_type(auth_type: str) -> AuthMethod:
    """Map an sdk auth type (or one of our method values u2m/m2m/wif/pat) to `AuthMethod`."""
    value = auth_type.strip().lower()
    if value in _AUTH_TYPES:
        return _AUTH_TYPES[value]
    try:
        return AuthMethod(value)
    except ValueError:
        supported = ", ".join([*_AUTH_TYPES, *(m.value for m in AuthMethod)])
        raise ConfigError(
            f"Auth type {auth_type!r} is not supported by jupyter-dbx-auth.",
            hint=f"Use one of: {supported}; other sdk auth types work with the sdk directly.",
        ) from None


@dataclass(frozen=True)
class MergedConfig:
    """The sdk-equivalent attribute values after explicit -> env -> file, before auth."""

    values: dict[str, Any] = field(repr=False)  # may hold secrets: never log this
    profile: str | None = None  # the profile that was loaded (also DEFAULT as a fallback)
    config_file: str | None = None  # the file that was read, if any
    missing_file: str | None = None  # a file that was looked for and not found

    def get(self, name: str) -> Any:
        return self.values.get(name)


def merge_config(
    explicit: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> MergedConfig:
    """Steps 1-4 of the module docstring. `config_file` acts as an explicit `config_file`."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for key, value in (explicit or {}).items():
        if key not in _ATTRS and key not in _EXTRA_KEYS:
            close = difflib.get_close_matches(key, [*_ATTRS, *_EXTRA_KEYS], n=1)
            raise ConfigError(
                f"Unknown connection setting {key!r}.",
                hint=f"Did you mean {close[0]!r}?" if close else "Check the spelling.",
            )
        if value is None:
            continue  # the sdk treats an explicit None as unset
        if key == "oidc_token_file":
            key = "oidc_token_filepath"
        values[key] = value if key in ("scopes", "account") else str(value)
    if config_file is not None and "config_file" not in values:
        values["config_file"] = os.fspath(config_file)
    for attr in SDK_ATTRIBUTES:
        if not attr.env or attr.name in values:
            continue
        for var in (attr.env, *attr.aliases):
            if env.get(var):
                values[attr.name] = env[var]
                break

    profile, used_file, missing = _load_profile(values)
    _validate(values)
    return MergedConfig(values, profile, used_file, missing)


def _any_auth(values: Mapping[str, Any]) -> bool:
    return any(values.get(a.name) for a in SDK_ATTRIBUTES if a.auth)


def _load_profile(values: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    requested = values.get("profile")
    if not requested and (
        _any_auth(values) or values.get("host") or values.get("azure_workspace_resource_id")
    ):
        return None, None, None  # the sdk skips the file when auth is already configured
    path = config_file_path(values.get("config_file"))
    cfg = read_databrickscfg(path)
    if cfg is None:
        return None, None, str(path)
    name, is_fallback = cfg.resolve_profile(requested)
    if name is None or (is_fallback and name not in cfg.profiles):
        return None, str(path), None
    for key, value in cfg.profile(name).items():
        if key in values:
            continue  # explicit and env values win over the file
        if key == "scopes" or key in _ATTRS:
            values[key] = value
    if not is_fallback:
        values["profile"] = name
    return name, str(path), None


def _validate(values: Mapping[str, Any]) -> None:
    # Presence, not truthiness: the sdk counts `token =` (empty) in a profile as a PAT setting.
    used = sorted({a.auth for a in SDK_ATTRIBUTES if a.auth and a.name in values})
    if len(used) > 1 and not values.get("auth_type") and not values.get("method"):
        raise ConfigError(
            f"More than one authorization method configured: {' and '.join(used)}.",
            hint="Remove the settings of all but one method, or set auth_type "
            "(DATABRICKS_AUTH_TYPE) to the one to use.",
        )


def _select_method(values: Mapping[str, Any], env: Mapping[str, str]) -> AuthMethod:
    """The sdk's DefaultCredentials order, reduced to the methods this project runs."""
    chosen = values.get("method") or values.get("auth_type")
    if chosen:
        return method_for_auth_type(str(chosen))
    if values.get("token"):
        return AuthMethod.PAT
    if values.get("username") and values.get("password"):
        raise ConfigError(
            "Basic authentication (username and password) is not supported.",
            hint="Use OAuth: remove username/password and sign in, or use a service principal.",
        )
    if values.get("metadata_service_url"):
        raise ConfigError(
            "The metadata-service auth type is not supported.",
            hint="Remove metadata_service_url (DATABRICKS_METADATA_SERVICE_URL).",
        )
    if values.get("client_id") and values.get("client_secret"):
        return AuthMethod.SERVICE_PRINCIPAL
    if env.get(values.get("oidc_token_env") or _DEFAULT_OIDC_TOKEN_ENV):
        return AuthMethod.WORKLOAD_IDENTITY
    if values.get("oidc_token_filepath"):
        # The sdk also checks that the file is readable and falls through otherwise; here the
        # exchange reports a missing file by name, which is clearer than silently becoming U2M.
        return AuthMethod.WORKLOAD_IDENTITY
    return AuthMethod.USER


def _scopes(values: Mapping[str, Any], method: AuthMethod) -> tuple[str, ...]:
    raw = values.get("scopes")
    if isinstance(raw, str):
        raw = raw.replace(",", " ").split()
    if not raw:
        return DEFAULT_SCOPES if method is AuthMethod.USER else M2M_SCOPES
    scopes = sorted({str(s) for s in raw if s})  # the sdk sorts and de-duplicates
    if method is AuthMethod.USER and "offline_access" not in scopes:
        scopes.append("offline_access")  # the server keeps the login through its refresh token
    return tuple(scopes)


def connection_from_merged(
    name: str,
    merged: MergedConfig,
    *,
    env: Mapping[str, str] | None = None,
    source: str = "config",
) -> Connection:
    """Step 5: pick the method and build a `Connection`, or say what is missing."""
    env = os.environ if env is None else env
    values = merged.values
    if not values.get("host"):
        if merged.missing_file:
            raise ConfigError(
                f"No host configured for {name!r}, and the config file {merged.missing_file} "
                "does not exist.",
                hint="Create the profile with `databricks auth login --host <workspace URL>`, "
                "point DATABRICKS_CONFIG_FILE at your file, or set DATABRICKS_HOST.",
            )
        raise ConfigError(
            f"No host configured for {name!r}.",
            hint="Set host in the connection or profile, or DATABRICKS_HOST.",
        )
    host = parse_host(str(values["host"]))
    method = _select_method(values, env)
    if method is AuthMethod.SERVICE_PRINCIPAL and not values.get("client_id"):
        raise ConfigError(
            f"Connection {name!r} uses a service principal but has no client id.",
            hint="Set client_id (DATABRICKS_CLIENT_ID) to the service principal's application id.",
        )
    oidc_env = values.get("oidc_token_env")
    if method is AuthMethod.WORKLOAD_IDENTITY and not (
        oidc_env or values.get("oidc_token_filepath")
    ):
        oidc_env = _DEFAULT_OIDC_TOKEN_ENV
    account_hint = values.get("account")
    if isinstance(account_hint, str):
        account_hint = account_hint.strip().lower() in ("1", "true", "yes")
    account = host.is_account(account_hint)
    secret, token = values.get("client_secret"), values.get("token")
    return Connection(
        name=name,
        host=host.url,
        method=method,
        account_id=values.get("account_id") or None,
        account=account,
        client_id=values.get("client_id") or None,
        client_secret=Secret(secret) if secret else None,
        token=Secret(token) if token else None,
        scopes=_scopes(values, method),
        oidc_token_env=oidc_env or None,
        oidc_token_file=values.get("oidc_token_filepath") or None,
        token_audience=values.get("token_audience") or None,
        discovery_url=values.get("discovery_url") or None,
        source=source,
    )


def _source(merged: MergedConfig, default: str) -> str:
    return f"profile:{merged.profile}" if merged.profile and default != "config" else default


def resolve_connection(
    name: str | None = None,
    *,
    explicit: Mapping[str, Mapping[str, Any]] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> Connection:
    """One connection by name: an explicit connection, else a profile; None: the sdk default.

    The default (no name) is what `WorkspaceClient()` would use: named after its profile, or
    "default" when it comes from environment variables alone.
    """
    env = os.environ if env is None else env
    explicit = explicit or {}
    if name is not None and name in explicit:
        merged = merge_config(explicit[name], env, config_file)
        return connection_from_merged(name, merged, env=env, source="config")
    if name is not None:
        merged = merge_config({"profile": name}, env, config_file)
        if merged.missing_file:
            raise ConfigError(
                f"No connection or profile named {name!r}: the config file "
                f"{merged.missing_file} does not exist.",
                hint=f"Add {name!r} to c.DatabricksAuth.connections, or create the profile with "
                f"`databricks auth login --host <workspace URL> --profile {name}`.",
            )
        return connection_from_merged(name, merged, env=env, source=f"profile:{name}")
    merged = merge_config({}, env, config_file)
    label = merged.profile or "default"
    return connection_from_merged(label, merged, env=env, source=_source(merged, "env"))


def profile_names(
    config_file: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Profiles of the config file the sdk would read (`DATABRICKS_CONFIG_FILE` honoured)."""
    env = os.environ if env is None else env
    cfg: DatabricksCfg | None = read_databrickscfg(
        config_file or env.get("DATABRICKS_CONFIG_FILE") or None
    )
    return cfg.names if cfg else []


@dataclass(frozen=True)
class Resolved:
    """Every connection that resolved, and the problem of each one that did not (by name)."""

    connections: list[Connection]
    problems: dict[str, ConfigError]


def resolve_all(
    explicit: Mapping[str, Mapping[str, Any]] | None = None,
    env: Mapping[str, str] | None = None,
    config_file: str | os.PathLike[str] | None = None,
) -> Resolved:
    """Explicit connections, then the environment's default, then each profile of the file.

    A name appears once: explicit beats a profile of the same name. Profiles are resolved with
    the sdk's rules too, so the list shows what `%dbx_connect <name>` will really use.
    """
    env = os.environ if env is None else env
    explicit = explicit or {}
    found: dict[str, Connection] = {}
    problems: dict[str, ConfigError] = {}

    def attempt(name: str | None, key: str) -> None:
        try:
            conn = resolve_connection(name, explicit=explicit, env=env, config_file=config_file)
        except ConfigError as exc:
            problems[key] = exc
            return
        found.setdefault(conn.name, conn)

    for name in explicit:
        attempt(name, name)
    # The environment's own connection, when it does not simply select a profile.
    if env.get("DATABRICKS_HOST"):
        attempt(None, "default")
    try:
        names = profile_names(config_file, env)
    except ConfigError as exc:
        problems["config_file"] = exc
        names = []
    for name in names:
        if name not in found and name not in problems:
            attempt(name, name)
    for key, exc in problems.items():
        log.warning("Connection %s skipped: %s", key, exc)
    return Resolved(list(found.values()), problems)
