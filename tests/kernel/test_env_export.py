"""`env_export` without a server: what `--env` refuses, and `%env` keeping the URL hidden."""

from __future__ import annotations

import os

from jupyter_dbx_auth.kernel import env_export

SECRET = "not-a-real-secret-but-long-enough-0123456789"
URL = f"http://jupyter-dbx-auth:{SECRET}@127.0.0.1:9/"


def test_env_listing_hides_the_url(ip, monkeypatch, capsys):
    monkeypatch.setenv(env_export.ENV_URL, URL)
    listing = ip.run_line_magic("env", "")
    assert listing[env_export.ENV_URL] == "<hidden>"
    assert SECRET not in repr(listing)
    assert os.environ[env_export.ENV_URL] == URL  # only the listing changes
    assert ip.run_line_magic("env", env_export.ENV_URL) == URL  # asked for by name


def test_env_needs_the_server(ip, profiles, capsys):
    result = ip.run_cell("%dbx_connect etl --env")
    out = capsys.readouterr()
    assert not result.success
    assert "--env needs the Jupyter server" in out.out + out.err
    assert env_export.ENV_URL not in os.environ


def test_unexport_only_touches_metadata_service_variables(monkeypatch):
    monkeypatch.setenv(env_export.ENV_HOST, "https://x.cloud.databricks.com")
    monkeypatch.setenv(env_export.ENV_AUTH_TYPE, "pat")
    assert env_export.unexport() == []  # someone else's DATABRICKS_* settings stay
    assert os.environ[env_export.ENV_HOST] == "https://x.cloud.databricks.com"
    monkeypatch.setenv(env_export.ENV_AUTH_TYPE, env_export.AUTH_TYPE)
    monkeypatch.setenv(env_export.ENV_URL, URL)
    assert env_export.unexport() == list(env_export.NAMES)
    assert not any(name in os.environ for name in env_export.NAMES)
