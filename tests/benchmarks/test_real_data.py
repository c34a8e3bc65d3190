"""The real-data benchmark: summaries over seeds, the quick search against the full one, budgets
on a search, the merging of runs split over sittings, and one run on any table (segmented CSV)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "real_data.py"


@pytest.fixture(scope="module")
def real_data():
    spec = importlib.util.spec_from_file_location("real_data_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def search_result(ews: float, difference: float, won: int, seconds: float = 100.0) -> dict:
    return {
        "auc_mean": ews,
        "seconds": seconds,
        "cpu_seconds": seconds / 2,
        "auc_difference": {"mean": difference, "folds_won_by_ews": won},
    }


def seed_result(ews: float, default: float, difference: float, won: int, **more) -> dict:
    return {
        "rows": 100,
        "positives": 10,
        "folds": 5,
        "default_xgboost": {"auc_mean": default, "seconds": 4.0, "cpu_seconds": 4.0},
        "searches": {"full": search_result(ews, difference, won), **more},
    }


def settings(real_data, folds: int = 5, searches=("full",)) -> dict:
    return {
        "folds": folds,
        "default_xgboost": real_data.DEFAULT_XGBOOST,
        "searches": list(searches),
    }


def run(real_data, results: dict, **kwargs) -> dict:
    return {**settings(real_data, **kwargs), "results": results}


def test_across_seeds_counts_seeds_ahead_folds_won_and_the_time_ratio(real_data):
    by_seed = {
        "0": seed_result(0.90, 0.91, -0.01, 1),
        "1": seed_result(0.93, 0.90, 0.03, 4),
        "2": seed_result(0.92, 0.91, 0.01, 3),
    }
    summary = real_data.across_seeds(by_seed, "full")
    assert summary["seeds"] == 3
    assert summary["seeds_ahead"] == 2
    assert summary["folds_won_by_ews"] == 8 and summary["folds"] == 15
    assert summary["ews_auc_mean"] == pytest.approx(0.9166666667)
    assert summary["default_auc_mean"] == pytest.approx(0.9066666667)
    assert summary["difference_mean"] == pytest.approx(0.01)
    # sample sd of (-0.01, 0.03, 0.01) is 0.02; over sqrt(3) seeds
    assert summary["difference_standard_error"] == pytest.approx(0.02 / 3**0.5)
    assert summary["time_ratio"] == pytest.approx(25.0)
    assert summary["cpu_ratio"] == pytest.approx(12.5)


def test_across_seeds_with_one_seed_has_no_standard_error(real_data):
    summary = real_data.across_seeds({"4": seed_result(0.9, 0.8, 0.1, 5)}, "full")
    assert summary["difference_standard_error"] is None
    assert summary["seeds_ahead"] == 1


def test_a_tie_on_a_seed_is_not_counted_as_ahead(real_data):
    summary = real_data.across_seeds({"0": seed_result(0.9, 0.9, 0.0, 2)}, "full")
    assert summary["seeds_ahead"] == 0


def test_the_quick_search_is_measured_against_the_full_one_on_the_same_seeds(real_data):
    by_seed = {
        "0": seed_result(0.95, 0.94, 0.002, 3, quick=search_result(0.95, 0.0015, 3, 20.0)),
        "1": seed_result(0.95, 0.94, 0.004, 4, quick=search_result(0.95, 0.0025, 3, 30.0)),
    }
    line = real_data.against_full(by_seed, "quick")
    assert line["seeds"] == 2
    assert line["gain_kept"] == pytest.approx(0.004 / 0.006)
    assert line["time_share"] == pytest.approx(50.0 / 200.0)
    assert line["cpu_share"] == pytest.approx(25.0 / 100.0)
    assert line["auc_vs_full_mean"] == pytest.approx(-0.001)
    # Without a gain to keep, no share is claimed.
    losing = {"0": seed_result(0.9, 0.91, -0.01, 1, quick=search_result(0.9, -0.005, 2, 10.0))}
    assert real_data.against_full(losing, "quick")["gain_kept"] is None


def test_merge_joins_seeds_in_seed_order(real_data):
    this_run = {"1year.arff": {"10": seed_result(0.9, 0.9, 0.0, 2)}}
    earlier = run(
        real_data,
        {
            "1year.arff": {"2": seed_result(0.8, 0.8, 0.0, 2)},
            "5year.arff": {"0": seed_result(0.7, 0.7, 0.0, 2)},
        },
    )
    merged = real_data.merge_results(this_run, earlier, settings(real_data), "earlier.json")
    assert list(merged["1year.arff"]) == ["2", "10"]  # numeric order, not "10" < "2"
    assert list(merged["5year.arff"]) == ["0"]
    assert list(this_run["1year.arff"]) == ["10"]  # the inputs are left as they were


def test_merge_refuses_a_seed_run_twice(real_data):
    this_run = {"1year.arff": {"3": seed_result(0.9, 0.9, 0.0, 2)}}
    earlier = run(real_data, {"1year.arff": {"3": seed_result(0.8, 0.8, 0.0, 2)}})
    with pytest.raises(ValueError, match=r"earlier\.json: 1year\.arff seeds 3 are already"):
        real_data.merge_results(this_run, earlier, settings(real_data), "earlier.json")


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [({"folds": 3}, "'folds': 3"), ({"searches": ("full", "quick")}, "'quick'")],
)
def test_merge_refuses_a_run_with_other_settings(real_data, kwargs, shown):
    earlier = run(real_data, {"1year.arff": {"0": seed_result(0.8, 0.8, 0.0, 2)}}, **kwargs)
    with pytest.raises(ValueError, match=rf"old\.json: its settings .*{shown}"):
        real_data.merge_results({}, earlier, settings(real_data), "old.json")


def test_a_search_may_carry_a_budget_as_train_table_takes_it(real_data):
    assert real_data.parse_search("quick") == {
        "search": "quick",
        "time_budget": None,
        "candidates": None,
    }
    assert real_data.parse_search("full:c2")["candidates"] == 2
    assert real_data.parse_search("quick:90s")["time_budget"] == 90.0
    assert real_data.with_budget(["full", "quick:c1"], 45.0) == ["full:45s", "quick:c1"]
    assert real_data.with_budget(["full"], None) == ["full"]
    with pytest.raises(ValueError, match="a budget is cN"):
        real_data.parse_search("quick:fast")
    with pytest.raises(ValueError, match="'slow' is not one of"):
        real_data.parse_search("slow")


@pytest.mark.slow
def test_any_table_with_a_segment_and_an_id(real_data, prefect_harness, tmp_path):
    rng = np.random.default_rng(3)
    n = 240
    x = rng.normal(size=n)
    frame = pl.DataFrame(
        {
            "firm": [f"F{i % 120}" for i in range(n)],
            "sector": ["a", "b"] * (n // 2),
            "x": x,
            "noise": rng.normal(size=n),
            "failed": (rng.random(n) < 1 / (1 + np.exp(-(2 * x - 1)))).astype(int),
        }
    )
    frame.write_csv(tmp_path / "firms.csv", separator=";")
    table = {
        "name": "firms.csv",
        "path": tmp_path / "firms.csv",
        "label": "failed",
        "segment": "sector",
        "id": "firm",
        "folds": 2,
        "nthread": 1,
    }
    entries = real_data.run_table(table, 5, ["quick:c1"], tmp_path / "work")
    assert set(entries) == {"firms.csv [a]", "firms.csv [b]"}
    for entry in entries.values():
        assert entry["rows"] == n // 2 and entry["folds"] == 2
        quick = entry["searches"]["quick:c1"]
        assert quick["candidates_searched"] == [1] and quick["cut_by_budget"] is True
        assert len(quick["fold_auc"]) == len(entry["default_xgboost"]["fold_auc"]) == 2
        expected = np.mean(quick["fold_auc"]) - np.mean(entry["default_xgboost"]["fold_auc"])
        assert quick["auc_difference"]["mean"] == pytest.approx(expected)
        assert quick["seconds"] > 0 and entry["default_xgboost"]["seconds"] > 0
        assert quick["cpu_seconds"] > 0 and entry["default_xgboost"]["cpu_seconds"] > 0
    json.dumps(entries)
