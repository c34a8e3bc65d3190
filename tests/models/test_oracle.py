from datetime import date

import numpy as np
import polars as pl
import pytest

from models.config import load_industries
from models.evaluate import compare, evaluate
from models.labels import LABEL
from models.oracle import late_oracle_name, late_oracle_scores, oracle_scores
from models.pipeline import compare_on_test


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


def test_the_late_oracle_is_the_stress_months_before_the_as_of_month_in_row_order():
    test = pl.DataFrame({"uscc": ["b", "a"], "as_of": [date(2026, 2, 28), date(2026, 2, 1)]})
    late = late_oracle_scores(test, _stress(), 1)
    assert late.name == late_oracle_name(1) == "oracle_1m_late"
    assert late.to_list() == [-0.2, 0.1]  # January's stress for February's rows


def test_a_late_oracle_the_simulator_cannot_reach_back_to_is_absent_not_partial():
    test = pl.DataFrame({"uscc": ["a", "a"], "as_of": [date(2026, 1, 4), date(2026, 2, 1)]})
    assert late_oracle_scores(test, _stress(), 1) is None  # December 2025 is before the truth
    with pytest.raises(ValueError, match="at least a month"):
        late_oracle_scores(test, _stress(), 0)
    with pytest.raises(ValueError, match="lacks columns"):
        late_oracle_scores(test, _stress().drop("stress"), 1)


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


def test_the_evaluation_pairs_the_model_with_each_late_oracle_the_truth_reaches():
    """compare_on_test: the oracle and the oracle seen 1 and 3 months late, paired with the
    model on the same rows; a late oracle the simulator's months cannot reach is left out."""
    rng = np.random.default_rng(7)
    firms = [f"f{i:03d}" for i in range(60)]
    weeks = [date(2026, 5, 3), date(2026, 5, 10)]
    predictions = pl.DataFrame(
        {
            "uscc": [f for _ in weeks for f in firms],
            "as_of": [w for w in weeks for _ in firms],
            LABEL: (rng.random(120) < 0.2).astype(np.int8),
            "p_model": rng.random(120),
            "p_baseline": rng.random(120),
        }
    )
    months = [date(2026, m, 1) for m in range(1, 6)]  # January to May
    stress = pl.DataFrame(
        {
            "uscc": [f for _ in months for f in firms],
            "month": [m for m in months for _ in firms],
            "stress": rng.random(len(months) * len(firms)),
        }
    )
    spec = load_industries()["finance"]
    pairs = compare_on_test(predictions, spec, seed=1, stress=stress, n_boot=20)["pairs"]
    assert {"model/oracle", "model/oracle_1m_late", "model/oracle_3m_late"} <= set(pairs)
    ratio = pairs["model/oracle_1m_late"]["precision_at_k"]["ratio"]
    assert np.isfinite(ratio["value"])
    # Only March to May known: April's 1-month-late stress exists, February's 3-month does not.
    recent = stress.filter(pl.col("month") >= date(2026, 3, 1))
    pairs = compare_on_test(predictions, spec, seed=1, stress=recent, n_boot=20)["pairs"]
    assert "model/oracle_1m_late" in pairs and "model/oracle_3m_late" not in pairs
    assert (
        "model/oracle_1m_late" not in compare_on_test(predictions, spec, seed=1, n_boot=20)["pairs"]
    )
