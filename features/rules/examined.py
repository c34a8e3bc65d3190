"""The examined frame: one row per rule, firm, as-of date and period (or licence) a rule looked at.

Every kind of rule gives the same columns, so one frame holds a whole run: the two values (a text
and/or a number each), where each came from (source, the day it describes, when it arrived), the
measure (the gap, the months of activity, ...) and whether the rule is violated. Anomalies are the
violated rows.
"""

from __future__ import annotations

import polars as pl

from features.point_in_time import GRID_ROW

RULE_ID = "rule_id"
PERIOD_KEY = "period"  # "2025", "2025-03", "2025-Q1", or the licence / status it is about
PERIOD_START = "period_start"
MEASURE = "measure"
VIOLATED = "violated"
DATETIME = pl.Datetime("us")


def side_schema(side: str) -> dict[str, pl.DataType]:
    return {
        f"{side}_source": pl.String(),
        f"{side}_text": pl.String(),
        f"{side}_number": pl.Float64(),
        f"{side}_date": pl.Date(),
        f"{side}_arrived": DATETIME,
    }


EXAMINED_SCHEMA: dict[str, pl.DataType] = {
    RULE_ID: pl.String(),
    GRID_ROW: pl.UInt32(),
    PERIOD_KEY: pl.String(),
    PERIOD_START: pl.Date(),
    **side_schema("left"),
    **side_schema("right"),
    MEASURE: pl.Float64(),
    VIOLATED: pl.Boolean(),
}


def conform(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Exactly ``EXAMINED_SCHEMA``'s columns and types (missing ones null)."""
    present = frame.collect_schema()
    return frame.select(
        (pl.col(name) if name in present else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in EXAMINED_SCHEMA.items()
    )


def empty() -> pl.LazyFrame:
    return pl.LazyFrame(schema=EXAMINED_SCHEMA)
