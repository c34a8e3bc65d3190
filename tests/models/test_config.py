import pytest
from pydantic import ValidationError

from models.config import load_config, load_industries, parse_industries


def _entry(**overrides):
    base = {
        "sector_value": "金融",
        "name": {"zh": "金融", "en": "Finance"},
        "regulator": {"zh": "金融监管局", "en": "Financial bureau"},
        "event_type": "金融风险事件",
        "horizon_days": 180,
        "capacity_k": 22,
        "tiers": {"B": 0.02, "C": 0.06, "D": 0.15},
    }
    return {**base, **overrides}


def _config(**overrides):
    freq = {t: {"zh": t, "en": t} for t in "ABCD"}
    return {"industries": {"finance": _entry(**overrides)}, "inspection_frequency": freq}


def test_shipped_config_has_the_three_industries_with_capacity():
    industries = load_industries()
    assert set(industries) == {"finance", "manufacturing", "education"}
    assert industries["finance"].capacity_k == 22
    assert set(load_config().inspection_frequency) == {"A", "B", "C", "D"}


@pytest.mark.parametrize(
    ("probability", "tier"),
    [(0.0, "A"), (0.0199, "A"), (0.02, "B"), (0.059, "B"), (0.06, "C"), (0.15, "D"), (1.0, "D")],
)
def test_tier_boundaries_are_lower_bounds(probability, tier):
    spec = parse_industries(_config()).industries["finance"]
    assert spec.tier(probability) == tier


def test_tiers_out_of_order_are_rejected():
    with pytest.raises(ValidationError, match="rise strictly"):
        parse_industries(_config(tiers={"B": 0.2, "C": 0.1, "D": 0.3}))


def test_missing_tier_is_rejected():
    with pytest.raises(ValidationError, match="B, C and D"):
        parse_industries(_config(tiers={"C": 0.1, "D": 0.3}))


def test_adding_an_industry_is_config_only():
    data = _config()
    data["industries"]["logistics"] = _entry(sector_value="物流", capacity_k=30)
    parsed = parse_industries(data)
    assert parsed.industries["logistics"].key == "logistics"
    assert parsed.industries["logistics"].capacity_k == 30


def test_training_block_is_shared_and_an_industry_overrides_single_keys():
    data = _config(training={"max_depth": 2})
    data["training"] = {"min_child_weight": 20, "max_depth": 5}
    spec = parse_industries(data).industries["finance"]
    assert spec.training.min_child_weight == 20
    assert spec.training.max_depth == 2  # the industry's own key wins


def test_unknown_training_key_is_rejected():
    with pytest.raises(ValidationError, match="max_depht"):
        parse_industries(_config(training={"max_depht": 2}))


def test_the_general_models_history_sample_keeps_every_nth_week_and_a_stable_firm_subset():
    from datetime import date, timedelta

    from models.config import HistorySample

    sample = HistorySample(every_weeks=4, max_firms=3, salt="s")
    weeks = [date(2026, 1, 4) + timedelta(weeks=k) for k in range(10)]
    assert sample.dates(weeks) == [weeks[1], weeks[5], weeks[9]]  # counted back from the last
    firms = [f"F{i}" for i in range(10)]
    kept = sample.firms(firms)
    assert len(kept) == 3 and kept == sorted(kept)
    # A firm's membership depends on its code and the salt only, not on the others given.
    assert sample.firms([*reversed(firms), "F0"]) == kept
    assert set(sample.firms([*firms, "F10", "F11"])) - set(kept) <= {"F10", "F11"}
    assert HistorySample(every_weeks=4, max_firms=3, salt="t").firms(firms) != kept
    assert HistorySample(max_firms=20).firms(firms) == firms


def _pooled_config(members, **finance_overrides):
    data = _config(**finance_overrides)
    data["industries"]["education"] = _entry(sector_value="教育培训", event_type="停业跑路")
    data["general"] = _entry(sector_value="其他", event_type="通用风险事件")
    data["pool"] = {"members": members}
    return data


def test_a_pool_names_its_members_in_order_and_picks_the_trained_ones():
    parsed = parse_industries(_pooled_config(["education", "finance"]))
    assert parsed.pool.members == ("education", "finance")
    assert parsed.pooled(["finance", "general"]) == ("finance",)
    assert parsed.pooled(["general"]) == ()


def test_no_pool_block_is_no_pool():
    parsed = parse_industries(_config())
    assert parsed.pool.members == ()
    assert parsed.pooled(["finance"]) == ()


def test_a_pool_member_that_is_not_a_declared_industry_is_refused_by_name():
    with pytest.raises(ValidationError, match=r"'logistics' is not a declared industry"):
        parse_industries(_pooled_config(["finance", "logistics"]))


def test_the_general_model_cannot_be_pooled():
    with pytest.raises(ValidationError, match=r"'general' is the general model"):
        parse_industries(_pooled_config(["finance", "general"]))


def test_a_pool_member_with_its_own_training_settings_is_refused():
    with pytest.raises(
        ValueError, match=r"'finance' has its own training settings \['max_depth'\]"
    ):
        parse_industries(_pooled_config(["finance", "education"], training={"max_depth": 2}))


def test_an_industry_outside_the_pool_may_keep_its_own_training_settings():
    data = _pooled_config(["education", "finance"])
    data["industries"]["logistics"] = _entry(sector_value="物流", training={"max_depth": 2})
    assert parse_industries(data).industries["logistics"].training.max_depth == 2


@pytest.mark.parametrize(
    ("members", "message"),
    [(["finance"], "needs two industries or none"), (["finance", "finance"], "more than once")],
)
def test_a_pool_of_one_or_with_a_repeated_member_is_refused(members, message):
    with pytest.raises(ValidationError, match=message):
        parse_industries(_pooled_config(members))
