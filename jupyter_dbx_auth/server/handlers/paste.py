"""`POST api/connections/{name}/callback` `{"url": "<address>"}`: finish a sign-in by paste.

With the public `databricks-cli` app a browser that is not on this machine ends on
`http://localhost:8020/?code=…&state=…`, which it cannot open; the person pastes that address
here (sidebar, picker, `%dbx_connect`). The service applies the callback's own checks (the address
answers the redirect this sign-in sent, state single-use, same Jupyter user, not expired, PKCE).
Jupyter callers (XSRF) must be the user who started the sign-in; a kernel (kernel key) pastes for
the person at its notebook, whichever Jupyter user opened the sign-in page (`PendingLogins.take`).
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import DbxAuthAPIHandler


class PasteHandler(DbxAuthAPIHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        conn = self.service.get(name)
        url = self.json_body().get("url")
        user = None if self.kernel_caller else self.user_name()
        done, _ = await self.service.complete_pasted(conn, user=user, text=url)
        self.write_json(await self.service.connection_status(self.service.get(done)))
