from __future__ import annotations

import pytest

from jupyter_dbx_auth.core.errors import ConfigError
from jupyter_dbx_auth.core.hosts import (
    AccountConsole,
    AwsWorkspace,
    AzureWorkspace,
    GcpWorkspace,
    LoopbackHost,
    OtherHost,
    is_loopback,
    normalize_host,
    parse_host,
)


@pytest.mark.parametrize(
    ("raw", "url", "kind", "cloud", "account"),
    [
        (
            "dbc-1234.cloud.databricks.com",
            "https://dbc-1234.cloud.databricks.com",
            AwsWorkspace,
            "AWS",
            False,
        ),
        (
            "https://DBC-1234.Cloud.Databricks.com/",
            "https://dbc-1234.cloud.databricks.com",
            AwsWorkspace,
            "AWS",
            False,
        ),
        (
            "https://adb-123.4.azuredatabricks.net:443",
            "https://adb-123.4.azuredatabricks.net",
            AzureWorkspace,
            "AZURE",
            False,
        ),
        (
            "  https://1234.5.gcp.databricks.com  ",
            "https://1234.5.gcp.databricks.com",
            GcpWorkspace,
            "GCP",
            False,
        ),
        (
            "accounts.cloud.databricks.com",
            "https://accounts.cloud.databricks.com",
            AccountConsole,
            "AWS",
            True,
        ),
        (
            "https://accounts.azuredatabricks.net",
            "https://accounts.azuredatabricks.net",
            AccountConsole,
            "AZURE",
            True,
        ),
        (
            "https://accounts.gcp.databricks.com/",
            "https://accounts.gcp.databricks.com",
            AccountConsole,
            "GCP",
            True,
        ),
        ("http://localhost:8080", "http://localhost:8080", LoopbackHost, None, False),
        ("http://127.0.0.1:5000/", "http://127.0.0.1:5000", LoopbackHost, None, False),
        ("http://127.10.0.3", "http://127.10.0.3", LoopbackHost, None, False),
        ("http://[::1]:9999", "http://[::1]:9999", LoopbackHost, None, False),
        ("https://localhost:8443", "https://localhost:8443", LoopbackHost, None, False),
        (
            "https://databricks.example.com",
            "https://databricks.example.com",
            OtherHost,
            None,
            False,
        ),
    ],
)
def test_parse_and_classify(raw, url, kind, cloud, account):
    host = parse_host(raw)
    assert host.url == url
    assert normalize_host(raw) == url
    assert isinstance(host.kind, kind)
    assert host.cloud == cloud
    assert host.is_account() is account


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "No Databricks host"),
        ("   ", "No Databricks host"),
        ("http://dbc-1.cloud.databricks.com", "plain http is only allowed for loopback"),
        ("http://10.0.0.1:8080", "plain http is only allowed for loopback"),
        ("http://localhost.example.com", "plain http is only allowed for loopback"),
        ("ftp://dbc-1.cloud.databricks.com", "scheme 'ftp'"),
        ("https://dbc-1.cloud.databricks.com/browse/folders", "it has a path"),
        ("https://adb-1.2.azuredatabricks.net/?o=1234", "query or fragment"),
        ("https://adb-1.2.azuredatabricks.net#x", "query or fragment"),
        ("https://user:pw-not-real@dbc-1.cloud.databricks.com", "user name or password"),
        ("https://dbc_1.cloud.databricks.com", "malformed"),
        ("https://-dbc.cloud.databricks.com", "malformed"),
        ("https://dbc..cloud.databricks.com", "malformed"),
        ("https://dbc-1.cloud.databricks.com:99999", "cannot be parsed"),
        ("https://", "no host name"),
    ],
)
def test_rejects_with_problem_and_fix(raw, fragment):
    with pytest.raises(ConfigError) as info:
        parse_host(raw)
    assert fragment in info.value.message
    assert info.value.hint  # every error says what to do


def test_credentials_and_query_never_echoed():
    with pytest.raises(ConfigError) as info:
        parse_host("https://someone:canary-pw-0000@dbc-1.cloud.databricks.com")
    assert "canary-pw-0000" not in str(info.value)
    assert "someone" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_host("https://dbc-1.cloud.databricks.com/?token=canary-q-0000")
    assert "canary-q-0000" not in str(info.value)


def test_oidc_layout_hooks():
    ws = parse_host("https://dbc-1.cloud.databricks.com")
    assert ws.oidc_root() == "https://dbc-1.cloud.databricks.com/oidc"
    assert ws.discovery_url() == (
        "https://dbc-1.cloud.databricks.com/oidc/.well-known/oauth-authorization-server"
    )
    acct = parse_host("accounts.azuredatabricks.net")
    assert (
        acct.oidc_root(account_id="abc") == "https://accounts.azuredatabricks.net/oidc/accounts/abc"
    )
    with pytest.raises(ConfigError, match="no account id"):
        acct.oidc_root()
    loop = parse_host("http://127.0.0.1:8000")
    assert loop.oidc_root() == "http://127.0.0.1:8000/oidc"
    assert loop.oidc_root(account_id="a1", account=True) == "http://127.0.0.1:8000/oidc/accounts/a1"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.255.0.9", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("example.com", False),
        ("128.0.0.1", False),
    ],
)
def test_is_loopback(name, expected):
    assert is_loopback(name) is expected


def test_matches_sdk_normalisation():
    sdk_base = pytest.importorskip("databricks.sdk._base_client")
    for raw in [
        "dbc-1.cloud.databricks.com",
        "https://dbc-1.cloud.databricks.com/",
        "https://adb-1.2.azuredatabricks.net:443",
        "http://localhost:8080",
    ]:
        assert normalize_host(raw) == sdk_base._fix_host_if_needed(raw)
