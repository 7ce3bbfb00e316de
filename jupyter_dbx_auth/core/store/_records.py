"""Helpers shared by the backends: name checks and the JSON form of a record.

Records may carry `Secret` values on the way in; they are revealed only here, straight into the
bytes that a backend encrypts or hands to the OS keyring. Reads return plain JSON values: callers
wrap sensitive fields (`refresh_token`, `client_secret`) in `Secret` themselves.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import StoreError
from ..secret import Secret
from .base import StoreRecord

#: Namespaces are code-chosen identifiers ("u2m", "sp"); keep them boring so they map to file names.
_NAMESPACE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_MAX_KEY = 512


def check_names(namespace: str, key: str | None = None) -> None:
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise StoreError(
            f"Invalid store namespace {namespace!r}.",
            hint="Use lower-case letters, digits, '-' or '_' (this is a bug in the caller).",
        )
    if key is None:
        return
    if not isinstance(key, str) or not key or len(key) > _MAX_KEY or "\x00" in key:
        # The key is a connection name, never a secret, so it may appear in the message.
        raise StoreError(
            f"Invalid store key {key!r:.80}.",
            hint=f"Use a non-empty name of at most {_MAX_KEY} characters.",
        )


def _reveal(value: Any) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    # Never echo the value: a non-serialisable object may wrap a secret.
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dump_record(record: StoreRecord, **envelope: Any) -> str:
    """Canonical JSON of a record (Secret values revealed), optionally inside an envelope.

    With `envelope` (e.g. namespace=..., key=...) the result is {**envelope, "record": record}.
    Raises StoreError, never echoing a value.
    """
    if not isinstance(record, dict):
        raise StoreError(
            f"A store record must be a dict, not {type(record).__name__}.",
            hint="This is a bug in the caller.",
        )
    try:
        value = {**envelope, "record": record} if envelope else record
        return json.dumps(value, default=_reveal, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise StoreError(
            f"The record cannot be stored as JSON ({exc}).",
            hint="Store only str, numbers, booleans, None, lists and dicts (and Secret).",
        ) from None


def load_record(text: str | bytes) -> StoreRecord:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("record is not a JSON object")
    return value
