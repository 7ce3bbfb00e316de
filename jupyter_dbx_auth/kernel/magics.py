"""IPython magics. Kept import-light: Databricks clients load only when a client is asked for."""

from __future__ import annotations

from typing import Any

from IPython.core.magic import Magics, magics_class


@magics_class
class DatabricksMagics(Magics):
    """`%dbx_connect`, `%dbx_status`, `%dbx_logout`, `%dbx_login` (see the kernel issue)."""


def register(ipython: Any) -> None:
    ipython.register_magics(DatabricksMagics)


def unregister(ipython: Any) -> None:
    # IPython has no public unregister; dropping our class from the registry is what it offers.
    ipython.magics_manager.registry.pop(DatabricksMagics.__name__, None)
