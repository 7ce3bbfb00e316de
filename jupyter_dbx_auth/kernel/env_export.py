"""`%dbx_connect NAME --env`: sign in every SDK-based tool this kernel starts, with no code.

Puts `DATABRICKS_HOST`, `DATABRICKS_AUTH_TYPE=metadata-service` and
`DATABRICKS_METADATA_SERVICE_URL` into the kernel's `os.environ`: a plain `WorkspaceClient()` in
the notebook, `!python job.py`, `subprocess.run(["databricks", ...])` and Databricks Connect then
ask the Jupyter server for short-lived tokens (`server/metadata_service.py`). The URL is a secret
(a loopback address with a random path): it is never printed, only named.

databricks-sdk reads these the way it reads any `DATABRICKS_*` variable, so its own precedence
applies (arguments > environment > `~/.databrickscfg`): `WorkspaceClient(profile=...)` or
`WorkspaceClient(host=..., token=...)` without `auth_type=` now get the exported host or auth
type. `tests/kernel/test_env_precedence.py` pins exactly what keeps its meaning; `unexport()`
takes the variables back out.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigError
from .backends import Backend, ConnectionInfo

ENV_HOST = "DATABRICKS_HOST"
ENV_AUTH_TYPE = "DATABRICKS_AUTH_TYPE"
ENV_URL = "DATABRICKS_METADATA_SERVICE_URL"
AUTH_TYPE = "metadata-service"
NAMES = (ENV_HOST, ENV_AUTH_TYPE, ENV_URL)


@dataclass(frozen=True)
class Exported:
    connection: str
    host: str

    def summary(self) -> str:
        return (
            f"Exported {ENV_HOST}={self.host}, {ENV_AUTH_TYPE}={AUTH_TYPE} and {ENV_URL} (a "
            "private URL, not shown) to this kernel's environment: WorkspaceClient() with no "
            "arguments, !commands, subprocesses and Databricks Connect now sign in through "
            f"connection {self.connection}."
        )


def export(
    backend: Backend,
    info: ConnectionInfo,
    *,
    client_id: str | None = None,
    environ: MutableMapping[str, str] | None = None,
) -> Exported:
    """Ask the server for `info`'s metadata-service URL and put the three variables in place."""
    if backend.kind != "server":
        raise ConfigError(
            "--env needs the Jupyter server: it answers the tools' token requests.",
            hint="Run the notebook in JupyterLab / Jupyter Server with jupyter-dbx-auth enabled; "
            "in plain Python use the injected client instead.",
        )
    if info.account:
        raise ConfigError(
            "--env exports workspace connections only.",
            hint="Drop --env for an account console connection.",
        )
    client = backend.client  # type: ignore[attr-defined]
    answer = client.metadata_service(info.name, client_id)
    env = os.environ if environ is None else environ
    env.update(
        {
            ENV_HOST: str(answer["host"]),
            ENV_AUTH_TYPE: str(answer.get("auth_type") or AUTH_TYPE),
            ENV_URL: str(answer["url"]),
        }
    )
    return Exported(info.name, str(answer["host"]))


def unexport(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove what `export` set (only when it still points at a metadata service)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_AUTH_TYPE) != AUTH_TYPE:
        return []
    removed = [name for name in NAMES if env.pop(name, None) is not None]
    return removed


def hide_from_env_magic(ipython: Any) -> None:
    """Make `%env` (the listing) show our URL as `<hidden>`, as it shows variables named *key*,
    *token* or *secret*: the URL is a credential, and notebooks with `%env` output get shared.
    `%env DATABRICKS_METADATA_SERVICE_URL` still answers: that is asking for it."""
    if getattr(ipython.magics_manager.magics["line"].get("env"), "dbx_hides_url", False):
        return
    # The bound method itself: the magics table may hold a proxy that looks `env` up by name.
    os_magics = ipython.magics_manager.registry.get("OSMagics")
    original = getattr(os_magics, "env", None)
    if original is None:
        return

    def env(parameter_s: str = "") -> Any:
        result = original(parameter_s)
        if isinstance(result, dict) and ENV_URL in result:
            result = {**result, ENV_URL: "<hidden>"}
        return result

    env.__doc__ = original.__doc__
    env.dbx_hides_url = True  # type: ignore[attr-defined]
    ipython.register_magic_function(env, "line", "env")
