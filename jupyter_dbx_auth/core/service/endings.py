"""How each pending sign-in will end, and who wants to know when it has.

A front end decides how a sign-in it started ends (the server: back at its callback, handed on
from localhost:8020, or by a pasted address) and notes it here, so that every front end sees it
in the connection's status (`sign_in`) while the sign-in is pending. Listeners (the 8020
hand-off) hear when a sign-in completes, fails or is declined, to stop waiting for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SignInEndings:
    def __init__(self) -> None:
        self._listeners: list[Callable[[str], None]] = []
        self._by_connection: dict[str, tuple[str, dict[str, Any]]] = {}

    def subscribe(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    def note(self, connection: str, state: str, how: dict[str, Any]) -> None:
        self._by_connection[connection] = (state, how)

    def how(self, connection: str) -> dict[str, Any] | None:
        return self._by_connection.get(connection, ("", None))[1]

    def ended(self, state: str | None) -> None:
        if not state:
            return
        for name in [n for n, (s, _) in self._by_connection.items() if s == state]:
            del self._by_connection[name]
        for listener in list(self._listeners):
            listener(state)

    def ended_connection(self, connection: str) -> None:
        """The pending sign-in of `connection` was given up (Cancel, a closed window)."""
        entry = self._by_connection.get(connection)
        if entry is not None:
            self.ended(entry[0])

    def clear(self) -> None:
        self._listeners.clear()
        self._by_connection.clear()
