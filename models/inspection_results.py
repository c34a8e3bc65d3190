"""What the "double random" plans found, per class: the public part of 双随机、一公开 (pure).

A firm a department's plan drew for month M is **inspected** when an inspection of it dated in M
was reported (any channel: the department's own source, a returned workbook) with an outcome
that counts as inspected, and **confirmed** when that outcome confirms a risk
(``data_contracts/feedback.yaml``: ``inspected`` and ``confirms``). Two reports of one firm in
the month: the earliest inspection counts (by date, then report key).

Per month, department and class: firms planned, inspected, confirmed, the confirmed share of the
inspected with its Wilson 95% interval, and the class's design. A class drawn at random (or
taken whole) gives an unbiased estimate of the class's risk among its eligible firms; a class
taken by score because the capacity was short does not (``random`` false), and says so. Only
counts are published: no firm is named.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from models.accuracy import wilson_interval

BY_SCORE = "by_score"  # models.inspection_plan's design when the capacity was short
PLANNED_COLUMNS = ("month", "department", "uscc", "tier", "design")
REPORT_COLUMNS = ("report_key", "uscc", "inspection_date", "outcome")
RESULT_SCHEMA = {
    "month": pl.String,
    "department": pl.String,
    "tier": pl.String,
    "design": pl.String,
    "random": pl.Boolean,
    "planned": pl.UInt32,
    "inspected": pl.UInt32,
    "confirmed": pl.UInt32,
    "confirmed_share": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}


def planned_outcomes(
    planned: pl.DataFrame,
    reports: pl.DataFrame,
    inspected: Collection[str],
    confirming: Collection[str],
) -> pl.DataFrame:
    """Each planned firm with the outcome of its first inspection in the plan's month (null:
    none reported yet), ``inspected`` and ``confirmed``; by month, department and firm."""
    months = planned.select(
        "month",
        start=pl.col("month").str.to_date("%Y-%m"),
    ).unique()
    months = months.with_columns(end=pl.col("start").dt.offset_by("1mo"))
    counted = reports.filter(pl.col("outcome").is_in(list(inspected))).select(REPORT_COLUMNS)
    in_month = (
        planned.select(PLANNED_COLUMNS)
        .join(months, on="month", how="left")
        .join(counted, on="uscc", how="inner")
        .filter(
            (pl.col("inspection_date") >= pl.col("start"))
            & (pl.col("inspection_date") < pl.col("end"))
        )
        .sort("month", "department", "uscc", "inspection_date", "report_key")
        .unique(["month", "department", "uscc"], keep="first", maintain_order=True)
        .select("month", "department", "uscc", "inspection_date", "outcome")
    )
    return (
        planned.select(PLANNED_COLUMNS)
        .join(in_month, on=["month", "department", "uscc"], how="left")
        .with_columns(
            inspected=pl.col("outcome").is_not_null(),
            confirmed=pl.col("outcome").is_in(list(confirming)).fill_null(False),
        )
        .sort("month", "department", "uscc")
    )


def results_by_tier(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Per month, department and class (``planned_outcomes``' rows counted): planned, inspected,
    confirmed, the confirmed share of the inspected and its Wilson 95% interval (null without an
    inspection), the design and whether it is a random estimate of the class."""
    grouped = (
        outcomes.group_by("month", "department", "tier")
        .agg(
            pl.col("design").first(),
            pl.len().alias("planned"),
            pl.col("inspected").sum().alias("inspected"),
            pl.col("confirmed").sum().alias("confirmed"),
        )
        .sort("month", "department", "tier")
    )
    lows, highs, shares = [], [], []
    for confirmed, inspected in grouped.select("confirmed", "inspected").iter_rows():
        if inspected:
            low, high = wilson_interval(int(confirmed), int(inspected))
            lows.append(low)
            highs.append(high)
            shares.append(confirmed / inspected)
        else:
            lows.append(None)
            highs.append(None)
            shares.append(None)
    return (
        grouped.with_columns(
            random=pl.col("design") != BY_SCORE,
            confirmed_share=pl.Series(shares, dtype=pl.Float64),
            ci_low=pl.Series(lows, dtype=pl.Float64),
            ci_high=pl.Series(highs, dtype=pl.Float64),
        )
        .select(list(RESULT_SCHEMA))
        .cast(RESULT_SCHEMA)
    )
