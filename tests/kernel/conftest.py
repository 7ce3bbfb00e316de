"""Kernel-side fixtures: an IPython `InteractiveShell` with the extension loaded (jupysql's
`ip_empty` -> `ip` pattern), profiles pointing at the emulator, and a fresh token backend per test
(the backend is process-wide in a real kernel)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_helpers import profiles_text


@pytest.fixture(autouse=True)
def _fresh_backend() -> Iterator[None]:
    from jupyter_dbx_auth.kernel.backends import set_backend

    set_backend(None)
    yield
    set_backend(None)


@pytest.fixture
def ip_empty() -> Iterator[Any]:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    yield shell
    shell.run_line_magic("reset", "-f")
    InteractiveShell.clear_instance()


@pytest.fixture
def ip(ip_empty: Any) -> Any:
    result = ip_empty.run_cell("%load_ext jupyter_dbx_auth")
    assert result.success, result.error_in_exec
    return ip_empty


@pytest.fixture
def profiles(emulator: Any, databrickscfg: Callable[[str], Path]) -> Any:
    databrickscfg(profiles_text(emulator))
    return emulator
