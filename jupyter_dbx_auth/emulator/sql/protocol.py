"""The TCLIService protocol definition.

The emulator takes the generated Thrift module from databricks-sql-connector as a *protocol
definition* only (types and the server-side `Processor`), the way a server and a client both
compile one IDL. It uses none of the connector's client code; `tests/test_layers.py` checks that
this module is the only place the emulator imports `databricks.sql` from, and only `thrift_api`.
"""

from __future__ import annotations

import uuid

from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes

__all__ = ["OK", "TCLIService", "error_status", "new_handle_id", "ttypes"]

OK = ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS)

#: The protocol the warehouse speaks: what the connector 4.x asks for (V7), which is also what a
#: current Databricks SQL warehouse answers.
SERVER_PROTOCOL = ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7


def error_status(message: str, sql_state: str = "HY000", *, invalid_handle: bool = False):
    code = (
        ttypes.TStatusCode.INVALID_HANDLE_STATUS
        if invalid_handle
        else ttypes.TStatusCode.ERROR_STATUS
    )
    return ttypes.TStatus(statusCode=code, errorMessage=message, sqlState=sql_state)


def new_handle_id() -> ttypes.THandleIdentifier:
    return ttypes.THandleIdentifier(guid=uuid.uuid4().bytes, secret=uuid.uuid4().bytes)
