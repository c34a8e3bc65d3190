"""single_inputs: an input alone is oriented by its risk direction, unknown values are left out
and counted, a rare count's lift shows what its ROC-AUC hides, and too few known rows give no
figure rather than a noisy one."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.labels import LABEL
from tests.benchmarks.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("single_inputs")


def rows(values, labels) -> pl.DataFrame:
    return pl.DataFrame({"x": values, LABEL: labels}, schema={"x": pl.Float64, LABEL: pl.Int8})


def test_a_drop_that_marks_the_events_scores_one_when_lower_is_riskier(bench):
    values = [-0.5] * 60 + [0.1] * 60
    labels = [1] * 60 + [0] * 60
    frame = rows(values, labels)
    assert bench.input_signal(frame, "x", lower_riskier=True)["roc_auc"] == 1.0
    assert bench.input_signal(frame, "x", lower_riskier=False)["roc_auc"] == 0.0


def test_unknown_values_are_left_out_and_counted(bench):
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 400)
    values = np.where(labels == 1, 1.0, 0.0) + rng.normal(0, 0.1, 400)
    values[:100] = np.nan  # a quarter unknown
    signal = bench.input_signal(rows(values, labels), "x", lower_riskier=False)
    assert signal["known_share"] == 0.75
    assert signal["roc_auc"] == 1.0


def test_a_rare_count_shows_its_lift_where_its_roc_auc_cannot(bench):
    # 1,000 rows, 100 events; the count is non-zero on 10 rows, 5 of them events: lift 5.
    values = [1.0] * 5 + [0.0] * 95 + [1.0] * 5 + [0.0] * 895
    labels = [1] * 100 + [0] * 900
    signal = bench.input_signal(rows(values, labels), "x", lower_riskier=False)
    assert signal["nonzero_share"] == 0.01
    assert signal["nonzero_lift"] == 5.0
    assert signal["roc_auc"] == pytest.approx(0.5 + (0.05 - 5 / 900) / 2, abs=1e-3)


def test_too_few_known_rows_or_one_class_give_no_figure(bench):
    few = rows([1.0] * (bench.MIN_ROWS - 1) + [None] * 50, [0, 1] * 74 + [0])
    assert bench.input_signal(few, "x", lower_riskier=False)["roc_auc"] is None
    one_class = rows([float(i) for i in range(200)], [0] * 200)
    assert bench.input_signal(one_class, "x", lower_riskier=False)["roc_auc"] is None


def test_rank_correlation_over_rows_where_both_are_known(bench):
    a = [float(i) for i in range(150)] + [None] * 10
    b = [float(-i) for i in range(150)] + [1.0] * 10
    frame = pl.DataFrame({"a": a, "b": b})
    assert bench.rank_correlation(frame, "a", "b") == -1.0
    assert bench.rank_correlation(frame, "a", "a") == 1.0
    assert bench.rank_correlation(frame.head(50), "a", "b") is None


def test_a_registered_input_takes_its_direction_from_the_registry(bench):
    assert bench.lower_is_riskier("invoices_issued_latest_1m", down=()) is True
    assert bench.lower_is_riskier("not_registered", down=()) is False
    assert bench.lower_is_riskier("not_registered", down=("not_registered",)) is True
