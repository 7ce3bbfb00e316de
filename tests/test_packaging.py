"""The package as Jupyter sees it: the built labextension, the extension points, the server
extension inside a real Jupyter server, and (slow) a wheel installed into a fresh environment.

The labextension is built by `make setup` (`make labextension`); these tests check its output and
never build it themselves, except the wheel test, which builds a wheel the way a release would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_dbx_auth
from jupyter_dbx_auth import __version__

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(jupyter_dbx_auth.__file__).resolve().parent
LABEXT_NAME = "jupyter-dbx-auth"
SERVER_EXT_NAME = "jupyter_dbx_auth"


def _npm_version(version: str) -> str:
    """The npm spelling of a Python version: `0.2.0a1` -> `0.2.0-alpha.1`."""
    match = re.fullmatch(r"(\d+\.\d+\.\d+)(?:(a|b|rc)(\d+))?", version)
    assert match, f"unexpected version {version!r}"
    release, pre, number = match.groups()
    if pre is None:
        return release
    return f"{release}-{ {'a': 'alpha', 'b': 'beta', 'rc': 'rc'}[pre] }.{number}"


@pytest.fixture(scope="module")
def built_labextension() -> Path:
    path = PACKAGE_DIR / "labextension"
    if not (path / "package.json").is_file():
        pytest.fail(f"{path} is not built: run `make labextension` (or `make setup`) first")
    return path


# --- the built labextension ------------------------------------------------------------------


def test_built_labextension_metadata_matches_the_python_package(built_labextension: Path):
    meta = json.loads((built_labextension / "package.json").read_text())
    assert meta["name"] == LABEXT_NAME
    assert meta["version"] == _npm_version(__version__)
    assert meta["jupyterlab"]["extension"] is True

    # The builder records the federated entry point (a file) and the exposed modules.
    build = meta["jupyterlab"]["_build"]
    assert re.fullmatch(r"static/remoteEntry\.[0-9a-f]+\.js", build["load"])
    assert (built_labextension / build["load"]).is_file()
    assert build["extension"] == "./extension"
    assert build["style"] == "./style"


def test_source_package_json_matches_the_python_version():
    meta = json.loads((REPO / "labextension" / "package.json").read_text())
    assert meta["name"] == LABEXT_NAME
    assert meta["version"] == _npm_version(__version__)
    assert meta["jupyterlab"]["outputDir"] == "../jupyter_dbx_auth/labextension"


def test_remote_entry_exposes_the_plugin(built_labextension: Path):
    static = built_labextension / "static"
    remote_entries = list(static.glob("remoteEntry.*.js"))
    assert len(remote_entries) == 1, remote_entries
    bundle = "\n".join(p.read_text(errors="replace") for p in static.glob("*.js"))
    assert "jupyter-dbx-auth:plugin" in bundle


# --- extension points ------------------------------------------------------------------------


def test_labextension_paths_point_at_the_built_extension(built_labextension: Path):
    paths = jupyter_dbx_auth._jupyter_labextension_paths()
    assert paths == [{"src": "labextension", "dest": LABEXT_NAME}]
    assert (PACKAGE_DIR / paths[0]["src"]).resolve() == built_labextension.resolve()


def test_server_extension_points_name_the_extension_app():
    from jupyter_server.extension.application import ExtensionApp

    (point,) = jupyter_dbx_auth._jupyter_server_extension_points()
    assert point["module"] == "jupyter_dbx_auth.server.app"
    assert issubclass(point["app"], ExtensionApp)
    assert point["app"].name == SERVER_EXT_NAME


def test_ipython_extension_hooks_exist():
    assert callable(jupyter_dbx_auth.load_ipython_extension)
    assert callable(jupyter_dbx_auth.unload_ipython_extension)


def test_server_config_enables_the_server_extension():
    config = json.loads(
        (REPO / "jupyter-config" / "server-config" / f"{SERVER_EXT_NAME}.json").read_text()
    )
    assert config == {"ServerApp": {"jpserver_extensions": {SERVER_EXT_NAME: True}}}


# --- the server extension in a real Jupyter server -------------------------------------------
# pytest-jupyter runs the server on `jp_asyncio_loop`; pytest-asyncio (auto mode) would run an
# `async def` test on a loop of its own, where the server never answers. So these tests are
# plain functions that drive the server's loop.


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {SERVER_EXT_NAME: True}}}


@pytest.fixture
def fetch(jp_fetch, jp_asyncio_loop):
    def fetch(*parts: str, **kwargs):
        return jp_asyncio_loop.run_until_complete(jp_fetch(*parts, **kwargs))

    return fetch


def test_server_extension_is_loaded(jp_serverapp):
    manager = jp_serverapp.extension_manager
    assert SERVER_EXT_NAME in manager.extensions
    assert manager.extensions[SERVER_EXT_NAME].enabled


def test_version_endpoint_with_auth(fetch):
    response = fetch("dbx-auth", "api", "version")
    assert response.code == 200
    assert json.loads(response.body) == {"name": LABEXT_NAME, "version": __version__}


@pytest.mark.parametrize("authorization", ["", "token not-the-token"])
def test_version_endpoint_without_auth_is_403(fetch, authorization: str):
    with pytest.raises(HTTPClientError) as excinfo:
        fetch("dbx-auth", "api", "version", headers={"Authorization": authorization})
    assert excinfo.value.code == 403
    assert excinfo.value.response is not None
    # An API handler answers with JSON, not a login redirect or an HTML page.
    assert json.loads(excinfo.value.response.body)["message"]


# --- the wheel, installed into a fresh environment -------------------------------------------


def _wheel_env() -> dict[str, str]:
    """The current environment with this interpreter's scripts (jlpm, jupyter-builder) first."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([sysconfig.get_path("scripts"), env.get("PATH", "")])
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index"),
            *("--no-build-isolation", "-w", str(out), str(REPO)),
        ],
        check=True,
        env=_wheel_env(),
        timeout=600,
    )
    (path,) = out.glob("jupyter_dbx_auth-*.whl")
    return path


@pytest.mark.slow
def test_wheel_ships_the_prebuilt_labextension_and_server_config(wheel: Path):
    data = f"jupyter_dbx_auth-{__version__}.data/data/"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        labext = f"{data}share/jupyter/labextensions/{LABEXT_NAME}/"
        meta = json.loads(zf.read(f"{labext}package.json"))
        assert meta["name"] == LABEXT_NAME
        assert f"{labext}{meta['jupyterlab']['_build']['load']}" in names
        assert f"{labext}static/style.js" in names
        config_d = f"{data}etc/jupyter/jupyter_server_config.d/"
        config = json.loads(zf.read(f"{config_d}{SERVER_EXT_NAME}.json"))
    assert config["ServerApp"]["jpserver_extensions"] == {SERVER_EXT_NAME: True}
    # Nothing from the TypeScript build tree leaks into the wheel.
    assert not [n for n in names if "node_modules" in n or n.endswith(".ts")]


@pytest.mark.slow
def test_wheel_installs_a_working_prebuilt_extension_without_node(wheel: Path, tmp_path: Path):
    # A new environment whose only copy of jupyter_dbx_auth (and only share/ and etc/ data) comes
    # from the wheel. Its dependencies are borrowed read-only from this environment: the path
    # line in a .pth file adds them without running this environment's own .pth files, so the
    # editable install of the checkout stays invisible.
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    python = target / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "_borrowed_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install"),
            *("-q", "--no-deps", "--no-index", str(wheel)),
        ],
        check=True,
        timeout=300,
    )

    # No node on PATH, no jupyter scripts or PYTHON* variables from this environment, and not
    # run from the checkout: `-I` keeps the working directory off sys.path.
    env = {"PATH": str(target / "bin"), "HOME": os.environ["HOME"], "LANG": "C.UTF-8"}

    def run(*args: str) -> str:
        proc = subprocess.run(
            [str(python), "-I", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        return re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)  # no colours

    where = run("-c", "import jupyter_dbx_auth; print(jupyter_dbx_auth.__file__)")
    assert where.strip().startswith(str(target)), where

    installed = target / "share" / "jupyter" / "labextensions" / LABEXT_NAME
    assert not installed.is_symlink()
    assert (installed / "package.json").is_file()

    labext = run("-m", "jupyterlab.labextensions", "list")
    assert re.search(rf"{LABEXT_NAME} v{re.escape(__version__)} enabled\s+OK", labext), labext

    serverext = run("-m", "jupyter_server.extension.serverextension", "list")
    assert re.search(rf"{SERVER_EXT_NAME} enabled", serverext), serverext
    assert re.search(rf"{SERVER_EXT_NAME} {re.escape(__version__)} OK", serverext), serverext
