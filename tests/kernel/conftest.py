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


def _server_fixtures() -> Any:
    """The server engineer's fixtures (tests/server/conftest.py), reused as they are."""
    import importlib.util
    import sys

    here = Path(__file__).resolve().parent.parent / "server"
    if str(here) not in sys.path:
        sys.path.insert(0, str(here))  # their conftest imports `server_helpers`
    spec = importlib.util.spec_from_file_location("_dbx_server_conftest", here / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_server = _server_fixtures()
_running_loop = _server._running_loop
jp_asyncio_loop = _server.jp_asyncio_loop
jp_base_url = _server.jp_base_url
dbx_extra_config = _server.dbx_extra_config
dbx_emulator = _server.dbx_emulator
dbx_oauth_app = _server.dbx_oauth_app
jp_server_config = _server.jp_server_config
dbx_app = _server.dbx_app
server_url = _server.server_url
browser_factory = _server.browser_factory
browser = _server.browser
