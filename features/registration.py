"""Registration changes: business scope, legal representative, address, equity, branches,
enterprise type, name, relocation out of the park and shareholders' subscribed contributions.

The firm's own deregistration is not read here: it ends the firm (the active-firm grid drops
it) and its bankruptcy reason is an event of the general model's label (models/industries.yaml).
"""

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
BRANCHES = one("reg_branch_registration")
TYPE_CHANGES = one("reg_enterprise_type_change")
NAME_CHANGES = one("reg_name_change")
RELOCATIONS_OUT = one("reg_relocation_out")
CONTRIBUTION_CHANGES = one("reg_shareholder_contribution_change")
YEAR = days(365)

SCOPE_REDUCED = "缩减"
EQUITY_PLEDGE = "股权质押"
EQUITY_TRANSFER = "股权转让"
SCOPE_SHOWN = ("scope_direction",)
EQUITY_SHOWN = ("change_type", "share_pct")
BRANCH_CLOSED = "注销"
BRANCH_SHOWN = ("branch_action", "branch_name", "branch_district")
CONTRIBUTION_SHOWN = ("shareholder_name", "subscribed_before", "subscribed_after")
CONTRIBUTION_REDUCED = pl.col("subscribed_after") < pl.col("subscribed_before")


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


BRANCH_EVENTS = feature(
    "branch_registration_count_365d",
    FAMILY_NAME,
    [BRANCHES],
    Unit.count,
    UP,
    ("近365天分支机构设立或注销次数", "Branches opened or closed in the last 365 days"),
    (
        "近365天分支机构设立或注销 {value} 次",
        "{value} [branch|branches] opened or closed in the last 365 days",
    ),
    window=YEAR,
    evidence=[Evidence(BRANCHES, BRANCH_SHOWN)],
)
BRANCHES_CLOSED = feature(
    "branch_closed_count_365d",
    FAMILY_NAME,
    [BRANCHES],
    Unit.count,
    UP,
    ("近365天注销分支机构数", "Branches closed in the last 365 days"),
    ("近365天注销分支机构 {value} 个", "{value} [branch|branches] closed in the last 365 days"),
    window=YEAR,
    evidence=[Evidence(BRANCHES, BRANCH_SHOWN, pl.col("branch_action") == BRANCH_CLOSED)],
)
TYPE_CHANGE = feature(
    "enterprise_type_change_count_365d",
    FAMILY_NAME,
    [TYPE_CHANGES],
    Unit.count,
    UP,
    (
        "近365天企业类型（所有制）变更次数",
        "Enterprise-type (ownership) changes in the last 365 days",
    ),
    (
        "近365天企业类型变更 {value} 次",
        "enterprise type changed {value} [time|times] in the last 365 days",
    ),
    window=YEAR,
    evidence=[Evidence(TYPE_CHANGES, ("old_ownership_type", "new_ownership_type"))],
)
NAME_CHANGE = feature(
    "name_change_count_365d",
    FAMILY_NAME,
    [NAME_CHANGES],
    Unit.count,
    UP,
    ("近365天企业名称变更次数", "Name changes in the last 365 days"),
    ("近365天企业名称变更 {value} 次", "name changed {value} [time|times] in the last 365 days"),
    window=YEAR,
    evidence=[Evidence(NAME_CHANGES, ("old_name", "new_name"))],
)
RELOCATION_OUT = feature(
    "relocation_out_count_365d",
    FAMILY_NAME,
    [RELOCATIONS_OUT],
    Unit.count,
    UP,
    (
        "近365天迁出园区登记次数",
        "Registrations moving the firm out of the park in the last 365 days",
    ),
    (
        "近365天办理迁出登记 {value} 次",
        "registered a move out of the park {value} [time|times] in the last 365 days",
    ),
    window=YEAR,
    evidence=[Evidence(RELOCATIONS_OUT, ("destination", "destination_scope"))],
)
CONTRIBUTION_CHANGE = feature(
    "contribution_change_count_365d",
    FAMILY_NAME,
    [CONTRIBUTION_CHANGES],
    Unit.count,
    UP,
    (
        "近365天股东认缴出资变更次数",
        "Shareholders' subscribed-contribution changes in the last 365 days",
    ),
    (
        "近365天股东认缴出资变更 {value} 次",
        "{value} subscribed-contribution [change|changes] in the last 365 days",
    ),
    window=YEAR,
    evidence=[Evidence(CONTRIBUTION_CHANGES, CONTRIBUTION_SHOWN)],
)
CONTRIBUTION_REDUCTION = feature(
    "contribution_reduction_count_365d",
    FAMILY_NAME,
    [CONTRIBUTION_CHANGES],
    Unit.count,
    UP,
    (
        "近365天股东认缴出资减少次数",
        "Shareholders' subscribed contributions reduced in the last 365 days",
    ),
    (
        "近365天股东认缴出资减少 {value} 次",
        "subscribed contributions reduced {value} [time|times] in the last 365 days",
    ),
    window=YEAR,
    evidence=[Evidence(CONTRIBUTION_CHANGES, CONTRIBUTION_SHOWN, CONTRIBUTION_REDUCED)],
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
        Measures(
            BRANCHES,
            {"branch": pl.lit(1), "branch_closed": pl.col("branch_action") == BRANCH_CLOSED},
            columns=("branch_action",),
        ),
        Measures(TYPE_CHANGES, {"type": pl.lit(1)}),
        Measures(NAME_CHANGES, {"name": pl.lit(1)}),
        Measures(RELOCATIONS_OUT, {"relocation_out": pl.lit(1)}),
        Measures(
            CONTRIBUTION_CHANGES,
            {"contribution": pl.lit(1), "contribution_reduced": CONTRIBUTION_REDUCED},
            columns=("subscribed_before", "subscribed_after"),
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
            **event_columns([BRANCH_EVENTS], "branch"),
            **event_columns([BRANCHES_CLOSED], "branch_closed"),
            **event_columns([TYPE_CHANGE], "type"),
            **event_columns([NAME_CHANGE], "name"),
            **event_columns([RELOCATION_OUT], "relocation_out"),
            **event_columns([CONTRIBUTION_CHANGE], "contribution"),
            **event_columns([CONTRIBUTION_REDUCTION], "contribution_reduced"),
        },
    )


CHANGE_SPECS = (
    *SCOPE_CHANGE,
    SCOPE_REDUCTION,
    *LEGAL_REP_CHANGE,
    *ADDRESS_CHANGE,
    *EQUITY_CHANGE,
    EQUITY_PLEDGES,
    EQUITY_TRANSFERS,
)
# Added for issue 22 (sources that carried stress and fed nothing); ablated as one group.
MORE_SPECS = (
    BRANCH_EVENTS,
    BRANCHES_CLOSED,
    TYPE_CHANGE,
    NAME_CHANGE,
    RELOCATION_OUT,
    CONTRIBUTION_CHANGE,
    CONTRIBUTION_REDUCTION,
)
SPECS = (*CHANGE_SPECS, *MORE_SPECS)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(registration_changes, names(SPECS)),))
