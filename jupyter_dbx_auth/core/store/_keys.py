"""Store keys for the encrypted file: parsing `;`-separated key lists and the generated key file.

Formats follow JupyterHub's `JUPYTERHUB_CRYPT_KEY` so one habit works for both: each key is 32 bytes
written as 64 hex digits (`openssl rand -hex 32`) or base64 (a Fernet key, `Fernet.generate_key()`).
The first key encrypts, every key decrypts. No message here ever contains key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from ..errors import StoreError
from ..secret import Secret

log = logging.getLogger(__name__)

ENV_VAR = "JUPYTER_DBX_AUTH_CRYPT_KEY"
KEY_HINT = (
    f"Set {ENV_VAR} to one or more keys separated by ';' (newest first); make one with "
    "`openssl rand -hex 32`."
)

KeySpec = str | bytes | Secret | Sequence[str | bytes | Secret]


def _decode_one(raw: bytes) -> bytes | None:
    raw = raw.strip()
    if len(raw) == 64:
        try:
            return bytes.fromhex(raw.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            pass
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            value = decode(raw + b"=" * (-len(raw) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(value) == 32:
            return value
    return None


def parse_keys(spec: KeySpec, *, source: str) -> list[bytes]:
    """Fernet keys (urlsafe base64 of 32 bytes) from a key spec; raises StoreError on bad input."""
    if isinstance(spec, Secret):
        spec = spec.reveal()
    if isinstance(spec, (str, bytes)):
        text = spec.encode() if isinstance(spec, str) else spec
        parts: list[bytes] = text.split(b";")
    else:
        parts = []
        for item in spec:
            value = item.reveal() if isinstance(item, Secret) else item
            parts.extend((value.encode() if isinstance(value, str) else value).split(b";"))
    keys: list[bytes] = []
    for index, part in enumerate(parts, start=1):
        if not part.strip():
            continue  # tolerate a trailing ';' the way JupyterHub does
        raw = _decode_one(part)
        if raw is None:
            raise StoreError(
                f"Store key #{index} from {source} is not a valid key: it must be 32 bytes "
                "written as 64 hex digits or base64.",
                hint=KEY_HINT,
            )
        keys.append(base64.urlsafe_b64encode(raw))
    if not keys:
        raise StoreError(f"No store key found in {source}.", hint=KEY_HINT)
    return keys


def key_id(fernet_key: bytes) -> str:
    """A short, non-reversible name for a key, written next to each record for clear errors."""
    raw = base64.urlsafe_b64decode(fernet_key)
    return hmac.new(raw, b"jupyter-dbx-auth key id", hashlib.sha256).hexdigest()[:12]


def read_key_file(path: Path) -> bytes | None:
    """The key in `path`, or None when the file does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(
            f"Cannot read the store key file {path} ({exc.strerror}).", hint=KEY_HINT
        ) from None
    try:
        check_private(fd, path)
        data = os.read(fd, 4096)
    finally:
        os.close(fd)
    return parse_keys(data, source=str(path))[0]


def create_key_file(path: Path) -> bytes:
    """Generate a key into `path` (0600) unless another process won the race; return the key."""
    key = base64.urlsafe_b64encode(secrets.token_bytes(32))
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails when the name exists, so two servers starting together agree on one key.
        os.link(tmp, path)
    except FileExistsError:
        existing = read_key_file(path)
        if existing is None:  # pragma: no cover - deleted between link and read
            raise StoreError(f"The store key file {path} vanished.", hint=KEY_HINT) from None
        return existing
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)
    log.warning(
        "Generated a new secret store key in %s: the store is only as safe as that file. %s",
        path,
        KEY_HINT,
    )
    return key


def fsync_dir(directory: Path) -> None:
    if os.name == "nt":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_private(fd: int, path: Path, *, mode: int = 0o600) -> None:
    """Refuse a file or directory owned by someone else; tighten one of ours that is too open."""
    if os.name == "nt":  # pragma: no cover - POSIX modes do not apply
        return
    st = os.fstat(fd)
    if st.st_uid != os.getuid():
        raise StoreError(
            f"{path} belongs to another user (uid {st.st_uid}); refusing to use it.",
            hint="Point the store at a directory you own, or fix the owner with chown.",
        )
    if st.st_mode & 0o077:
        os.fchmod(fd, mode)
        log.warning(
            "%s was accessible to other users (mode %o); tightened to %o.",
            path,
            st.st_mode & 0o777,
            mode,
        )
