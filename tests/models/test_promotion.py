import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.promotion import CHALLENGER, CHAMPION, decide

scores = st.floats(min_value=0.0, max_value=0.9, allow_nan=False)
margins = st.floats(min_value=0.0, max_value=0.05, allow_nan=False)


def test_no_champion_promotes_with_reason():
    decision = decide({"pr_auc": 0.31}, None, "pr_auc", 0.005)
    assert decision.promote
    assert decision.alias == CHAMPION
    assert "no champion" in decision.reason and "0.3100" in decision.reason


@given(old=scores, margin=margins, extra=st.floats(min_value=0.0, max_value=0.1))
def test_better_by_at_least_margin_promotes(old, margin, extra):
    decision = decide({"pr_auc": old + margin + extra}, {"pr_auc": old}, "pr_auc", margin)
    assert decision.promote
    assert decision.reason.startswith("promoted")


@given(old=scores, margin=st.floats(min_value=0.001, max_value=0.05), short=st.floats(0.01, 1.0))
def test_better_by_less_than_margin_keeps_challenger(old, margin, short):
    new = old + margin * (1 - short)
    decision = decide({"pr_auc": new}, {"pr_auc": old}, "pr_auc", margin)
    assert not decision.promote
    assert decision.alias == CHALLENGER
    assert "kept as challenger" in decision.reason
    assert f"{old:.4f}" in decision.reason


def test_exact_margin_promotes_despite_float_round_off():
    assert decide({"pr_auc": 0.405}, {"pr_auc": 0.4}, "pr_auc", 0.005).promote


def test_worse_candidate_keeps_challenger():
    decision = decide({"pr_auc": 0.20}, {"pr_auc": 0.35}, "pr_auc", 0.0)
    assert not decision.promote
    assert "-0.1500" in decision.reason


def test_lower_is_better_metric_brier_promotes_smaller():
    assert decide({"brier": 0.05}, {"brier": 0.08}, "brier", 0.01).promote
    assert not decide({"brier": 0.08}, {"brier": 0.05}, "brier", 0.0).promote


def test_metric_with_confidence_interval_uses_point_value():
    candidate = {"pr_auc": {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6}}
    champion = {"pr_auc": {"value": 0.45, "ci_low": 0.3, "ci_high": 0.55}}
    assert decide(candidate, champion, "pr_auc", 0.01).promote


def test_undefined_candidate_metric_never_promotes():
    decision = decide({"pr_auc": math.nan}, {"pr_auc": 0.3}, "pr_auc", 0.0)
    assert not decision.promote and "undefined" in decision.reason
    assert not decide({"pr_auc": None}, None, "pr_auc", 0.0).promote


def test_undefined_champion_metric_does_not_block():
    decision = decide({"pr_auc": 0.2}, {"pr_auc": math.nan}, "pr_auc", 0.005)
    assert decision.promote and "undefined" in decision.reason


def test_missing_metric_names_side_and_metric():
    with pytest.raises(KeyError, match="champion metrics lack 'pr_auc'"):
        decide({"pr_auc": 0.2}, {"roc_auc": 0.7}, "pr_auc", 0.0)


def test_negative_margin_is_rejected():
    with pytest.raises(ValueError, match="margin"):
        decide({"pr_auc": 0.2}, None, "pr_auc", -0.1)
