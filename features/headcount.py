"""Insured headcount (the pension scheme's insured count): its level and how it changed; and the
statistics bureau's annual labour and wage statistics: average employees and total wages
against the year before."""

from __future__ import annotations

import polars as pl

from features.family import DOWN, NONE, Evidence, Family, Step, Unit, feature, months, names
from features.panel import LATEST, annual_panel, at, change, monthly_panel, summarise
from features.source_set import SourceSet, one

FAMILY_NAME = "headcount"
PENSION = one("si_pension")
WAGE_STATISTICS = one("tax_stats_labour_wages")
LAGS = (3, 6, 12)


def insured_counts(*lags: int) -> Evidence:
    """The insured count of the latest month and of the months ``lags`` before it."""
    return Evidence(PENSION, ("insured_count",), mode="panel", lags=(0, *lags))


HEADCOUNT_LATEST = feature(
    "headcount_latest",
    FAMILY_NAME,
    [PENSION],
    Unit.persons,
    NONE,
    ("最近申报月养老保险参保人数", "Pension-insured headcount in the latest reported month"),
    ("最近参保人数 {value} 人", "{value} insured [employee|employees]"),
    evidence=[insured_counts()],
)
CHANGE = tuple(
    feature(
        f"headcount_change_{months(lag)}",
        FAMILY_NAME,
        [PENSION],
        Unit.persons_change,
        DOWN,
        (
            f"参保人数较{lag}个月前的变化（人）",
            f"Change in insured headcount vs {lag} months earlier (persons)",
        ),
        (
            f"参保人数较{lag}个月前变化 {{value}} 人",
            f"insured headcount changed by {{value}} vs {lag} months earlier",
        ),
        window=months(lag),
        evidence=[insured_counts(lag)],
    )
    for lag in LAGS
)
RELATIVE_CHANGE = tuple(
    feature(
        f"headcount_change_rel_{months(lag)}",
        FAMILY_NAME,
        [PENSION],
        Unit.signed_ratio,
        DOWN,
        (
            f"参保人数较{lag}个月前的相对变化",
            f"Relative change in insured headcount vs {lag} months earlier",
        ),
        (
            f"参保人数较{lag}个月前变化 {{value}}",
            f"insured headcount changed by {{value}} vs {lag} months earlier",
        ),
        window=months(lag),
        evidence=[insured_counts(lag)],
    )
    for lag in LAGS
)
WAGE_STATISTICS_YEARS = Evidence(
    WAGE_STATISTICS,
    ("avg_employees", "total_wages", "new_hires", "departures"),
    mode="panel",
    lags=(0, 1),
)
EMPLOYEE_GROWTH = feature(
    "stats_employee_growth",
    FAMILY_NAME,
    [WAGE_STATISTICS],
    Unit.signed_ratio,
    DOWN,
    (
        "劳动工资统计年报从业人员平均人数较上年变化",
        "Average employees in the latest labour statistics vs the year before",
    ),
    (
        "统计年报从业人员平均人数较上年变化 {value}",
        "average employees {value} vs the year before (labour statistics)",
    ),
    evidence=[WAGE_STATISTICS_YEARS],
)
WAGE_GROWTH = feature(
    "stats_wage_growth",
    FAMILY_NAME,
    [WAGE_STATISTICS],
    Unit.signed_ratio,
    DOWN,
    (
        "劳动工资统计年报工资总额较上年变化",
        "Total wages in the latest labour statistics vs the year before",
    ),
    (
        "统计年报工资总额较上年变化 {value}",
        "total wages {value} vs the year before (labour statistics)",
    ),
    evidence=[WAGE_STATISTICS_YEARS],
)


def headcount(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PENSION)
    if not members:
        return None
    long = monthly_panel(sources, members, grid, ["insured_count"], (0, *LAGS))
    now = at("insured_count", 0).cast(pl.Float64)
    return summarise(
        long,
        now.alias(HEADCOUNT_LATEST.name),
        *[(now - at("insured_count", s.window.length)).alias(s.name) for s in CHANGE],
        *[
            change(now, at("insured_count", s.window.length).cast(pl.Float64)).alias(s.name)
            for s in RELATIVE_CHANGE
        ],
    ).drop(LATEST)


def wage_statistics(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(WAGE_STATISTICS)
    if not members:
        return None
    long = annual_panel(sources, members, grid, ["avg_employees", "total_wages"], (0, 1))
    return summarise(
        long,
        change(at("avg_employees", 0), at("avg_employees", 1))
        .cast(pl.Float64)
        .alias(EMPLOYEE_GROWTH.name),
        change(at("total_wages", 0), at("total_wages", 1)).cast(pl.Float64).alias(WAGE_GROWTH.name),
    ).drop(LATEST)


PENSION_SPECS = (HEADCOUNT_LATEST, *CHANGE, *RELATIVE_CHANGE)
# The third set (issue 22): the statistics bureau's annual labour and wage statistics.
WAGE_STATISTICS_SPECS = (EMPLOYEE_GROWTH, WAGE_GROWTH)
SPECS = (*PENSION_SPECS, *WAGE_STATISTICS_SPECS)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(
        Step(headcount, names(PENSION_SPECS)),
        Step(wage_statistics, names(WAGE_STATISTICS_SPECS)),
    ),
)
