"""Every notebook under notebooks/ runs top to bottom in a fresh kernel.

Notebooks build their own small workdir when EWS_WORKDIR is not set; the kernel gets a private
temporary directory and Prefect home so nothing outside the test's tmp_path is touched.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_error(path, tmp_path, monkeypatch):
    monkeypatch.delenv("EWS_WORKDIR", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"


def test_notebooks_are_committed_without_outputs():
    """Outputs belong to a run, not to the source: they would go stale and bloat diffs."""
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        cells = enumerate(notebook.cells)
        stale = [i for i, cell in cells if cell.get("outputs") or cell.get("execution_count")]
        assert not stale, f"{path.name}: cells {stale} carry outputs; clear them before committing"
