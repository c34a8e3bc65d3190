"""The catalog of datasets: each named once, paths built only from safe parts, and no module
outside the catalog spelling a catalogued file name."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from pipelines import datasets
from pipelines.settings import Settings

PIPELINES = Path(datasets.__file__).parent
# An analyst's train-table run writes to a folder of their choosing, outside the workdir: its own
# metrics and scores are not the workdir's datasets of the same name.
OWN_FOLDER = {"table_inputs.py": {"metrics.json"}, "score_table.py": {"scores.parquet"}}


def test_every_dataset_has_one_key_and_one_place():
    keys = [d.key for d in datasets.CATALOG]
    assert len(keys) == len(set(keys))
    patterns = [d.pattern for d in datasets.CATALOG]
    assert len(patterns) == len(set(patterns)), "two datasets share a path"
    for dataset in datasets.CATALOG:
        assert dataset.format and dataset.writer and dataset.about, dataset.key


def test_paths_fill_dates_and_keys(tmp_path):
    day = dt.date(2026, 11, 29)
    assert datasets.SCORING_TABLE.path(tmp_path, as_of=day) == (
        tmp_path / "features" / "as_of=2026-11-29.parquet"
    )
    assert datasets.FEATURE_HISTORY.path(tmp_path) == tmp_path / "features" / "history.parquet"
    assert datasets.SCORES.path(tmp_path, week="2026-W49", industry="finance") == (
        tmp_path / "publish" / "2026-W49" / "finance" / "scores.parquet"
    )
    assert datasets.SCORES.at(tmp_path) == tmp_path / "scores.parquet"
    assert datasets.INGEST_PLAN.directory(tmp_path, run_id="r1") == tmp_path / "ingest" / "r1"


@pytest.mark.parametrize("bad", ["..", "a/b", "", "a\\b", "."])
def test_a_value_that_would_leave_its_folder_is_refused(tmp_path, bad):
    """Values come from people (a week label, an industry key): never a path of their own."""
    with pytest.raises(ValueError, match="industry="):
        datasets.SCORES.path(tmp_path, week="2026-W49", industry=bad)


def test_a_missing_field_is_named(tmp_path):
    with pytest.raises(KeyError, match="as_of"):
        datasets.SCORING_TABLE.path(tmp_path)


def test_settings_folders_are_the_catalogs(tmp_path):
    settings = Settings(workdir=tmp_path)
    assert settings.lake == datasets.LAKE_LEDGER.directory(tmp_path)
    assert settings.features == datasets.FEATURE_HISTORY.directory(tmp_path)
    assert settings.sim_truth == datasets.SIM_FIRMS.directory(tmp_path)


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)
    docstrings = {
        ast.get_docstring(n, clean=False)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
    }
    return found - docstrings


def test_no_module_spells_a_catalogued_file_name():
    """A file name in code outside the catalog is a second place for it (docstrings may cite)."""
    names = {d.file_name for d in datasets.CATALOG if "{" not in d.file_name and "." in d.name}
    names |= {"as_of=", "delivery="}
    offenders = []
    for path in sorted(PIPELINES.rglob("*.py")):
        if path == Path(datasets.__file__):
            continue
        for text in _string_constants(path) - OWN_FOLDER.get(path.name, set()):
            for name in names:
                if text == name or (name.endswith("=") and text.startswith(name)):
                    offenders.append(f"{path.relative_to(PIPELINES.parent)}: {text!r}")
    assert offenders == []
