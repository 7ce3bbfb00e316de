"""`%dbx_login NAME --from-cli`: sign a connection in with an existing `databricks auth login`.

The Jupyter server reads the CLI's token cache (or its keyring entry), keeps a copy of the
refresh token and refreshes it itself (`server/handlers/cli_login.py`); the kernel only asks.
"""

from __future__ import annotations

from ..core.errors import ConfigError
from .backends import current_backend


def use_cli_login(name: str | None, *, overwrite: bool = False) -> str:
    """What happened, in two sentences for the notebook (never a token)."""
    if not name:
        raise ConfigError("Name the connection.", hint="%dbx_login NAME --from-cli")
    backend = current_backend()
    if backend.kind != "server":
        raise ConfigError(
            "--from-cli needs the Jupyter server: it keeps and refreshes the sign-in.",
            hint="Run the notebook in JupyterLab / Jupyter Server with jupyter-dbx-auth enabled.",
        )
    reply = backend.client.import_cli_login(name, overwrite=overwrite)  # type: ignore[attr-defined]
    who = reply.get("identity") or "your Databricks user"
    return f"{name}: signed in as {who}, {reply.get('imported_from')}. {reply.get('note')}"
