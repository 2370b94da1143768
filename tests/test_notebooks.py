"""The tutorial notebooks (``notebooks/*.ipynb``) run top to bottom and are stored clean.

Each notebook asserts its key facts inside its cells, so executing it is a test: a failing
``assert`` (or any error) fails the test with the cell and its traceback. A notebook runs
in the ``python3`` kernel of this environment, in a fresh temporary working directory (so
files it writes land there). The demo models come from the xplain cache like in the rest
of the suite (``$XPLAIN_CACHE_DIR`` or ``~/.cache/xplain``; built offline on first use).
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_sentiment_tokens.ipynb",
    "02_adult_tabular.ipynb",
    "03_metrics_and_sanity.ipynb",
    "04_dataset_scale.ipynb",
]
CELL_TIMEOUT_S = 600  # per cell; each notebook takes 15-90 s on 2 CPU cores


def test_the_tutorial_notebooks_are_all_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and any(cell.cell_type == "markdown" for cell in nb.cells)
    for i, cell in enumerate(code):
        assert cell.outputs == [], f"code cell {i} has stored outputs; clear them"
        assert cell.execution_count is None, f"code cell {i} has an execution count"
    assert any("assert " in cell.source for cell in code), "the notebook asserts nothing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_without_error(path, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # inherited by the kernel: never the network
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    errors = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
