"""Route table for `{base_url}dbx-auth/`: one handler class per endpoint."""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from .._version import __version__

#: Resource name for jupyter-server's authorizer (`@authorized` checks it).
AUTH_RESOURCE = "dbx-auth"


class DbxAuthAPIHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE


class VersionHandler(DbxAuthAPIHandler):
    """`GET dbx-auth/api/version`: proves the extension is loaded."""

    @tornado.web.authenticated
    @authorized
    def get(self) -> None:
        self.finish(json.dumps({"name": "jupyter-dbx-auth", "version": __version__}))


def build_handlers() -> list[tuple[str, Any]]:
    return [
        (r"/dbx-auth/api/version", VersionHandler),
    ]
