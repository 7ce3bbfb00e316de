"""Checks for every string that arrives from outside (JSON bodies, query strings, form fields).

Bad input is a 4xx with a message and a hint, never a traceback (DESIGN.md). The shapes that used
to end in a 500 (issue 9, finding 5): a lone surrogate (`"\\ud800"` is valid JSON but cannot be
encoded, so it fails deep inside a URL, a file name or an HTTP request), control characters, a value
long enough to overflow a file name (ENAMETOOLONG, whose message carried the store's absolute
path), and JSON nested so deep that the parser recurses out of stack. Each check raises
`InvalidInput`, which the server maps to 400 like every `DbxAuthError`.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import DbxAuthError

#: Databricks application ids are UUIDs (36 characters). Ids become part of a store file name,
#: where each character may take 3 bytes (%XX): 64 keeps any id well under 255 bytes.
MAX_ID = 64
#: Connection names, labels.
MAX_NAME = 200
#: OAuth secrets (Databricks' are ~40 characters), authorization codes, states.
MAX_SECRET = 512
#: Paths such as `next`.
MAX_PATH = 2048


class InvalidInput(DbxAuthError):
    """A request value the server cannot act on (HTTP 400)."""


def text(
    value: Any,
    field: str,
    *,
    max_len: int = MAX_NAME,
    required: bool = False,
    example: str = "",
) -> str | None:
    """`value` if it is a printable, encodable string of at most `max_len` characters.

    None when absent (None or "") and not `required`. The message names the field, never repeats
    the value (it may be a secret, or text meant to mislead whoever reads the error).
    """
    hint = f"Send {field} as a string" + (f", e.g. {example}." if example else ".")
    if value is None or value == "":
        if required:
            raise InvalidInput(f"`{field}` is required.", hint=hint)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"`{field}` must be a string.", hint=hint)
    if len(value) > max_len:
        raise InvalidInput(
            f"`{field}` is too long ({len(value)} characters; at most {max_len}).",
            hint=f"Check {field}.",
        )
    if not encodable(value):
        raise InvalidInput(
            f"`{field}` holds characters that are not valid Unicode text (a lone surrogate).",
            hint=f"Check {field}; paste it again from its source.",
        )
    if not value.isprintable():
        raise InvalidInput(
            f"`{field}` holds control characters (such as a newline or tab).",
            hint=f"Check {field}; paste it again without line breaks.",
        )
    return value


def client_id(value: Any, field: str = "client_id", *, required: bool = False) -> str | None:
    """An OAuth client id: printable ASCII without spaces or "/" (RFC 6749 allows only VSCHAR,
    Databricks issues UUIDs), at most `MAX_ID` characters."""
    checked = text(value, field, max_len=MAX_ID, required=required, example="a UUID")
    if checked is not None and not all("!" <= c <= "~" and c != "/" for c in checked):
        raise InvalidInput(
            f"`{field}` is not a valid application id.",
            hint="Copy the service principal's application id (a UUID) from the account console.",
        )
    return checked


def encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body parsed as one JSON object."""
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "The request body is not valid JSON.", hint="Send a JSON object."
        ) from None
    except RecursionError:
        raise InvalidInput(
            "The request body is nested too deeply.", hint="Send a flat JSON object."
        ) from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.", hint="Send {...}.")
    return body
