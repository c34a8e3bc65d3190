"""Energy use (every ``energy_*`` source): the drop year on year and against the months before,
against the sector's, and the bills left unpaid.

Sources measure in different units (kWh, m³, t), so each change is computed per source and the
firm's value is the median over its sources.
"""

from __future__ import annotations

import polars as pl

from features.family import DOWN, UP, Evidence, Family, Step, Unit, feature, months, names
from features.panel import LATEST, change, lag_mean, lag_total, monthly_panel, peer_gap, summarise
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
                (*RECENT, *BEFORE, *YEAR_AGO),
            ),
            change(lag_mean("consumption", RECENT), lag_mean("consumption", YEAR_AGO)).alias("yoy"),
            change(lag_mean("consumption", RECENT), lag_mean("consumption", BEFORE)).alias("trend"),
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
            (pl.col("overdue").sum() / FIXED_POINT).alias(OVERDUE.name),
        )
        .join(grid.select(GRID_ROW), on=GRID_ROW, how="inner")
    )


SPECS = (YOY_CHANGE, TREND, YOY_VS_SECTOR, OVERDUE)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(Step(energy, names((YOY_CHANGE, TREND, OVERDUE))),),
    peers={YOY_VS_SECTOR.name: peer_gap(pl.col(YOY_CHANGE.name))},
)
