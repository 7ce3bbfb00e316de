"""When to try a token request again, and when an answer is final.

Retried: 5xx, 429 (waiting at least what Retry-After asks, in seconds or as an HTTP date) and
connection errors, with exponential backoff and full jitter (sleep a random time in
[0, min(cap, base * 2**n)]: clients that failed together do not retry together). Bounded twice: by
attempts and by total time, so a caller waiting on a refresh gets an answer in bounded time.

Final: every other 4xx. `invalid_grant` means the refresh token or code is dead — a retry can only
fail again, and hammering a single-use token is how accounts get locked — so it becomes
`LoginRequired`; `invalid_client` becomes `ClientSecretRejected`.

One known limit: a connection error after the request was sent may hide a refresh the IdP already
performed; the retry then uses a consumed refresh token and ends in `LoginRequired`. No client can
do better without IdP support (a grace period for the previous refresh token).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import httpx

from ..errors import ClientSecretRejected, LoginRequired, OAuthError, TransientOAuthError

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5  # requests in total, first one included
    max_elapsed: float = 30.0  # seconds from the first request to giving up
    base_delay: float = 0.25
    max_delay: float = 8.0

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before retry number `retry` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2**retry))
        return rand() * ceiling


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent or
    unreadable. A date in the past means "now" (0)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


async def send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    policy: RetryPolicy,
    *,
    what: str,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
) -> httpx.Response:
    """Call `send` until it returns a non-retryable response, within `policy`'s bounds.

    `what` names the request in log lines and errors ("token request to https://host").
    """
    start = monotonic()
    last_problem = "no attempt made"
    for attempt in range(policy.max_attempts):
        retry_after: float | None = None
        try:
            response = await send()
        except httpx.TransportError as exc:
            # The class name says enough (ConnectError, ReadTimeout); str(exc) may quote a URL.
            last_problem = f"connection error ({type(exc).__name__})"
        else:
            if response.status_code not in RETRYABLE_STATUS:
                return response
            last_problem = f"HTTP {response.status_code}"
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if attempt + 1 >= policy.max_attempts:
            break
        delay = policy.backoff(attempt, rand)
        if retry_after is not None:
            delay = max(delay, retry_after)  # the server knows its own load better than we do
        remaining = policy.max_elapsed - (monotonic() - start)
        if delay > remaining:
            log.warning(
                "%s: %s; a retry would exceed %.0f s, giving up",
                what,
                last_problem,
                policy.max_elapsed,
            )
            break
        log.warning(
            "%s: %s; retrying in %.2f s (attempt %d of %d)",
            what,
            last_problem,
            delay,
            attempt + 2,
            policy.max_attempts,
        )
        await sleep(delay)
    raise TransientOAuthError(f"{what} failed: {last_problem}, after bounded retries.")


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def raise_for_oauth_error(
    response: httpx.Response,
    *,
    what: str,
    sent_secrets: Iterable[str] = (),
    client_has_secret: bool = False,
) -> None:
    """Raise the error a final non-2xx token endpoint response stands for.

    `sent_secrets` are the values this request carried (tokens, secrets, verifier): an IdP that
    echoes its input in `error_description` must not make us leak them into a message.
    """
    if response.is_success:
        return
    error: str | None = None
    description = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), str) else None
        raw = body.get("error_description")
        description = raw if isinstance(raw, str) else ""
    description = _scrub(description, list(sent_secrets))[:300]
    detail = f"{error}: {description}" if description else (error or "no error code")
    message = f"{what} was refused (HTTP {response.status_code}, {detail})."
    status = response.status_code
    if error == "invalid_grant":
        raise LoginRequired(message, error=error, status=status)
    if error == "invalid_client" or (status == 401 and client_has_secret and error is None):
        if client_has_secret:
            raise ClientSecretRejected(message, error=error, status=status)
        raise OAuthError(
            message,
            error=error,
            status=status,
            hint="Check the OAuth client id of this connection (an app registered in the "
            "account console, or databricks-cli).",
        )
    raise OAuthError(
        message,
        error=error,
        status=status,
        hint="Check the connection's host, client id and scopes.",
    )
