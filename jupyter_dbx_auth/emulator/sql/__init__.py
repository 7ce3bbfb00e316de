"""A Databricks SQL warehouse: the TCLIService Thrift protocol over HTTP at
`/sql/1.0/warehouses/{id}`, executing statements on DuckDB.

    protocol.py   the Thrift definitions (taken from databricks-sql-connector, definitions only)
    warehouses.py the warehouses of the seed and their RUNNING / STOPPED / STARTING life
    engine.py     DuckDB with the demo catalog `samples.nyctaxi.trips`; one cursor per session
    results.py    an Arrow table as Thrift: schema, Arrow batches or columns
    service.py    the TCLIService calls (sessions, statements, fetches)
    handler.py    the HTTP endpoint: Bearer check, warehouse state, one Thrift call per POST
    rest.py       `/api/2.0/sql/warehouses` (list, get, start, stop)

DuckDB and pyarrow are imported only when a warehouse is first used, so the rest of the emulator
starts without them.
"""
