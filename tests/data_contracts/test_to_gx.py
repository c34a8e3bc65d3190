"""The GX suite is derived from the contract: one expectation per declared rule, nothing else."""

from __future__ import annotations

from functools import cache

import great_expectations.expectations as gxe
import pytest

from data_contracts import catalog
from data_contracts.to_gx import expectation_suite, expectations

CONTRACTS = sorted(catalog.load_all())


@cache
def _derived(source_id: str) -> list:
    """Built once per contract: constructing GX expectations is not free."""
    return expectations(catalog.get(source_id))


def _of(found, kind):
    return [e for e in found if isinstance(e, kind)]


@pytest.mark.parametrize("source_id", CONTRACTS)
def test_every_declared_rule_becomes_its_expectation(source_id):
    contract = catalog.get(source_id)
    found = _derived(source_id)

    not_null = {e.column for e in _of(found, gxe.ExpectColumnValuesToNotBeNull)}
    assert not_null == {c.name for c in contract.columns if not c.nullable}

    between = {
        (e.column, e.min_value, e.max_value) for e in _of(found, gxe.ExpectColumnValuesToBeBetween)
    }
    assert between == {
        (c.name, c.min, c.max) for c in contract.columns if c.min is not None or c.max is not None
    }

    in_set = {e.column: list(e.value_set) for e in _of(found, gxe.ExpectColumnValuesToBeInSet)}
    assert in_set == {c.name: c.allowed for c in contract.columns if c.allowed is not None}

    regex = {e.column: e.regex for e in _of(found, gxe.ExpectColumnValuesToMatchRegex)}
    assert regex == {c.name: c.pattern for c in contract.columns if c.pattern is not None}

    (columns,) = _of(found, gxe.ExpectTableColumnsToMatchSet)
    assert sorted(columns.column_set) == sorted(contract.column_names)
    assert columns.exact_match is False


@pytest.mark.parametrize("source_id", CONTRACTS)
def test_unique_columns_and_unique_key_are_each_checked_once(source_id):
    contract = catalog.get(source_id)
    found = _derived(source_id)
    checked = [[e.column] for e in _of(found, gxe.ExpectColumnValuesToBeUnique)]
    checked += [list(e.column_list) for e in _of(found, gxe.ExpectCompoundColumnsToBeUnique)]
    wanted = [[c.name] for c in contract.columns if c.unique]
    if list(contract.unique_key) not in wanted:
        wanted.append(list(contract.unique_key))
    assert sorted(checked) == sorted(wanted)


def test_compound_unique_key_uses_compound_expectation():
    contract = catalog.get("si_pension")
    (key,) = _of(expectations(contract), gxe.ExpectCompoundColumnsToBeUnique)
    assert list(key.column_list) == list(contract.unique_key)


def test_single_unique_column_uses_column_expectation_without_partition():
    contract = catalog.get("complaint_12345")
    assert contract.unique_key == ["ticket_id"]
    (unique,) = _of(expectations(contract), gxe.ExpectColumnValuesToBeUnique)
    assert unique.column == "ticket_id"
    assert not _of(expectations(contract), gxe.ExpectCompoundColumnsToBeUnique)


def test_partition_scopes_every_uniqueness_to_one_delivery():
    contract = catalog.get("complaint_12345")
    found = expectations(contract, partition_by=["_delivery_id"])
    assert not _of(found, gxe.ExpectColumnValuesToBeUnique)
    (unique,) = _of(found, gxe.ExpectCompoundColumnsToBeUnique)
    assert list(unique.column_list) == ["ticket_id", "_delivery_id"]


def test_suite_is_named_after_the_source_and_is_stable():
    contract = catalog.get("reg_enterprise_master")
    first = expectation_suite(contract)
    second = expectation_suite(contract)
    assert first.name == "reg_enterprise_master"
    assert first.expectations == second.expectations
    assert first.meta["title_en"] == contract.title.en
