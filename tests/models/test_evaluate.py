from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ks_2samp
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.evaluate import (
    METRICS,
    _bootstrap_weights,
    _Ranking,
    average_precision,
    brier_score,
    calibration_table,
    evaluate,
    ks_statistic,
    point_metrics,
    roc_auc,
    top_k_metrics,
)


def scored(seed: int, n: int = 500, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(np.int64)
    p = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.2 * y - 1.5)))
    if ties:
        p = np.round(p, 1)
    return y, p


@pytest.mark.parametrize(("seed", "ties"), [(0, False), (1, True), (2, True)])
def test_metrics_match_sklearn_and_scipy_including_tied_scores(seed, ties):
    y, p = scored(seed, ties=ties)
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert average_precision(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-12)
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert ks_statistic(y, p) == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)


def test_metrics_on_hand_computed_example():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(y, p) == pytest.approx(0.75)
    assert average_precision(y, p) == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert ks_statistic(y, p) == pytest.approx(0.5)


def test_one_class_gives_undefined_ranking_metrics():
    y = np.zeros(5, dtype=np.int64)
    assert np.isnan(roc_auc(y, np.arange(5.0)))
    assert np.isnan(average_precision(y, np.arange(5.0)))


def test_top_k_is_computed_per_week_and_averaged():
    # Week 1: 4 firms, 1 positive ranked first. Week 2: 3 firms, 2 positives, one in the top 2.
    y = np.array([1, 0, 0, 0, 0, 1, 1])
    p = np.array([0.9, 0.8, 0.2, 0.1, 0.9, 0.8, 0.1])
    week = np.array([1, 1, 1, 1, 2, 2, 2])
    got = top_k_metrics(y, p, k=2, groups=week)
    assert got["precision_at_k"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert got["recall_at_k"] == pytest.approx((1 / 1 + 1 / 2) / 2)
    assert got["lift_at_k"] == pytest.approx(((1 / 2) / (1 / 4) + (1 / 2) / (2 / 3)) / 2)


def test_top_k_in_a_week_smaller_than_k_lists_every_firm():
    got = top_k_metrics(np.array([1, 0]), np.array([0.2, 0.1]), k=5)
    assert got["precision_at_k"] == pytest.approx(0.5)
    assert got["recall_at_k"] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_bootstrap_interval_contains_the_point_estimate(seed):
    y, p = scored(seed, n=800)
    result = evaluate(y, p, k=40, n_boot=100, seed=seed)
    assert set(result) == set(METRICS)
    for name, triple in result.items():
        assert triple["ci_low"] <= triple["value"] <= triple["ci_high"], name
    assert result["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, p))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ties=st.booleans(), k=st.integers(1, 12))
def test_a_weighted_resample_scores_as_the_drawn_rows_themselves(seed, ties, k):
    # The bootstrap scores each resample as weights over one sort; scoring the drawn rows
    # (duplicates included, in draw order) must give the same numbers, ties and weeks included.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    y, p = scored(seed, n=n, ties=ties)
    week = rng.integers(0, 4, size=n)
    firm = rng.integers(0, max(1, n // 3), size=n)
    codes = np.unique(firm, return_inverse=True)[1]
    ranking = _Ranking(y, p, k, week)
    for weight in _bootstrap_weights(codes, n_boot=3, seed=seed):
        rows = np.repeat(np.arange(n), weight.astype(np.int64))
        drawn = point_metrics(y[rows], p[rows], k, week[rows])
        weighted = ranking.metrics(weight)
        if 0 < y[rows].sum() < len(rows):
            assert drawn["roc_auc"] == pytest.approx(roc_auc_score(y[rows], p[rows]), abs=1e-12)
            ap = average_precision_score(y[rows], p[rows])
            assert drawn["pr_auc"] == pytest.approx(ap, abs=1e-12)
        for name in METRICS:
            assert weighted[name] == pytest.approx(drawn[name], abs=1e-12, nan_ok=True), name


def test_cluster_bootstrap_is_wider_than_row_bootstrap_for_repeated_firms():
    y, p = scored(6, n=100)
    # Every firm appears ten times with the same outcome and score: ten rows, one piece of evidence.
    repeated_y, repeated_p = np.repeat(y, 10), np.repeat(p, 10)
    firm = np.repeat(np.arange(100), 10)
    rows = evaluate(repeated_y, repeated_p, k=10, n_boot=200, seed=6)["roc_auc"]
    firms = evaluate(repeated_y, repeated_p, k=10, cluster=firm, n_boot=200, seed=6)["roc_auc"]
    assert firms["ci_high"] - firms["ci_low"] > 2 * (rows["ci_high"] - rows["ci_low"])


def test_evaluate_takes_as_of_and_cluster_as_polars_series():
    y, p = scored(7, n=60)
    result = evaluate(
        y,
        p,
        k=3,
        as_of=pl.Series(np.repeat(np.arange(6), 10)),
        cluster=pl.Series([f"F{i % 10}" for i in range(60)]),
        n_boot=20,
    )
    assert 0 <= result["precision_at_k"]["value"] <= 1


def test_evaluate_rejects_non_binary_labels_and_non_finite_scores():
    with pytest.raises(ValueError, match="labels must be 0/1"):
        evaluate([0, 2], [0.1, 0.2], k=1)
    with pytest.raises(ValueError, match="non-finite value at row 1"):
        evaluate([0, 1], [0.1, np.nan], k=1)


def test_calibration_table_counts_every_row_and_keeps_ties_in_one_bin():
    y, p = scored(8, n=1000, ties=True)
    table = calibration_table(y, p, bins=10)
    assert table["rows"].sum() == 1000
    assert table["positives"].sum() == y.sum()
    assert table["bin"].to_list() == list(range(table.height))
    # Bins do not overlap: each bin starts above the previous one's maximum.
    assert (table["p_min"][1:].to_numpy() > table["p_max"][:-1].to_numpy()).all()
    for row in table.iter_rows(named=True):
        in_bin = (p >= row["p_min"]) & (p <= row["p_max"])
        assert row["observed_rate"] == pytest.approx(y[in_bin].mean())
