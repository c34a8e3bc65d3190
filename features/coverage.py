"""Data coverage: how many sources know the firm at T, and whether that is enough to score.

Rule for ``insufficient_data``: fewer than ``MIN_SOURCES_KNOWN`` sources hold any usable row on
the firm at T, or none of the monthly operating panels (social insurance, housing fund, tax,
energy, prepaid-fee supervision: every source of monthly grain) does. Such a firm is kept in the
table but not ranked: its features would be mostly unknown, and unknown is not "safe".
"""

from __future__ import annotations

import polars as pl

from data_contracts.schema import Grain
from features.family import NONE, Family, Step, Unit, feature, names
from features.point_in_time import EVENT_DATE, VALID_TO, VISIBLE_FROM, WindowSum, window_sums
from features.profile import OUTCOMES
from features.source_set import SourceSet, prefixed

FAMILY_NAME = "coverage"
ALL_SOURCES = prefixed("", exclude=(OUTCOMES,))
MIN_SOURCES_KNOWN = 3
PANELS_KNOWN = "_panels_known"

SOURCES_KNOWN = feature(
    "n_sources_known",
    FAMILY_NAME,
    [ALL_SOURCES],
    Unit.count,
    NONE,
    ("截至评估日掌握该企业数据的来源数", "Sources holding any row on the firm by the date"),
    ("共有 {value} 个数据来源掌握该企业信息", "data on the firm from {value} [source|sources]"),
    dtype=pl.Int32(),
)
INSUFFICIENT = feature(
    "insufficient_data",
    FAMILY_NAME,
    [ALL_SOURCES],
    Unit.flag,
    NONE,
    (
        f"数据不足：掌握该企业的来源少于{MIN_SOURCES_KNOWN}个，或没有任何月度经营数据（社保、"
        "公积金、税务、能耗、预付费监管）",
        f"Insufficient data: fewer than {MIN_SOURCES_KNOWN} sources know the firm, or no monthly "
        "operating panel (social insurance, housing fund, tax, energy, prepaid-fee supervision) "
        "does",
    ),
    ("数据不足，无法评分", "not enough data to score"),
    model_input=False,
    dtype=pl.Boolean(),
)


def coverage(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame:
    """``n_sources_known`` and ``insufficient_data`` per grid row. A source knows the firm from
    the first day one of its rows is usable (event time and arrival both passed); revisions only
    replace rows, so it keeps knowing it."""
    firsts = []
    for source_id in sources.family(ALL_SOURCES):
        is_panel = sources.contracts[source_id].grain == Grain.monthly
        # One query per source: a single plan over every source would open them all at once.
        firsts.append(
            sources.first_usable(source_id)
            .with_columns(
                pl.col(VISIBLE_FROM).alias(EVENT_DATE),
                pl.lit(None, dtype=pl.Date).alias(VALID_TO),
                pl.lit(1.0 if is_panel else 0.0).alias("_panel"),
            )
            .collect()
        )
    known = pl.concat(firsts, how="vertical_relaxed").lazy()
    counts = window_sums(
        known,
        grid,
        {SOURCES_KNOWN.name: WindowSum(pl.lit(1)), PANELS_KNOWN: WindowSum(pl.col("_panel"))},
    )
    n_known = pl.col(SOURCES_KNOWN.name)
    return counts.with_columns(
        ((n_known < MIN_SOURCES_KNOWN) | (pl.col(PANELS_KNOWN) < 1)).alias(INSUFFICIENT.name)
    ).drop(PANELS_KNOWN)


SPECS = (SOURCES_KNOWN, INSUFFICIENT)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(coverage, names(SPECS)),))
