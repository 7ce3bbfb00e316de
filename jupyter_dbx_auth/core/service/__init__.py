"""The application: one `AuthService` for every front end (server, in-process kernel, hub).

Front ends import only the names below (`tests/test_layers.py` checks it), never the modules of
this package: what is not listed here may change without notice.
"""

from __future__ import annotations

from ..errors import BadRequest, NotFound, TooManyRequests
from .connections import OAuthApp
from .events import QUEUE_SIZE, EventHub
from .identity import identity_from_scim, scim_me_url
from .pending import LOGIN_TTL, StateRejected, TooManyLogins
from .redirects import CALLBACK_PATH, DOCS_URL, default_next, host_is_loopback, safe_next
from .service import AuthService
from .settings import ServiceSettings

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
    "identity_from_scim",
    "safe_next",
    "scim_me_url",
]
