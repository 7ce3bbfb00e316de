"""The example notebooks in docs/notebooks: valid nbformat v4, stored without outputs or
secrets, and every `%dbx_connect` line in them accepted by the magic's own argument parser.

They are not executed (they would need a Databricks workspace); the parser check is what keeps
them from rotting when an option changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from kernel_helpers import CANARY

from jupyter_dbx_auth.kernel.magics import parse_connect_line

ROOT = Path(__file__).resolve().parent.parent.parent
NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))

SECRET_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"dapi[0-9a-f]{16,}",  # personal access token
        r"dose[0-9a-f]{16,}",  # OAuth client secret
        r"eyJ[\w-]{8,}\.[\w-]{8,}",  # a JWT
        r"-----BEGIN [A-Z ]*PRIVATE KEY",
        r"(client_secret|password|token)\s*[=:]\s*['\"]?[\w\-.~+/]{8,}",
        r"\b[A-Za-z0-9+/_-]{40,}\b",  # any long opaque string
    )
]


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code"]


def _magic_lines(text: str, magic: str = "%dbx_connect") -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(magic + " ")]


def test_one_notebook_per_way_to_connect() -> None:
    sources = {p.name: p.read_text() for p in NOTEBOOKS}
    assert len(sources) >= 6, sorted(sources)
    joined = "\n".join(sources.values())
    for needle in ("%dbx_connect prod ", "--sp ", "file-oidc", "--account", "--sql", "picker()"):
        assert needle in joined, needle


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_valid_v4_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    code = _code_cells(nb)
    assert code and code[0].source.strip() == "%load_ext jupyter_dbx_auth"
    for cell in code:
        assert cell.outputs == [], cell.source
        assert cell.execution_count is None, cell.source
    assert nb.metadata.get("widgets") is None  # no saved widget state


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_secret_looking_strings(path: Path) -> None:
    text = path.read_text()
    assert CANARY not in text
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for pattern in SECRET_PATTERNS:
            found = pattern.search(cell.source)
            assert found is None, f"{path.name}: {found.group(0)!r}"  # type: ignore[union-attr]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_dbx_connect_line_parses(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    lines = [line for cell in _code_cells(nb) for line in _magic_lines(cell.source)]
    if "picker()" not in path.read_text():
        assert lines, f"{path.name} has no %dbx_connect line"
    for line in lines:
        args = parse_connect_line(line[len("%dbx_connect") :])
        assert args.name or args.host, line
        if args.var is not None:
            assert args.var.isidentifier(), line


def test_readme_notebook_examples_are_in_the_notebooks() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## In a notebook", 1)[1].split("\n## ", 1)[0]
    in_readme = {" ".join(line.split("#")[0].split()) for line in _magic_lines(section)}
    in_notebooks = {
        " ".join(line.split("#")[0].split())
        for path in NOTEBOOKS
        for cell in _code_cells(nbformat.read(path, as_version=4))
        for line in _magic_lines(cell.source)
    }
    assert in_readme, "README has no %dbx_connect example"
    assert in_readme <= in_notebooks, sorted(in_readme - in_notebooks)


def test_a_trailing_comment_is_not_an_argument() -> None:
    # As the README and `%dbx_connect?` write it; IPython hands the comment to the magic.
    args = parse_connect_line("prod --sp nightly   # the stored service principal")
    assert (args.name, args.sp) == ("prod", "nightly")
