"""Registration changes: business scope, legal representative, address and equity."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    UP,
    Evidence,
    Family,
    Step,
    Unit,
    days,
    event_columns,
    feature,
    names,
    windowed,
)
from features.source_set import SourceSet, one

FAMILY_NAME = "registration_changes"
SCOPE_CHANGES = one("reg_scope_change")
LEGAL_REP_CHANGES = one("reg_legal_rep_change")
ADDRESS_CHANGES = one("reg_address_change")
EQUITY_CHANGES = one("reg_equity_change")

SCOPE_REDUCED = "缩减"
EQUITY_PLEDGE = "股权质押"
EQUITY_TRANSFER = "股权转让"
SCOPE_SHOWN = ("scope_direction",)
EQUITY_SHOWN = ("change_type", "share_pct")


def _equity(change_type: str) -> Evidence:
    return Evidence(EQUITY_CHANGES, EQUITY_SHOWN, pl.col("change_type") == change_type)


SCOPE_CHANGE = windowed(
    "scope_change_count",
    (days(90), days(365)),
    FAMILY_NAME,
    [SCOPE_CHANGES],
    Unit.count,
    UP,
    ("近{w}天经营范围变更次数", "Business-scope changes in the last {w} days"),
    (
        "近{w}天经营范围变更 {value} 次",
        "{value} business-scope [change|changes] in the last {w} days",
    ),
    evidence=[Evidence(SCOPE_CHANGES, SCOPE_SHOWN)],
)
SCOPE_REDUCTION = feature(
    "scope_reduction_count_365d",
    FAMILY_NAME,
    [SCOPE_CHANGES],
    Unit.count,
    UP,
    ("近365天经营范围缩减次数", "Business-scope reductions in the last 365 days"),
    (
        "近365天经营范围缩减 {value} 次",
        "business scope reduced {value} [time|times] in the last 365 days",
    ),
    window=days(365),
    evidence=[
        Evidence(SCOPE_CHANGES, SCOPE_SHOWN, pl.col("scope_direction") == SCOPE_REDUCED),
    ],
)
LEGAL_REP_CHANGE = windowed(
    "legal_rep_change_count",
    (days(90), days(180), days(365)),
    FAMILY_NAME,
    [LEGAL_REP_CHANGES],
    Unit.count,
    UP,
    ("近{w}天法定代表人变更次数", "Legal-representative changes in the last {w} days"),
    (
        "近{w}天法定代表人变更 {value} 次",
        "legal representative changed {value} [time|times] in the last {w} days",
    ),
    evidence=[Evidence(LEGAL_REP_CHANGES)],
)
ADDRESS_CHANGE = windowed(
    "address_change_count",
    (days(90), days(365)),
    FAMILY_NAME,
    [ADDRESS_CHANGES],
    Unit.count,
    UP,
    ("近{w}天住所变更次数", "Address changes in the last {w} days"),
    ("近{w}天住所变更 {value} 次", "address changed {value} [time|times] in the last {w} days"),
    evidence=[Evidence(ADDRESS_CHANGES, ("old_district", "new_district"))],
)
EQUITY_CHANGE = windowed(
    "equity_change_count",
    (days(90), days(365)),
    FAMILY_NAME,
    [EQUITY_CHANGES],
    Unit.count,
    UP,
    ("近{w}天股权变更次数", "Equity changes in the last {w} days"),
    ("近{w}天股权变更 {value} 次", "{value} equity [change|changes] in the last {w} days"),
    evidence=[Evidence(EQUITY_CHANGES, EQUITY_SHOWN)],
)
EQUITY_PLEDGES = feature(
    "equity_pledge_count_365d",
    FAMILY_NAME,
    [EQUITY_CHANGES],
    Unit.count,
    UP,
    ("近365天股权质押次数", "Equity pledges in the last 365 days"),
    ("近365天股权质押 {value} 次", "{value} equity [pledge|pledges] in the last 365 days"),
    window=days(365),
    evidence=[_equity(EQUITY_PLEDGE)],
)
EQUITY_TRANSFERS = feature(
    "equity_transfer_count_365d",
    FAMILY_NAME,
    [EQUITY_CHANGES],
    Unit.count,
    UP,
    ("近365天股权转让次数", "Equity transfers in the last 365 days"),
    ("近365天股权转让 {value} 次", "{value} equity [transfer|transfers] in the last 365 days"),
    window=days(365),
    evidence=[_equity(EQUITY_TRANSFER)],
)


def registration_changes(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(
            SCOPE_CHANGES,
            {"scope": pl.lit(1), "scope_reduced": pl.col("scope_direction") == SCOPE_REDUCED},
            columns=SCOPE_SHOWN,
        ),
        Measures(LEGAL_REP_CHANGES, {"legal_rep": pl.lit(1)}),
        Measures(ADDRESS_CHANGES, {"address": pl.lit(1)}),
        Measures(
            EQUITY_CHANGES,
            {
                "equity": pl.lit(1),
                "pledge": pl.col("change_type") == EQUITY_PLEDGE,
                "transfer": pl.col("change_type") == EQUITY_TRANSFER,
            },
            columns=("change_type",),
        ),
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns(SCOPE_CHANGE, "scope"),
            **event_columns([SCOPE_REDUCTION], "scope_reduced"),
            **event_columns(LEGAL_REP_CHANGE, "legal_rep"),
            **event_columns(ADDRESS_CHANGE, "address"),
            **event_columns(EQUITY_CHANGE, "equity"),
            **event_columns([EQUITY_PLEDGES], "pledge"),
            **event_columns([EQUITY_TRANSFERS], "transfer"),
        },
    )


SPECS = (
    *SCOPE_CHANGE,
    SCOPE_REDUCTION,
    *LEGAL_REP_CHANGE,
    *ADDRESS_CHANGE,
    *EQUITY_CHANGE,
    EQUITY_PLEDGES,
    EQUITY_TRANSFERS,
)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(registration_changes, names(SPECS)),))
