"""The `jupyter_dbx_auth` server extension application."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp

from .._version import __version__


class DatabricksAuth(ExtensionApp):
    """Databricks OAuth for Jupyter: runs the flows and holds every long-lived secret."""

    name = "jupyter_dbx_auth"
    version = __version__
    description = __doc__
    load_other_extensions = True

    def initialize_handlers(self) -> None:
        from .handlers import build_handlers

        self.handlers.extend(build_handlers())
