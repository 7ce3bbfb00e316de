"""Databricks hosts: normalise, validate and classify them, and say where their OAuth lives.

What differs between AWS, Azure and GCP workspaces, the three account consoles and the loopback
emulator is kept in one small `HostKind` class per kind with overridable hooks (in the style of
oauthenticator's providers), so callers ask the kind instead of branching on a cloud name.

Normalisation follows databricks-sdk's `_fix_host_if_needed` (add `https://`, drop a trailing
slash and an explicit `:443`) and is stricter where the sdk is lenient: a path, a query, a
fragment or credentials in the host are rejected, because they are always a pasted browser URL
or a mistake, and the sdk would silently build wrong API URLs from them.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass

from .errors import ConfigError

__all__ = [
    "HOST_KINDS",
    "AccountConsole",
    "AwsWorkspace",
    "AzureWorkspace",
    "GcpWorkspace",
    "Host",
    "HostKind",
    "LoopbackHost",
    "OtherHost",
    "classify",
    "is_loopback",
    "normalize_host",
    "parse_host",
]

# RFC 1123 label; the whole name is checked label by label.
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_WELL_KNOWN_OAUTH = "/.well-known/oauth-authorization-server"


class HostKind:
    """Base kind: a workspace whose OIDC provider lives at `{host}/oidc`.

    Subclasses override `matches` and, where they differ, the layout hooks below.
    """

    name = "workspace"
    cloud: str | None = None  # "AWS" | "AZURE" | "GCP" (the sdk's Cloud values) or unknown
    account = False  # an account console: OAuth is per account, not per workspace
    allow_http = False
    suffixes: tuple[str, ...] = ()

    def matches(self, hostname: str) -> bool:
        return any(hostname.endswith(s) and hostname != s.lstrip(".") for s in self.suffixes)

    # -- hooks -------------------------------------------------------------------------------
    def is_account(self, *, account_hint: bool | None = None) -> bool:
        """Whether a connection to this host is account-level. The hint comes from config."""
        return self.account

    def oidc_root(self, host: str, *, account_id: str | None, account: bool) -> str:
        """Root of the OIDC provider when `/.well-known/databricks-config` is not available."""
        if account:
            if not account_id:
                raise ConfigError(
                    f"{host} is an account console, but no account id is configured.",
                    hint="Set account_id (or DATABRICKS_ACCOUNT_ID) to the id shown in the "
                    "account console.",
                )
            return f"{host}/oidc/accounts/{account_id}"
        return f"{host}/oidc"

    def discovery_url(self, host: str, *, account_id: str | None, account: bool) -> str:
        """URL of the OAuth authorization server metadata (RFC 8414) for the default layout."""
        root = self.oidc_root(host, account_id=account_id, account=account)
        return root + _WELL_KNOWN_OAUTH

    def __repr__(self) -> str:
        return f"<HostKind {self.name}>"


class AwsWorkspace(HostKind):
    name = "aws"
    cloud = "AWS"
    # Order matters only for readability: suffixes do not overlap with the other clouds.
    suffixes = (".cloud.databricks.com", ".cloud.databricks.us", ".dev.databricks.com")


class AzureWorkspace(HostKind):
    name = "azure"
    cloud = "AZURE"
    suffixes = (".azuredatabricks.net", ".databricks.azure.us", ".databricks.azure.cn")


class GcpWorkspace(HostKind):
    name = "gcp"
    cloud = "GCP"
    suffixes = (".gcp.databricks.com",)


class AccountConsole(HostKind):
    """accounts.cloud.databricks.com, accounts.azuredatabricks.net, accounts.gcp.databricks.com."""

    account = True

    def __init__(self, hostname: str, cloud: str) -> None:
        self.hostname = hostname
        self.cloud = cloud
        self.name = f"{cloud.lower()}-account"

    def matches(self, hostname: str) -> bool:
        return hostname == self.hostname

    def oidc_root(self, host: str, *, account_id: str | None, account: bool) -> str:
        # An account console never has a workspace-level provider.
        return super().oidc_root(host, account_id=account_id, account=True)


class LoopbackHost(HostKind):
    """The emulator (or a tunnel) on this machine: plain http is fine, nothing leaves the host.

    One loopback port serves both a workspace and an account console, so whether a connection
    is account-level comes from configuration (an `account` flag), not from the name.
    """

    name = "loopback"
    allow_http = True

    def matches(self, hostname: str) -> bool:
        return is_loopback(hostname)

    def is_account(self, *, account_hint: bool | None = None) -> bool:
        return bool(account_hint)


class OtherHost(HostKind):
    """A custom or private domain: accepted, with the workspace layout (the sdk does the same)."""

    name = "other"

    def matches(self, hostname: str) -> bool:
        return True

    def is_account(self, *, account_hint: bool | None = None) -> bool:
        return bool(account_hint)


# First match wins; OtherHost catches the rest and must stay last.
HOST_KINDS: tuple[HostKind, ...] = (
    AccountConsole("accounts.cloud.databricks.com", "AWS"),
    AccountConsole("accounts.azuredatabricks.net", "AZURE"),
    AccountConsole("accounts.gcp.databricks.com", "GCP"),
    LoopbackHost(),
    AwsWorkspace(),
    AzureWorkspace(),
    GcpWorkspace(),
    OtherHost(),
)


def is_loopback(hostname: str) -> bool:
    """localhost, 127.0.0.0/8 and ::1 (with or without brackets)."""
    name = hostname.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def classify(hostname: str) -> HostKind:
    name = hostname.lower()
    for kind in HOST_KINDS:
        if kind.matches(name):
            return kind
    raise AssertionError("OtherHost matches every name")  # pragma: no cover


@dataclass(frozen=True)
class Host:
    """A validated host. `url` is what connections store: scheme://netloc, no trailing slash."""

    url: str
    scheme: str
    hostname: str
    port: int | None
    kind: HostKind

    @property
    def cloud(self) -> str | None:
        return self.kind.cloud

    def is_account(self, account_hint: bool | None = None) -> bool:
        return self.kind.is_account(account_hint=account_hint)

    def oidc_root(self, *, account_id: str | None = None, account: bool | None = None) -> str:
        acct = self.kind.is_account(account_hint=account)
        return self.kind.oidc_root(self.url, account_id=account_id, account=acct)

    def discovery_url(self, *, account_id: str | None = None, account: bool | None = None) -> str:
        return self.oidc_root(account_id=account_id, account=account) + _WELL_KNOWN_OAUTH


def _bad(raw: str, problem: str, hint: str) -> ConfigError:
    return ConfigError(f"Invalid Databricks host {raw!r}: {problem}.", hint=hint)


def _safe(raw: str) -> str:
    """What of a bad host may be echoed back: scheme and host only, never credentials or query."""
    try:
        parts = urllib.parse.urlsplit(raw if "://" in raw else "https://" + raw)
        netloc = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{netloc}" if netloc else "<unparseable>"
    except ValueError:
        return "<unparseable>"


def parse_host(raw: str) -> Host:
    """Validate and normalise a host; raise `ConfigError` naming the problem and the fix."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(
            "No Databricks host is configured.",
            hint="Set host to your workspace URL, e.g. https://<name>.cloud.databricks.com.",
        )
    text = raw.strip()
    shown = _safe(text)
    if "://" not in text:
        text = "https://" + text  # as the sdk does
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError as exc:
        # Only the reason from urllib (e.g. "Port out of range"), never the raw value.
        raise _bad(shown, f"cannot be parsed ({exc})", "Use https://<workspace host>.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise _bad(shown, f"scheme {scheme!r} is not supported", "Use https://<workspace host>.")
    if "@" in parts.netloc:
        raise _bad(
            shown,
            "it contains a user name or password",
            "Remove the 'user:password@' part; credentials belong in client_id/secret or a token.",
        )
    if parts.path not in ("", "/"):
        raise _bad(
            shown,
            "it has a path",
            f"Use only the scheme and host, e.g. {shown}, without the path after it.",
        )
    if parts.query or parts.fragment or ";" in parts.path:
        raise _bad(
            shown,
            "it has a query or fragment (such as '?o=...' copied from the browser)",
            f"Use only the scheme and host, e.g. {shown}.",
        )
    hostname = (parts.hostname or "").lower()
    if not hostname:
        raise _bad(shown, "it has no host name", "Use https://<workspace host>.")
    if ":" in hostname:  # IPv6 literal
        try:
            ipaddress.IPv6Address(hostname)
        except ValueError:
            raise _bad(shown, "the IPv6 address is invalid", "Check the address.") from None
        netloc_host = f"[{hostname}]"
    else:
        labels = hostname.rstrip(".").split(".")
        if not all(_LABEL.match(label) for label in labels):
            raise _bad(
                shown,
                "the host name is malformed",
                "Use letters, digits, '-' and dots only, e.g. https://<name>.cloud.databricks.com.",
            )
        hostname = ".".join(labels)
        netloc_host = hostname
    kind = classify(hostname)
    if scheme == "http" and not kind.allow_http:
        raise _bad(
            shown,
            "plain http is only allowed for loopback hosts (localhost, 127.0.0.1, ::1)",
            "Use https://; tokens must never cross the network unencrypted.",
        )
    if port is not None and not (scheme == "https" and port == 443):
        netloc = f"{netloc_host}:{port}"
    else:
        port = None if scheme == "https" else port
        netloc = netloc_host
    return Host(url=f"{scheme}://{netloc}", scheme=scheme, hostname=hostname, port=port, kind=kind)


def normalize_host(raw: str) -> str:
    """`parse_host(raw).url`: e.g. 'adb-1.2.azuredatabricks.net/' -> 'https://adb-1.2.azuredatabricks.net'."""
    return parse_host(raw).url
