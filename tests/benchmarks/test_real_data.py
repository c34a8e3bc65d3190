"""The real-data benchmark's summary over seeds and its merging of runs split over sittings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "real_data.py"


@pytest.fixture(scope="module")
def real_data():
    spec = importlib.util.spec_from_file_location("real_data_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_result(ews: float, default: float, difference: float, won: int) -> dict:
    return {
        "rows": 100,
        "positives": 10,
        "folds": 5,
        "ews": {"auc_mean": ews},
        "default_xgboost": {"auc_mean": default},
        "auc_difference": {"mean": difference, "folds_won_by_ews": won},
    }


def run(real_data, results: dict, folds: int = 5) -> dict:
    return {"folds": folds, "default_xgboost": real_data.DEFAULT_XGBOOST, "results": results}


def test_across_seeds_counts_seeds_ahead_and_folds_won(real_data):
    by_seed = {
        "0": seed_result(0.90, 0.91, -0.01, 1),
        "1": seed_result(0.93, 0.90, 0.03, 4),
        "2": seed_result(0.92, 0.91, 0.01, 3),
    }
    summary = real_data.across_seeds(by_seed)
    assert summary["seeds"] == 3
    assert summary["seeds_ahead"] == 2
    assert summary["folds_won_by_ews"] == 8 and summary["folds"] == 15
    assert summary["ews_auc_mean"] == pytest.approx(0.9166666667)
    assert summary["default_auc_mean"] == pytest.approx(0.9066666667)
    assert summary["difference_mean"] == pytest.approx(0.01)
    # sample sd of (-0.01, 0.03, 0.01) is 0.02; over sqrt(3) seeds
    assert summary["difference_standard_error"] == pytest.approx(0.02 / 3**0.5)


def test_across_seeds_with_one_seed_has_no_standard_error(real_data):
    summary = real_data.across_seeds({"4": seed_result(0.9, 0.8, 0.1, 5)})
    assert summary["difference_standard_error"] is None
    assert summary["seeds_ahead"] == 1


def test_a_tie_on_a_seed_is_not_counted_as_ahead(real_data):
    summary = real_data.across_seeds({"0": seed_result(0.9, 0.9, 0.0, 2)})
    assert summary["seeds_ahead"] == 0


def test_merge_joins_seeds_in_seed_order(real_data):
    this_run = {"1year.arff": {"10": seed_result(0.9, 0.9, 0.0, 2)}}
    earlier = run(
        real_data,
        {
            "1year.arff": {"2": seed_result(0.8, 0.8, 0.0, 2)},
            "5year.arff": {"0": seed_result(0.7, 0.7, 0.0, 2)},
        },
    )
    merged = real_data.merge_results(this_run, earlier, 5, "earlier.json")
    assert list(merged["1year.arff"]) == ["2", "10"]  # numeric order, not "10" < "2"
    assert list(merged["5year.arff"]) == ["0"]
    assert list(this_run["1year.arff"]) == ["10"]  # the inputs are left as they were


def test_merge_refuses_a_seed_run_twice(real_data):
    this_run = {"1year.arff": {"3": seed_result(0.9, 0.9, 0.0, 2)}}
    earlier = run(real_data, {"1year.arff": {"3": seed_result(0.8, 0.8, 0.0, 2)}})
    with pytest.raises(ValueError, match=r"earlier\.json: 1year\.arff seeds 3 are already"):
        real_data.merge_results(this_run, earlier, 5, "earlier.json")


def test_merge_refuses_a_run_with_other_settings(real_data):
    earlier = run(real_data, {"1year.arff": {"0": seed_result(0.8, 0.8, 0.0, 2)}}, folds=3)
    with pytest.raises(ValueError, match=r"old\.json: its settings .*'folds': 3"):
        real_data.merge_results({}, earlier, 5, "old.json")
