from datetime import date

import numpy as np
import polars as pl
import pytest

from models.evaluate import compare, evaluate
from models.oracle import oracle_scores


def _stress() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "uscc": ["a", "a", "b", "b"],
            "month": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 1, 1), date(2026, 2, 1)],
            "stress": [0.1, 0.4, -0.2, 0.9],
        }
    )


def test_each_test_row_gets_its_firms_stress_in_the_as_of_month_in_row_order():
    test = pl.DataFrame(
        {"uscc": ["b", "a", "a"], "as_of": [date(2026, 2, 28), date(2026, 1, 4), date(2026, 2, 1)]}
    )
    assert oracle_scores(test, _stress()).to_list() == [0.9, 0.1, 0.4]


def test_a_row_the_simulator_does_not_know_is_named():
    test = pl.DataFrame({"uscc": ["a", "z"], "as_of": [date(2026, 1, 4), date(2026, 1, 4)]})
    with pytest.raises(ValueError, match=r"1 of 2 test rows.*uscc z"):
        oracle_scores(test, _stress())


def test_compare_scores_every_scorer_on_the_same_resamples_and_pairs_them():
    rng = np.random.default_rng(3)
    n = 1200
    y = (rng.random(n) < 0.1).astype(int)
    strong, weak = y + rng.normal(0, 0.7, n), y + rng.normal(0, 3.0, n)
    weeks, firms = np.repeat(np.arange(12), 100), np.tile(np.arange(100), 12)
    result = compare(
        y,
        {"model": weak, "oracle": strong},
        [("model", "oracle")],
        k=10,
        as_of=weeks,
        cluster=firms,
        n_boot=60,
        seed=5,
    )
    alone = evaluate(y, weak, k=10, as_of=weeks, cluster=firms, n_boot=60, seed=5)
    assert result["scorers"]["model"]["roc_auc"] == alone["roc_auc"]  # the same resamples
    ratio = result["pairs"]["model/oracle"]["roc_auc"]["ratio"]
    oracle_auc = result["scorers"]["oracle"]["roc_auc"]["value"]
    assert ratio["value"] == pytest.approx(alone["roc_auc"]["value"] / oracle_auc)
    assert ratio["ci_low"] <= ratio["value"] <= ratio["ci_high"] < 1.0
    difference = result["pairs"]["model/oracle"]["pr_auc"]["difference"]
    assert difference["ci_high"] < 0  # the oracle is clearly better on the same rows
    with pytest.raises(ValueError, match="not given"):
        compare(y, {"model": weak}, [("model", "oracle")], k=10)
