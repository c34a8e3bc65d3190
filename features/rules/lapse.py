"""Lapse rules: a state that should have ended an activity, while a monthly source shows it goes on.

At T the state holds for a lapsed licence (not renewed) or a registration status such as 注销; it
began on ``_since``. The activity source's latest ``window_months`` reported months at T are read;
the months after the state's month plus ``grace_months`` that meet the activity's condition are
counted (``measure``), and the rule is violated when there are at least ``min_months``. Each
lapsed licence, or the status, is its own anomaly (its period key); an anomaly asked for again
whose state no longer holds (renewed, reinstated) is examined as not violated.
"""

from __future__ import annotations

import polars as pl

from data_contracts.rules import MASTER, LapseRule, LicenceState
from features.panel import LAG, LATEST, monthly_panel
from features.point_in_time import AS_OF, FIXED_POINT, GRID_ROW, USCC, month_index
from features.rules.examined import MEASURE, PERIOD_KEY, PERIOD_START, RULE_ID, VIOLATED, conform
from features.rules.states import (
    LAPSED,
    SINCE,
    SOURCE,
    STATE_ARRIVED,
    STATUS,
    licence_key,
    licence_states,
    registration_states,
)
from features.source_set import SourceSet

MONTH = "_month"
ACTIVE_VALUE = "_active_value"


def states_of(rule: LapseRule, grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Grid rows in the rule's state: GRID_ROW, PERIOD_KEY, ``_since`` and the left side's
    source, text (licence number or status) and arrival."""
    if isinstance(rule.state, LicenceState):
        states = licence_states(rule.state.licences, grid, sources)
        if states is None:
            return None
        return states.filter(pl.col(LAPSED)).select(
            GRID_ROW,
            licence_key(pl.col(SOURCE), pl.col("licence_no")).alias(PERIOD_KEY),
            SINCE,
            pl.col(SOURCE).alias("left_source"),
            pl.col("licence_no").alias("left_text"),
            pl.col(STATE_ARRIVED).alias("left_arrived"),
        )
    return registration_states(rule.state.statuses, grid, sources).select(
        GRID_ROW,
        PERIOD_KEY,
        SINCE,
        pl.lit(MASTER).alias("left_source"),
        pl.col(STATUS).alias("left_text"),
        pl.col(STATE_ARRIVED).alias("left_arrived"),
    )


def evaluate_lapse(
    rule: LapseRule,
    grid: pl.LazyFrame,
    sources: SourceSet,
    *,
    revisit: pl.LazyFrame | None = None,
) -> pl.LazyFrame | None:
    """The examined rows of one lapse rule on ``grid``; None when a source is absent.

    ``revisit``: GRID_ROW and ``period`` (the anomaly's licence or status key) to examine even
    when the state no longer holds.
    """
    activity = rule.activity
    if activity.source not in sources:
        return None
    states = states_of(rule, grid, sources)
    if states is None:
        return None
    states = states.collect().lazy()
    in_state = grid.join(states.select(GRID_ROW).unique(), on=GRID_ROW, how="semi")
    panel = monthly_panel(
        sources,
        [activity.source],
        in_state.select(GRID_ROW, USCC, AS_OF),
        [activity.column],
        range(rule.window_months),
    )
    value = pl.col(activity.column).cast(pl.Float64) / FIXED_POINT * activity.scale
    months = panel.select(
        GRID_ROW,
        (pl.col(LATEST) - pl.col(LAG)).alias(MONTH),
        value.alias(ACTIVE_VALUE),
    ).filter(activity.condition.expr(pl.col(ACTIVE_VALUE)))
    first_counted = month_index(pl.col(SINCE)) + 1 + rule.grace_months
    counted = (
        states.join(months, on=GRID_ROW, how="inner")
        .filter(pl.col(MONTH) >= first_counted)
        .group_by(GRID_ROW, PERIOD_KEY)
        .agg(
            pl.len().cast(pl.Float64).alias(MEASURE),
            pl.col(ACTIVE_VALUE).sort_by(MONTH).last().alias("right_number"),
            pl.col(MONTH).max().alias(MONTH),
        )
    )
    examined = states.join(counted, on=[GRID_ROW, PERIOD_KEY], how="left").with_columns(
        pl.col(MEASURE).fill_null(0.0)
    )
    if revisit is not None:
        cleared = revisit.select(GRID_ROW, PERIOD_KEY).join(
            examined, on=[GRID_ROW, PERIOD_KEY], how="anti"
        )
        examined = pl.concat(
            [examined, cleared.join(grid.select(GRID_ROW), on=GRID_ROW)], how="diagonal_relaxed"
        )
    month = pl.col(MONTH)
    return conform(
        examined.with_columns(
            pl.lit(rule.id).alias(RULE_ID),
            pl.col(SINCE).alias(PERIOD_START),
            pl.col(SINCE).alias("left_date"),
            pl.lit(activity.source).alias("right_source"),
            pl.date(month // 12, month % 12 + 1, 1).alias("right_date"),
            (pl.col(MEASURE) >= rule.min_months).fill_null(False).alias(VIOLATED),
        )
    )
