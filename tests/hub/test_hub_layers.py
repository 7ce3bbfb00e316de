"""The hub adapter's place in the layers: it uses core/, and nothing below it knows SQLAlchemy."""

from __future__ import annotations

from test_layers import files_of, violations


def test_hub_is_an_adapter_over_core() -> None:
    assert files_of("hub")
    forbidden = ("jupyter_dbx_auth.server", "jupyter_dbx_auth.kernel", "jupyter_dbx_auth.emulator")
    assert violations("hub", forbidden) == []


def test_core_does_not_import_the_sql_store() -> None:
    assert violations("core", ("sqlalchemy", "psycopg", "jupyterhub", "jupyter_dbx_auth.hub")) == []
