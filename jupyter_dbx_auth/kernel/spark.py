"""`%dbx_connect NAME --spark [--cluster ID | --serverless]`: a Databricks Connect `spark`.

The session is built from a databricks-sdk `Config` that carries the kernel's credentials strategy
(`sdk.config`), not a token: Databricks Connect asks the config for headers on every gRPC call
(`databricks.connect.auth.UnifiedAuthMetadata` calls `Config.authenticate()`), so the session keeps
working across token expiries, as `w` does. (A static token in the `sc://` URL, what VS Code hands
Databricks Connect, dies after an hour.)

databricks-connect is optional (`pip install 'jupyter-dbx-auth[spark]'`): it pins numpy < 2 and
brings its own pyspark, which not every environment wants. Its version must match the cluster's
Databricks Runtime; the newest for Python 3.11 is 16.1.
"""

from __future__ import annotations

import os
from typing import Any

from ..core.errors import ConfigError
from .backends import ConnectionInfo
from .tokens import TokenCache

INSTALL_HINT = (
    "Install it into the kernel's environment with `pip install 'jupyter-dbx-auth[spark]'` (or "
    "`pip install databricks-connect==<your cluster's runtime version>.*`), then restart the "
    "kernel."
)


def check_options(options: Any) -> None:
    """Refuse combinations before any sign-in happens."""
    if options.sql or options.account:
        raise ConfigError(
            "--spark cannot be combined with --sql or --account.", hint="Pick one of them."
        )
    if options.cluster and options.serverless:
        raise ConfigError(
            "--cluster and --serverless cannot be combined.", hint="Pick one of them."
        )
    configured = os.environ.get("DATABRICKS_CLUSTER_ID") or os.environ.get(
        "DATABRICKS_SERVERLESS_COMPUTE_ID"
    )
    if not (options.cluster or options.serverless or configured):
        raise ConfigError(
            "A Databricks Connect session needs compute.",
            hint="Add --cluster ID (from the cluster's URL or Configuration tab) or --serverless.",
        )


def session_builder() -> Any:
    """`DatabricksSession.builder`, or a clear error when databricks-connect is missing."""
    try:
        from databricks.connect import DatabricksSession
    except ImportError as exc:
        raise ConfigError(
            f"Databricks Connect is not installed in this kernel ({exc.name or exc}).",
            hint=INSTALL_HINT,
        ) from None
    return DatabricksSession.builder


def spark_session(
    cache: TokenCache,
    info: ConnectionInfo,
    *,
    cluster: str | None = None,
    serverless: bool = False,
) -> Any:
    """A `DatabricksSession` whose every call authenticates through `cache`."""
    from . import sdk

    builder = session_builder()
    compute: dict[str, Any] = {}
    if cluster:
        compute["cluster_id"] = cluster
    elif serverless:
        compute["serverless_compute_id"] = "auto"  # the only value Databricks Connect accepts
    cfg = sdk.config(cache, info.host, **compute)
    return builder.sdkConfig(cfg).getOrCreate()
