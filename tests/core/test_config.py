"""Connection resolution, checked case by case against the real databricks-sdk `Config`.

The oracle: `databricks.sdk.core.Config(**explicit)` in the same environment and HOME. It is kept
off the network by two patches and a recording credentials strategy:
- `Config._resolve_host_metadata` is a no-op (it would GET {host}/.well-known/databricks-config;
  it runs after the merge, so the merge itself is untouched);
- `Config.load_azure_tenant_id` is a no-op (azure-cli would GET {host}/aad/auth);
- `Config.databricks_oidc_endpoints` returns fixed endpoints (oauth-m2m and env/file-oidc only
  read the token endpoint when building their lazy token sources);
- PATH points nowhere, so the chain's databricks-cli and azure-cli steps find no CLI;
- the strategy records the merged attributes and runs the sdk's own `DefaultCredentials` chain;
  an explicit auth type is recorded as is (the sdk then tries only that provider). When the chain
  finds nothing but a host is set ("cannot configure default credentials": no Databricks CLI
  here), the sdk would have used the CLI's browser login: that is U2M for us.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jupyter_dbx_auth.core.config import (
    SDK_ATTRIBUTES,
    merge_config,
    method_for_auth_type,
    resolve_all,
    resolve_connection,
)
from jupyter_dbx_auth.core.connections import AuthMethod
from jupyter_dbx_auth.core.errors import ConfigError

sdk_config = pytest.importorskip("databricks.sdk.config")
sdk_creds = pytest.importorskip("databricks.sdk.credentials_provider")
sdk_oauth = pytest.importorskip("databricks.sdk.oauth")

AWS = "https://dbc-1111.cloud.databricks.com"
AZ = "https://adb-2222.3.azuredatabricks.net"
GCP = "https://3333.4.gcp.databricks.com"
ACCT = "https://accounts.cloud.databricks.com"
ACCT_ID = "00000000-0000-0000-0000-00000000acc7"


class Recorder(sdk_creds.CredentialsStrategy):
    def __init__(self) -> None:
        self.chosen: str | None = None
        self.seen: dict[str, object] = {}

    def auth_type(self) -> str:
        return self.chosen or "default"

    def __call__(self, cfg):
        self.seen = dict(cfg._inner)
        if cfg.auth_type:
            self.chosen = cfg.auth_type
        else:
            chain = sdk_creds.DefaultCredentials()
            try:
                chain(cfg)
                self.chosen = chain.auth_type()
            except ValueError as exc:
                if "cannot configure default credentials" not in str(exc):
                    raise
                self.chosen = "fallthrough" if cfg.host else "no-host"
        return lambda: {}


def oracle(explicit: dict, monkeypatch) -> dict:
    monkeypatch.setattr(sdk_config.Config, "_resolve_host_metadata", lambda self: None)
    # No `databricks` / `az` CLI may answer for the chain, even on a developer's machine.
    monkeypatch.setenv("PATH", "/nonexistent")
    # azure-cli (tried for Azure hosts) first asks {host}/aad/auth for the tenant; no `az` here.
    monkeypatch.setattr(sdk_config.Config, "load_azure_tenant_id", lambda self: None)
    endpoints = sdk_oauth.OidcEndpoints(
        "https://idp.invalid/authorize", "https://idp.invalid/token"
    )
    monkeypatch.setattr(
        sdk_config.Config, "databricks_oidc_endpoints", property(lambda s: endpoints)
    )
    rec = Recorder()
    try:
        cfg = sdk_config.Config(credentials_strategy=rec, **explicit)
    except ValueError as exc:
        return {"error": classify_sdk_error(str(exc))}
    if rec.chosen == "no-host":
        return {"error": "no-host"}
    method = AuthMethod.USER if rec.chosen == "fallthrough" else method_for_auth_type(rec.chosen)
    return {
        "host": cfg.host,
        "method": method,
        "client_id": cfg.client_id,
        "account_id": cfg.account_id,
        "profile": rec.seen.get("profile"),
        "token_audience": cfg.token_audience,
        "oidc_token_file": cfg.oidc_token_filepath,
        "oidc_token_env": cfg.oidc_token_env,
    }


def classify_sdk_error(message: str) -> str:
    if "more than one authorization method configured" in message:
        return "ambiguous"
    if "reserved section name" in message:
        return "reserved"
    if "profile configured" in message:
        return "no-profile"
    raise AssertionError(f"unexpected sdk error: {message}")


def classify_our_error(exc: ConfigError) -> str:
    msg = exc.message
    for needle, kind in [
        ("More than one authorization method configured", "ambiguous"),
        ("reserved section name", "reserved"),
        ("not found in", "no-profile"),
        ("No host configured", "no-host"),
    ]:
        if needle in msg:
            return kind
    raise AssertionError(f"unexpected error: {msg}")


def ours(explicit: dict) -> dict:
    try:
        if explicit:
            conn = resolve_connection("c", explicit={"c": explicit})
            merged = merge_config(explicit)
        else:
            conn = resolve_connection(None)
            merged = merge_config({})
    except ConfigError as exc:
        return {"error": classify_our_error(exc)}
    return {
        "host": conn.host,
        "method": conn.method,
        "client_id": conn.client_id,
        "account_id": conn.account_id,
        "profile": merged.values.get("profile"),
        "token_audience": conn.token_audience,
        "oidc_token_file": conn.oidc_token_file,
        # The sdk leaves oidc_token_env unset and defaults to DATABRICKS_OIDC_TOKEN at use time.
        "oidc_token_env": None
        if conn.oidc_token_env == "DATABRICKS_OIDC_TOKEN"
        else conn.oidc_token_env,
    }


FILE = f"""
[DEFAULT]
host = {AWS}

[emu]
host = {GCP}
client_id = emu-client

[sp]
host = {AZ}
client_id = sp-client
client_secret = not-a-real-secret

[acct]
host = {ACCT}
account_id = {ACCT_ID}
client_id = acct-client
client_secret = not-a-real-secret
"""
SETTINGS = (
    f"[__settings__]\ndefault_profile = emu\n\n[emu]\nhost = {GCP}\n\n[DEFAULT]\nhost = {AWS}\n"
)
ONLY_EMU = f"[emu]\nhost = {GCP}\n"
EMPTY_TOKEN = f"[DEFAULT]\nhost = {AWS}\ntoken =\nclient_id = x\n"
NO_INHERIT = f"[DEFAULT]\nclient_id = from-default\n\n[emu]\nhost = {GCP}\n"


@dataclass
class Case:
    id: str
    explicit: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    file: str | None = None
    other_file: str | None = None  # written to $HOME/other.cfg
    token_file: bool = False  # write $HOME/token.jwt
    expect: str | None = None  # an error kind, or a method value when it succeeds


CASES = [
    Case("env host+token", env={"DATABRICKS_HOST": AWS, "DATABRICKS_TOKEN": "t"}, expect="pat"),
    Case(
        "env m2m",
        env={"DATABRICKS_HOST": AZ, "DATABRICKS_CLIENT_ID": "c", "DATABRICKS_CLIENT_SECRET": "s"},
        expect="m2m",
    ),
    Case("env host only is u2m", env={"DATABRICKS_HOST": "dbc-1111.cloud.databricks.com/"}),
    Case("explicit host, env token", {"host": AWS}, {"DATABRICKS_TOKEN": "t"}, expect="pat"),
    Case("explicit beats env host", {"host": GCP}, {"DATABRICKS_HOST": AWS}),
    Case("env host skips file", env={"DATABRICKS_HOST": AZ}, file=FILE),
    Case("DEFAULT fallback", file=FILE),
    Case("settings default_profile", file=SETTINGS),
    Case("no DEFAULT, no settings", file=ONLY_EMU, expect="no-host"),
    Case("env profile", env={"DATABRICKS_CONFIG_PROFILE": "sp"}, file=FILE, expect="m2m"),
    Case(
        "env profile + env host: env wins, profile fills",
        env={"DATABRICKS_CONFIG_PROFILE": "emu", "DATABRICKS_HOST": AWS},
        file=FILE,
    ),
    Case("explicit profile", {"profile": "acct"}, file=FILE, expect="m2m"),
    Case(
        "explicit profile beats env",
        {"profile": "emu"},
        {"DATABRICKS_CONFIG_PROFILE": "sp"},
        file=FILE,
    ),
    Case("missing profile", {"profile": "nope"}, file=FILE, expect="no-profile"),
    Case(
        "missing env profile",
        env={"DATABRICKS_CONFIG_PROFILE": "nope"},
        file=FILE,
        expect="no-profile",
    ),
    Case("reserved profile", {"profile": "__settings__"}, file=SETTINGS, expect="reserved"),
    Case("profile, no file", {"profile": "emu"}, expect="no-host"),
    Case("config file env", env={"DATABRICKS_CONFIG_FILE": "~/other.cfg"}, other_file=SETTINGS),
    Case(
        "config file env + profile",
        env={"DATABRICKS_CONFIG_FILE": "~/other.cfg", "DATABRICKS_CONFIG_PROFILE": "sp"},
        other_file=FILE,
        expect="m2m",
    ),
    Case(
        "config file env missing",
        env={"DATABRICKS_CONFIG_FILE": "~/none.cfg"},
        file=FILE,
        expect="no-host",
    ),
    Case(
        "explicit config_file beats env",
        {"config_file": "~/other.cfg"},
        {"DATABRICKS_CONFIG_FILE": "~/none.cfg"},
        other_file=FILE,
    ),
    Case("auth attr set skips file", {"client_id": "x"}, file=FILE, expect="no-host"),
    Case(
        "ambiguous oauth and pat",
        env={"DATABRICKS_HOST": AWS, "DATABRICKS_TOKEN": "t", "DATABRICKS_CLIENT_ID": "c"},
        expect="ambiguous",
    ),
    Case(
        "auth type resolves ambiguity",
        env={
            "DATABRICKS_HOST": AWS,
            "DATABRICKS_TOKEN": "t",
            "DATABRICKS_CLIENT_ID": "c",
            "DATABRICKS_AUTH_TYPE": "pat",
        },
        expect="pat",
    ),
    Case(
        "auth type m2m over pat",
        {
            "auth_type": "oauth-m2m",
            "client_id": "c",
            "client_secret": "s",
            "token": "t",
            "host": AWS,
        },
        expect="m2m",
    ),
    Case(
        "env token + profile sp ambiguous",
        env={"DATABRICKS_TOKEN": "t", "DATABRICKS_CONFIG_PROFILE": "sp"},
        file=FILE,
        expect="ambiguous",
    ),
    Case("empty token in profile counts", file=EMPTY_TOKEN, expect="ambiguous"),
    Case("profile does not inherit DEFAULT", {"profile": "emu"}, file=NO_INHERIT),
    Case("databricks-cli is u2m", {"host": AWS, "auth_type": "databricks-cli"}),
    Case(
        "external-browser is u2m",
        {"host": AWS, "auth_type": "external-browser", "client_id": "custom-app"},
    ),
    Case("client id alone is u2m", {"host": AWS, "client_id": "custom-app"}),
    Case(
        "oidc token file alias",
        env={"DATABRICKS_HOST": AWS, "DATABRICKS_OIDC_TOKEN_FILE": "~/token.jwt"},
        token_file=True,
        expect="wif",
    ),
    Case(
        "oidc token filepath + client id",
        env={
            "DATABRICKS_HOST": AWS,
            "DATABRICKS_OIDC_TOKEN_FILEPATH": "~/token.jwt",
            "DATABRICKS_CLIENT_ID": "c",
        },
        token_file=True,
        expect="ambiguous",
    ),
    Case(
        "file-oidc auth type + client id",
        env={
            "DATABRICKS_HOST": AWS,
            "DATABRICKS_OIDC_TOKEN_FILEPATH": "~/token.jwt",
            "DATABRICKS_CLIENT_ID": "c",
            "DATABRICKS_AUTH_TYPE": "file-oidc",
            "DATABRICKS_TOKEN_AUDIENCE": "aud-1",
        },
        token_file=True,
        expect="wif",
    ),
    Case(
        "oidc token env",
        env={
            "DATABRICKS_HOST": AWS,
            "DATABRICKS_OIDC_TOKEN_ENV": "MY_JWT",
            "MY_JWT": "header.payload.sig",
        },
        expect="wif",
    ),
    Case(
        "default oidc token var",
        env={
            "DATABRICKS_HOST": AWS,
            "DATABRICKS_CLIENT_ID": "c",
            "DATABRICKS_OIDC_TOKEN": "header.payload.sig",
        },
        expect="wif",
    ),
    Case("audience from env", env={"DATABRICKS_HOST": AWS, "DATABRICKS_TOKEN_AUDIENCE": "aud-2"}),
    Case(
        "account console m2m",
        env={
            "DATABRICKS_HOST": ACCT,
            "DATABRICKS_ACCOUNT_ID": ACCT_ID,
            "DATABRICKS_CLIENT_ID": "c",
            "DATABRICKS_CLIENT_SECRET": "s",
        },
        expect="m2m",
    ),
    Case("explicit None is unset", {"host": None, "profile": "emu"}, file=FILE),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_precedence_matches_sdk(case: Case, monkeypatch, _isolated_environment: Path):
    home = _isolated_environment
    if case.file is not None:
        (home / ".databrickscfg").write_text(case.file)
    if case.other_file is not None:
        (home / "other.cfg").write_text(case.other_file)
    if case.token_file:
        (home / "token.jwt").write_text("header.payload.sig\n")
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.replace("~", str(home)) if "TOKEN_FILE" in name else value)
    expected = oracle(dict(case.explicit), monkeypatch)
    got = ours(dict(case.explicit))
    assert got == expected
    if case.expect in {m.value for m in AuthMethod}:
        assert got["method"] == AuthMethod(case.expect)
    elif case.expect:
        assert got == {"error": case.expect}
    else:
        assert got["method"] is AuthMethod.USER


def test_attribute_table_matches_installed_sdk():
    sdk_attrs = {
        a.name: (a.env, a.auth, tuple(a.env_aliases)) for a in sdk_config.Config.attributes()
    }
    ours_attrs = {a.name: (a.env, a.auth, a.aliases) for a in SDK_ATTRIBUTES}
    assert ours_attrs == sdk_attrs


# -- behaviour beyond the oracle: names, messages, listing, secrets ------------------------------


def test_missing_profile_names_file_profiles_and_fix(databrickscfg):
    path = databrickscfg(FILE)
    with pytest.raises(ConfigError) as info:
        resolve_connection("nope")
    msg = str(info.value)
    assert "'nope'" in msg and str(path) in msg and "emu, sp, acct, DEFAULT" in msg
    assert "databricks auth login" in info.value.hint


def test_missing_file_is_named(_isolated_environment):
    with pytest.raises(ConfigError) as info:
        resolve_connection("emu")
    assert ".databrickscfg does not exist" in info.value.message
    with pytest.raises(ConfigError) as info:
        resolve_connection(None, env={"DATABRICKS_CONFIG_FILE": "/nonexistent/cfg"})
    assert "/nonexistent/cfg does not exist" in info.value.message
    assert "DATABRICKS_CONFIG_FILE" in info.value.hint


def test_connection_from_profile_is_named_after_it(databrickscfg):
    databrickscfg(FILE)
    conn = resolve_connection("sp", env={})
    assert (conn.name, conn.source, conn.method) == (
        "sp",
        "profile:sp",
        AuthMethod.SERVICE_PRINCIPAL,
    )
    assert conn.client_secret is not None and conn.client_secret.reveal() == "not-a-real-secret"
    default = resolve_connection(None, env={})
    assert (default.name, default.host) == ("DEFAULT", AWS)
    acct = resolve_connection("acct", env={})
    assert acct.account and acct.account_id == ACCT_ID


def test_resolve_all_lists_explicit_env_and_profiles(databrickscfg):
    databrickscfg(FILE + "\n[broken]\nhost = http://example.com\n")
    explicit = {
        "emu": {"host": "http://127.0.0.1:8123", "account": True, "account_id": "a1"},
        "local": {"host": "localhost:9", "method": "m2m", "client_id": "x"},
    }
    result = resolve_all(explicit, env={})
    names = [c.name for c in result.connections]
    assert names == ["emu", "local", "sp", "acct", "DEFAULT"]
    by_name = {c.name: c for c in result.connections}
    # explicit beats the profile of the same name; loopback account flag comes from config
    assert by_name["emu"].host == "http://127.0.0.1:8123" and by_name["emu"].account
    assert by_name["local"].host == "https://localhost:9"
    assert by_name["local"].method is AuthMethod.SERVICE_PRINCIPAL
    assert by_name["sp"].source == "profile:sp"
    assert set(result.problems) == {"broken"}
    assert "plain http" in result.problems["broken"].message
    # With DATABRICKS_HOST set the environment's own connection is listed too. As in the sdk,
    # env values also win over every profile's values (WorkspaceClient(profile=...) agrees).
    result = resolve_all({}, env={"DATABRICKS_HOST": GCP})
    by_name = {c.name: c for c in result.connections}
    assert by_name["default"].source == "env" and by_name["default"].host == GCP
    assert by_name["broken"].host == GCP and not result.problems


def test_secrets_stay_out_of_repr_and_errors(databrickscfg):
    canary = "canary-secret-7f3a"
    databrickscfg(
        f"[sp]\nhost = {AWS}\nclient_id = c\nclient_secret = {canary}\ntoken = {canary}\n"
    )
    with pytest.raises(ConfigError) as info:
        resolve_connection("sp", env={})
    assert canary not in str(info.value)
    conn = resolve_connection(
        "x", explicit={"x": {"host": AWS, "token": canary, "client_id": "c", "auth_type": "pat"}}
    )
    assert canary not in repr(conn) and canary not in str(conn.public_dict())
    assert canary not in repr(merge_config({"token": canary}))


def test_malformed_file_does_not_echo_lines(databrickscfg):
    databrickscfg("client_secret = canary-secret-1\n[x]\nhost = h\n")
    with pytest.raises(ConfigError) as info:
        resolve_connection("x", env={})
    assert "canary-secret-1" not in str(info.value) and "cannot be parsed" in info.value.message


def test_unknown_setting_suggests_the_right_one():
    with pytest.raises(ConfigError) as info:
        resolve_connection("x", explicit={"x": {"hots": AWS}})
    assert "'hots'" in info.value.message and "'host'" in info.value.hint


@pytest.mark.parametrize(
    ("auth_type", "method"),
    [
        ("databricks-cli", "u2m"),
        ("external-browser", "u2m"),
        ("oauth-m2m", "m2m"),
        ("file-oidc", "wif"),
        ("env-oidc", "wif"),
        ("pat", "pat"),
        ("M2M", "m2m"),
    ],
)
def test_auth_type_mapping(auth_type, method):
    assert method_for_auth_type(auth_type) is AuthMethod(method)


def test_unsupported_auth_type_says_what_works():
    with pytest.raises(ConfigError) as info:
        resolve_connection("x", explicit={"x": {"host": AZ, "auth_type": "azure-cli"}})
    assert "azure-cli" in info.value.message and "oauth-m2m" in info.value.hint


def test_scopes_and_wif_defaults(monkeypatch):
    conn = resolve_connection("x", explicit={"x": {"host": AWS, "scopes": "sql, all-apis sql"}})
    assert conn.scopes == ("all-apis", "sql", "offline_access")
    m2m = resolve_connection(
        "y", explicit={"y": {"host": AWS, "client_id": "c", "client_secret": "s"}}
    )
    assert m2m.scopes == ("all-apis",)
    wif = resolve_connection("z", explicit={"z": {"host": AWS, "method": "wif"}}, env={})
    assert wif.oidc_token_env == "DATABRICKS_OIDC_TOKEN" and wif.scopes == ("all-apis",)
