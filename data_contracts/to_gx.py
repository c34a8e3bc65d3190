"""The Great Expectations suite of a source, derived from its contract (GX objects, no context).

One expectation per declared rule: not-null for non-nullable columns, between for min/max,
in-set for allowed values, regex for patterns, uniqueness for unique columns and for the compound
``unique_key``, and the presence of every canonical column. The suite validates the *typed*
canonical frame, so value rules compare numbers as numbers.

Several deliveries of a source can be validated in one batch: ``partition_by`` names the columns
(the delivery id) within which keys must be unique, because a later delivery may legitimately
repeat a key that an earlier one already carried.
"""

from __future__ import annotations

from collections.abc import Sequence

import great_expectations as gx
import great_expectations.expectations as gxe

from data_contracts.schema import Column, SourceContract


def expectations(
    contract: SourceContract, *, partition_by: Sequence[str] = ()
) -> list[gxe.Expectation]:
    """Every expectation the contract implies, in a stable order."""
    found: list[gxe.Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=contract.column_names,
            exact_match=False,
            notes=f"{contract.id}: every canonical column is present",
        )
    ]
    for column in contract.columns:
        found.extend(_column_expectations(column, partition_by))
    unique_columns = [[c.name] for c in contract.columns if c.unique]
    if list(contract.unique_key) not in unique_columns:
        found.append(
            _uniqueness(list(contract.unique_key), partition_by, note=f"{contract.id} unique key")
        )
    return found


def expectation_suite(
    contract: SourceContract, *, partition_by: Sequence[str] = ()
) -> gx.ExpectationSuite:
    """The suite named after the source."""
    return gx.ExpectationSuite(
        name=contract.id,
        expectations=expectations(contract, partition_by=partition_by),
        meta={"source": contract.id, "title_en": contract.title.en, "title_zh": contract.title.zh},
    )


def _column_expectations(column: Column, partition_by: Sequence[str]) -> list[gxe.Expectation]:
    note = f"{column.description.en} ({column.description.zh}); delivered as {column.raw}"
    found: list[gxe.Expectation] = []
    if not column.nullable:
        found.append(gxe.ExpectColumnValuesToNotBeNull(column=column.name, notes=note))
    if column.min is not None or column.max is not None:
        found.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=column.name, min_value=column.min, max_value=column.max, notes=note
            )
        )
    if column.allowed is not None:
        found.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=column.name, value_set=list(column.allowed), notes=note
            )
        )
    if column.pattern is not None:
        found.append(
            gxe.ExpectColumnValuesToMatchRegex(column=column.name, regex=column.pattern, notes=note)
        )
    if column.unique:
        found.append(_uniqueness([column.name], partition_by, note=note))
    return found


def _uniqueness(columns: list[str], partition_by: Sequence[str], *, note: str) -> gxe.Expectation:
    if len(columns) == 1 and not partition_by:
        return gxe.ExpectColumnValuesToBeUnique(column=columns[0], notes=note)
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=[*columns, *partition_by], notes=note)
