"""Placeholder for the hub token service, run by the test hub as the managed service `dbx-auth`.

It only shows that the two ways in work as the real service will need them:
- `{prefix}callback`: a browser logged in to the hub is identified through hub OAuth, and the
  query string the IdP appended (code, state) arrives intact after the OAuth round trip;
- `{prefix}api/whoami`: a single-user server's `JUPYTERHUB_API_TOKEN` identifies its user (the
  token needs `access:services!service=dbx-auth`); anything else is a 403, never a redirect.

To be replaced by `jupyter_dbx_auth.hub` handlers over `AuthService`.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web


def _identity(user: dict[str, Any], request: Any) -> dict[str, Any]:
    return {
        "kind": user.get("kind"),
        "name": user.get("name"),
        "groups": sorted(user.get("groups") or []),
        "admin": bool(user.get("admin")),
        "path": request.path,
        "query": request.query,
    }


class Callback(HubOAuthenticated, web.RequestHandler):
    @web.authenticated  # not logged in to this service: hub OAuth first, then back here
    def get(self) -> None:
        self.write(_identity(self.current_user, self.request))


class WhoAmI(HubOAuthenticated, web.RequestHandler):
    def get(self) -> None:
        if self.current_user is None:
            raise web.HTTPError(403, "a token with access to this service is required")
        self.write(_identity(self.current_user, self.request))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None))[1]
        self.finish({"error": getattr(exc, "log_message", None) or self._reason})


async def main() -> None:
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    app = web.Application(
        [
            (prefix + "callback", Callback),
            (prefix + "api/whoami", WhoAmI),
            (prefix + "oauth_callback", HubOAuthCallbackHandler),
        ],
        cookie_secret=secrets.token_bytes(32),
    )
    app.listen(url.port or 80, url.hostname or "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
