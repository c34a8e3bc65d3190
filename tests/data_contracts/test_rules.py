"""The consistency rules as data: the shipped catalog, and every way a rule file can be wrong."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
import yaml

from data_contracts.catalog import load_all
from data_contracts.rules import (
    PLACEHOLDERS,
    CompareRule,
    GapCheck,
    LapseRule,
    LicenceState,
    RuleError,
    build_catalog,
    load_rules,
    load_topics,
    rule_texts,
)

RULE = {
    "id": "hc_test",
    "kind": "compare",
    "topic": "headcount",
    "department": "market_supervision",
    "severity": "medium",
    "title": {"zh": "标题", "en": "title"},
    "rationale": {"zh": "理由", "en": "why"},
    "period": "year",
    "left": {
        "source": "annual_report_basic",
        "column": "employees",
        "label": {"zh": "年报从业人数", "en": "employees"},
    },
    "right": {
        "source": "si_pension",
        "column": "insured_count",
        "aggregate": "last",
        "label": {"zh": "参保人数", "en": "insured"},
    },
    "check": {"test": "gap", "tolerance": 0.3, "floor": 10},
    "text": {"zh": "{period} {left} 对 {right}", "en": "{period} {left} vs {right}"},
    "simulation": {"rate": 0.01},
}


def catalog(*rules: dict) -> dict:
    texts = {rule["id"]: yaml.safe_dump(rule, allow_unicode=True) for rule in rules}
    return build_catalog(texts, load_all(), load_topics())


def edited(**changes) -> dict:
    rule = copy.deepcopy(RULE)
    for path, value in changes.items():
        target = rule
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        if value is None:
            target.pop(leaf)
        else:
            target[leaf] = value
    return rule


def test_the_shipped_rules_cover_at_least_eight_topics_with_25_rules():
    rules = load_rules()
    topics = load_topics()
    assert len(rules) >= 25
    used = Counter(rule.topic for rule in rules.values())
    assert len(used) >= 8
    assert set(used) == {t.key for t in topics.topics}, "every declared topic has a rule"
    assert {r.department for r in rules.values()} <= {d.key for d in topics.departments}
    assert set(rule_texts()) == set(rules), "one file per rule, named by its id"


def test_the_shipped_rules_read_across_departments_of_the_park():
    """Registration, tax, social insurance, annual reports, energy, licences and courts."""
    contracts = load_all()
    domains = {
        contracts[source].domain.value
        for rule in load_rules().values()
        for source in rule.sources()
    }
    assert {
        "registration",
        "operations_tax",
        "social_insurance",
        "annual_reports",
        "energy",
        "licences",
        "courts",
    } <= domains


@pytest.mark.parametrize("rule_id", sorted(load_rules()))
def test_every_shipped_text_fills_both_values_in_both_languages(rule_id):
    rule = load_rules()[rule_id]
    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    for text in (rule.text.zh, rule.text.en):
        shown = text.format(**values)
        assert "<left>" in shown and "<right>" in shown


def test_a_valid_rule_loads():
    [rule] = catalog(RULE).values()
    assert isinstance(rule, CompareRule)
    assert isinstance(rule.check, GapCheck)
    assert rule.sources() == ["annual_report_basic", "si_pension"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"left__source": "no_such_source"}, "no contract for source 'no_such_source'"),
        ({"left__column": "no_such_column"}, "has no column 'no_such_column'"),
        ({"right__aggregate": "value"}, "needs an aggregate"),
        ({"period": "month"}, "an annual source is read by year"),
        (
            {"period": "month", "left__source": "si_medical", "left__column": "insured_count"},
            "takes aggregate 'value'",
        ),
        ({"topic": "no_topic"}, "unknown topic 'no_topic'"),
        ({"department": "no_department"}, "unknown department 'no_department'"),
        (
            {"left__source": "annual_report_equity", "left__column": "paid_in_amount"},
            "several rows per firm and period",
        ),
        ({"left__column": "operating_status"}, "not numeric for a gap test"),
        ({"check": {"test": "differs"}}, "not a text for a differs test"),
        (
            {"evidence": [{"source": "annual_report_basic", "columns": ["contact_phone"]}]},
            "is personal data",
        ),
        (
            {"evidence": [{"source": "annual_report_basic", "columns": ["nope"]}]},
            "has no column 'nope'",
        ),
        ({"left__source": "court_civil_case", "left__column": "claim_amount"}, "count or exists"),
    ],
)
def test_a_rule_that_does_not_fit_the_contracts_is_refused_naming_rule_and_field(changes, message):
    with pytest.raises(RuleError, match="hc_test") as error:
        catalog(edited(**changes))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"text": {"zh": "{left}", "en": "{left} {right}"}}, "must show both values"),
        ({"text": {"zh": "{left} {right} {firm}", "en": "{left} {right}"}}, "unknown place"),
        ({"check": {"test": "gap", "tolerance": 1.5}}, "less than 1"),
        ({"severity": "urgent"}, "severity"),
        ({"id": "Not-Snake"}, "snake_case"),
        ({"simulation__rate": 2}, "less than or equal to 1"),
        ({"left__attribute": "sector"}, "either a source or an attribute"),
        ({"extra_field": 1}, "Extra inputs are not permitted"),
    ],
)
def test_a_malformed_rule_file_is_refused_naming_the_file(changes, message):
    with pytest.raises(RuleError, match=r"rule file (hc_test|Not-Snake)\.yaml") as error:
        catalog(edited(**changes))
    assert message in str(error.value)


def test_a_file_whose_id_differs_from_its_name_is_refused():
    texts = {"other_name": yaml.safe_dump(RULE, allow_unicode=True)}
    with pytest.raises(RuleError, match=r"other_name\.yaml declares id 'hc_test'"):
        build_catalog(texts, load_all(), load_topics())


def test_broken_yaml_names_the_file():
    with pytest.raises(RuleError, match=r"rule file broken\.yaml"):
        build_catalog({"broken": "id: [unclosed"}, load_all(), load_topics())


def test_two_rules_reconciling_one_column_are_refused():
    second = edited(id="hc_test_two")
    with pytest.raises(RuleError, match=r"both reconcile annual_report_basic\.employees"):
        catalog(RULE, second)


def test_a_correction_of_a_value_another_rule_compares_against_is_refused():
    corrected = edited(simulation={"rate": 0.01, "corrected_share": 0.2})
    reader = edited(
        id="hc_reader",
        left={
            "source": "annual_report_social_insurance",
            "column": "pension_insured",
            "label": {"zh": "a", "en": "a"},
        },
        right={
            "source": "annual_report_basic",
            "column": "employees",
            "label": {"zh": "b", "en": "b"},
        },
    )
    with pytest.raises(RuleError, match="would contradict rule hc_reader"):
        catalog(corrected, reader)


def test_two_lapse_rules_on_one_licence_source_are_refused():
    lapse = next(r for r in load_rules().values() if isinstance(r, LapseRule))
    assert isinstance(lapse.state, LicenceState)
    data = lapse.model_dump(mode="json", exclude_none=True)
    twin = {**copy.deepcopy(data), "id": f"{lapse.id}_twin"}
    with pytest.raises(RuleError, match=f"both lapse {lapse.state.licences[0]}"):
        catalog(data, twin)


def test_a_lapse_rule_needs_a_monthly_activity_and_registration_statuses():
    lapse = next(
        r
        for r in load_rules().values()
        if isinstance(r, LapseRule) and not isinstance(r.state, LicenceState)
    )
    data = lapse.model_dump(mode="json", exclude_none=True)
    with pytest.raises(RuleError, match="not a monthly source"):
        catalog(
            {
                **data,
                "activity": {
                    **data["activity"],
                    "source": "court_civil_case",
                    "column": "claim_amount",
                },
            }
        )
    with pytest.raises(RuleError, match=r"statuses \['停业'\] are not registration statuses"):
        catalog({**data, "state": {"statuses": ["停业"]}})


def test_a_both_test_needs_a_planted_value_and_conditions_that_fit():
    both = next(
        r
        for r in load_rules().values()
        if isinstance(r, CompareRule) and r.check.test == "both" and r.simulation.reconcile
    )
    data = both.model_dump(mode="json", exclude_none=True)
    sim = {k: v for k, v in data["simulation"].items() if k != "consistent_value"}
    with pytest.raises(RuleError, match=r"reconciling needs simulation\.consistent_value"):
        catalog({**data, "simulation": sim})
    check = copy.deepcopy(data["check"])
    check["left"] = {"op": "eq", "value": "Z"}
    with pytest.raises(RuleError, match=r"values \['Z'\] are not allowed"):
        catalog({**data, "check": check})
