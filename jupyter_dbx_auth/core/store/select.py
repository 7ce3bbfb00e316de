"""Choosing a store: `open_store("auto" | "keyring" | "file" | "memory", path=None, key=None)`.

"auto" uses the OS keyring only when a real one is present. Headless Linux (servers, containers,
JupyterHub pods) usually has none, and the ways that shows are many: `keyring` picks its `fail`
backend, the chainer has nothing to chain, `keyrings.alt` offers a plaintext file, Secret Service
raises RuntimeError without D-Bus, prompting backends raise EOFError without a TTY, a locked
collection raises KeyringLocked. All of them fall back to the encrypted file, with one log line
saying why. A configured store key (argument or `JUPYTER_DBX_AUTH_CRYPT_KEY`) also selects the
file: whoever set a key meant the store that uses it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import keyring
import keyring.backend
import keyring.backends.chainer

from ..errors import StoreError
from ._keys import ENV_VAR, KeySpec
from .base import SecretStore
from .encrypted_file import EncryptedFileStore
from .keyring_store import INDEX, KEYRING_FAILURES, SERVICE, KeyringStore
from .memory import MemoryStore

log = logging.getLogger(__name__)

Backend = Literal["auto", "keyring", "file", "memory"]
BACKENDS: tuple[str, ...] = ("auto", "keyring", "file", "memory")


def default_store_path() -> Path:
    """`<user data dir>/jupyter-dbx-auth/store`, e.g. ~/.local/share/jupyter-dbx-auth/store."""
    import platformdirs

    return Path(platformdirs.user_data_dir("jupyter-dbx-auth")) / "store"


def keyring_problem(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why `backend` is not a keyring we trust with secrets, or None if it is one."""
    cls = type(backend)
    name = f"{cls.__module__}.{cls.__qualname__}"
    if cls.__module__ in ("keyring.backends.fail", "keyring.backends.null"):
        return f"no OS keyring is available ({name})"
    if cls.__module__.startswith("keyrings.alt") or "plaintext" in name.lower():
        return f"the only keyring is {name}, which does not protect secrets well enough"
    if isinstance(backend, keyring.backends.chainer.ChainerBackend):
        chained = list(getattr(backend, "backends", []))
        real = [b for b in chained if keyring_problem(b) is None]
        if not real:
            return "no OS keyring is available (the keyring chainer has no usable backend)"
    return None


def probe_keyring(backend: keyring.backend.KeyringBackend) -> str | None:
    """None when the keyring answers a read; otherwise why not (for the fallback log line)."""
    problem = keyring_problem(backend)
    if problem is not None:
        return problem
    try:
        # A read of our own index: harmless, and it is the call that raises on a locked or
        # unreachable keyring. No probe write: on a desktop that could pop up a dialog.
        backend.get_password(SERVICE, INDEX)
    except KEYRING_FAILURES as exc:
        reasons = {
            "NoKeyringError": "no OS keyring is available",
            "KeyringLocked": "the OS keyring is locked",
            "RuntimeError": "the OS keyring is unreachable (no D-Bus session?)",
            "EOFError": "the OS keyring wants to prompt for a password and there is no terminal",
        }
        reason = next(
            (reasons[c.__name__] for c in type(exc).__mro__ if c.__name__ in reasons),
            "the OS keyring failed",
        )
        return f"{reason} ({type(backend).__name__} raised {type(exc).__name__})"
    return None


def open_store(
    backend: Backend | str = "auto",
    path: str | os.PathLike[str] | None = None,
    key: KeySpec | None = None,
) -> SecretStore:
    """Open the secret store.

    `path`: the encrypted file store's directory (default `default_store_path()`); for the keyring
    it is ignored. `key`: the encrypted file store's key(s), see `EncryptedFileStore`.
    """
    if backend not in BACKENDS:
        raise StoreError(
            f"Unknown secret store backend {backend!r}.",
            hint=f"Use one of: {', '.join(BACKENDS)}.",
        )
    if backend == "memory":
        return MemoryStore()
    file_path = Path(path) if path is not None else default_store_path()
    if backend == "file":
        return EncryptedFileStore(file_path, key)
    ring = keyring.get_keyring()
    if backend == "keyring":
        problem = probe_keyring(ring)
        if problem is not None:
            raise StoreError(
                f"The keyring secret store was requested, but {problem}.",
                hint="Use the encrypted file store (store backend 'file' or 'auto') on "
                "machines without a desktop keyring.",
            )
        return KeyringStore(ring)
    if key is not None or os.environ.get(ENV_VAR, "").strip():
        log.info("Secret store: encrypted file at %s (a store key is configured).", file_path)
        return EncryptedFileStore(file_path, key)
    problem = probe_keyring(ring)
    if problem is None:
        log.info("Secret store: OS keyring (%s).", type(ring).__name__)
        return KeyringStore(ring)
    log.warning("Secret store: %s; using the encrypted file at %s.", problem, file_path)
    return EncryptedFileStore(file_path, key)
