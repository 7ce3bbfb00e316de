"""The admin page (hub admins only): who is signed in to which connection and since when, which
group service principals exist and when their secrets expire, and a button to revoke a sign-in.
Built from `HubAuthService.overview()`, so it can show nothing the JSON `api/admin` does not:
names and times, never a token or a secret. Plain HTML forms (the XSRF token in a hidden field),
no script."""

from __future__ import annotations

import html
import time
from typing import Any

from tornado import web

from ..core.errors import DbxAuthError
from .handlers import _AdminBase


def _when(epoch: Any) -> str:
    if not isinstance(epoch, (int, float)):
        return "—"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def render(overview: dict[str, Any], *, xsrf: str, action: str, notice: str = "") -> str:
    esc = html.escape
    rows = []
    for s in overview["sign_ins"]:
        form = (
            f'<form method="post" action="{esc(action)}">'
            f'<input type="hidden" name="_xsrf" value="{esc(xsrf)}">'
            f'<input type="hidden" name="user" value="{esc(s["user"])}">'
            f'<input type="hidden" name="connection" value="{esc(s["connection"])}">'
            '<button type="submit">Revoke</button></form>'
        )
        rows.append(
            f"<tr><td>{esc(s['user'])}</td><td>{esc(s['connection'])}</td>"
            f"<td>{_when(s['since'])}</td><td>{_when(s['updated'])}</td><td>{form}</td></tr>"
        )
    principals = [
        f"<tr><td>{esc(p['group'])}</td><td>{esc(p['name'])}</td><td>{esc(p['client_id'] or '')}"
        f"</td><td>{_when(p['expires_at'])}</td><td>{esc(p.get('warning') or '')}</td></tr>"
        for p in overview["group_service_principals"]
    ]
    return (
        "<!doctype html><meta charset=utf-8><title>Databricks sign-ins</title>"
        "<h1>Databricks sign-ins</h1>"
        + (f"<p role=status>{esc(notice)}</p>" if notice else "")
        + "<table><tr><th>User</th><th>Connection</th><th>Signed in</th><th>Last refresh</th>"
        "<th></th></tr>" + "".join(rows) + "</table>"
        "<h2>Group service principals</h2><table><tr><th>Group</th><th>Name</th>"
        "<th>Client id</th><th>Secret expires</th><th>Warning</th></tr>"
        + "".join(principals)
        + "</table>"
    )


class AdminPageHandler(_AdminBase):
    @web.authenticated
    async def get(self) -> None:
        await self._show("")

    @web.authenticated
    async def post(self) -> None:  # XSRF checked before this runs (the hidden _xsrf field)
        self.admin()
        user, connection = self.get_body_argument("user"), self.get_body_argument("connection")
        try:
            removed = await self.service.revoke(user, connection)
        except DbxAuthError as exc:
            self.set_status(400)
            await self._show(exc.message)
            return
        done = "revoked" if removed else "was not signed in to"
        await self._show(f"{user} {done} {connection}.")

    async def _show(self, notice: str) -> None:
        self.admin()
        overview = await self.service.overview()
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", "default-src 'none'; form-action 'self'")
        xsrf = self.xsrf_token
        xsrf = xsrf.decode() if isinstance(xsrf, bytes) else str(xsrf)
        self.finish(render(overview, xsrf=xsrf, action=self.request.path, notice=notice))
