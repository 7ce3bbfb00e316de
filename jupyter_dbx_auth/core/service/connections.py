"""The connections a service offers: configuration, environment and `.databrickscfg`, resolved.

U2M connections without a client of their own use the configured OAuth app. A front end may add
connections of its own (`remember`: an ad-hoc host, the account side of a workspace), which stay
listed across reloads. In hub mode the hub service's connections (`set_remote`) are listed too,
and win over a local one of the same name (which `shadowed` then reports).
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from collections.abc import Mapping
from typing import Any

from ..config import resolve_all, resolve_connection
from ..connections import AuthMethod, Connection
from ..errors import BadRequest, ConfigError, DbxAuthError, NotFound
from ..secret import Secret

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class OAuthApp:
    """The OAuth app for U2M sign-ins; None fields mean "not configured"."""

    client_id: str | None = None
    client_secret: Secret | None = None
    redirect_url: str | None = None


class Connections:
    def __init__(
        self,
        *,
        explicit: Mapping[str, Mapping[str, Any]] | None,
        include_profiles: bool,
        config_file: str | os.PathLike[str] | None,
        env: Mapping[str, str],
        app: OAuthApp,
    ) -> None:
        self.explicit = dict(explicit or {})
        self.include_profiles = include_profiles
        self.config_file = config_file
        self.env = env
        self.app = app
        self._listed: dict[str, Connection] = {}
        self._remembered: dict[str, Connection] = {}
        self._problems: dict[str, DbxAuthError] = {}
        self._remote: dict[str, Connection] = {}  # hub mode: the hub service's connections
        self._remote_problem: DbxAuthError | None = None

    def reload(self) -> list[Connection]:
        """Resolve again; returns the connections whose definition changed or went away."""
        found: list[Connection] = []
        problems: dict[str, DbxAuthError] = {}
        if self.include_profiles:
            resolved = resolve_all(self.explicit, env=self.env, config_file=self.config_file)
            found, problems = resolved.connections, dict(resolved.problems)
        else:
            for name in self.explicit:
                try:
                    found.append(resolve_connection(name, explicit=self.explicit, env=self.env))
                except ConfigError as exc:
                    log.warning("Connection %s skipped: %s", name, exc)
                    problems[name] = exc
        listed = {c.name: self._with_app(c) for c in found}
        for name, conn in self._remembered.items():
            listed.setdefault(name, conn)
        changed = [old for name, old in self._listed.items() if listed.get(name) != old]
        self._listed = listed
        self._problems = problems
        return changed

    def _with_app(self, conn: Connection) -> Connection:
        if conn.method is AuthMethod.USER and not conn.client_id and self.app.client_id:
            return dataclasses.replace(
                conn, client_id=self.app.client_id, client_secret=self.app.client_secret
            )
        return conn

    def set_remote(
        self, connections: Mapping[str, Connection], problem: DbxAuthError | None = None
    ) -> None:
        """The hub service's connections, as last read (hub mode); `problem`: why the last read
        failed, said instead of "unknown connection" for a name not known here."""
        self._remote = dict(connections)
        self._remote_problem = problem

    def shadowed(self, name: str) -> bool:
        """Whether a local connection is hidden by a hub connection of the same name."""
        return name in self._remote and name in self._listed

    def names(self) -> list[str]:
        return sorted({*self._listed, *self._remote})

    def problems(self) -> dict[str, DbxAuthError]:
        return dict(self._problems)

    def find(self, name: str) -> Connection | None:
        return self._remote.get(name) or self._listed.get(name)

    def get(self, name: str | None) -> Connection:
        if not name:
            raise BadRequest("No connection named.", hint="Pass ?connection=<name>.")
        conn = self.find(name)
        if conn is None and self._remote_problem is not None:
            # Perhaps one of the hub's: say why it is not known (a copy: raised many times).
            raise copy.copy(self._remote_problem)
        if conn is None:
            known = ", ".join(self.names()) or "none configured"
            raise NotFound(
                f"Unknown connection {name!r}.",
                hint=f"Known connections: {known}. Add it to {self.config_sources()}.",
            )
        return conn

    def config_sources(self) -> str:
        """The configuration connections are read from, as a person would look for it (the
        demo's profiles are in `.demo/databrickscfg`, not `~/.databrickscfg`)."""
        where = "c.DatabricksAuth.connections"
        if self.include_profiles:
            cfg = self.config_file or self.env.get("DATABRICKS_CONFIG_FILE") or "~/.databrickscfg"
            where += f" or a profile in {cfg}"
        return where

    def resolve(self, name: str | None = None, *, host: str | None = None) -> Connection:
        if host is not None:
            conn = resolve_connection(
                "_host", explicit={"_host": {"host": host}}, env=self.env, config_file=None
            )
            conn = dataclasses.replace(conn, name=name or conn.host)
        elif name is not None and self.find(name) is not None:
            return self.get(name)
        else:
            conn = resolve_connection(
                name, explicit=self.explicit, env=self.env, config_file=self.config_file
            )
        self.remember(conn)
        return self._listed[conn.name]

    def remember(self, conn: Connection) -> None:
        conn = self._with_app(conn)
        self._remembered[conn.name] = conn
        self._listed[conn.name] = conn
