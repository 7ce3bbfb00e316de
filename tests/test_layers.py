"""DESIGN.md's layers, enforced: arrows point down only.

- core/ imports nothing from Jupyter and nothing of ours above it;
- the emulator shares no code with the client side (a shared bug would pass every test);
- client code never imports the emulator.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jupyter_dbx_auth"

JUPYTER_MODULES = (
    "jupyter_server",
    "jupyter_client",
    "tornado",
    "IPython",
    "ipywidgets",
    "ipykernel",
)


def imported_modules(path: Path, source: str | None = None) -> set[str]:
    """Absolute names of every module `path` (or `source` as if at `path`) imports, relative
    imports resolved."""
    text = path.read_text() if source is None else source
    tree = ast.parse(text, filename=str(path))
    package_parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def files_of(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in files_of(layer):
        for name in imported_modules(path):
            if name.startswith(forbidden) and not name.startswith(f"jupyter_dbx_auth.{layer}"):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_layers_exist() -> None:
    for layer in ("core", "server", "kernel", "emulator"):
        assert files_of(layer), f"{layer}/ has no modules"


def test_core_knows_nothing_of_jupyter_or_upper_layers() -> None:
    forbidden = (
        *JUPYTER_MODULES,
        "jupyter_dbx_auth.server",
        "jupyter_dbx_auth.kernel",
        "jupyter_dbx_auth.emulator",
    )
    assert violations("core", forbidden) == []


@pytest.mark.parametrize("layer", ["server", "kernel"])
def test_client_side_never_imports_the_emulator(layer: str) -> None:
    assert violations(layer, ("jupyter_dbx_auth.emulator",)) == []


def test_kernel_and_server_do_not_import_each_other() -> None:
    assert violations("kernel", ("jupyter_dbx_auth.server",)) == []
    assert violations("server", ("jupyter_dbx_auth.kernel",)) == []


def test_emulator_shares_no_code_with_the_client_side() -> None:
    forbidden = (
        "jupyter_dbx_auth.core",
        "jupyter_dbx_auth.server",
        "jupyter_dbx_auth.kernel",
    )
    assert violations("emulator", forbidden) == []


def _service_public_names() -> set[str]:
    from jupyter_dbx_auth.core import service

    return {f"jupyter_dbx_auth.core.service.{name}" for name in service.__all__}


def private_service_imports(path: Path, names: set[str]) -> list[str]:
    public = _service_public_names() | {"jupyter_dbx_auth.core.service"}
    return [
        f"{path.name} imports {name}"
        for name in sorted(names)
        if (name.startswith("jupyter_dbx_auth.core.service.") and name not in public)
        or name.startswith("jupyter_dbx_auth.core.broker")
    ]


@pytest.mark.parametrize("layer", ["server", "kernel"])
def test_front_ends_reach_the_service_only_through_its_public_api(layer: str) -> None:
    """`server/` and `kernel/` import `core.service`'s public names, never its modules, and
    never the broker the service owns (no second way to tokens beside `AuthService`)."""
    found = []
    for path in files_of(layer):
        found += private_service_imports(path, imported_modules(path))
    assert found == []


def test_the_check_above_can_fail() -> None:
    probe = PACKAGE / "server" / "probe.py"  # parsed only, never written
    for source in (
        "from ..core.service.pending import PendingLogins\n",
        "from ..core.broker import TokenBroker\n",
        "import jupyter_dbx_auth.core.service.service_principals\n",
    ):
        assert private_service_imports(probe, imported_modules(probe, source))
    assert not private_service_imports(
        probe, imported_modules(probe, "from ..core.service import AuthService\n")
    )


def test_emulator_takes_only_the_thrift_definitions_from_the_sql_connector() -> None:
    """The SQL warehouse speaks TCLIService: it may compile against the connector's generated
    Thrift module (a protocol definition, like a shared IDL) in one place, and use none of the
    connector's client code."""
    found = []
    for path in files_of("emulator"):
        for name in imported_modules(path):
            if name.startswith("databricks"):
                allowed = path.name == "protocol.py" and name.startswith(
                    "databricks.sql.thrift_api.TCLIService"
                )
                if not allowed:
                    found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert found == []
