"""Energy use (every ``energy_*`` source): the drop year on year, against the months before and
in the latest reported month, against the sector's, and the bills left unpaid.

Sources measure in different units (kWh, m³, t), so each change is computed per source and the
firm's value is the median over its sources.
"""

from __future__ import annotations

import polars as pl

from features.family import DOWN, UP, Evidence, Family, Step, Unit, feature, months, names
from features.panel import (
    LATEST,
    LATEST_MONTH_LAGS,
    change,
    lag_mean,
    lag_total,
    latest_month_change,
    monthly_panel,
    peer_gap,
    summarise,
)
from features.point_in_time import FIXED_POINT, GRID_ROW
from features.profile import MASTER
from features.source_set import SourceSet, prefixed

FAMILY_NAME = "energy"
ENERGY = prefixed("energy_")
WINDOW = months(3)
RECENT = range(WINDOW.length)
BEFORE = range(WINDOW.length, 2 * WINDOW.length)
YEAR_AGO = range(12, 12 + WINDOW.length)

YEAR_ON_YEAR_USE = Evidence(ENERGY, ("consumption",), mode="panel", lags=(*RECENT, *YEAR_AGO))

YOY_CHANGE = feature(
    "energy_yoy_change_3m",
    FAMILY_NAME,
    [ENERGY],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均能耗同比变化（按已报送月份平均，各能源品种的中位数）",
        "Year-on-year change of average monthly energy use over the last 3 months "
        "(months reported; median over energy sources)",
    ),
    ("近3个月能耗同比变化 {value}", "energy use {value} year on year over the last 3 months"),
    window=WINDOW,
    evidence=[YEAR_ON_YEAR_USE],
)
TREND = feature(
    "energy_trend_3m",
    FAMILY_NAME,
    [ENERGY],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均能耗较此前3个月的变化（按已报送月份平均，各能源品种的中位数）",
        "Average monthly energy use over the last 3 months vs the 3 before "
        "(months reported; median over energy sources)",
    ),
    ("近3个月能耗较前3个月变化 {value}", "energy use {value} vs the previous 3 months"),
    window=WINDOW,
    evidence=[Evidence(ENERGY, ("consumption",), mode="panel", lags=(*RECENT, *BEFORE))],
)
YOY_VS_SECTOR = feature(
    "energy_yoy_vs_sector",
    FAMILY_NAME,
    [ENERGY, MASTER],
    Unit.signed_ratio,
    DOWN,
    (
        "能耗同比变化减去同行业在营企业的中位数",
        "Energy year-on-year change minus the sector median of active firms",
    ),
    (
        "能耗同比变化与同行业中位数相差 {value}",
        "energy year-on-year change {value} against the sector median",
    ),
    window=WINDOW,
    evidence=[YEAR_ON_YEAR_USE],
)
LATEST_USE = Evidence(ENERGY, ("consumption",), mode="panel", lags=LATEST_MONTH_LAGS)
LATEST_MONTH = feature(
    "energy_latest_1m",
    FAMILY_NAME,
    [ENERGY],
    Unit.signed_ratio,
    DOWN,
    (
        "最近1个已报送月份的能耗较此前3个月月均的变化（各能源品种的中位数）",
        "Energy use in the latest reported month vs the monthly mean of the 3 before "
        "(median over energy sources)",
    ),
    (
        "最近1个月能耗较此前3个月月均变化 {value}",
        "energy use {value} in the latest month vs the 3 before",
    ),
    window=months(1),
    evidence=[LATEST_USE],
)
LATEST_MONTH_VS_SECTOR = feature(
    "energy_latest_1m_vs_sector",
    FAMILY_NAME,
    [ENERGY, MASTER],
    Unit.signed_ratio,
    DOWN,
    (
        "最近1个月能耗的变化减去同行业在营企业的中位数",
        "Energy use, latest month's change minus the sector median of active firms",
    ),
    (
        "最近1个月能耗变化与同行业中位数相差 {value}",
        "energy use: latest month's change {value} against the sector median",
    ),
    window=months(1),
    evidence=[LATEST_USE],
)
OVERDUE = feature(
    "energy_overdue_amount_3m",
    FAMILY_NAME,
    [ENERGY],
    Unit.cny,
    UP,
    (
        "最近3个月各类能源账单逾期未付金额",
        "Energy bills overdue over the last 3 months (every energy source)",
    ),
    ("近3个月能源账单逾期未付 {value}", "{value} of energy bills overdue over the last 3 months"),
    window=WINDOW,
    evidence=[
        Evidence(
            ENERGY,
            ("overdue_amount", "bill_amount"),
            pl.col("overdue_amount") > 0,
            mode="panel",
            lags=tuple(RECENT),
        )
    ],
)


def energy(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """The firm's changes and overdue bills; the sector comparison is a peer feature, computed
    on the whole table (``Family.peers``)."""
    members = sources.family(ENERGY)
    if not members:
        return None
    per_source = [
        summarise(
            monthly_panel(
                sources,
                [s],
                grid,
                ["consumption", "overdue_amount"],
                sorted({*RECENT, *BEFORE, *YEAR_AGO, *LATEST_MONTH_LAGS}),
            ),
            change(lag_mean("consumption", RECENT), lag_mean("consumption", YEAR_AGO)).alias("yoy"),
            change(lag_mean("consumption", RECENT), lag_mean("consumption", BEFORE)).alias("trend"),
            latest_month_change("consumption").alias("latest"),
            lag_total("overdue_amount", RECENT).alias("overdue"),
        ).drop(LATEST)
        for s in members
    ]
    return (
        pl.concat(per_source, how="vertical")
        .group_by(GRID_ROW)
        .agg(
            pl.col("yoy").median().alias(YOY_CHANGE.name),
            pl.col("trend").median().alias(TREND.name),
            pl.col("latest").median().alias(LATEST_MONTH.name),
            (pl.col("overdue").sum() / FIXED_POINT).alias(OVERDUE.name),
        )
        .join(grid.select(GRID_ROW), on=GRID_ROW, how="inner")
    )


# Added for issue 22: the freshest month of the energy panels (see features.activity).
LATEST_MONTH_SPECS = (LATEST_MONTH, LATEST_MONTH_VS_SECTOR)
SPECS = (YOY_CHANGE, TREND, YOY_VS_SECTOR, OVERDUE, *LATEST_MONTH_SPECS)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(Step(energy, names((YOY_CHANGE, TREND, OVERDUE, LATEST_MONTH))),),
    peers={
        YOY_VS_SECTOR.name: peer_gap(pl.col(YOY_CHANGE.name)),
        LATEST_MONTH_VS_SECTOR.name: peer_gap(pl.col(LATEST_MONTH.name)),
    },
)
