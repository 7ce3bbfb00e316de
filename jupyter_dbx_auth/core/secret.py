"""A string wrapper that cannot leak by accident.

`Secret` keeps a refresh token, client secret or store key out of `repr()`, `str()`, f-strings,
logging and tracebacks. Code that really needs the value calls `.reveal()`, which makes every place
a secret leaves the process easy to find with grep.
"""

from __future__ import annotations

from typing import Any


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, Secret):
            import hmac

            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:
        # Pickling would write the value somewhere we do not control.
        raise TypeError("Secret values cannot be pickled")


def reveal(value: Secret | str | None) -> str | None:
    """Unwrap a Secret (or pass a plain str / None through)."""
    if value is None or isinstance(value, str):
        return value
    return value.reveal()
