"""Every notebook in notebooks/ runs top to bottom in a real Jupyter kernel (nbclient).

Each notebook ends with asserts on its own results, so a notebook that runs but computes
something wrong fails here too. Notebooks are committed without outputs.
"""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: seconds one cell may take (the slowest, a decay fit on the example data, takes ~2 s; the whole
#: notebook test ~30 s)
CELL_TIMEOUT = 60


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory) -> KernelSpecManager:
    """A kernel spec that runs this very interpreter: a "python3" spec installed elsewhere
    on the machine could point at another Python without listcare."""
    root = tmp_path_factory.mktemp("kernels")
    (root / "listcare-test").mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "listcare tests",
        "language": "python",
    }
    (root / "listcare-test" / "kernel.json").write_text(json.dumps(spec))
    return KernelSpecManager(kernel_dirs=[str(root)])


def test_the_notebooks_are_there():
    names = {p.name for p in PATHS}
    assert {
        "01-quickstart.ipynb",
        "02-decay-vs-bounce.ipynb",
        "03-nightly-clean.ipynb",
        "04-cadence.ipynb",
        "05-funnel.ipynb",
    } <= names


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_without_outputs_and_ending_in_asserts(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    for i, cell in enumerate(code):
        assert cell.outputs == [] and cell.execution_count is None, (
            f"code cell {i} has outputs: clear them before committing "
            "(jupyter nbconvert --clear-output --inplace)"
        )
    assert nb.cells[0].cell_type == "markdown", "start with a markdown cell that says what it does"
    assert "assert " in code[-1].source, "the last code cell must check the results with asserts"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path, kernel_specs):
    nb = nbformat.read(path, as_version=4)
    before = sorted(p.name for p in NOTEBOOKS.iterdir())
    client = NotebookClient(
        nb,
        km=KernelManager(kernel_name="listcare-test", kernel_spec_manager=kernel_specs),
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},  # cwd of the kernel
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    # a notebook leaves no files behind in notebooks/ (it would end up committed)
    assert sorted(p.name for p in NOTEBOOKS.iterdir()) == before
    charts = sum(
        "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    if "plot" in "".join(c.source for c in nb.cells if c.cell_type == "code"):
        assert charts >= 1, "a notebook that plots must show its chart"
