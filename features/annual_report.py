"""Annual-report ratios: leverage, net margin and revenue growth from the latest report usable
at T (and the one before it for growth)."""

from __future__ import annotations

import polars as pl

from features.family import DOWN, UP, Evidence, Family, Step, Unit, feature, names
from features.panel import LATEST, annual_panel, at, change, ratio, summarise
from features.source_set import SourceSet, one

FAMILY_NAME = "annual_report"
ANNUAL_REPORT = one("annual_report_basic")
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


SPECS = (LIABILITY_RATIO, PROFIT_MARGIN, REVENUE_GROWTH)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(annual_report, names(SPECS)),))
