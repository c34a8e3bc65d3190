"""Scoring a new table: drift checks, additive SHAP values, worded reasons, total ranks."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import xgboost as xgb

from models.table_columns import ColumnPlan, plan_columns
from models.table_scoring import (
    MARGIN,
    PROBABILITY,
    ScoringError,
    conform,
    rank_scores,
    score_segment,
    top_reasons,
)
from models.tabular import ROW, TableLayout, prepare_table
from models.train import AdditivityError, TrainConfig, fit_risk_model

LAYOUT = TableLayout(name="train.csv", label="bad")
FAST = TrainConfig(max_rounds=40, early_stopping_rounds=10, learning_rate=0.3, nthread=1)


def firms(n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    lev = rng.normal(size=n)
    sector = rng.choice(["retail", "steel", "mining"], size=n)
    logit = 1.5 * lev - 1 + (sector == "mining") * 1.5
    return pl.DataFrame(
        {
            "leverage": np.where(rng.random(n) < 0.1, np.nan, lev),
            "sector": sector,
            "listed": rng.random(n) < 0.5,
            "bad": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    ).with_columns(pl.col("leverage").fill_nan(None))


@pytest.fixture(scope="module")
def trained() -> tuple[ColumnPlan, object]:
    frame = prepare_table(firms(800, 1), LAYOUT)
    plan = plan_columns(frame, LAYOUT)
    encoded = plan.encode(frame)
    model = fit_risk_model(
        encoded.head(600), encoded.tail(200), plan.feature_names, "bad", config=FAST
    )
    return plan, model


def new_table(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_row_index(ROW, offset=1)


def test_missing_input_columns_are_an_error_naming_them(trained):
    plan, _ = trained
    with pytest.raises(
        ScoringError, match=r"new\.csv: 1 model input column\(s\) missing: 'sector'"
    ):
        conform(new_table(firms(20, 2).drop("sector")), plan, "new.csv")


def test_a_numeric_input_that_arrives_as_text_is_an_error_with_a_hint(trained):
    plan, _ = trained
    drifted = firms(20, 2).with_columns(pl.col("leverage").cast(pl.String).str.replace(r"\.", ","))
    with pytest.raises(
        ScoringError,
        match=r"column 'leverage' was numeric \(Float64\) in training "
        r"but holds String here \(first value '.*,.*'\); check --decimal",
    ):
        conform(new_table(drifted), plan, "new.csv")


def test_a_flag_holding_other_numbers_is_an_error_naming_the_row(trained):
    plan, _ = trained
    bad = firms(5, 2).with_columns(pl.Series("listed", [0, 1, 1, 7, 0]))
    with pytest.raises(
        ScoringError, match="column 'listed' was true/false in training; row 4 holds 7"
    ):
        conform(new_table(bad), plan, "new.csv")


def test_new_categories_range_and_emptiness_are_warnings_not_errors(trained):
    plan, _ = trained
    frame = firms(100, 3).with_columns(
        pl.when(pl.int_range(pl.len()) < 10)
        .then(pl.lit("aerospace"))
        .otherwise("sector")
        .alias("sector"),
        pl.when(pl.int_range(pl.len()) < 60)
        .then(None)
        .otherwise(pl.col("leverage") * 100)
        .alias("leverage"),
    )
    conformed = conform(new_table(frame), plan, "new.csv")
    text = " | ".join(conformed.warnings)
    assert "column 'sector': 10 row(s) hold 1 category without a code of its own" in text
    assert "'aerospace' (10 rows)" in text
    assert "values lie outside the training range" in text
    assert "column 'leverage' is 6" in text
    other = plan.feature("sector").encoding.other_code
    assert conformed.inputs["sector"].head(10).to_list() == [float(other)] * 10


def test_a_text_column_read_as_numbers_is_compared_as_text():
    frame = prepare_table(
        pl.DataFrame({"code": ["10", "20"] * 30, "x": range(60), "bad": [0, 1, 1] * 20}), LAYOUT
    )
    plan = plan_columns(frame, LAYOUT)
    conformed = conform(
        new_table(pl.DataFrame({"code": [10, 20, 30], "x": [1, 2, 3]})), plan, "new.csv"
    )
    assert conformed.inputs["code"].to_list() == [0.0, 1.0, 2.0]
    assert "was text in training and is Int64 here" in conformed.warnings[0]


def test_contributions_add_up_to_the_score_for_every_row(trained):
    plan, model = trained
    conformed = conform(new_table(firms(300, 4)), plan, "new.csv")
    scored = score_segment(model, conformed.inputs)
    contributions = scored.select(*plan.feature_names, "_bias").to_numpy()
    np.testing.assert_allclose(contributions.sum(axis=1), scored[MARGIN].to_numpy(), atol=1e-4)
    np.testing.assert_allclose(
        scored[PROBABILITY].to_numpy(), model.predict_proba(conformed.inputs)
    )


def test_contributions_that_miss_the_score_are_refused(trained, monkeypatch):
    plan, model = trained
    conformed = conform(new_table(firms(30, 5)), plan, "new.csv")
    original = xgb.Booster.predict

    def tampered(self, data, *args, **kwargs):
        result = original(self, data, *args, **kwargs)
        if kwargs.get("output_margin"):
            result = result + 0.01
        return result

    monkeypatch.setattr(xgb.Booster, "predict", tampered)
    with pytest.raises(AdditivityError):
        score_segment(model, conformed.inputs)


def test_reasons_are_the_largest_positive_contributions_worded_with_the_shown_value():
    scored = pl.DataFrame(
        {ROW: [1, 2, 3], "a": [0.5, -0.1, 0.2], "b": [0.7, -0.2, 0.2], "sector": [0.1, -0.3, 0.0]}
    )
    shown = pl.DataFrame(
        {
            ROW: [3, 1, 2],
            "a": [1.0, 2.5, None],
            "b": [3.0, 0.123456789, 4.0],
            "sector": ["steel", "retail", "mining"],
        }
    )
    reasons = top_reasons(scored, shown, ["a", "b", "sector"], k=2)
    assert reasons.row(0) == (1, "b = 0.123457 (+0.700)", "a = 2.5 (+0.500)")
    # Nothing raised row 2's risk: no reason rather than a negative one.
    assert reasons.row(1) == (2, None, None)
    # A tie keeps the input listed first.
    assert reasons.row(2) == (3, "a = 1 (+0.200)", "b = 3 (+0.200)")


def test_ranks_are_total_with_probability_then_score_then_row():
    scored = pl.DataFrame(
        {
            ROW: [1, 2, 3, 4, 5],
            "region": ["n", "s", "n", "s", "n"],
            MARGIN: [0.5, 0.9, 0.7, None, 0.7],
            PROBABILITY: [0.3, 0.3, 0.3, None, 0.3],
        }
    )
    ranked = rank_scores(scored, "region")
    assert ranked[ROW].to_list() == [2, 3, 5, 1, 4]
    assert ranked["rank"].to_list() == [1, 2, 3, 4, None]
    by_row = dict(zip(ranked[ROW], ranked["segment_rank"], strict=True))
    assert by_row == {3: 1, 5: 2, 1: 3, 2: 1, 4: None}
