"""The virtualenv the Databricks Connect test runs its kernel in, made on first use.

databricks-connect 16.1 (the newest for Python 3.11) pins numpy < 2, and so an older pyarrow and
pandas: it cannot share the project's virtualenv, where other tests need numpy 2. The kernel
imports jupyter_dbx_auth from the source tree (PYTHONPATH), so only its dependencies go here.
Set JUPYTER_DBX_AUTH_SPARK_VENV to reuse a virtualenv elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import filelock

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / ".venv-spark"
PACKAGES = [
    "databricks-connect==16.1.7",
    "pyarrow<20",
    "pandas<3",
    "ipykernel>=6",
    "ipython>=8",
    "ipywidgets>=8",
    "httpx>=0.27,<1",
    "authlib>=1.3,<2",
    "cryptography>=42",
    "keyring>=24",
    "platformdirs>=3",
    "filelock>=3.12",
    "traitlets>=5.9",
]
CHECK = "import databricks.connect, ipykernel, httpx, grpc, cryptography"


def python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure() -> Path:
    """The venv's python, creating or completing the venv when needed (minutes, once)."""
    path = Path(os.environ.get("JUPYTER_DBX_AUTH_SPARK_VENV") or DEFAULT)
    with filelock.FileLock(str(path) + ".lock", timeout=1200):
        exe = python(path)
        if exe.exists() and _works(exe):
            return exe
        if not exe.exists():
            subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run(
            [str(exe), "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES],
            check=True,
            timeout=1200,
        )
        if not _works(exe):
            raise RuntimeError(f"{path} was set up but cannot import databricks.connect")
        return exe


def _works(exe: Path) -> bool:
    done = subprocess.run([str(exe), "-c", CHECK], capture_output=True, timeout=120)
    return done.returncode == 0
