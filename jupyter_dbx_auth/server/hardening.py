"""What the server does to keep its long-lived secrets from other processes (docs/security.md).

- `make_non_dumpable()`: on Linux, `prctl(PR_SET_DUMPABLE, 0)`. `/proc/<pid>/environ` keeps the
  environment the process *started* with, whatever `os.environ.pop` did since, so a secret passed
  in the environment stays readable there by every process of the same user, kernels included.
  A non-dumpable process's `/proc/<pid>/{environ,mem,maps,...}` belong to root, and ptrace needs
  CAP_SYS_PTRACE, so same-user processes without that capability can read none of them; no core
  dumps are written either. Children get the normal setting back at `execve`, so kernels and
  terminals stay ordinary processes (debuggers still attach to them).
- `read_secret_file()`: settings such as `store_key_file` point at a file instead of putting the
  secret into the environment or Jupyter config; it must be private to this user (we warn if not).

What this does not do: code running as the same OS user can still read the store files and the
encrypted store's key file, or start its own process to talk to the OAuth app. That boundary
needs another process owner (JupyterHub with the hub token service).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import stat
import sys
from pathlib import Path

from ..core.errors import ConfigError

log = logging.getLogger(__name__)

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
#: Longest secret file read (keys and OAuth secrets are far shorter).
MAX_SECRET_FILE = 64 * 1024


def _prctl(option: int, arg: int = 0) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    result = int(libc.prctl(option, arg, 0, 0, 0))
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def is_dumpable() -> bool | None:
    """This process's dumpable flag; None where there is no such thing (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    return _prctl(PR_GET_DUMPABLE) != 0


def make_non_dumpable() -> bool:
    """Close this process's /proc entries and ptrace to same-user processes. True if done."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        _prctl(PR_SET_DUMPABLE, 0)
    except (OSError, AttributeError) as exc:  # no libc prctl (e.g. an unusual libc)
        log.warning("jupyter-dbx-auth: could not make the server non-dumpable (%s).", exc)
        return False
    return True


def read_secret_file(path: str, setting: str) -> str:
    """The secret in `path` (surrounding whitespace removed).

    Raises `ConfigError` when the file cannot be read or is empty; warns when other users may read
    it or it belongs to someone else (the secret is not named, only the setting and the file).
    """
    file = Path(path).expanduser()
    try:
        with file.open("rb") as handle:
            info = os.fstat(handle.fileno())
            raw = handle.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read {setting} ({file}: {exc.strerror}).",
            hint=f"Point c.DatabricksAuth.{setting} at a readable file, or unset it.",
        ) from None
    if len(raw) > MAX_SECRET_FILE:
        raise ConfigError(
            f"{setting} ({file}) is larger than a secret can be.",
            hint="The file must hold only the secret.",
        )
    try:
        value = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ConfigError(
            f"{setting} ({file}) is not UTF-8 text.", hint="The file must hold only the secret."
        ) from None
    if not value:
        raise ConfigError(f"{setting} ({file}) is empty.", hint="Write the secret into it.")
    if os.name == "posix":
        if stat.S_IMODE(info.st_mode) & 0o077:
            log.warning(
                "jupyter-dbx-auth: %s (%s) can be read by other users (mode %o); "
                "run `chmod 600 %s`.",
                setting,
                file,
                stat.S_IMODE(info.st_mode),
                file,
            )
        if info.st_uid != os.geteuid():
            log.warning(
                "jupyter-dbx-auth: %s (%s) belongs to another user (uid %d).",
                setting,
                file,
                info.st_uid,
            )
    return value
