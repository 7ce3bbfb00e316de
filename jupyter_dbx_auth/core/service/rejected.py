"""What a token Databricks refused (HTTP 401) means: at most one forced refresh per interval.

A kernel that gets a 401 reports the refused token by fingerprint. If the service's current token
is another one, the kernel simply had a stale token (no refresh). If it is the current one, it is
replaced once, and further reports of that same token join that refresh. A report of the *new*
token soon after is refused (security finding 4): a token refused right after a refresh points at
the identity's access, not at the token, and another refresh per report would let any caller make
the server hammer the IdP.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import TooManyRequests


class ForcedRefreshes:
    def __init__(self, interval: float, clock: Callable[[], float]) -> None:
        self.interval = interval
        self._clock = clock
        # connection -> (fingerprint of the token last force-replaced, when)
        self._last: dict[str, tuple[str, float]] = {}

    def allow(self, connection: str, rejected: str) -> None:
        """Record a forced refresh of `connection` for the token fingerprinted `rejected`, or
        raise `TooManyRequests` when another one was forced within the interval."""
        now = self._clock()
        last = self._last.get(connection)
        if last is not None and last[0] == rejected:
            return  # the same report again: it joins (or follows) that refresh
        if last is not None and now - last[1] < self.interval:
            wait = self.interval - (now - last[1])
            raise TooManyRequests(
                f"Databricks refused the token of {connection} that was issued "
                f"{now - last[1]:.0f} s ago; another refresh now would not help.",
                hint="Check the workspace's access for this identity (or sign in again); a new "
                f"token can be forced again in {wait:.0f} s.",
                retry_after=wait,
            )
        self._last[connection] = (rejected, now)
