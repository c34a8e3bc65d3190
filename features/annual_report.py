"""Annual reports: leverage, net margin and revenue growth from the latest report usable at T
(and the one before it for growth); the corrections made to the latest report, and the
guarantees given and equity transfers declared in the latest report of each kind."""

from __future__ import annotations

import polars as pl

from features.family import DOWN, UP, Evidence, Family, Step, Unit, feature, names
from features.panel import LATEST, annual_panel, at, change, ratio, summarise
from features.point_in_time import EVENT_DATE, GRID_ROW, valid_rows
from features.source_set import SourceFamily, SourceSet, one

FAMILY_NAME = "annual_report"
ANNUAL_REPORT = one("annual_report_basic")
CORRECTIONS = one("annual_report_corrections")
GUARANTEES = one("annual_report_guarantees")
EQUITY_TRANSFERS = one("annual_report_equity_transfer")
# A report of year Y arrives in the middle of Y + 1; one more than two years older than T's year
# says nothing about the firm now (a firm that stopped giving guarantees files no rows).
REPORT_REACH_DAYS = 3 * 365 + 1
TEN_THOUSAND_YUAN = 10_000.0
GUARANTEES_SHOWN = ("debtor", "creditor", "principal_amount", "guarantee_type", "term_end")
TRANSFERS_SHOWN = ("shareholder_name", "pct_before", "pct_after", "transfer_date")
REPORTED = ["total_assets", "total_liabilities", "revenue", "net_profit"]
LATEST_REPORTS = Evidence(
    ANNUAL_REPORT,
    ("total_assets", "total_liabilities", "revenue", "net_profit"),
    mode="panel",
    lags=(0, 1),
)

LIABILITY_RATIO = feature(
    "report_liability_ratio",
    FAMILY_NAME,
    [ANNUAL_REPORT],
    Unit.ratio,
    UP,
    ("最近年报资产负债率", "Liabilities / assets in the latest annual report"),
    ("年报资产负债率 {value}", "liabilities at {value} of assets in the latest annual report"),
    evidence=[LATEST_REPORTS],
)
PROFIT_MARGIN = feature(
    "report_profit_margin",
    FAMILY_NAME,
    [ANNUAL_REPORT],
    Unit.signed_ratio,
    DOWN,
    ("最近年报净利润率", "Net profit / revenue in the latest annual report"),
    ("年报净利润率 {value}", "net margin {value} in the latest annual report"),
    evidence=[LATEST_REPORTS],
)
REVENUE_GROWTH = feature(
    "report_revenue_growth",
    FAMILY_NAME,
    [ANNUAL_REPORT],
    Unit.signed_ratio,
    DOWN,
    ("最近年报营业收入较上年变化", "Revenue growth in the latest annual report vs the year before"),
    ("年报营业收入较上年变化 {value}", "annual revenue {value} vs the year before"),
    evidence=[LATEST_REPORTS],
)

CORRECTION_COUNT = feature(
    "report_corrections",
    FAMILY_NAME,
    [CORRECTIONS],
    Unit.count,
    UP,
    ("最近年报的修改次数", "Corrections made to the latest annual report"),
    ("最近年报修改 {value} 次", "latest annual report corrected {value} [time|times]"),
    evidence=[Evidence(CORRECTIONS, ("corrections", "corrected_items"), mode="latest")],
)
GUARANTEE_COUNT = feature(
    "report_guarantee_count",
    FAMILY_NAME,
    [GUARANTEES],
    Unit.count,
    UP,
    ("最近年报披露的对外担保笔数", "Guarantees given, as declared in the latest annual report"),
    (
        "最近年报披露对外担保 {value} 笔",
        "{value} [guarantee|guarantees] given in the latest annual report",
    ),
    evidence=[Evidence(GUARANTEES, GUARANTEES_SHOWN, window_days=REPORT_REACH_DAYS)],
)
GUARANTEE_PRINCIPAL = feature(
    "report_guarantee_principal",
    FAMILY_NAME,
    [GUARANTEES],
    Unit.cny,
    UP,
    (
        "最近年报披露的对外担保主债权合计",
        "Principal of the debts guaranteed, as declared in the latest annual report",
    ),
    (
        "最近年报披露为他人担保债务 {value}",
        "guarantees of {value} of others' debts in the latest annual report",
    ),
    evidence=[Evidence(GUARANTEES, GUARANTEES_SHOWN, window_days=REPORT_REACH_DAYS)],
)
EQUITY_TRANSFER_COUNT = feature(
    "report_equity_transfer_count",
    FAMILY_NAME,
    [EQUITY_TRANSFERS],
    Unit.count,
    UP,
    (
        "最近年报披露的股权变更股东数",
        "Shareholders whose stake changed, per the latest annual report",
    ),
    (
        "最近年报披露 {value} 名股东股权变更",
        "{value} [shareholder's|shareholders'] stake changed in the latest annual report",
    ),
    evidence=[Evidence(EQUITY_TRANSFERS, TRANSFERS_SHOWN, window_days=REPORT_REACH_DAYS)],
)


def annual_report(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(ANNUAL_REPORT)
    if not members:
        return None
    long = annual_panel(sources, members, grid, REPORTED, (0, 1))
    return summarise(
        long,
        ratio(at("total_liabilities", 0), at("total_assets", 0))
        .cast(pl.Float64)
        .alias(LIABILITY_RATIO.name),
        ratio(at("net_profit", 0), at("revenue", 0)).cast(pl.Float64).alias(PROFIT_MARGIN.name),
        change(at("revenue", 0), at("revenue", 1)).cast(pl.Float64).alias(REVENUE_GROWTH.name),
    ).drop(LATEST)


def report_corrections(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(CORRECTIONS)
    if not members:
        return None
    long = annual_panel(sources, members, grid, ["corrections"], (0,))
    return summarise(long, at("corrections", 0).cast(pl.Float64).alias(CORRECTION_COUNT.name)).drop(
        LATEST
    )


def latest_report_sums(
    grid: pl.LazyFrame,
    sources: SourceSet,
    family: SourceFamily,
    measures: dict[str, pl.Expr],
    columns: tuple[str, ...],
) -> pl.LazyFrame | None:
    """Per grid row, ``measures`` summed over the rows of the latest report year usable at T
    (within ``REPORT_REACH_DAYS``) of a source with several rows per report; zero when the
    source is present but holds no such row for the firm, None when it is absent."""
    held = sources.family_versions(family, columns)
    if held is None:
        return None
    year = pl.col(EVENT_DATE).dt.year()
    sums = (
        valid_rows(held.with_columns(**measures), grid, REPORT_REACH_DAYS)
        .filter(year == year.max().over(GRID_ROW))
        .group_by(GRID_ROW)
        .agg(pl.col(name).cast(pl.Float64).sum() for name in measures)
    )
    return (
        grid.select(GRID_ROW)
        .join(sums, on=GRID_ROW, how="left")
        .with_columns(pl.col(name).fill_null(0.0) for name in measures)
    )


def report_guarantees(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return latest_report_sums(
        grid,
        sources,
        GUARANTEES,
        {
            GUARANTEE_COUNT.name: pl.lit(1),
            GUARANTEE_PRINCIPAL.name: pl.col("principal_amount").fill_null(0.0) * TEN_THOUSAND_YUAN,
        },
        ("principal_amount",),
    )


def report_equity_transfers(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return latest_report_sums(
        grid, sources, EQUITY_TRANSFERS, {EQUITY_TRANSFER_COUNT.name: pl.lit(1)}, ()
    )


RATIO_SPECS = (LIABILITY_RATIO, PROFIT_MARGIN, REVENUE_GROWTH)
GUARANTEE_SPECS = (GUARANTEE_COUNT, GUARANTEE_PRINCIPAL)
# Added for issue 22 (sources that carried stress and fed nothing); ablated as one group.
MORE_SPECS = (CORRECTION_COUNT, *GUARANTEE_SPECS, EQUITY_TRANSFER_COUNT)
SPECS = (*RATIO_SPECS, *MORE_SPECS)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(
        Step(annual_report, names(RATIO_SPECS)),
        Step(report_corrections, (CORRECTION_COUNT.name,)),
        Step(report_guarantees, names(GUARANTEE_SPECS)),
        Step(report_equity_transfers, (EQUITY_TRANSFER_COUNT.name,)),
    ),
)
