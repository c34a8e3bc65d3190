"""Capital (资本): the registered capital, and reductions (减资): how many, how much, what share
of the capital, how recent."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    DOWN,
    NONE,
    UP,
    Evidence,
    Family,
    Step,
    Unit,
    days,
    event_columns,
    feature,
    from_grid,
    names,
    windowed,
)
from features.panel import ratio
from features.point_in_time import AS_OF, EVENT_DATE, GRID_ROW, valid_rows
from features.profile import MASTER, REGISTRATION
from features.source_set import SourceSet, one

FAMILY_NAME = "capital"
CAPITAL_CHANGES = one("reg_capital_change")
# How far back "days since the latest reduction" looks (the simulated lake holds three years).
LOOKBACK_DAYS = 3 * 365
REDUCTION = pl.col("capital_after") < pl.col("capital_before")
REDUCED_AMOUNT = pl.col("capital_before") - pl.col("capital_after")
SHOWN = ("capital_before", "capital_after")
REDUCTIONS = Evidence(CAPITAL_CHANGES, SHOWN, REDUCTION)

REGISTERED_CAPITAL = feature(
    "registered_capital",
    FAMILY_NAME,
    [MASTER],
    Unit.cny_10k,
    NONE,
    ("注册资本", "Registered capital"),
    ("注册资本 {value}", "registered capital {value}"),
    evidence=[REGISTRATION],
)
REDUCTION_COUNT = windowed(
    "capital_reduction_count",
    (days(90), days(180), days(365)),
    FAMILY_NAME,
    [CAPITAL_CHANGES],
    Unit.count,
    UP,
    ("近{w}天减资次数", "Capital reductions in the last {w} days"),
    ("近{w}天内减资 {value} 次", "{value} capital [reduction|reductions] in the last {w} days"),
    evidence=[REDUCTIONS],
)
REDUCTION_AMOUNT = windowed(
    "capital_reduction_amount",
    (days(180), days(365)),
    FAMILY_NAME,
    [CAPITAL_CHANGES],
    Unit.cny_10k,
    UP,
    ("近{w}天减资金额", "Capital removed in the last {w} days"),
    ("近{w}天累计减资 {value}", "capital reduced by {value} in the last {w} days"),
    evidence=[REDUCTIONS],
)
# The share of the capital before the year's reductions: the year's amount over the capital now
# plus that amount.
AMOUNT_365D = REDUCTION_AMOUNT[-1]
REDUCTION_SHARE = feature(
    "capital_reduction_share_365d",
    FAMILY_NAME,
    [CAPITAL_CHANGES, MASTER],
    Unit.ratio,
    UP,
    (
        "近365天减资额占减资前注册资本的比例（注册资本为0时为空）",
        "Capital removed in the last 365 days as a share of the capital before it "
        "(null when registered capital is zero)",
    ),
    (
        "近365天减资占注册资本的 {value}",
        "{value} of registered capital removed in the last 365 days",
    ),
    window=AMOUNT_365D.window,
    evidence=[REDUCTIONS, REGISTRATION],
)
DAYS_SINCE_REDUCTION = feature(
    "days_since_capital_reduction",
    FAMILY_NAME,
    [CAPITAL_CHANGES],
    Unit.days,
    DOWN,
    (
        "距最近一次减资的天数（三年内无减资为空）",
        "Days since the latest capital reduction (null if none within three years)",
    ),
    ("距最近一次减资仅 {value} 天", "latest capital reduction only {value} [day|days] ago"),
    evidence=[
        Evidence(CAPITAL_CHANGES, SHOWN, REDUCTION, limit=1, window_days=LOOKBACK_DAYS),
    ],
)


def capital_reductions(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Needs ``registered_capital`` on the grid (the master's value at T, in 万元)."""
    reductions = Measures(
        CAPITAL_CHANGES,
        {"reduction": pl.lit(1), "amount": REDUCED_AMOUNT},
        columns=SHOWN,
        where=REDUCTION,
    )
    sums = event_window_sums(
        grid,
        sources,
        [reductions],
        {
            **event_columns(REDUCTION_COUNT, "reduction"),
            **event_columns(REDUCTION_AMOUNT, "amount"),
        },
    )
    if sums is None:
        return None
    source_id = sources.family(CAPITAL_CHANGES)[0]
    latest = (
        valid_rows(
            sources.versions(source_id, list(SHOWN)).filter(REDUCTION),
            grid,
            horizon_days=LOOKBACK_DAYS,
        )
        .group_by(GRID_ROW)
        .agg(pl.col(EVENT_DATE).max().alias("_latest_reduction"))
    )
    amount = pl.col(AMOUNT_365D.name)
    return (
        sums.join(latest, on=GRID_ROW, how="left")
        .join(grid.select(GRID_ROW, AS_OF, "registered_capital"), on=GRID_ROW, how="left")
        .select(
            GRID_ROW,
            *names((*REDUCTION_COUNT, *REDUCTION_AMOUNT)),
            ratio(amount, pl.col("registered_capital") + amount).alias(REDUCTION_SHARE.name),
            (pl.col(AS_OF) - pl.col("_latest_reduction"))
            .dt.total_days()
            .cast(pl.Float64)
            .alias(DAYS_SINCE_REDUCTION.name),
        )
    )


REDUCTION_SPECS = (*REDUCTION_COUNT, *REDUCTION_AMOUNT, REDUCTION_SHARE, DAYS_SINCE_REDUCTION)
FAMILY = Family(
    FAMILY_NAME,
    (REGISTERED_CAPITAL, *REDUCTION_SPECS),
    steps=(
        Step(from_grid(REGISTERED_CAPITAL.name), (REGISTERED_CAPITAL.name,)),
        Step(capital_reductions, names(REDUCTION_SPECS)),
    ),
)
