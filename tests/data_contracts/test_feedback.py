"""The feedback contract: the shipped file is valid, and inconsistent ones are refused."""

from __future__ import annotations

import copy

import pytest
import yaml
from pydantic import ValidationError

from data_contracts.feedback import load_feedback, parse_feedback


@pytest.fixture
def shipped() -> dict:
    from importlib import resources

    text = (resources.files("data_contracts") / "feedback.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def test_the_shipped_contract_loads_with_the_issue_outcome_list() -> None:
    contract = load_feedback()
    assert list(contract.outcomes) == [
        "risk_confirmed",
        "rectification_ordered",
        "no_risk_found",
        "closed_or_unreachable",
        "not_inspected",
    ]
    assert list(contract.methods) == ["targeted", "double_random", "joint"]
    assert contract.confirming() == ["risk_confirmed", "closed_or_unreachable"]
    assert "not_inspected" not in contract.inspected()
    assert contract.department_sources["inspection_random_check"].method == "double_random"


def test_a_result_value_left_unmapped_is_refused(shipped: dict) -> None:
    broken = copy.deepcopy(shipped)
    del broken["department_sources"]["inspection_random_check"]["outcomes"]["未发现经营场所"]
    with pytest.raises(ValidationError, match="未发现经营场所"):
        parse_feedback(broken)


def test_an_unknown_method_or_outcome_is_refused(shipped: dict) -> None:
    broken = copy.deepcopy(shipped)
    broken["department_sources"]["inspection_onsite_result"]["method"] = "surprise"
    with pytest.raises(ValidationError, match="unknown method 'surprise'"):
        parse_feedback(broken)
    broken = copy.deepcopy(shipped)
    broken["department_sources"]["inspection_onsite_result"]["outcomes"]["未发现问题"] = "fine"
    with pytest.raises(ValidationError, match="unknown outcomes"):
        parse_feedback(broken)


def test_two_choices_with_one_label_are_refused(shipped: dict) -> None:
    broken = copy.deepcopy(shipped)
    broken["outcomes"]["no_risk_found"]["zh"] = broken["outcomes"]["risk_confirmed"]["zh"]
    with pytest.raises(ValidationError, match="share a Chinese label"):
        parse_feedback(broken)
