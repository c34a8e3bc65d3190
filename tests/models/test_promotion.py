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


# ---------------------------------------------------------------- the baseline gate

from models.promotion import BaselineVerdict, Incumbent, beats_baseline, gate  # noqa: E402


def _difference(value: float, low: float, high: float) -> dict:
    return {"value": value, "ci_low": low, "ci_high": high}


def test_only_an_interval_above_zero_beats_the_baseline():
    assert beats_baseline(_difference(0.04, 0.01, 0.07), "roc_auc").beats
    within = beats_baseline(_difference(0.02, -0.01, 0.05), "roc_auc")
    assert not within.beats and "not shown better" in within.reason
    worse = beats_baseline(_difference(-0.06, -0.09, -0.02), "roc_auc")
    assert not worse.beats and "worse than its baseline" in worse.reason
    assert not beats_baseline(None, "roc_auc").beats
    assert not beats_baseline(_difference(math.nan, math.nan, math.nan), "roc_auc").beats


def test_for_a_lower_is_better_metric_better_is_below_zero():
    assert beats_baseline(_difference(-0.01, -0.02, -0.005), "brier").beats
    assert not beats_baseline(_difference(0.01, 0.005, 0.02), "brier").beats


WINS = BaselineVerdict(True, "better than its baseline")
LOSES = BaselineVerdict(False, "worse than its baseline")


def test_a_planted_losing_candidate_is_refused_and_the_baseline_serves_on_a_new_model():
    outcome = gate({"pr_auc": 0.5}, LOSES, None, "pr_auc", 0.005)
    assert not outcome.candidate.promote and outcome.candidate.alias == CHALLENGER
    assert outcome.serve_baseline and "no champion yet" in outcome.baseline_reason


def test_a_losing_candidate_leaves_a_good_champion_serving():
    champion = Incumbent(3, "gradient_boosting", {"pr_auc": 0.2}, WINS)
    outcome = gate({"pr_auc": 0.9}, LOSES, champion, "pr_auc", 0.005)
    assert not outcome.candidate.promote and not outcome.serve_baseline
    assert "champion v3 kept" in outcome.candidate.reason


def test_a_champion_losing_to_the_baseline_is_replaced_by_the_baseline():
    champion = Incumbent(3, "gradient_boosting", {"pr_auc": 0.2}, LOSES)
    outcome = gate({"pr_auc": 0.1}, LOSES, champion, "pr_auc", 0.005)
    assert not outcome.candidate.promote and outcome.serve_baseline
    assert "champion v3 lost to the baseline" in outcome.baseline_reason


def test_a_champion_losing_to_the_baseline_gives_way_to_a_winning_candidate_at_any_margin():
    champion = Incumbent(3, "gradient_boosting", {"pr_auc": 0.4}, LOSES)
    outcome = gate({"pr_auc": 0.1}, WINS, champion, "pr_auc", 0.005)
    assert outcome.candidate.promote and not outcome.serve_baseline
    assert "champion v3 was not" in outcome.candidate.reason


def test_a_serving_baseline_is_refreshed_or_must_be_beaten_by_the_margin():
    fallback = Incumbent(4, "logistic_baseline", {"pr_auc": 0.30}, LOSES)
    refused = gate({"pr_auc": 0.1}, LOSES, fallback, "pr_auc", 0.005)
    assert refused.serve_baseline and "is a baseline" in refused.baseline_reason
    short = gate({"pr_auc": 0.302}, WINS, fallback, "pr_auc", 0.005)
    assert not short.candidate.promote and not short.serve_baseline
    assert gate({"pr_auc": 0.4}, WINS, fallback, "pr_auc", 0.005).candidate.promote


def test_a_winning_candidate_still_has_to_beat_a_good_champion_by_the_margin():
    champion = Incumbent(2, "gradient_boosting", {"pr_auc": 0.30}, WINS)
    kept = gate({"pr_auc": 0.301}, WINS, champion, "pr_auc", 0.005)
    assert not kept.candidate.promote and "champion was v2" in kept.candidate.reason
    assert gate({"pr_auc": 0.4}, WINS, champion, "pr_auc", 0.005).candidate.promote
