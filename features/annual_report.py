"""Annual-report ratios: leverage, net margin and revenue growth from the latest report usable
at T (and the one before it for growth)."""

from __future__ import annotations

import polars as pl

from features.panel import LATEST, annual_panel, at, change, ratio, summarise
from features.registry import ANNUAL_REPORT
from features.source_set import SourceSet

REPORTED = ["employees", "total_assets", "total_liabilities", "revenue", "net_profit"]
REPORT_EMPLOYEES = "_report_employees"


def annual_report(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Also returns ``_report_employees`` for the headcount consistency check."""
    members = sources.family(ANNUAL_REPORT)
    if not members:
        return None
    long = annual_panel(sources, members, grid, REPORTED, (0, 1))
    return summarise(
        long,
        ratio(at("total_liabilities", 0), at("total_assets", 0))
        .cast(pl.Float64)
        .alias("report_liability_ratio"),
        ratio(at("net_profit", 0), at("revenue", 0)).cast(pl.Float64).alias("report_profit_margin"),
        change(at("revenue", 0), at("revenue", 1)).cast(pl.Float64).alias("report_revenue_growth"),
        at("employees", 0).cast(pl.Float64).alias(REPORT_EMPLOYEES),
    ).drop(LATEST)
