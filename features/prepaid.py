"""Prepaid-fee supervision (training schools and the like): escrow shortfall and coverage,
and how fast prepaid money comes in."""

from __future__ import annotations

import polars as pl

from features.family import DOWN, NONE, UP, Evidence, Family, Step, Unit, feature, months, names
from features.panel import LATEST, at, change, lag_sum, monthly_panel, ratio, summarise
from features.source_set import SourceSet, one

FAMILY_NAME = "prepaid_fees"
PREPAID_SUPERVISION = one("prepaid_fee_supervision")
WINDOW = months(3)
RECENT = range(WINDOW.length)
BEFORE = range(WINDOW.length, 2 * WINDOW.length)
REPORTED = ("prepaid_received", "escrow_required", "escrow_deposited", "escrow_shortfall")
RECENT_MONTHS = Evidence(PREPAID_SUPERVISION, REPORTED, mode="panel", lags=(*RECENT, *BEFORE))

SHORTFALL = feature(
    "prepaid_escrow_shortfall",
    FAMILY_NAME,
    [PREPAID_SUPERVISION],
    Unit.cny,
    UP,
    ("最近申报月预收费资金存管缺口", "Prepaid-fee escrow shortfall in the latest reported month"),
    ("预收费资金存管缺口 {value}", "prepaid-fee escrow short by {value}"),
    evidence=[RECENT_MONTHS],
)
COVERAGE = feature(
    "prepaid_escrow_coverage_3m",
    FAMILY_NAME,
    [PREPAID_SUPERVISION],
    Unit.ratio,
    DOWN,
    ("最近3个月预收费实存/应存", "Prepaid-fee escrow deposited / required over the last 3 months"),
    (
        "近3个月预收费仅存管应存的 {value}",
        "only {value} of required prepaid-fee escrow deposited in the last 3 months",
    ),
    window=WINDOW,
    evidence=[RECENT_MONTHS],
)
RECEIVED_TREND = feature(
    "prepaid_received_trend_3m",
    FAMILY_NAME,
    [PREPAID_SUPERVISION],
    Unit.signed_ratio,
    NONE,
    (
        "最近3个月预收费较此前3个月的变化",
        "Prepaid fees received over the last 3 months vs the 3 before",
    ),
    (
        "近3个月预收费较前3个月变化 {value}",
        "prepaid fees received {value} vs the previous 3 months",
    ),
    window=WINDOW,
    evidence=[RECENT_MONTHS],
)


def prepaid(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PREPAID_SUPERVISION)
    if not members:
        return None
    long = monthly_panel(sources, members, grid, list(REPORTED), (*RECENT, *BEFORE))
    return summarise(
        long,
        at("escrow_shortfall", 0).cast(pl.Float64).alias(SHORTFALL.name),
        ratio(lag_sum("escrow_deposited", RECENT), lag_sum("escrow_required", RECENT)).alias(
            COVERAGE.name
        ),
        change(lag_sum("prepaid_received", RECENT), lag_sum("prepaid_received", BEFORE)).alias(
            RECEIVED_TREND.name
        ),
    ).drop(LATEST)


SPECS = (SHORTFALL, COVERAGE, RECEIVED_TREND)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(prepaid, names(SPECS)),))
