"""The credit risk class policy on hand-built components, one edge case per test."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts import catalog
from models.config import TIER_ORDER
from models.tiering import (
    CAP,
    CREDIT_EVALUATION,
    CREDIT_LIMIT,
    DEFAULT,
    FLOOR,
    MODEL,
    OVERRIDE,
    TieringInputError,
    basis_text,
    load_tier_policy,
    tier_firms,
)

POLICY = load_tier_policy()
LISTED = dt.date(2026, 3, 1)
PROBABILITY = {"A": 0.01, "B": 0.04, "C": 0.1, "D": 0.3}


def firm(uscc: str = "F1", model_tier=None, credit=None, **listed) -> dict:
    row = {
        "uscc": uscc,
        "model": None if model_tier is None else "finance",
        "probability": None if model_tier is None else PROBABILITY[model_tier],
        "model_tier": model_tier,
        "credit_grade": credit,
        "credit_year": None if credit is None else dt.date(2025, 1, 1),
    }
    for key in POLICY.lists:
        row[POLICY.list_column(key)] = LISTED if listed.get(key) else None
    return row


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=POLICY.component_schema())


def one(row: dict, policy=POLICY, overrides=None) -> dict:
    return tier_firms(frame(row), policy, overrides).row(0, named=True)


# ---------------------------------------------------------------- steps 1 and 2


def test_a_model_score_alone_sets_the_class():
    result = one(firm(model_tier="C"))
    assert (result["tier"], result["basis"], result["basis_list"]) == ("C", MODEL, None)


def test_a_credit_grade_alone_sets_the_class_when_the_model_could_not_score():
    result = one(firm(credit="C"))
    assert (result["tier"], result["basis"], result["credit_tier"]) == ("C", CREDIT_EVALUATION, "C")


def test_with_neither_the_default_class_applies():
    result = one(firm())
    assert (result["tier"], result["basis"]) == (POLICY.default_tier, DEFAULT)


@pytest.mark.parametrize(("model", "credit"), [("B", "A"), ("A", "B"), ("C", "C"), ("D", "C")])
def test_the_model_within_one_class_of_the_credit_grade_keeps_its_class(model, credit):
    result = one(firm(model_tier=model, credit=credit))
    assert (result["tier"], result["basis"]) == (model, MODEL)


@pytest.mark.parametrize(
    ("model", "credit", "tier"),
    [("D", "A", "B"), ("A", "D", "C"), ("C", "A", "B"), ("A", "C", "B")],
)
def test_the_model_moves_a_firm_at_most_one_class_from_its_credit_grade(model, credit, tier):
    result = one(firm(model_tier=model, credit=credit))
    assert (result["tier"], result["basis"], result["base_tier"]) == (tier, CREDIT_LIMIT, tier)


def test_with_no_steps_allowed_the_credit_grade_decides_whenever_it_exists():
    strict = POLICY.model_copy(update={"max_steps_from_credit": 0})
    assert one(firm(model_tier="D", credit="B"), strict)["tier"] == "B"
    assert one(firm(model_tier="B", credit="B"), strict)["basis"] == MODEL


# ---------------------------------------------------------------- step 3: lists


def test_serious_dishonesty_floors_the_class_at_d():
    result = one(firm(model_tier="A", credit="A", serious_dishonesty=True))
    assert (result["tier"], result["basis"], result["basis_list"]) == (
        "D",
        FLOOR,
        "serious_dishonesty",
    )
    assert result["base_tier"] == "A"


def test_a_floor_already_met_leaves_the_model_as_the_basis():
    result = one(firm(model_tier="D", dishonest_debtor=True))
    assert (result["tier"], result["basis"]) == ("D", MODEL)


def test_the_strictest_floor_binds_when_several_are_in_force():
    result = one(firm(credit="A", dishonest_debtor=True, serious_dishonesty=True))
    assert (result["tier"], result["basis_list"]) == ("D", "serious_dishonesty")


def test_the_red_list_caps_the_class():
    result = one(firm(model_tier="D", credit="C", red_list=True))
    assert (result["tier"], result["basis"], result["basis_list"]) == ("B", CAP, "red_list")


def test_a_floor_wins_over_a_cap():
    result = one(firm(model_tier="A", red_list=True, black_list=True))
    assert (result["tier"], result["basis"], result["basis_list"]) == ("D", FLOOR, "black_list")


def test_a_cap_already_met_changes_nothing():
    result = one(firm(model_tier="A", red_list=True))
    assert (result["tier"], result["basis"], result["basis_list"]) == ("A", MODEL, None)


# ---------------------------------------------------------------- step 4: overrides


def test_an_override_sets_the_class_with_its_reason():
    overrides = pl.DataFrame({"uscc": ["F1"], "tier": ["A"], "reason": ["整改完成，现场核实"]})
    result = one(firm(model_tier="D", serious_dishonesty=True), overrides=overrides)
    assert (result["tier"], result["basis"], result["basis_list"]) == ("A", OVERRIDE, None)
    assert result["override_reason"] == "整改完成，现场核实"


def test_overrides_of_other_firms_change_nothing():
    overrides = pl.DataFrame({"uscc": ["OTHER"], "tier": ["A"], "reason": ["x"]})
    result = one(firm(model_tier="C"), overrides=overrides)
    assert (result["tier"], result["basis"], result["override_reason"]) == ("C", MODEL, None)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"uscc": ["F1"], "tier": ["A"], "reason": ["  "]}, "needs a class .* and a reason"),
        ({"uscc": ["F1"], "tier": ["E"], "reason": ["x"]}, "needs a class"),
        ({"uscc": ["F1", "F1"], "tier": ["A", "B"], "reason": ["x", "y"]}, "more than one"),
        ({"uscc": ["F1"], "tier": ["A"]}, "lack column"),
    ],
)
def test_a_bad_override_is_refused_naming_the_firm(overrides, message):
    with pytest.raises(TieringInputError, match=message):
        tier_firms(frame(firm(model_tier="C")), POLICY, pl.DataFrame(overrides))


# ---------------------------------------------------------------- bad components


def test_a_repeated_firm_is_refused():
    with pytest.raises(TieringInputError, match="repeats firm"):
        tier_firms(frame(firm("F1"), firm("F1")), POLICY)


def test_an_unknown_credit_grade_is_refused_naming_the_firm():
    row = firm("F7", credit="B")
    row["credit_grade"] = "M"
    with pytest.raises(TieringInputError, match="credit_grade is 'M' for firm F7"):
        tier_firms(frame(row), POLICY)


def test_a_probability_without_a_model_class_is_refused():
    row = firm("F3", model_tier="B")
    row["model_tier"] = None
    with pytest.raises(TieringInputError, match="firm F3: columns probability and model_tier"):
        tier_firms(frame(row), POLICY)


def test_a_missing_component_column_is_named():
    with pytest.raises(TieringInputError, match="listed_red_list"):
        tier_firms(frame(firm()).drop("listed_red_list"), POLICY)


# ---------------------------------------------------------------- for any firm


tiers_or_none = st.one_of(st.none(), st.sampled_from(TIER_ORDER))


@st.composite
def components(draw):
    rows = []
    for number in range(draw(st.integers(1, 30))):
        listed = {key: draw(st.booleans()) for key in POLICY.lists}
        rows.append(firm(f"F{number:03d}", draw(tiers_or_none), draw(tiers_or_none), **listed))
    return frame(*rows)


@settings(max_examples=60, deadline=None)
@given(components())
def test_for_any_firm_the_class_respects_every_rule(table):
    rank = {t: i for i, t in enumerate(TIER_ORDER)}
    for row in tier_firms(table, POLICY).iter_rows(named=True):
        tier = rank[row["tier"]]
        in_force = [lst for k, lst in POLICY.lists.items() if row[POLICY.list_column(k)]]
        floors = [rank[lst.tier] for lst in in_force if lst.effect == "floor"]
        caps = [rank[lst.tier] for lst in in_force if lst.effect == "cap"]
        if floors:
            assert tier >= max(floors)
        elif caps:
            assert tier <= min(caps)
        if not floors and not caps and row["credit_tier"] and row["model_tier"]:
            assert abs(tier - rank[row["credit_tier"]]) <= POLICY.max_steps_from_credit
        if row["basis"] == MODEL:
            assert row["tier"] == row["model_tier"]
        if row["basis"] in (FLOOR, CAP):
            assert row["basis_list"] in POLICY.lists
            assert POLICY.lists[row["basis_list"]].tier == row["tier"]


# ---------------------------------------------------------------- the page's sentence


@pytest.mark.parametrize(
    "row",
    [
        firm(model_tier="C"),
        firm(model_tier="D", credit="A"),
        firm(credit="B"),
        firm(),
        firm(model_tier="A", serious_dishonesty=True),
        firm(model_tier="D", red_list=True),
    ],
)
def test_every_basis_reads_as_a_sentence_in_both_languages(row):
    result = one(row)
    zh = basis_text(result, POLICY, "zh", {"finance": "金融"})
    en = basis_text(result, POLICY, "en", {"finance": "Finance"})
    for text in (zh, en):
        assert text and "{" not in text and "None" not in text
    if result["basis"] == FLOOR:
        assert "严重违法失信名单" in zh and "2026-03-01" in en
    if result["basis"] == MODEL:
        assert "金融" in zh and "10.0%" in en


def test_the_override_sentence_quotes_the_reason():
    overrides = pl.DataFrame({"uscc": ["F1"], "tier": ["B"], "reason": ["异议成立"]})
    result = one(firm(model_tier="D"), overrides=overrides)
    assert basis_text(result, POLICY, "zh", {}) == "分析人员调整：异议成立"


# ---------------------------------------------------------------- the shipped policy


def test_the_shipped_policy_reads_sources_and_columns_that_exist():
    contracts = catalog.load_all()
    credit = POLICY.credit_evaluation
    grades = contracts[credit.source].column(credit.grade_column).allowed
    assert set(grades) == set(credit.grades)
    for key, lst in POLICY.lists.items():
        assert lst.source in contracts, key
        if lst.valid_until_column:
            assert contracts[lst.source].column(lst.valid_until_column).type == "date"
    assert POLICY.lists["serious_dishonesty"].effect == "floor"
    assert POLICY.lists["serious_dishonesty"].tier == "D"
