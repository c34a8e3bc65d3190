"""Who is scored at each as-of date, and what describes them (the profile family).

A firm is active at T when its latest registration snapshot usable at T says 存续 and no distress
event usable at T names it. The distress-event check is the only use of outcomes in features:
a firm that has already failed is not a firm to warn about.

The descriptors (sector, district, ownership, size band) label a row and are not model inputs;
the firm's age is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from features.family import NONE, Evidence, Family, Step, Unit, feature, from_grid, names
from features.headcount import HEADCOUNT_LATEST, PENSION
from features.panel import recent_rows
from features.point_in_time import (
    AS_OF,
    GRID_ROW,
    USCC,
    WindowSum,
    latest_key,
    values_at,
    versions,
    window_sums,
)
from features.source_set import SourceSet, one

MASTER = one("reg_enterprise_master")
# Outcomes are the labels: no feature may read them (the active-firm filter is not a feature).
OUTCOMES = "outcome_distress_event"
ACTIVE_STATUS = "存续"
MASTER_ID = MASTER.ids[0]
DESCRIBING = ("sector", "district", "ownership_type", "established_date", "registered_capital")
DAYS_PER_YEAR = 365.25
FIRM_CODE = "_firm_code"


def as_of_frame(as_of_dates: Sequence[date]) -> pl.LazyFrame:
    dates = sorted(set(as_of_dates))
    if not dates:
        raise ValueError("as_of_dates is empty")
    return pl.LazyFrame({AS_OF: dates}, schema={AS_OF: pl.Date})


def firm_grid(
    sources: SourceSet, as_of_dates: Sequence[date], sectors: Sequence[str] | None = None
) -> pl.LazyFrame:
    """One row per active firm per as-of date, sorted by as_of then uscc: ``_grid_row`` (its
    number in that order, from 0), uscc, as_of, the master's describing columns (sector,
    district, ownership_type, established_date, registered_capital), firm_age_years and
    ``_firm_code`` (an integer per firm, UInt32).

    ``sectors`` keeps only firms registered in those sectors (peer comparisons are within a
    sector, so leaving other sectors out changes no kept firm's features).
    """
    if MASTER_ID not in sources:
        raise KeyError(f"the feature table needs source {MASTER_ID}")
    snapshot = sources.timing(MASTER_ID).event_time
    # Only each firm's snapshots from its latest one at the first as-of date can describe it.
    recent = recent_rows(
        sources,
        MASTER_ID,
        as_of_frame(as_of_dates),
        snapshot,
        lambda e: e.cast(pl.Date).cast(pl.Int32),
        reach=0,
    )
    master = versions(
        recent, sources.timing(MASTER_ID), [snapshot, "status", *DESCRIBING]
    ).collect()
    # Firms as integer codes numbered in uscc order: the joins and groupings below over
    # firms x dates are much cheaper on them than on the text, and sorting by code sorts by uscc.
    uscc = master.get_column(USCC).unique().sort()
    code = pl.col(USCC).replace_strict(uscc, pl.int_range(uscc.len(), dtype=pl.UInt32, eager=True))
    # In memory (coded once): the steps below read it several times, in separate queries.
    master = master.with_columns(code).lazy()
    firms = master.select(USCC, "sector")
    if sectors is not None:
        firms = firms.filter(pl.col("sector").is_in(list(sectors)))
    candidates = (
        firms.select(USCC).unique().join(as_of_frame(as_of_dates), how="cross").collect().lazy()
    )
    latest = latest_key(master, candidates, key=snapshot, alias="_snapshot")
    current = values_at(master, latest, key=snapshot, target="_snapshot").filter(
        pl.col("status") == ACTIVE_STATUS
    )
    if sectors is not None:
        current = current.filter(pl.col("sector").is_in(list(sectors)))
    grid = (
        current.select(
            USCC,
            AS_OF,
            *DESCRIBING,
            # Times the reciprocal: a division by a constant may round differently by code path.
            ((pl.col(AS_OF) - pl.col("established_date")).dt.total_days() * (1 / DAYS_PER_YEAR))
            .cast(pl.Float64)
            .alias("firm_age_years"),
        )
        .sort(AS_OF, USCC)
        .with_columns(pl.col(USCC).alias(FIRM_CODE), pl.lit(uscc).gather(pl.col(USCC)).alias(USCC))
        .with_row_index(GRID_ROW)
    )
    if OUTCOMES in sources:
        # Computed once: the outcome check reads the grid twice (its dates, then its rows).
        grid = grid.collect().lazy()
        failed = window_sums(
            sources.versions(OUTCOMES), grid, {"_failed": WindowSum(pl.lit(1))}
        ).filter(pl.col("_failed") > 0)
        # Rows kept in order, then numbered again without the gaps.
        grid = (
            grid.join(failed, on=GRID_ROW, how="anti", maintain_order="left")
            .drop(GRID_ROW)
            .with_row_index(GRID_ROW)
        )
    return grid


# ---------------------------------------------------------------- the profile family

FAMILY_NAME = "profile"
# The firm's registration at T, shown for a feature read off it.
REGISTRATION = Evidence(
    MASTER, ("registered_capital", "established_date", "district"), mode="latest"
)
# Insured headcount bounds of the size bands (industrial SME thresholds), smallest first.
SIZE_BANDS = ((20, "微型"), (300, "小型"), (1000, "中型"))
LARGE, UNKNOWN_SIZE = "大型", "未知"


def _descriptor(name: str, sources, description, template):
    return feature(
        name,
        FAMILY_NAME,
        sources,
        Unit.category,
        NONE,
        description,
        template,
        model_input=False,
        dtype=pl.String(),
    )


SECTOR = _descriptor(
    "sector", [MASTER], ("监管行业", "Supervisory sector"), ("行业：{value}", "sector: {value}")
)
DISTRICT = _descriptor(
    "district", [MASTER], ("所属片区", "District"), ("片区：{value}", "district: {value}")
)
OWNERSHIP = _descriptor(
    "ownership_type",
    [MASTER],
    ("企业所有制类型", "Ownership type"),
    ("所有制：{value}", "ownership: {value}"),
)
SIZE_BAND = _descriptor(
    "size_band",
    [PENSION],
    (
        "按参保人数划分的规模（微型<20，小型<300，中型<1000，其余大型；无参保记录为未知）",
        "Size band by insured headcount (micro <20, small <300, medium <1000, else large; "
        "unknown without insurance records)",
    ),
    ("规模：{value}", "size band: {value}"),
)
FIRM_AGE = feature(
    "firm_age_years",
    FAMILY_NAME,
    [MASTER],
    Unit.years,
    NONE,
    ("成立年限", "Years since establishment"),
    ("成立 {value} 年", "established {value} years ago"),
    evidence=[REGISTRATION],
)


def size_band(insured: pl.Expr) -> pl.Expr:
    band = pl.when(insured.is_null()).then(pl.lit(UNKNOWN_SIZE))
    for bound, name in SIZE_BANDS:
        band = band.when(insured < bound).then(pl.lit(name))
    return band.otherwise(pl.lit(LARGE))


ON_GRID = (SECTOR, DISTRICT, OWNERSHIP, FIRM_AGE)
FAMILY = Family(
    FAMILY_NAME,
    (SECTOR, DISTRICT, OWNERSHIP, SIZE_BAND, FIRM_AGE),
    steps=(Step(from_grid(*names(ON_GRID)), names(ON_GRID)),),
    derived={SIZE_BAND.name: size_band(pl.col(HEADCOUNT_LATEST.name))},
)
