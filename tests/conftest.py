"""Shared fixtures.

Every test runs with a private HOME and no DATABRICKS_* variables, so nothing on the developer's
machine (a real ~/.databrickscfg, a real keyring) can leak in or be written to.

The emulator runs as a real subprocess on loopback (`jupyter_dbx_auth.emulator.harness`):
- `emulator_session`: one per test session, default seed;
- `emulator`: the same process, reset to its seed and with all faults cleared before each test;
- `emulator_factory(**options)`: a fresh process with its own options (token TTL, seed, base path).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "JUPYTER_DBX_AUTH_", "ARM_", "GOOGLE_")):
            monkeypatch.delenv(name, raising=False)
    # Tests never touch the OS keyring unless they install a backend themselves.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    yield home


@pytest.fixture(scope="session")
def emulator_session(tmp_path_factory: pytest.TempPathFactory):
    from jupyter_dbx_auth.emulator.harness import EmulatorProcess

    proc = EmulatorProcess().start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def emulator(emulator_session):
    emulator_session.reset()
    return emulator_session


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., object]]:
    from jupyter_dbx_auth.emulator.harness import EmulatorProcess

    started: list[EmulatorProcess] = []

    def start(**options) -> EmulatorProcess:
        proc = EmulatorProcess(**options).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def databrickscfg(_isolated_environment: Path) -> Callable[[str], Path]:
    """Write `~/.databrickscfg` in the private HOME and return its path."""

    def write(text: str) -> Path:
        path = _isolated_environment / ".databrickscfg"
        path.write_text(text)
        return path

    return write
