"""Handler bases: one way to authenticate a request, one way to turn a refusal into a reply.

Two kinds of caller:
1. **Jupyter** (browser, JupyterLab, scripts with the Jupyter token): jupyter-server's identity
   provider and authorizer, applied by its own `@tornado.web.authenticated` + `@authorized`;
   writes carry XSRF (the base class checks it in `prepare()`).
2. **Kernel** (`Authorization: DbxKernelKey <key>`, see `kernel_key.py` and `core.wire`): only
   kernels started by this server know the key. Such a request is recognised in `prepare()` as its
   own kind of caller: for it, the handler's identity provider is `KernelIdentity` (the key, and
   no cookie or `?token=` beside it: a request that mixes credentials is refused rather than
   guessed at) and its authorizer is `KernelAuthorizer` (the verbs in `kernel_methods`). So every
   verb keeps jupyter-server's plain decorators, and XSRF is skipped for exactly the verified
   kernel caller (a cross-site page can neither read the key nor make a browser attach it).

Errors (`ErrorReplies`): JSON `{"message", "hint", "error"}`, status by the exception's type
(`status_for`), one line in the log for expected refusals, never a traceback to the client.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import httputil, web

from ...core import errors, validation
from ...core.service import AuthService
from ..kernel_key import SCHEME, KernelKey, presented_key

#: Resource name for jupyter-server's authorizer.
AUTH_RESOURCE = "dbx-auth"
#: Username of kernel-key callers (logs, audit).
KERNEL_PRINCIPAL = "kernel"


def status_for(exc: BaseException) -> int:
    if isinstance(exc, web.HTTPError):
        return exc.status_code
    return errors.http_status(exc)


def error_reply(exc: BaseException | None, reason: str) -> dict[str, str]:
    """The JSON body of an error: what happened and what to do, built from our own messages only
    (never an exception's raw text, which could quote a request)."""
    if isinstance(exc, ApiError):
        return {"message": exc.message, "hint": exc.hint}
    if isinstance(exc, errors.DbxAuthError):
        return {"message": exc.message, "hint": exc.hint, "error": type(exc).__name__}
    if isinstance(exc, web.HTTPError):
        return {"message": exc.log_message or reason, "hint": ""}
    return {
        "message": "jupyter-dbx-auth failed unexpectedly.",
        "hint": "See the Jupyter server log for details.",
    }


class ApiError(web.HTTPError):
    """An HTTP error with a message and hint for a person (refusals of the transport itself)."""

    def __init__(self, status: int, message: str, hint: str = "") -> None:
        super().__init__(status, log_message=None, reason=None)
        self.message = message
        self.hint = hint


def check_kernel_request(request: httputil.HTTPServerRequest, key: KernelKey) -> None:
    """Pass a request carrying this server's kernel key and nothing else; 403 otherwise.

    The one kernel-key check, for the API handlers (`KernelIdentity`) and the token route on
    either transport (`token.TokenHandler`)."""
    candidate = presented_key(request.headers.get("Authorization"))
    if candidate is None:
        raise ApiError(
            403,
            "This endpoint is for kernels started by this Jupyter server only.",
            f"Kernels send 'Authorization: {SCHEME} <key>' from their environment.",
        )
    if request.headers.get("Cookie") or "token" in request.query_arguments:
        raise ApiError(
            403,
            "A kernel-key request must not carry Jupyter credentials (cookie or token).",
            "Browsers use the Jupyter endpoints; kernels send only the kernel key.",
        )
    if not key.matches(candidate):
        raise ApiError(
            403,
            "The kernel key was not accepted.",
            "Only kernels started by this Jupyter server can use this endpoint; restart the "
            "kernel if the server was restarted.",
        )


KERNEL_USER = User(username=KERNEL_PRINCIPAL, name="Jupyter kernel")


class KernelIdentity(IdentityProvider):
    """jupyter-server's identity provider, for a request that presents the kernel key."""

    def get_user(self, handler: web.RequestHandler) -> User:
        check_kernel_request(handler.request, handler.settings["dbx_auth_kernel_key"])
        return KERNEL_USER

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        return True  # like the Jupyter token: a header a cross-site page cannot set, so no XSRF

    def should_check_origin(self, handler: web.RequestHandler) -> bool:
        return False  # kernels send no Origin


class KernelAuthorizer(Authorizer):
    """What a kernel may do: the handler's `kernel_methods`, nothing else."""

    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        return user is KERNEL_USER and handler.request.method in handler.kernel_methods


_KERNEL_IDENTITY = KernelIdentity()
_KERNEL_AUTHORIZER = KernelAuthorizer()


class ErrorReplies(web.RequestHandler):
    """The one error mapping, for every JSON handler (the token route included)."""

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if exc is not None:
            status_code = status_for(exc)
        super().send_error(status_code, **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, errors.TooManyRequests) and exc.retry_after > 0:
            self.set_header("Retry-After", str(max(1, round(exc.retry_after))))
        self.finish(json.dumps(error_reply(exc, self._reason)))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Expected refusals are one line, not a traceback.
        if isinstance(value, (errors.DbxAuthError, web.HTTPError)):
            web.app_log.warning(
                "%s %s: %s",
                self.request.method,
                self.request.path,
                getattr(value, "message", None) or value,
            )
            return
        super().log_exception(typ, value, tb)


class DbxAuthMixin(ExtensionHandlerMixin):
    """Access to the service, for API and HTML handlers."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> AuthService:
        return self.settings["dbx_auth_service"]  # type: ignore[no-any-return]

    async def plan_finish(
        self, connection: str, redirect_uri: str, authorize_url: str | None
    ) -> dict[str, Any]:
        """How this sign-in ends: `finish`, `paste_prefix`, `message` (`handoff_adapter.py`)."""
        return await self.settings["dbx_auth_finish"].plan(  # type: ignore[no-any-return]
            connection=connection,
            authorize_url=authorize_url,
            redirect_uri=redirect_uri,
            host=self.request.host,
            protocol=self.request.protocol,
            base_url=self.base_url,
            ttl=self.service.login_ttl,
        )


class DbxAuthAPIHandler(ErrorReplies, DbxAuthMixin, APIHandler):
    """JSON API base for Jupyter and kernel callers (see the module docstring)."""

    #: Verbs a kernel may use on this resource.
    kernel_methods: frozenset[str] = frozenset({"GET", "POST"})

    @property
    def kernel_caller(self) -> bool:
        return presented_key(self.request.headers.get("Authorization")) is not None

    @property
    def identity_provider(self) -> IdentityProvider:  # type: ignore[override]
        return _KERNEL_IDENTITY if self.kernel_caller else super().identity_provider

    @property
    def authorizer(self) -> Authorizer:  # type: ignore[override]
        return _KERNEL_AUTHORIZER if self.kernel_caller else super().authorizer

    def check_xsrf_cookie(self) -> None:
        # A verified kernel-key request needs no XSRF (see the module docstring). jupyter-server's
        # own check skips it through `KernelIdentity.is_token_authenticated`; a JupyterHub
        # single-user server replaces that check (on JupyterHandler) by one that only knows its
        # own token flag, and refused every kernel POST with "'_xsrf' argument missing".
        if getattr(self, "_jupyter_current_user", None) is KERNEL_USER:
            return
        super().check_xsrf_cookie()

    def user_name(self) -> str:
        return str(getattr(self.current_user, "username", "") or "")

    def client(self) -> str:
        """Who is asking, for per-client bounds: the remote address."""
        return str(self.request.remote_ip or "")

    def json_body(self) -> dict[str, Any]:
        # core.validation: also turns 5,000-deep JSON (RecursionError) into a 400.
        return validation.json_object(self.request.body)

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(data))
