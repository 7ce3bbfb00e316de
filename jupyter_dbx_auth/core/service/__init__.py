"""The application: one `AuthService` for every front end (server, in-process kernel, hub).

Front ends import only the names below (`tests/test_layers.py` checks it), never the modules of
this package: what is not listed here may change without notice.
"""

from __future__ import annotations

from ..errors import BadRequest, NotFound, TooManyRequests
from .events import QUEUE_SIZE, EventHub
from .pending import LOGIN_TTL, StateRejected, TooManyLogins
from .redirects import CALLBACK_PATH, DOCS_URL, default_next, host_is_loopback, safe_next
from .service import AuthService, OAuthApp, ServiceSettings

__all__ = [
    "CALLBACK_PATH",
    "DOCS_URL",
    "LOGIN_TTL",
    "QUEUE_SIZE",
    "AuthService",
    "BadRequest",
    "EventHub",
    "NotFound",
    "OAuthApp",
    "ServiceSettings",
    "StateRejected",
    "TooManyLogins",
    "TooManyRequests",
    "default_next",
    "host_is_loopback",
    "safe_next",
]
