"""The TCLIService calls a Databricks SQL warehouse answers, on one `Engine`.

Sessions belong to the principal that opened them: a call on another principal's session is
refused (Databricks' behaviour here is not documented; the stricter choice). Statements run to
completion inside ExecuteStatement; the first page comes back as direct results when the client
asks for them, and the operation is closed server-side when that page holds every row, as
Databricks does (the connector's `has_been_closed_server_side`). Later pages come from
FetchResults with FETCH_NEXT, each starting at the offset the client expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import results
from .engine import Engine, SqlError
from .protocol import OK, SERVER_PROTOCOL, TCLIService, error_status, new_handle_id, ttypes

FINISHED = ttypes.TOperationState.FINISHED_STATE
ERROR = ttypes.TOperationState.ERROR_STATE


@dataclass
class Session:
    owner: str  # the principal's subject (user name or application id)
    cursor: Any
    operations: set[bytes] = field(default_factory=set)


@dataclass
class Operation:
    session: bytes
    table: Any  # pyarrow.Table, None after an error
    arrow: bool
    error: SqlError | None = None
    offset: int = 0


class WarehouseService(TCLIService.Iface):
    """One per warehouse. `caller` is set by the HTTP handler before each Thrift call."""

    def __init__(self, engine_factory: Any) -> None:
        self._engine_factory = engine_factory
        self.caller = ""
        self.sessions: dict[bytes, Session] = {}
        self.operations: dict[bytes, Operation] = {}

    @property
    def engine(self) -> Engine:
        return self._engine_factory()

    # -- sessions ---------------------------------------------------------------------------
    def OpenSession(self, req: Any) -> Any:
        cursor = self.engine.session(self.caller)
        namespace = req.initialNamespace
        if namespace is not None:
            try:
                self.engine.use(cursor, namespace.catalogName, namespace.schemaName)
            except SqlError as exc:
                cursor.close()
                return ttypes.TOpenSessionResp(status=error_status(exc.message, exc.sql_state))
        handle = new_handle_id()
        self.sessions[handle.guid] = Session(self.caller, cursor)
        return ttypes.TOpenSessionResp(
            status=OK,
            serverProtocolVersion=SERVER_PROTOCOL,
            sessionHandle=ttypes.TSessionHandle(sessionId=handle),
            canUseMultipleCatalogs=True,
            initialNamespace=namespace,
        )

    def CloseSession(self, req: Any) -> Any:
        session, status = self._session(req.sessionHandle)
        if session is None:
            return ttypes.TCloseSessionResp(status=status)
        for op_id in session.operations:
            self.operations.pop(op_id, None)
        self.engine.close(session.cursor)
        del self.sessions[req.sessionHandle.sessionId.guid]
        return ttypes.TCloseSessionResp(status=OK)

    def _session(self, handle: Any) -> tuple[Session | None, Any]:
        session = self.sessions.get(handle.sessionId.guid) if handle else None
        if session is None or session.owner != self.caller:
            return None, error_status(
                "Invalid SessionHandle: no such session.", invalid_handle=True
            )
        return session, OK

    # -- statements -------------------------------------------------------------------------
    def ExecuteStatement(self, req: Any) -> Any:
        session, status = self._session(req.sessionHandle)
        if session is None:
            return ttypes.TExecuteStatementResp(status=status)
        arrow_types = req.useArrowNativeTypes
        decimals = bool(arrow_types.decimalAsArrow) if arrow_types else False
        op = Operation(req.sessionHandle.sessionId.guid, None, bool(req.canReadArrowResult))
        try:
            table = self.engine.run(session.cursor, req.statement)
            op.table = results.normalize(table, decimals_as_arrow=decimals)
            if req.resultRowLimit:
                op.table = op.table.slice(0, req.resultRowLimit)
        except SqlError as exc:
            op.error = exc
        handle = new_handle_id()
        op_handle = ttypes.TOperationHandle(
            operationId=handle,
            operationType=ttypes.TOperationType.EXECUTE_STATEMENT,
            hasResultSet=op.error is None,
        )
        self.operations[handle.guid] = op
        session.operations.add(handle.guid)
        resp = ttypes.TExecuteStatementResp(status=OK, operationHandle=op_handle)
        if req.getDirectResults is not None:
            resp.directResults = self._direct_results(handle.guid, op, req.getDirectResults)
        return resp

    def _direct_results(self, op_id: bytes, op: Operation, wanted: Any) -> Any:
        status = self._status(op)
        if op.error is not None:
            return ttypes.TSparkDirectResults(operationStatus=status)
        page = self._page(op, wanted.maxRows)
        direct = ttypes.TSparkDirectResults(
            operationStatus=status,
            resultSetMetadata=self._metadata(op),
            resultSet=page,
        )
        if not page.hasMoreRows:
            self._close(op_id)
            direct.closeOperation = ttypes.TCloseOperationResp(status=OK)
        return direct

    def _status(self, op: Operation) -> Any:
        if op.error is not None:
            return ttypes.TGetOperationStatusResp(
                status=OK,
                operationState=ERROR,
                sqlState=op.error.sql_state,
                errorMessage=op.error.message,
                displayMessage=op.error.message,
            )
        return ttypes.TGetOperationStatusResp(status=OK, operationState=FINISHED, hasResultSet=True)

    def _metadata(self, op: Operation) -> Any:
        schema = op.table.schema
        return ttypes.TGetResultSetMetadataResp(
            status=OK,
            schema=results.table_schema(schema),
            resultFormat=ttypes.TSparkRowSetType.ARROW_BASED_SET
            if op.arrow
            else ttypes.TSparkRowSetType.COLUMN_BASED_SET,
            lz4Compressed=False,
            arrowSchema=results.arrow_schema_bytes(schema) if op.arrow else None,
            isStagingOperation=False,
        )

    def _page(self, op: Operation, max_rows: int | None) -> Any:
        count = max(1, int(max_rows or 10000))
        chunk = op.table.slice(op.offset, count)
        rows = (
            results.arrow_rows(chunk, op.offset)
            if op.arrow
            else results.column_rows(chunk, op.offset)
        )
        op.offset += chunk.num_rows
        return ttypes.TFetchResultsResp(
            status=OK, hasMoreRows=op.offset < op.table.num_rows, results=rows
        )

    def _operation(self, handle: Any) -> tuple[Operation | None, Any]:
        op = self.operations.get(handle.operationId.guid) if handle else None
        session = self.sessions.get(op.session) if op else None
        if op is None or session is None or session.owner != self.caller:
            return None, error_status(
                "Invalid OperationHandle: no such operation.", invalid_handle=True
            )
        return op, OK

    def GetOperationStatus(self, req: Any) -> Any:
        op, status = self._operation(req.operationHandle)
        if op is None:
            return ttypes.TGetOperationStatusResp(status=status)
        return self._status(op)

    def GetResultSetMetadata(self, req: Any) -> Any:
        op, status = self._operation(req.operationHandle)
        if op is None or op.error is not None:
            return ttypes.TGetResultSetMetadataResp(
                status=status if op is None else error_status(op.error.message, op.error.sql_state)
            )
        return self._metadata(op)

    def FetchResults(self, req: Any) -> Any:
        op, status = self._operation(req.operationHandle)
        if op is None or op.error is not None:
            return ttypes.TFetchResultsResp(
                status=status if op is None else error_status(op.error.message, op.error.sql_state)
            )
        if req.orientation == ttypes.TFetchOrientation.FETCH_FIRST:
            op.offset = 0
        elif req.orientation != ttypes.TFetchOrientation.FETCH_NEXT:
            return ttypes.TFetchResultsResp(
                status=error_status("Only FETCH_NEXT and FETCH_FIRST are supported.")
            )
        resp = self._page(op, req.maxRows)
        if req.includeResultSetMetadata:
            resp.resultSetMetadata = self._metadata(op)
        return resp

    def CancelOperation(self, req: Any) -> Any:
        _op, status = self._operation(req.operationHandle)
        return ttypes.TCancelOperationResp(status=status)

    def CloseOperation(self, req: Any) -> Any:
        op, status = self._operation(req.operationHandle)
        if op is not None:
            self._close(req.operationHandle.operationId.guid)
        return ttypes.TCloseOperationResp(status=status)

    def _close(self, op_id: bytes) -> None:
        op = self.operations.pop(op_id, None)
        if op is not None and op.session in self.sessions:
            self.sessions[op.session].operations.discard(op_id)


def _unsupported(resp_type: Any) -> Any:
    def call(self: WarehouseService, req: Any) -> Any:
        return resp_type(status=error_status("Not supported by the emulator's warehouse.", "0A000"))

    return call


# Catalog browsing, delegation tokens and the like: answered with an error status rather than
# left to the generated Iface, whose methods return None (a broken Thrift reply).
for _name, _resp in {
    "GetInfo": ttypes.TGetInfoResp,
    "GetTypeInfo": ttypes.TGetTypeInfoResp,
    "GetCatalogs": ttypes.TGetCatalogsResp,
    "GetSchemas": ttypes.TGetSchemasResp,
    "GetTables": ttypes.TGetTablesResp,
    "GetTableTypes": ttypes.TGetTableTypesResp,
    "GetColumns": ttypes.TGetColumnsResp,
    "GetFunctions": ttypes.TGetFunctionsResp,
    "GetPrimaryKeys": ttypes.TGetPrimaryKeysResp,
    "GetCrossReference": ttypes.TGetCrossReferenceResp,
    "GetDelegationToken": ttypes.TGetDelegationTokenResp,
    "CancelDelegationToken": ttypes.TCancelDelegationTokenResp,
    "RenewDelegationToken": ttypes.TRenewDelegationTokenResp,
}.items():
    setattr(WarehouseService, _name, _unsupported(_resp))
