"""`GET api/version`: proves the extension is loaded (Jupyter auth)."""

from __future__ import annotations

import tornado.web
from jupyter_server.auth.decorator import authorized

from ..._version import __version__
from .base import DbxAuthAPIHandler


class VersionHandler(DbxAuthAPIHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        self.write_json({"name": "jupyter-dbx-auth", "version": __version__})
