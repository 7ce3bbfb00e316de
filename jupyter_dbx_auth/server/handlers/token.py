"""`GET api/token?connection=NAME[&client_id=ID][&refresh=1]`: an access token for a kernel.

Kernel key only (see `base.py`): a browser cookie or the Jupyter token is refused with 403. This is
the one response that carries a token: an access token, short-lived, never a refresh token.
`client_id` picks one of the connection's stored service principals; `refresh=1` asks for a new
token after the current one was refused (401) by Databricks.
"""

from __future__ import annotations

from .base import DbxAuthAPIHandler, kernel_only


class TokenHandler(DbxAuthAPIHandler):
    _track_activity = False  # kernels poll this; it must not keep an idle server alive

    @kernel_only
    async def get(self) -> None:
        service = self.service
        conn = service.get(self.get_query_argument("connection", None))
        client_id = self.get_query_argument("client_id", None)
        if client_id:
            conn = service.sp_connection(conn, client_id)
        if self.get_query_argument("refresh", "") in ("1", "true"):
            tokens = await service.broker.get_token(conn, force_refresh=True)
        else:
            tokens = await service.token(conn)
        self.write_json(
            {
                "access_token": tokens.access_token.reveal(),
                "token_type": tokens.token_type,
                "expires_at": tokens.expires_at,
                "host": conn.host,
                "account_id": conn.account_id,
                "account": conn.account,
            }
        )
