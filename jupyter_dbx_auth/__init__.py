"""Databricks OAuth for Jupyter.

The package root stays import-light: the server extension, the kernel magics and the
Databricks clients are imported only when Jupyter or the user asks for them.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__

__all__ = ["__version__", "connect", "load_ipython_extension", "picker", "token_rejected"]


def __getattr__(name: str) -> Any:
    # `picker` and `connect` load the kernel side (httpx, ipywidgets) on first use only.
    if name == "picker":
        from .kernel.widgets import picker

        return picker
    if name == "connect":
        from .kernel.connect import connect_client

        return connect_client
    if name == "token_rejected":
        from .kernel.tokens import token_rejected

        return token_rejected
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-dbx-auth"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import DatabricksAuth

    return [{"module": "jupyter_dbx_auth.server.app", "app": DatabricksAuth}]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jupyter_dbx_auth`: register the magics."""
    from .kernel.magics import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .kernel.magics import unregister

    unregister(ipython)
