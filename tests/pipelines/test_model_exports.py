import math
from datetime import date

import numpy as np
import pytest

from pipelines.io import read_json
from pipelines.model_exports import evaluation_table, json_safe, write_metrics


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
