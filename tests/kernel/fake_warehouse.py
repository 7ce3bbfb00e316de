"""A recording SQL warehouse stand-in: a loopback Thrift-over-HTTP endpoint built on the
databricks-sql-connector's own server-side `TCLIService.Processor`.

It answers OpenSession, ExecuteStatement (one INT column, one row, results inline), CloseOperation
and CloseSession, which is what `conn.cursor().execute("SELECT 1").fetchall()` and `close()` need,
and records the `Authorization` header of every HTTP request it receives. Until the emulator has
a SQL warehouse, this is how the tests see what the real connector sends.
"""

from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport

OK = ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS)


def _handle() -> ttypes.THandleIdentifier:
    return ttypes.THandleIdentifier(guid=uuid.uuid4().bytes, secret=uuid.uuid4().bytes)


class _Warehouse(TCLIService.Iface):
    def OpenSession(self, req: Any) -> Any:
        return ttypes.TOpenSessionResp(
            status=OK,
            serverProtocolVersion=ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V7,
            sessionHandle=ttypes.TSessionHandle(sessionId=_handle()),
        )

    def CloseSession(self, req: Any) -> Any:
        return ttypes.TCloseSessionResp(status=OK)

    def ExecuteStatement(self, req: Any) -> Any:
        column = ttypes.TColumnDesc(
            columnName="one",
            position=1,
            typeDesc=ttypes.TTypeDesc(
                types=[
                    ttypes.TTypeEntry(
                        primitiveEntry=ttypes.TPrimitiveTypeEntry(ttypes.TTypeId.INT_TYPE)
                    )
                ]
            ),
        )
        op = ttypes.TOperationHandle(
            operationId=_handle(),
            operationType=ttypes.TOperationType.EXECUTE_STATEMENT,
            hasResultSet=True,
        )
        rows = ttypes.TRowSet(
            startRowOffset=0,
            rows=[],
            columns=[ttypes.TColumn(i32Val=ttypes.TI32Column(values=[1], nulls=b"\x00"))],
        )
        return ttypes.TExecuteStatementResp(
            status=OK,
            operationHandle=op,
            directResults=ttypes.TSparkDirectResults(
                operationStatus=ttypes.TGetOperationStatusResp(
                    status=OK, operationState=ttypes.TOperationState.FINISHED_STATE
                ),
                resultSetMetadata=ttypes.TGetResultSetMetadataResp(
                    status=OK,
                    schema=ttypes.TTableSchema(columns=[column]),
                    resultFormat=ttypes.TSparkRowSetType.COLUMN_BASED_SET,
                ),
                resultSet=ttypes.TFetchResultsResp(status=OK, hasMoreRows=False, results=rows),
                closeOperation=ttypes.TCloseOperationResp(status=OK),
            ),
        )

    def CloseOperation(self, req: Any) -> Any:
        return ttypes.TCloseOperationResp(status=OK)


class RecordingWarehouse:
    """`with RecordingWarehouse() as wh:` -> `wh.url`, `wh.requests` [(path, Authorization)]."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.received_at: list[float] = []  # time.time() of each request, parallel to `requests`
        processor = TCLIService.Processor(_Warehouse())
        recorder, times, lock = self.requests, self.received_at, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with lock:  # the two lists stay aligned under concurrent requests
                    times.append(time.time())
                    recorder.append((self.path, self.headers.get("Authorization")))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if not self.path.startswith("/sql/"):
                    self.send_response(404)  # telemetry, feature flags: not a warehouse call
                    self.end_headers()
                    return
                out = TTransport.TMemoryBuffer()
                processor.process(
                    TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(body)),
                    TBinaryProtocol.TBinaryProtocol(out),
                )
                data = out.getvalue()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-thrift")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingWarehouse:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def thrift_authorizations(self) -> list[str | None]:
        return [auth for path, auth in self.requests if path.startswith("/sql/")]
