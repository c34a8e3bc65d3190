"""The registry: complete, consistent, and its texts read well."""

from __future__ import annotations

import re

import pytest

from data_contracts import catalog
from features.registry import (
    SPECS,
    Direction,
    Unit,
    column_names,
    descriptor_names,
    feature_names,
    format_value,
    monotone_constraints,
    render_reason,
    spec,
)


def test_names_are_unique_snake_case_and_split_into_features_and_descriptors():
    names = column_names()
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n in names)
    assert sorted(feature_names() + descriptor_names()) == sorted(names)
    assert set(descriptor_names()) == {
        "sector",
        "district",
        "ownership_type",
        "size_band",
        "insufficient_data",
    }


def test_every_feature_reads_shipped_contracts_and_never_the_outcomes():
    shipped = set(catalog.load_all())
    for s in SPECS:
        assert s.sources, s.name
        assert set(s.sources) <= shipped, s.name
        assert "outcome_distress_event" not in s.sources, s.name


def test_family_features_read_every_member_of_the_family():
    penalty_sources = {c for c in catalog.load_all() if c.startswith("penalty_")}
    assert set(spec("penalty_count_365d").sources) == penalty_sources
    assert len(spec("n_sources_known").sources) == len(catalog.load_all()) - 1


@pytest.mark.parametrize("s", SPECS, ids=lambda s: s.name)
def test_every_template_renders_in_both_languages(s):
    sample = "制造业" if s.unit == Unit.category else 3.0
    for lang in ("zh", "en"):
        text = render_reason(s.name, sample, lang)
        assert "{" not in text and "[" not in text and "|" not in text and text.strip()
        assert s.description.get(lang)
        assert s.name in s.card_line(lang)


def test_housing_fund_reason_reads_as_written():
    assert render_reason("hf_arrears_consecutive_months", 4.0, "zh") == "公积金已连续欠缴 4 个月"
    assert render_reason("hf_arrears_consecutive_months", 4.0, "en") == (
        "housing fund unpaid for 4 consecutive months"
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("complaint_count_90d", 1.0, "1 complaint in the last 90 days"),
        ("complaint_count_90d", 2.0, "2 complaints in the last 90 days"),
        ("complaint_count_90d", 0.0, "0 complaints in the last 90 days"),
        ("headcount_latest", 1, "1 insured employee"),
        ("penalty_count_365d", 1.0, "1 administrative penalty in the last 365 days"),
        ("penalty_count_365d", 3.0, "3 administrative penalties in the last 365 days"),
        (
            "legal_rep_change_count_365d",
            1.0,
            "legal representative changed 1 time in the last 365 days",
        ),
        ("headcount_change_3m", -1.0, "insured headcount changed by -1 vs 3 months earlier"),
        ("si_arrears_consecutive_months", 1.0, "social insurance unpaid for 1 consecutive month"),
        ("n_sources_known", 12.0, "data on the firm from 12 sources"),
        ("complaint_count_90d", None, "unknown complaints in the last 90 days"),
    ],
)
def test_english_nouns_agree_with_the_value(name, value, expected):
    assert render_reason(name, value, "en") == expected


def test_chinese_reasons_have_no_number_choices():
    # Chinese has no plural: a "[a|b]" choice in a Chinese template would be shown as written.
    assert not [s.name for s in SPECS if "|" in s.template.zh]


@pytest.mark.parametrize(
    ("name", "value", "lang", "expected"),
    [
        ("si_arrears_amount_3m", 123456.0, "zh", "12.35 万元"),
        ("si_arrears_amount_3m", 123456.0, "en", "CNY 123,456"),
        ("si_arrears_amount_3m", 2.5e8, "zh", "2.50 亿元"),
        ("si_arrears_amount_3m", 2.5e6, "en", "CNY 2.50 million"),
        ("capital_reduction_amount_365d", 500.0, "zh", "500.00 万元"),
        ("capital_reduction_share_365d", 0.256, "en", "25.6%"),
        ("headcount_change_rel_3m", -0.25, "en", "-25.0%"),
        ("headcount_change_3m", 12.0, "en", "+12"),
        ("penalty_count_365d", 1234.0, "en", "1,234"),
        ("tax_credit_rating", 4.0, "en", "D"),
        ("insufficient_data", 1.0, "zh", "是"),
        ("firm_age_years", 3.456, "en", "3.5"),
        ("si_arrears_amount_3m", None, "zh", "未知"),
        ("si_arrears_amount_3m", float("nan"), "en", "unknown"),
    ],
)
def test_values_format_by_unit(name, value, lang, expected):
    assert format_value(name, value, lang) == expected


def test_unknown_feature_and_language_are_errors():
    with pytest.raises(KeyError, match="no_such_feature"):
        spec("no_such_feature")
    with pytest.raises(ValueError, match="fr"):
        render_reason("penalty_count_365d", 1, "fr")


def test_monotone_constraints_follow_the_direction():
    signs = monotone_constraints(["penalty_count_365d", "si_paid_ratio_3m", "firm_age_years"])
    assert signs == {"penalty_count_365d": 1, "si_paid_ratio_3m": -1, "firm_age_years": 0}
    assert spec("si_paid_ratio_3m").direction == Direction.down


def test_card_line_names_unit_window_sources_and_direction():
    line = spec("capital_reduction_count_90d").card_line("en")
    assert "count" in line and "90d" in line and "reg_capital_change" in line
    assert "higher is riskier" in line
    assert "越高风险越高" in spec("capital_reduction_count_90d").card_line("zh")


# Stress-carrying sources that feed no model input of their own (only the data-coverage counts
# and the consistency rules read them), each with why. A source missing here that feeds nothing
# fails the test: the generic benchmark found five such panels carrying the clearest signal
# (BENCHMARKS.md, "The generic benchmark on the same rows").
UNFED_STRESS_SOURCES = {
    "reg_deregistration": "the general model's label",
    **{
        source: "measured twice as inputs without gain, not shipped (BENCHMARKS.md)"
        for source in (
            "prepaid_fee_course_sales",
            *(c.id for c in catalog.load_all().values() if c.id.startswith("licence_")),
        )
    },
}
NOT_OF_THEIR_OWN = ("coverage", "consistency")


def test_every_stress_carrying_source_feeds_a_model_input_of_its_own_or_says_why_not():
    contracts = catalog.load_all()
    fed = {
        source
        for s in SPECS
        if s.model_input and s.family not in NOT_OF_THEIR_OWN
        for family in s.source_families
        for source in contracts
        if family.matches(source)
    }
    carrying = {
        source
        for source, c in contracts.items()
        if c.simulation is not None and c.simulation.stress_sensitivity
    }
    assert sorted(carrying - fed) == sorted(UNFED_STRESS_SOURCES)
