"""Read `.databrickscfg` exactly as databricks-sdk does (`Config._known_file_config_loader`).

Kept apart from `config.py` so the precedence logic there reads as policy, and so the sidebar can
list profiles without resolving them.

Parsing details copied from the sdk on purpose:
- `configparser.ConfigParser()` with its defaults: keys are lower-cased, values stripped, no
  inline comments, `%` is not interpolated because values are read raw from the sections.
- A profile does NOT inherit keys from `[DEFAULT]` (the sdk reads `_sections`, not `items()`).
- `[DEFAULT]` is a profile only when it has keys; `[__settings__]` is never a profile.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "SDK_ATTRIBUTES",
    "SETTINGS_SECTION",
    "DatabricksCfg",
    "SdkAttribute",
    "config_file_path",
    "read_databrickscfg",
]

DEFAULT_CONFIG_FILE = "~/.databrickscfg"
SETTINGS_SECTION = "__settings__"
_LOGIN_HINT = "databricks auth login --host <workspace URL> --profile {name}"


class SdkAttribute(NamedTuple):
    name: str
    env: str | None = None
    auth: str | None = None
    aliases: tuple[str, ...] = ()


# databricks-sdk `Config` attributes, in the sdk's declaration order (order decides nothing here
# but keeps the table easy to diff against the sdk).
SDK_ATTRIBUTES: tuple[SdkAttribute, ...] = (
    SdkAttribute("host", "DATABRICKS_HOST"),
    SdkAttribute("account_id", "DATABRICKS_ACCOUNT_ID"),
    SdkAttribute("workspace_id", "DATABRICKS_WORKSPACE_ID"),
    SdkAttribute("group_id", "DATABRICKS_GROUP_ID"),
    SdkAttribute("cloud", "DATABRICKS_CLOUD"),
    SdkAttribute("discovery_url", "DATABRICKS_DISCOVERY_URL"),
    SdkAttribute("token", "DATABRICKS_TOKEN", "pat"),
    SdkAttribute("token_audience", "DATABRICKS_TOKEN_AUDIENCE"),
    SdkAttribute("oidc_token_env", "DATABRICKS_OIDC_TOKEN_ENV", "env-oidc"),
    SdkAttribute(
        "oidc_token_filepath",
        "DATABRICKS_OIDC_TOKEN_FILEPATH",
        "file-oidc",
        ("DATABRICKS_OIDC_TOKEN_FILE",),
    ),
    SdkAttribute("username", "DATABRICKS_USERNAME", "basic"),
    SdkAttribute("password", "DATABRICKS_PASSWORD", "basic"),
    SdkAttribute("client_id", "DATABRICKS_CLIENT_ID", "oauth"),
    SdkAttribute("client_secret", "DATABRICKS_CLIENT_SECRET", "oauth"),
    SdkAttribute("profile", "DATABRICKS_CONFIG_PROFILE"),
    SdkAttribute("config_file", "DATABRICKS_CONFIG_FILE"),
    SdkAttribute("google_service_account", "DATABRICKS_GOOGLE_SERVICE_ACCOUNT", "google"),
    SdkAttribute("google_credentials", "GOOGLE_CREDENTIALS", "google"),
    SdkAttribute("azure_workspace_resource_id", "DATABRICKS_AZURE_RESOURCE_ID", "azure"),
    SdkAttribute("azure_use_msi", "ARM_USE_MSI", "azure"),
    SdkAttribute("azure_client_secret", "ARM_CLIENT_SECRET", "azure"),
    SdkAttribute("azure_client_id", "ARM_CLIENT_ID", "azure"),
    SdkAttribute("azure_tenant_id", "ARM_TENANT_ID", "azure"),
    SdkAttribute("azure_environment", "ARM_ENVIRONMENT"),
    SdkAttribute("databricks_cli_path", "DATABRICKS_CLI_PATH"),
    SdkAttribute("auth_type", "DATABRICKS_AUTH_TYPE"),
    SdkAttribute("cluster_id", "DATABRICKS_CLUSTER_ID"),
    SdkAttribute("warehouse_id", "DATABRICKS_WAREHOUSE_ID"),
    SdkAttribute("serverless_compute_id", "DATABRICKS_SERVERLESS_COMPUTE_ID"),
    SdkAttribute("skip_verify"),
    SdkAttribute("http_timeout_seconds"),
    SdkAttribute("debug_truncate_bytes", "DATABRICKS_DEBUG_TRUNCATE_BYTES"),
    SdkAttribute("debug_headers", "DATABRICKS_DEBUG_HEADERS"),
    SdkAttribute("rate_limit", "DATABRICKS_RATE_LIMIT"),
    SdkAttribute("retry_timeout_seconds"),
    SdkAttribute("metadata_service_url", "DATABRICKS_METADATA_SERVICE_URL", "metadata-service"),
    SdkAttribute("max_connection_pools"),
    SdkAttribute("max_connections_per_pool"),
    SdkAttribute("disable_async_token_refresh", "DATABRICKS_DISABLE_ASYNC_TOKEN_REFRESH"),
    SdkAttribute(
        "disable_experimental_files_api_client", "DATABRICKS_DISABLE_EXPERIMENTAL_FILES_API_CLIENT"
    ),
    SdkAttribute("scopes"),
    SdkAttribute("authorization_details"),
    SdkAttribute("disable_oauth_refresh_token", "DATABRICKS_DISABLE_OAUTH_REFRESH_TOKEN"),
)


@dataclass(frozen=True)
class DatabricksCfg:
    """A parsed config file. `profiles` maps profile name -> its own keys (no DEFAULT merge)."""

    path: Path
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    default_profile: str | None = None  # `[__settings__] default_profile`
    has_defaults: bool = False  # `[DEFAULT]` has at least one key

    @property
    def names(self) -> list[str]:
        return list(self.profiles)

    def resolve_profile(self, requested: str | None) -> tuple[str | None, bool]:
        """Which profile to load: (name, is_fallback), as the sdk's `Config._resolve_profile`.

        Explicit request, then `[__settings__] default_profile`, then `[DEFAULT]` (a fallback: if
        it turns out absent, nothing is loaded and nothing is reported).
        """
        if requested is not None:
            _not_settings(requested, self.path)
            return requested, False
        if self.default_profile:
            _not_settings(self.default_profile, self.path)
            return self.default_profile, False
        if self.has_defaults:
            return "DEFAULT", True
        return None, True

    def profile(self, name: str) -> dict[str, str]:
        """The keys of one profile; `ConfigError` naming the file and the fix when it is absent."""
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(self.names) or "none"
            raise ConfigError(
                f"Profile {name!r} not found in {self.path} (profiles: {known}).",
                hint=f"Use one of the listed profiles, or create it with "
                f"`{_LOGIN_HINT.format(name=name)}`.",
            ) from None


def _not_settings(name: str, path: Path) -> None:
    if name == SETTINGS_SECTION:
        raise ConfigError(
            f"{SETTINGS_SECTION} in {path} is a reserved section name and cannot be used as a "
            "profile.",
            hint="Name a real profile, or set default_profile in [__settings__] to one.",
        )


def config_file_path(config_file: str | os.PathLike[str] | None) -> Path:
    """The file the sdk would read: the given path, else ~/.databrickscfg (with ~ expanded)."""
    return Path(os.fspath(config_file) if config_file else DEFAULT_CONFIG_FILE).expanduser()


def read_databrickscfg(path: str | os.PathLike[str] | None = None) -> DatabricksCfg | None:
    """Parse the file; None when it does not exist. A malformed file is a `ConfigError`."""
    file = config_file_path(path)
    if not file.exists():
        return None
    parser = configparser.ConfigParser()
    try:
        # The sdk uses read(), which skips a file it cannot open; a parse error still raises.
        parser.read(file, encoding="utf-8")
    except configparser.Error as exc:
        # configparser's message names the line; it can echo a line of the file, which may hold
        # a secret, so only the error class and the position are shown.
        where = f" (line {exc.lineno})" if hasattr(exc, "lineno") else ""
        raise ConfigError(
            f"{file} cannot be parsed: {type(exc).__name__}{where}.",
            hint="Fix the file: it must be INI with [profile] headers and key = value lines, "
            "each profile and key only once.",
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file} is not UTF-8 text.", hint="Save the file as UTF-8.") from None
    # `_sections` is what the sdk reads: a profile's own keys without [DEFAULT] merged in.
    sections: dict[str, dict[str, str]] = {
        name: dict(values)
        for name, values in parser._sections.items()  # type: ignore[attr-defined]
    }
    settings = sections.pop(SETTINGS_SECTION, {})
    defaults = dict(parser.defaults())
    if defaults:
        sections["DEFAULT"] = defaults
    return DatabricksCfg(
        path=file,
        profiles=sections,
        default_profile=(settings.get("default_profile") or "").strip() or None,
        has_defaults=bool(defaults),
    )
