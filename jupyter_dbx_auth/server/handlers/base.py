"""Handler base classes and the two ways a request may be authenticated.

1. **Jupyter** (browser, JupyterLab, scripts with the Jupyter token): jupyter-server's identity
   provider and authorizer, as `@tornado.web.authenticated` + `@authorized` would apply them;
   writes carry XSRF (the base class checks it before the verb runs).
2. **Kernel key** (`Authorization: DbxKernelKey <key>`, see `kernel_key.py`): only kernels started
   by this server know the key. Such a request must carry no cookie and no `?token=`: a request
   that mixes credentials is refused (403) rather than guessed at. It needs no XSRF token: a
   cross-site page can neither read the key nor make a browser attach this header.

`@jupyter_or_kernel` verbs accept either (listing connections, starting a login, saving a service
principal, events); `@kernel_only` verbs accept only the kernel key (the access-token endpoint);
everything else uses the plain jupyter-server decorators. Both custom decorators mark the verb
`@allow_unauthenticated` for jupyter-server because they authenticate by themselves, first thing.

Errors are JSON `{"message", "hint"}`; a `DbxAuthError` maps to a 4xx/5xx by its type.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ...core import errors, validation
from ..kernel_key import SCHEME, presented_key
from ..pending import StateRejected, TooManyLogins
from ..service import BadRequest, DbxAuthService, NotFound

#: Resource name for jupyter-server's authorizer.
AUTH_RESOURCE = "dbx-auth"
#: Principal recorded for kernel-key requests (logs, audit).
KERNEL_PRINCIPAL = "kernel"

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

# Most specific first: the first isinstance match decides the status code.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (NotFound, 404),
    (BadRequest, 400),
    (StateRejected, 400),
    (TooManyLogins, 429),
    (errors.ConfigError, 400),
    (errors.LoginRequired, 409),
    (errors.CredentialsMissing, 409),
    (errors.ClientSecretRejected, 400),
    (errors.TransientOAuthError, 503),
    (errors.DiscoveryError, 502),
    (errors.OAuthError, 502),
    (errors.StoreError, 503),
    (errors.DbxAuthError, 400),
)


def status_for(exc: BaseException) -> int:
    for cls, code in _STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def error_reply(exc_info: Any, reason: str) -> dict[str, str]:
    """The JSON body of an error: what happened and what to do, built from our own messages only
    (never an exception's raw text, which could quote a request)."""
    exc = (exc_info or (None, None, None))[1]
    if isinstance(exc, ApiError):
        return {"message": exc.message, "hint": exc.hint}
    if isinstance(exc, errors.DbxAuthError):
        return {"message": exc.message, "hint": exc.hint, "error": type(exc).__name__}
    if isinstance(exc, StateRejected):
        return {"message": exc.message, "hint": "Start the sign-in again."}
    if isinstance(exc, web.HTTPError):
        return {"message": exc.log_message or reason, "hint": ""}
    return {
        "message": "jupyter-dbx-auth failed unexpectedly.",
        "hint": "See the Jupyter server log for details.",
    }


class ApiError(web.HTTPError):
    """An HTTP error with a message and hint for a person."""

    def __init__(self, status: int, message: str, hint: str = "") -> None:
        super().__init__(status, log_message=None, reason=None)
        self.message = message
        self.hint = hint


class DbxAuthMixin(ExtensionHandlerMixin):
    """Access to the service, and kernel-key detection shared by API and HTML handlers."""

    auth_resource = AUTH_RESOURCE
    principal: str | None = None

    @property
    def service(self) -> DbxAuthService:
        return self.settings["dbx_auth_service"]  # type: ignore[no-any-return]

    def kernel_key_presented(self) -> bool:
        return presented_key(self.request.headers.get("Authorization")) is not None  # type: ignore[attr-defined]

    def verify_kernel_key(self) -> None:
        """403 unless the request carries the right key and no Jupyter credentials at all."""
        request = self.request  # type: ignore[attr-defined]
        if request.headers.get("Cookie") or "token" in request.query_arguments:
            raise ApiError(
                403,
                "A kernel-key request must not carry Jupyter credentials (cookie or token).",
                "Browsers use the Jupyter endpoints; kernels send only the kernel key.",
            )
        key = presented_key(request.headers.get("Authorization"))
        if not self.settings["dbx_auth_kernel_key"].matches(key):
            raise ApiError(
                403,
                "The kernel key was not accepted.",
                "Only kernels started by this Jupyter server can use this endpoint; restart the "
                "kernel if the server was restarted.",
            )
        self.principal = KERNEL_PRINCIPAL


class DbxAuthAPIHandler(DbxAuthMixin, APIHandler):
    """JSON API base: JSON errors with message and hint, never a traceback."""

    def check_xsrf_cookie(self) -> None:
        # A kernel-key request carries no cookie, so the browser-oriented XSRF check does not
        # apply to it, but only once the key is verified here: a header that merely *looks* like
        # a kernel key must not switch XSRF off for a cookie-authenticated write (403 instead).
        if self.kernel_key_presented():
            self.verify_kernel_key()
            return None
        return super().check_xsrf_cookie()

    def user_name(self) -> str:
        if self.principal == KERNEL_PRINCIPAL:
            return KERNEL_PRINCIPAL
        user = self.current_user
        return str(getattr(user, "username", "") or "")

    def json_body(self) -> dict[str, Any]:
        # core.validation: also turns 5,000-deep JSON (RecursionError) into a 400.
        return validation.json_object(self.request.body)

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(error_reply(kwargs.get("exc_info"), self._reason)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Expected errors are one line, not a traceback; status codes come from `_STATUS`.
        if isinstance(value, (errors.DbxAuthError, StateRejected, TooManyLogins, ApiError)):
            self.log.warning("%s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if exc is not None and not isinstance(exc, web.HTTPError):
            status_code = status_for(exc)
        elif isinstance(exc, ApiError):
            status_code = exc.status_code
        super().send_error(status_code, **kwargs)


def _jupyter_authorize(handler: DbxAuthAPIHandler) -> Awaitable[bool]:
    user = handler.current_user
    if not user:
        raise ApiError(403, "Not signed in to Jupyter.", "Open JupyterLab and sign in.")
    action = HTTP_METHOD_TO_AUTH_ACTION[handler.request.method.upper()]  # type: ignore[union-attr]
    return ensure_async(handler.authorizer.is_authorized(handler, user, action, AUTH_RESOURCE))


def jupyter_or_kernel(method: F) -> F:
    """Jupyter auth (+ authorizer) or the kernel key, see the module docstring."""

    @functools.wraps(method)
    async def wrapper(self: DbxAuthAPIHandler, *args: Any, **kwargs: Any) -> Any:
        if self.kernel_key_presented():
            self.verify_kernel_key()
        elif not await _jupyter_authorize(self):
            raise ApiError(403, "Not authorized to use Databricks sign-in on this server.", "")
        return await method(self, *args, **kwargs)

    return allow_unauthenticated(wrapper)  # type: ignore[return-value]


def kernel_only(method: F) -> F:
    """The kernel key and nothing else (cookies and the Jupyter token are refused)."""

    @functools.wraps(method)
    async def wrapper(self: DbxAuthAPIHandler, *args: Any, **kwargs: Any) -> Any:
        if not self.kernel_key_presented():
            raise ApiError(
                403,
                "This endpoint is for kernels started by this Jupyter server only.",
                f"Kernels send 'Authorization: {SCHEME} <key>' from their environment.",
            )
        self.verify_kernel_key()
        return await method(self, *args, **kwargs)

    return allow_unauthenticated(wrapper)  # type: ignore[return-value]
