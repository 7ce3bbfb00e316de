"""Import existing Databricks CLI logins (`databricks auth login`) into our store.

The CLI keeps U2M tokens in `~/.databricks/token-cache.json`
(`{"version": 1, "tokens": {"<cache key>": {"access_token", "token_type", "refresh_token",
"expiry"}}}`) or, since CLI v1.0 by default, in the OS keyring under the service `databricks-cli`
with the value `{"token": {...same fields...}}`. The cache key is the profile name (newer CLIs) or
the host (`https://<workspace>`, `https://<accounts host>/oidc/accounts/<account id>`).

We copy the refresh token into our store (namespace "u2m", key = connection name) and never write
theirs: the file is opened read-only and the keyring is only read. The refresh token was issued to
the CLI's OAuth app, so the record says so (`client_id`): the engine must refresh with that id.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .secret import Secret
from .store.base import SecretStore, StoreRecord

log = logging.getLogger(__name__)

CLI_SERVICE = "databricks-cli"
CLI_CLIENT_ID = "databricks-cli"
SUPPORTED_VERSION = 1
NAMESPACE = "u2m"
_RELOGIN = "Run `databricks auth login` again, or sign in from Jupyter instead."


class CliImportError(ConfigError):
    """The Databricks CLI's token cache could not be understood."""

    default_hint = _RELOGIN


@dataclass(frozen=True)
class CliLogin:
    """A login found in the CLI's storage. The token is a `Secret`: it prints as ***."""

    cache_key: str
    source: str  # "token-cache.json" or "keyring"
    refresh_token: Secret
    expiry: datetime | None


@dataclass(frozen=True)
class ImportResult:
    connection: str
    imported: bool
    reason: str  # for people: where it came from, or why nothing was imported
    source: str | None = None
    #: Our sign-in the import replaced (`overwrite`), so that `restore_replaced` can put it back
    #: when Databricks refuses the CLI's token. Holds a refresh token: never shown or logged.
    replaced: StoreRecord | None = field(default=None, repr=False)


def default_token_cache_path() -> Path:
    return Path.home() / ".databricks" / "token-cache.json"


def cache_keys(profile: str | None, host: str | None, account_id: str | None) -> list[str]:
    """The keys the CLI may have used for this login, most specific first."""
    keys: list[str] = []
    if profile:
        keys.append(profile)
    if host:
        base = host.rstrip("/")
        if not re.match(r"^https?://", base):
            base = "https://" + base
        keys.append(f"{base}/oidc/accounts/{account_id}" if account_id else base)
    return keys


def _parse_expiry(value: Any) -> datetime | None:
    # Go writes RFC 3339 with up to nanoseconds; Python's fromisoformat takes microseconds.
    if not isinstance(value, str):
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _login(cache_key: str, source: str, token: Any, where: str) -> CliLogin | None:
    if not isinstance(token, dict):
        raise CliImportError(f"The Databricks CLI login {cache_key!r} in {where} is malformed.")
    refresh = token.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        return None  # an access-token-only entry: nothing we can keep using
    return CliLogin(cache_key, source, Secret(refresh), _parse_expiry(token.get("expiry")))


def read_token_cache(path: Path | None = None) -> dict[str, Any]:
    """The `tokens` map of the CLI's token cache ({} without a file); raises CliImportError."""
    path = path or default_token_cache_path()
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CliImportError(
            f"Cannot read the Databricks CLI token cache {path} ({exc.strerror})."
        ) from None
    except ValueError:
        raise CliImportError(
            f"The Databricks CLI token cache {path} is not valid JSON; nothing was imported."
        ) from None
    if not isinstance(data, dict) or "version" not in data:
        raise CliImportError(f"The Databricks CLI token cache {path} has no version field.")
    if data["version"] != SUPPORTED_VERSION:
        raise CliImportError(
            f"The Databricks CLI token cache {path} has version {data['version']!r}; "
            f"jupyter-dbx-auth reads version {SUPPORTED_VERSION}.",
            hint="Upgrade jupyter-dbx-auth, or sign in from Jupyter instead.",
        )
    tokens = data.get("tokens", {})
    if not isinstance(tokens, dict):
        raise CliImportError(f"The Databricks CLI token cache {path} is malformed (tokens).")
    return tokens


def _from_keyring(keys: list[str]) -> list[CliLogin]:
    import keyring

    from .store.keyring_store import KEYRING_FAILURES
    from .store.select import keyring_problem

    backend = keyring.get_keyring()
    problem = keyring_problem(backend)
    if problem is not None:
        log.debug("CLI import: not reading the keyring: %s.", problem)
        return []
    found: list[CliLogin] = []
    for key in keys:
        try:
            text = backend.get_password(CLI_SERVICE, key)
        except KEYRING_FAILURES as exc:
            log.info("CLI import: the OS keyring could not be read (%s).", type(exc).__name__)
            return found
        if text is None:
            continue
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        where = f"the OS keyring (service {CLI_SERVICE})"
        if not isinstance(value, dict):
            raise CliImportError(f"The Databricks CLI login {key!r} in {where} is malformed.")
        login = _login(key, "keyring", value.get("token"), where)
        if login is not None:
            found.append(login)
    return found


def find_cli_login(
    *,
    profile: str | None = None,
    host: str | None = None,
    account_id: str | None = None,
    cache_path: Path | None = None,
    use_keyring: bool = True,
) -> CliLogin | None:
    """The CLI's freshest login for this profile/host, from the keyring or the token cache."""
    keys = cache_keys(profile, host, account_id)
    path = cache_path or default_token_cache_path()
    tokens = read_token_cache(path)
    found = [
        login
        for key in keys
        if key in tokens
        and (login := _login(key, "token-cache.json", tokens[key], str(path))) is not None
    ]
    if use_keyring:
        found += _from_keyring(keys)
    if not found:
        return None
    # The login refreshed most recently has the latest expiry: its refresh token is the live one
    # (older copies may have been rotated away). On a tie the later candidate wins, which puts
    # the keyring, the CLI's current default store, ahead of the file.
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    best = found[0]
    for login in found[1:]:
        if (login.expiry or oldest) >= (best.expiry or oldest):
            best = login
    return best


def import_cli_login(
    store: SecretStore,
    connection: str,
    *,
    host: str,
    profile: str | None = None,
    account_id: str | None = None,
    cache_path: Path | None = None,
    use_keyring: bool = True,
    overwrite: bool = False,
    audit: Any | None = None,
) -> ImportResult:
    """Copy the CLI's refresh token for `profile`/`host` into `store` as ("u2m", connection).

    An existing login of ours is kept unless `overwrite`. `audit`: an `AuditLog` to record the
    import in (event "secret_added").
    """
    login = find_cli_login(
        profile=profile,
        host=host,
        account_id=account_id,
        cache_path=cache_path,
        use_keyring=use_keyring,
    )
    if login is None:
        looked = ", ".join(repr(k) for k in cache_keys(profile, host, account_id))
        return ImportResult(connection, False, f"no Databricks CLI login found for {looked}")
    source = f"databricks-cli {login.source} ({login.cache_key})"
    record: StoreRecord = {
        "refresh_token": login.refresh_token,
        "host": host,
        "client_id": CLI_CLIENT_ID,
        "imported_from": source,
    }
    if account_id:
        record["account_id"] = account_id
    with store.lock(NAMESPACE, connection):
        replaced = store.get(NAMESPACE, connection)
        if not overwrite and replaced is not None:
            return ImportResult(connection, False, "already signed in; not overwritten")
        store.put(NAMESPACE, connection, record)
    if audit is not None:
        audit.record("secret_added", connection, detail={"imported_from": source})
    log.info("Imported the Databricks CLI login for %r from %s.", connection, source)
    return ImportResult(connection, True, f"imported from {source}", login.source, replaced)


def restore_replaced(store: SecretStore, result: ImportResult) -> bool:
    """After Databricks refused an imported token: put back the sign-in the import replaced.

    Only when the record is gone (the broker deletes a refresh token Databricks refused, under the
    same lock): a record there now is a newer sign-in, and a refresh token of ours that was
    replaced is only put back into an empty place. True when something was restored.
    """
    if result.replaced is None:
        return False
    with store.lock(NAMESPACE, result.connection):
        if store.get(NAMESPACE, result.connection) is not None:
            return False
        store.put(NAMESPACE, result.connection, result.replaced)
    log.info("Restored the sign-in of %r that a refused CLI import replaced.", result.connection)
    return True
