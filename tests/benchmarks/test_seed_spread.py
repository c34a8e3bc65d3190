"""The seed-spread summary of signal_variants reports: mean and min-max per figure, over the
variants every report has (a variant run at one seed only is left out)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "seed_spread.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("seed_spread_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def result(roc: float, p_at_k_ratio: float) -> dict:
    figure = [0.0, 0.0, 0.0]
    return {
        "metrics": {
            "model": {
                "roc_auc": [roc, 0.0, 1.0],
                "pr_auc": figure,
                "precision_at_k": figure,
            }
        },
        "ratios": {
            "model/oracle": {"precision_at_k": [p_at_k_ratio, 0.0, 1.0]},
            "model/baseline": {"pr_auc": figure},
        },
    }


def report(seed: int, rocs: dict, seconds: dict) -> dict:
    return {
        "seed": seed,
        "results": {v: {"finance": result(roc, roc - 0.2)} for v, roc in rocs.items()},
        "seconds": seconds,
    }


def test_mean_and_range_over_seeds_of_the_variants_every_run_has(bench):
    reports = [
        report(
            7,
            {"current": 0.70, "bagged_3": 0.74, "pooled": 0.9},
            {"current": 10, "bagged_3": 30, "pooled": 5},
        ),
        report(11, {"current": 0.76, "bagged_3": 0.75}, {"current": 12, "bagged_3": 33}),
    ]
    summary = bench.spread(reports)
    assert list(summary) == ["current", "bagged_3"]
    assert summary["current"]["finance"]["ROC"] == [0.73, 0.70, 0.76]
    assert summary["bagged_3"]["finance"]["model/oracle P@K"] == pytest.approx([0.545, 0.54, 0.55])
    assert summary["bagged_3"]["seconds"] == 31.5
    assert summary["current"]["seeds"] == [7, 11]


def test_cpu_seconds_and_served_model_only_where_every_run_recorded_them(bench):
    first = report(7, {"pooled": 0.7, "bagged_3": 0.7}, {"pooled": 10, "bagged_3": 30})
    second = report(8, {"pooled": 0.8, "bagged_3": 0.8}, {"pooled": 12, "bagged_3": 36})
    first["cpu_seconds"] = {"pooled": 15.0, "bagged_3": 50.0}
    second["cpu_seconds"] = {"pooled": 19.0}  # bagged_3's was not recorded in this run
    first["results"]["pooled"]["finance"]["gate"] = {"serves": "gradient_boosting"}
    second["results"]["pooled"]["finance"]["gate"] = {"serves": "logistic_baseline"}
    summary = bench.spread([first, second])
    assert summary["pooled"]["cpu_seconds"] == [17.0, 15.0, 19.0]
    assert "cpu_seconds" not in summary["bagged_3"]
    assert summary["pooled"]["finance"]["served model"] == [1, 2]
    assert "served model" not in summary["bagged_3"]["finance"]
