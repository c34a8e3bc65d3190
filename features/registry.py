"""The feature registry: every feature family, collected in table order.

A family module (``features/<family>.py``) declares its features (``FeatureSpec``: name, window,
unit, risk direction, zh/en texts, evidence) and computes them; this module only gathers them.
The feature table's columns, in order, are the families' features in the order below;
explanations, facts, model cards and monotone constraints look features up here.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from features import (
    activity,
    adverse_events,
    annual_report,
    capital,
    complaints,
    consistency,
    contributions,
    courts,
    coverage,
    credit_records,
    energy,
    headcount,
    inspections,
    linked_firms,
    penalties,
    prepaid,
    profile,
    registration,
    tax,
)
from features.family import (
    UNIT_NAMES,
    Direction,
    Evidence,
    Family,
    FeatureSpec,
    Text,
    Unit,
)

__all__ = [
    "FAMILIES",
    "KEY_COLUMNS",
    "SPECS",
    "UNIT_NAMES",
    "Direction",
    "Evidence",
    "Family",
    "FeatureSpec",
    "Text",
    "Unit",
    "column_names",
    "descriptor_names",
    "feature_names",
    "format_value",
    "monotone_constraints",
    "render_reason",
    "spec",
]

FAMILIES: tuple[Family, ...] = (
    profile.FAMILY,
    coverage.FAMILY,
    capital.FAMILY,
    contributions.SOCIAL_INSURANCE_FAMILY,
    contributions.HOUSING_FUND_FAMILY,
    headcount.FAMILY,
    complaints.FAMILY,
    registration.FAMILY,
    linked_firms.FAMILY,
    penalties.FAMILY,
    courts.FAMILY,
    credit_records.FAMILY,
    inspections.FAMILY,
    energy.FAMILY,
    tax.FAMILY,
    activity.FAMILY,
    annual_report.FAMILY,
    prepaid.FAMILY,
    adverse_events.FAMILY,
    consistency.FAMILY,
)
SPECS: tuple[FeatureSpec, ...] = tuple(s for family in FAMILIES for s in family.features)
KEY_COLUMNS = ("uscc", "as_of")


@cache
def _by_name() -> dict[str, FeatureSpec]:
    table: dict[str, FeatureSpec] = {}
    for s in SPECS:
        if s.name in table:
            raise ValueError(f"feature {s.name!r} is registered twice")
        table[s.name] = s
    return table


def spec(name: str) -> FeatureSpec:
    table = _by_name()
    if name not in table:
        raise KeyError(f"no feature named {name!r} in the registry")
    return table[name]


def column_names() -> list[str]:
    """Every non-key column of the feature table, in table order."""
    return [s.name for s in SPECS]


def feature_names() -> list[str]:
    """The model inputs (numeric), in table order."""
    return [s.name for s in SPECS if s.model_input]


def descriptor_names() -> list[str]:
    return [s.name for s in SPECS if not s.model_input]


def monotone_constraints(names: Iterable[str]) -> dict[str, int]:
    """+1 / -1 / 0 per feature from its risk direction."""
    return {n: spec(n).monotone_sign for n in names}


def format_value(name: str, value: object, lang: str = "en") -> str:
    """A value of feature ``name`` as a person reads it, by the feature's unit."""
    return spec(name).format(value, lang)


def render_reason(name: str, value: object, lang: str = "en") -> str:
    """Feature ``name``'s explanation template filled with its formatted value; ``[a|b]``
    becomes ``a`` when the value is one (or minus one) and ``b`` otherwise."""
    return spec(name).reason(value, lang)
