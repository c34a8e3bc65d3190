import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.oracle import ORACLE
from pipelines.io import read_json
from pipelines.model_exports import (
    Candidate,
    comparisons_from_json,
    evaluation_table,
    json_safe,
    metrics_summary,
    write_metrics,
)


def test_json_safe_turns_nan_and_infinity_into_null_and_numpy_into_python():
    safe = json_safe({"a": math.nan, "b": [np.float64(0.5), np.int64(3)], "c": {"d": math.inf}})
    assert safe == {"a": None, "b": [0.5, 3], "c": {"d": None}}
    assert type(safe["b"][1]) is int


def test_evaluation_table_metric_without_baseline_is_null():
    table = evaluation_table(
        {"model": {"ks": {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6}}, "baseline": {}}
    )
    row = table.row(0, named=True)
    assert table.columns[:2] == ["metric", "model"]
    assert (row["metric"], row["model_ci_high"], row["baseline"]) == ("ks", 0.6, None)


def test_write_metrics_merges_industries_trained_separately(tmp_path):
    path = tmp_path / "metrics.json"
    write_metrics(path, {"finance": {"pr_auc": 0.3}})
    write_metrics(path, {"education": {"pr_auc": math.nan}})
    write_metrics(path, {"finance": {"pr_auc": 0.4}})
    assert read_json(path) == {"finance": {"pr_auc": 0.4}, "education": {"pr_auc": None}}


def test_json_safe_dates_become_iso_text():
    assert json_safe({"t0": date(2026, 1, 5)}) == {"t0": "2026-01-05"}


@pytest.mark.parametrize("value", [None, "x", 3, True])
def test_json_safe_keeps_plain_values(value):
    assert json_safe(value) == value


def _estimate(value: float) -> dict[str, float]:
    return {"value": value, "ci_low": value - 0.1, "ci_high": value + 0.1}


def test_an_undefined_oracle_metric_stored_as_null_reads_back_and_summarises_as_null():
    """A tiny test period leaves the oracle's precision at K undefined: stored as null, it must
    not break the summary the train flow writes (it did, in the tiny notebook park)."""
    stored = json_safe(
        {"scorers": {ORACLE: {"pr_auc": _estimate(0.5), "precision_at_k": _estimate(math.nan)}}}
    )
    assert stored["scorers"][ORACLE]["precision_at_k"]["value"] is None
    candidate = Candidate(
        folder=Path("unused"),
        industry="finance",
        model=None,  # type: ignore[arg-type]  # the summary never touches the model
        metrics={"model": {"pr_auc": _estimate(0.3)}, "baseline": {"pr_auc": _estimate(0.2)}},
        params={},
        class_balance={},
        boundaries={"test_start": "2026-01-05", "test_end": "2026-03-30"},
        test_predictions=pl.DataFrame({"label": [0, 1, 0]}),
        calibration=pl.DataFrame(),
        comparisons=comparisons_from_json(stored),
    )
    summary = metrics_summary(candidate, capacity_k=2)
    assert summary[ORACLE]["pr_auc"] == 0.5
    assert summary[ORACLE]["precision_at_k"] is None
    assert summary[ORACLE]["ci"]["precision_at_k"] == {"low": None, "high": None}
    assert (summary["n_test"], summary["positives"]) == (3, 1)
