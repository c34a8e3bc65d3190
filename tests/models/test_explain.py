import numpy as np
import polars as pl
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st

from models.calibrate import Calibrator
from models.explain import (
    BASE_COLUMN,
    MARGIN_COLUMN,
    check_additivity,
    explanation_frame,
    reason_text,
    top_reasons,
)
from models.train import AdditivityError, RiskModel

FEATURES = ("si_arrears_months_6m", "complaint_count_365d", "firm_age_years")


@pytest.fixture(scope="module")
def tiny_model() -> RiskModel:
    """Risk rises with arrears and complaints; age does little."""
    rng = np.random.default_rng(3)
    x = np.column_stack(
        [rng.integers(0, 7, 400), rng.poisson(1.0, 400), rng.uniform(0, 20, 400)]
    ).astype(np.float64)
    logit = 0.8 * x[:, 0] + 0.6 * x[:, 1] - 4
    y = (rng.random(400) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 0}
    booster = xgb.train(
        params, xgb.DMatrix(x, label=y, feature_names=list(FEATURES)), num_boost_round=30
    )
    return RiskModel(booster, Calibrator("none"), FEATURES)


def _firms(rows: list[tuple[str, float | None, float | None, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"uscc": pl.String, **dict.fromkeys(FEATURES, pl.Float64)}, orient="row"
    )


def test_contributions_from_the_model_pass_the_additivity_check(tiny_model):
    firms = _firms([("a", 6, 4, 2), ("b", 0, 0, 15), ("c", None, 2, None)])
    contributions = tiny_model.contributions(firms)
    check_additivity(contributions, tiny_model.margin(firms), firms["uscc"].to_list())


def test_additivity_gap_fails_loudly_naming_the_firm(tiny_model):
    firms = _firms([("a", 6, 4, 2), ("b", 0, 0, 15)])
    contributions = tiny_model.contributions(firms)
    contributions[1, 0] += 0.01
    with pytest.raises(AdditivityError, match=r"firm b: contributions sum to"):
        check_additivity(contributions, tiny_model.margin(firms), ["a", "b"])


def test_non_finite_contribution_is_an_additivity_error():
    with pytest.raises(AdditivityError, match=r"firm x: .*not finite"):
        check_additivity(np.array([[np.nan, 0.0]]), np.array([0.0]), ["x"])


def test_mismatched_shapes_are_an_additivity_error():
    with pytest.raises(AdditivityError, match="do not match"):
        check_additivity(np.zeros((2, 3)), np.zeros(3), ["a", "b", "c"])


def test_explanation_frame_keeps_base_and_every_feature_and_sums_to_margin(tiny_model):
    firms = _firms([("b", 0, 0, 15), ("a", 6, 4, 2)])
    frame = explanation_frame(firms["uscc"], FEATURES, tiny_model.contributions(firms))
    assert frame.columns == ["uscc", MARGIN_COLUMN, BASE_COLUMN, *FEATURES]
    assert frame["uscc"].to_list() == ["a", "b"]  # sorted
    total = frame.select(pl.sum_horizontal(BASE_COLUMN, *FEATURES)).to_series()
    np.testing.assert_allclose(total.to_numpy(), frame[MARGIN_COLUMN].to_numpy())
    margin_by_firm = dict(zip(firms["uscc"], tiny_model.margin(firms), strict=True))
    np.testing.assert_allclose(
        frame[MARGIN_COLUMN], [margin_by_firm["a"], margin_by_firm["b"]], atol=1e-5
    )


def test_explanation_frame_rejects_a_matrix_without_the_bias_column():
    with pytest.raises(ValueError, match="plus the bias"):
        explanation_frame(["a"], FEATURES, np.zeros((1, 3)))


def test_top_reasons_are_the_largest_positive_contributions_in_both_languages(tiny_model):
    firms = _firms([("a", 6, 4, 2)])
    explanations = explanation_frame(firms["uscc"], FEATURES, tiny_model.contributions(firms))
    reasons = top_reasons(explanations, firms, FEATURES, k=2)
    contributions = explanations.row(0, named=True)
    expected = sorted(
        (f for f in FEATURES if contributions[f] > 0), key=lambda f: -contributions[f]
    )[:2]
    assert reasons["feature"].to_list() == expected
    assert reasons["reason_rank"].to_list() == list(range(1, len(expected) + 1))
    first = reasons.row(0, named=True)
    assert first["value"] == firms.row(0, named=True)[first["feature"]]
    assert first["reason_zh"] == reason_text(first["feature"], first["value"], "zh")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first["reason_zh"])
    assert first["reason_en"].isascii()


def test_firm_whose_every_feature_lowers_risk_gets_no_reason():
    explanations = pl.DataFrame(
        {"uscc": ["a"], MARGIN_COLUMN: [-3.0], BASE_COLUMN: [-2.0]}
        | {f: [-1.0 / 3] for f in FEATURES}
    )
    reasons = top_reasons(explanations, _firms([("a", 0, 0, 10)]), FEATURES)
    assert reasons.height == 0
    assert reasons.columns == [
        "uscc",
        "reason_rank",
        "feature",
        "contribution",
        "value",
        "reason_zh",
        "reason_en",
    ]


def test_missing_value_that_raised_risk_is_worded_as_no_data():
    explanations = pl.DataFrame(
        {"uscc": ["a"], MARGIN_COLUMN: [-1.0], BASE_COLUMN: [-2.0]}
        | {FEATURES[0]: [1.0], FEATURES[1]: [0.0], FEATURES[2]: [0.0]}
    )
    reasons = top_reasons(explanations, _firms([("a", None, 0, 10)]), FEATURES)
    assert reasons["value"].to_list() == [None]
    assert reasons["reason_zh"][0].endswith("：无数据")
    assert reasons["reason_en"][0].endswith(": no data")


def test_tied_contributions_keep_the_feature_order():
    explanations = pl.DataFrame(
        {"uscc": ["a"], MARGIN_COLUMN: [1.0], BASE_COLUMN: [-0.5]}
        | {FEATURES[0]: [0.5], FEATURES[1]: [0.5], FEATURES[2]: [0.5]}
    )
    reasons = top_reasons(explanations, _firms([("a", 1, 1, 1)]), FEATURES, k=2)
    assert reasons["feature"].to_list() == list(FEATURES[:2])


def test_missing_value_column_is_named():
    explanations = explanation_frame(["a"], FEATURES, np.zeros((1, 4)))
    with pytest.raises(ValueError, match="firm_age_years"):
        top_reasons(explanations, _firms([("a", 1, 1, 1)]).drop("firm_age_years"), FEATURES)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=3),
        min_size=1,
        max_size=8,
    ),
    k=st.integers(1, 4),
)
def test_reasons_are_positive_ordered_and_at_most_k(values, k):
    n = len(values)
    contributions = np.column_stack([np.array(values), np.full(n, -1.0)])
    ids = [f"f{i}" for i in range(n)]
    explanations = explanation_frame(ids, FEATURES, contributions)
    firms = _firms([(u, 1.0, 2.0, 3.0) for u in ids])
    reasons = top_reasons(explanations, firms, FEATURES, k=k)
    assert (reasons["contribution"] > 0).all()
    for _, group in reasons.group_by("uscc"):
        assert group.height <= k
        assert group.sort("reason_rank")["contribution"].is_sorted(descending=True)
    positives = int((np.array(values) > 0).sum(axis=1).clip(max=k).sum())
    assert reasons.height == positives
