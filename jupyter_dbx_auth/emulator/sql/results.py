"""A result as the Thrift protocol carries it: a Hive table schema, the Arrow schema, and rows as
Arrow IPC batches (clients that can read Arrow) or as typed columns (clients that cannot).

Types follow what a Databricks warehouse returns: TIMESTAMP as Arrow `timestamp[us, Etc/UTC]`,
DECIMAL as Arrow decimal128 when the client asks for native decimals (a string otherwise), complex
and unsigned types widened or rendered as strings. Batches are not LZ4-compressed
(`lz4Compressed` false, which the connector honours) and never go through cloud fetch: the
emulator returns every row inline.
"""

from __future__ import annotations

from typing import Any

from .protocol import ttypes

T = ttypes.TTypeId


def normalize(table: Any, *, decimals_as_arrow: bool = True) -> Any:
    """Cast DuckDB's Arrow types to the ones a Databricks warehouse sends."""
    import pyarrow as pa

    fields, columns = [], []
    for field, column in zip(table.schema, table.columns, strict=True):
        target = _wire_type(field.type, decimals_as_arrow)
        if target != field.type:
            column = column.cast(target) if not _needs_text(field.type) else _as_text(column)
        fields.append(pa.field(field.name, target))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _wire_type(t: Any, decimals_as_arrow: bool) -> Any:
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="Etc/UTC")
    if pa.types.is_decimal(t):
        return t if decimals_as_arrow else pa.string()
    if pa.types.is_uint8(t):
        return pa.int16()
    if pa.types.is_uint16(t):
        return pa.int32()
    if pa.types.is_uint32(t):
        return pa.int64()
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if _needs_text(t):
        return pa.string()
    return t


def _needs_text(t: Any) -> bool:
    import pyarrow as pa

    simple = (
        pa.types.is_boolean(t)
        or pa.types.is_int8(t)
        or pa.types.is_int16(t)
        or pa.types.is_int32(t)
        or pa.types.is_int64(t)
        or pa.types.is_uint8(t)
        or pa.types.is_uint16(t)
        or pa.types.is_uint32(t)
        or pa.types.is_float32(t)
        or pa.types.is_float64(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_date32(t)
        or pa.types.is_decimal(t)
        or pa.types.is_null(t)
    )
    return not simple


def _as_text(column: Any) -> Any:
    import pyarrow as pa

    return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())


def _type_entry(t: Any) -> ttypes.TTypeEntry:
    import pyarrow as pa

    qualifiers = None
    if pa.types.is_boolean(t):
        type_id = T.BOOLEAN_TYPE
    elif pa.types.is_int8(t):
        type_id = T.TINYINT_TYPE
    elif pa.types.is_int16(t):
        type_id = T.SMALLINT_TYPE
    elif pa.types.is_int32(t):
        type_id = T.INT_TYPE
    elif pa.types.is_int64(t):
        type_id = T.BIGINT_TYPE
    elif pa.types.is_float32(t):
        type_id = T.FLOAT_TYPE
    elif pa.types.is_float64(t):
        type_id = T.DOUBLE_TYPE
    elif pa.types.is_timestamp(t):
        type_id = T.TIMESTAMP_TYPE
    elif pa.types.is_date32(t):
        type_id = T.DATE_TYPE
    elif pa.types.is_binary(t):
        type_id = T.BINARY_TYPE
    elif pa.types.is_null(t):
        type_id = T.NULL_TYPE
    elif pa.types.is_decimal(t):
        type_id = T.DECIMAL_TYPE
        qualifiers = ttypes.TTypeQualifiers(
            qualifiers={
                "precision": ttypes.TTypeQualifierValue(i32Value=t.precision),
                "scale": ttypes.TTypeQualifierValue(i32Value=t.scale),
            }
        )
    else:
        type_id = T.STRING_TYPE
    return ttypes.TTypeEntry(
        primitiveEntry=ttypes.TPrimitiveTypeEntry(type=type_id, typeQualifiers=qualifiers)
    )


def table_schema(schema: Any) -> ttypes.TTableSchema:
    return ttypes.TTableSchema(
        columns=[
            ttypes.TColumnDesc(
                columnName=field.name,
                position=i + 1,
                typeDesc=ttypes.TTypeDesc(types=[_type_entry(field.type)]),
            )
            for i, field in enumerate(schema)
        ]
    )


def arrow_schema_bytes(schema: Any) -> bytes:
    return schema.serialize().to_pybytes()


def arrow_rows(table: Any, offset: int) -> ttypes.TRowSet:
    """Rows as Arrow IPC record-batch messages; the client prepends the schema message."""
    batches = [
        ttypes.TSparkArrowBatch(batch=b.serialize().to_pybytes(), rowCount=b.num_rows)
        for b in table.to_batches()
        if b.num_rows
    ]
    return ttypes.TRowSet(startRowOffset=offset, rows=[], arrowBatches=batches)


def column_rows(table: Any, offset: int) -> ttypes.TRowSet:
    """Rows as typed Thrift columns (HiveServer2's column-based set) for non-Arrow clients."""
    return ttypes.TRowSet(
        startRowOffset=offset,
        rows=[],
        columns=[
            _column(table.schema.field(i).type, table.column(i)) for i in range(table.num_columns)
        ],
    )


def _column(t: Any, column: Any) -> ttypes.TColumn:
    import pyarrow as pa

    values = column.to_pylist()
    nulls = _null_bitmap(values)
    if pa.types.is_boolean(t):
        return ttypes.TColumn(
            boolVal=ttypes.TBoolColumn([bool(v) for v in _filled(values, False)], nulls)
        )
    if pa.types.is_int8(t):
        return ttypes.TColumn(byteVal=ttypes.TByteColumn(_filled(values, 0), nulls))
    if pa.types.is_int16(t):
        return ttypes.TColumn(i16Val=ttypes.TI16Column(_filled(values, 0), nulls))
    if pa.types.is_int32(t):
        return ttypes.TColumn(i32Val=ttypes.TI32Column(_filled(values, 0), nulls))
    if pa.types.is_int64(t):
        return ttypes.TColumn(i64Val=ttypes.TI64Column(_filled(values, 0), nulls))
    if pa.types.is_floating(t):
        return ttypes.TColumn(doubleVal=ttypes.TDoubleColumn(_filled(values, 0.0), nulls))
    if pa.types.is_binary(t):
        return ttypes.TColumn(binaryVal=ttypes.TBinaryColumn(_filled(values, b""), nulls))
    if pa.types.is_timestamp(t):
        # Hive's text form, which the connector parses back for TIMESTAMP columns.
        texts = [v.strftime("%Y-%m-%d %H:%M:%S.%f") if v is not None else "" for v in values]
        return ttypes.TColumn(stringVal=ttypes.TStringColumn(texts, nulls))
    texts = ["" if v is None else str(v) for v in values]
    return ttypes.TColumn(stringVal=ttypes.TStringColumn(texts, nulls))


def _filled(values: list[Any], default: Any) -> list[Any]:
    return [default if v is None else v for v in values]


def _null_bitmap(values: list[Any]) -> bytes:
    """HiveServer2's null mask: bit i (LSB first) set when row i is NULL."""
    out = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v is None:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)
