"""Pooled training (models.pooled) on two tiny hand-built industries: one booster, a model each."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from models.config import load_industries
from models.explain import explanation_frame, top_reasons
from models.pooled import Member, indicator, train_pooled
from models.train import FIXED_INPUTS, RiskModel, TrainConfig, frame_inputs

from .conftest import snapshot_park

KNOWN_UNTIL = date(2025, 12, 28)
FAST = TrainConfig(max_rounds=60, early_stopping_rounds=10, learning_rate=0.2, nthread=1)
MEMBERS = ("finance", "education")


def _member(key: str, seed: int, prefix: str) -> Member:
    spec = load_industries()[key]
    history, outcomes = snapshot_park(
        seed, firms=120, sector=spec.sector_value, event_type=spec.event_type
    )
    # Distinct firms per industry: the same synthetic codes would otherwise repeat.
    rename = pl.col("uscc").str.replace("MA", prefix)
    return Member(history.with_columns(rename), outcomes.with_columns(rename), spec)


@pytest.fixture(scope="module")
def members() -> dict[str, Member]:
    return {"finance": _member("finance", 3, "FA"), "education": _member("education", 4, "ED")}


@pytest.fixture(scope="module")
def results(members):
    return train_pooled(
        members, known_until=KNOWN_UNTIL, directions={"f_signal": "up"}, seed=5, config=FAST
    )


def _test_rows(members, key: str, result) -> pl.DataFrame:
    """The member's test snapshots with their features, as the flow reads them back."""
    keys = result.test_predictions.select("uscc", "as_of")
    return keys.join(members[key].history, on=["uscc", "as_of"], how="left")


def test_each_member_gets_the_one_booster_with_its_own_indicators_fixed(results):
    assert list(results) == list(MEMBERS)
    finance, education = results["finance"].model, results["education"].model
    assert finance.feature_names == ("f_signal", "f_noise", *(indicator(k) for k in MEMBERS))
    assert finance.metadata[FIXED_INPUTS] == {"industry_is_finance": 1, "industry_is_education": 0}
    assert education.metadata[FIXED_INPUTS] == {
        "industry_is_finance": 0,
        "industry_is_education": 1,
    }
    assert bytes(finance.booster.save_raw("ubj")) == bytes(education.booster.save_raw("ubj"))
    assert frame_inputs(finance) == ("f_signal", "f_noise")


def test_the_booster_learns_from_both_industries_rows(results):
    pool = results["finance"].model.metadata["pool"]
    assert pool["members"] == list(MEMBERS)
    for key in MEMBERS:
        balance = results[key].class_balance["train"]
        assert pool["rows"][key]["train_rows"] == balance["rows"]
        assert pool["rows"][key]["train_events"] == balance["positives"]
    metadata = results["finance"].model.metadata
    assert metadata["train_rows"] == sum(pool["rows"][k]["train_rows"] for k in MEMBERS)
    assert metadata["valid_rows"] == sum(pool["rows"][k]["stopping_rows"] for k in MEMBERS)


def test_each_member_is_calibrated_on_its_own_valid_rows(results, members):
    for key in MEMBERS:
        result, model = results[key], results[key].model
        valid = result.class_balance["valid"]
        assert model.metadata["calibration_rows"] == valid["rows"]
        assert model.metadata["calibration_positives"] == valid["positives"]
    # The same booster with different indicators and calibrators: the members' probabilities
    # for one and the same row differ.
    rows = _test_rows(members, "finance", results["finance"]).head(50)
    assert not np.allclose(
        results["finance"].model.predict_proba(rows), results["education"].model.predict_proba(rows)
    )


def test_each_member_is_evaluated_on_its_own_test_rows_beside_its_own_baseline(results):
    for key, prefix in (("finance", "FA"), ("education", "ED")):
        result = results[key]
        assert result.test_predictions["uscc"].str.contains(prefix).all()
        assert result.baseline.feature_names == ("f_signal", "f_noise")  # no indicators
        assert result.metrics["model"]["roc_auc"]["value"] > 0.6
        assert (
            result.params["stopping_rows"]
            == result.model.metadata["pool"]["rows"][key]["stopping_rows"]
        )


def test_a_member_scores_its_own_frames_without_indicator_columns(results, members):
    model = results["education"].model
    rows = _test_rows(members, "education", results["education"])
    marked = rows.with_columns(
        pl.lit(1, pl.Int8).alias("industry_is_education"),
        pl.lit(0, pl.Int8).alias("industry_is_finance"),
    )
    expected = results["education"].test_predictions["p_model"].to_numpy()
    np.testing.assert_allclose(model.predict_proba(rows), expected)
    np.testing.assert_allclose(model.predict_proba(marked), expected)
    np.testing.assert_allclose(model.predict_proba(rows.to_pandas()), expected)


def test_a_frame_whose_indicator_contradicts_the_model_is_refused(results, members):
    model = results["finance"].model
    rows = _test_rows(members, "finance", results["finance"]).head(5)
    wrong = rows.with_columns(pl.Series("industry_is_education", [0, 0, 1, 0, 0]))
    with pytest.raises(ValueError, match=r"'industry_is_education' is 1.0 at row 2.*fixes it at 0"):
        model.predict_proba(wrong)
    missing = rows.with_columns(pl.Series("industry_is_finance", [1, None, 1, 1, 1]))
    with pytest.raises(ValueError, match=r"'industry_is_finance' is None at row 1"):
        model.margin(missing)


def test_the_fixed_inputs_survive_the_byte_round_trip(results, members):
    model = results["finance"].model
    again = RiskModel.from_bytes(model.to_bytes())
    assert again.metadata[FIXED_INPUTS] == model.metadata[FIXED_INPUTS]
    rows = _test_rows(members, "finance", results["finance"])
    np.testing.assert_array_equal(again.predict_proba(rows), model.predict_proba(rows))


def test_contributions_add_up_with_the_indicators_and_never_make_a_reason(results, members):
    model = results["finance"].model
    rows = _test_rows(members, "finance", results["finance"]).head(40)
    contributions = model.contributions(rows)  # raises AdditivityError when the sum is off
    assert contributions.shape == (40, len(model.feature_names) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), model.margin(rows), atol=1e-4)
    uscc = rows["uscc"].to_list()
    # Plant an indicator as every firm's largest contribution: still no reason cites it.
    planted = contributions.copy()
    planted[:, model.feature_names.index("industry_is_finance")] = 10.0
    explained = explanation_frame(uscc, model.feature_names, planted)
    reasons = top_reasons(
        explained, rows, frame_inputs(model), k=5, render=lambda name, value, lang: name
    )
    assert reasons.height > 0
    assert set(reasons["feature"]) <= {"f_signal", "f_noise"}


def test_a_pool_of_one_industry_is_refused(members):
    with pytest.raises(ValueError, match="two industries or more"):
        train_pooled({"finance": members["finance"]}, known_until=KNOWN_UNTIL, config=FAST)


def test_members_with_different_inputs_are_refused_by_name(members):
    odd = members["education"]
    odd = Member(odd.history.drop("f_noise"), odd.outcomes, odd.spec)
    with pytest.raises(ValueError, match=r"finance has \['f_noise'\] that education lacks"):
        train_pooled(
            {"education": odd, "finance": members["finance"]},
            known_until=KNOWN_UNTIL,
            config=FAST,
        )


def test_a_history_column_named_like_an_indicator_is_refused(members):
    clashing = {
        key: Member(m.history.with_columns(industry_is_finance=pl.lit(1)), m.outcomes, m.spec)
        for key, m in members.items()
    }
    with pytest.raises(ValueError, match=r"already has columns named \['industry_is_finance'\]"):
        train_pooled(clashing, known_until=KNOWN_UNTIL, config=FAST)


def test_members_with_different_training_settings_are_refused(members):
    other = members["education"]
    deeper = other.spec.model_copy(
        update={"training": other.spec.training.model_copy(update={"max_depth": 2})}
    )
    with pytest.raises(ValueError, match="must share their training settings"):
        train_pooled(
            {
                "finance": members["finance"],
                "education": Member(other.history, other.outcomes, deeper),
            },
            known_until=KNOWN_UNTIL,
        )


def test_a_member_without_an_event_in_its_valid_weeks_does_not_stop_the_one_asked_for(
    members, results
):
    """A tiny park: education's valid weeks hold no event, so it cannot be calibrated. Asked for
    finance only, the pool still trains on education's rows and finance's model is the one the
    whole pool gives; asked for education, the calibration's refusal names the cause."""
    education = members["education"]
    valid_start = results["education"].boundaries.valid_start
    quiet = Member(
        education.history,
        education.outcomes.filter(pl.col("event_date") <= valid_start),
        education.spec,
    )
    pool = {"finance": members["finance"], "education": quiet}
    only_finance = train_pooled(
        pool,
        known_until=KNOWN_UNTIL,
        directions={"f_signal": "up"},
        seed=5,
        config=FAST,
        wanted=["finance"],
    )
    assert list(only_finance) == ["finance"]
    assert only_finance["finance"].model.metadata["pool"]["members"] == list(MEMBERS)
    with pytest.raises(ValueError, match="calibration needs both classes"):
        train_pooled(pool, known_until=KNOWN_UNTIL, seed=5, config=FAST, wanted=["education"])
    with pytest.raises(ValueError, match=r"\['manufacturing'\] are not members"):
        train_pooled(pool, known_until=KNOWN_UNTIL, seed=5, config=FAST, wanted=["manufacturing"])
