"""Scope rules: a licence held at T by a firm whose registered attribute (its sector) the licence
does not fit. Every licence of the rule's sources held at T is examined; an anomaly asked for again
whose licence is no longer held is examined as not violated."""

from __future__ import annotations

import polars as pl

from data_contracts.rules import MASTER, ScopeRule
from features.point_in_time import GRID_ROW
from features.rules.examined import MEASURE, PERIOD_KEY, PERIOD_START, RULE_ID, VIOLATED, conform
from features.rules.states import HELD, SOURCE, STATE_ARRIVED, VALID_TO, licence_key, licence_states
from features.source_set import SourceSet


def evaluate_scope(
    rule: ScopeRule,
    grid: pl.LazyFrame,
    sources: SourceSet,
    *,
    revisit: pl.LazyFrame | None = None,
) -> pl.LazyFrame | None:
    """The examined rows of one scope rule on ``grid``; None when no licence source is present."""
    states = licence_states(rule.state.licences, grid, sources)
    if states is None:
        return None
    held = states.filter(pl.col(HELD)).select(
        GRID_ROW,
        licence_key(pl.col(SOURCE), pl.col("licence_no")).alias(PERIOD_KEY),
        pl.col(SOURCE).alias("left_source"),
        pl.col("licence_no").alias("left_text"),
        pl.col(VALID_TO).alias("left_date"),
        pl.col(STATE_ARRIVED).alias("left_arrived"),
        pl.lit(True).alias("_holds"),
    )
    if revisit is not None:
        cleared = revisit.select(GRID_ROW, PERIOD_KEY).join(
            held, on=[GRID_ROW, PERIOD_KEY], how="anti"
        )
        held = pl.concat(
            [held, cleared.with_columns(pl.lit(False).alias("_holds"))], how="diagonal_relaxed"
        )
    attribute = pl.col("right_text")
    return conform(
        held.join(
            grid.select(GRID_ROW, pl.col(rule.attribute).alias("right_text")), on=GRID_ROW
        ).with_columns(
            pl.lit(rule.id).alias(RULE_ID),
            pl.col("left_date").alias(PERIOD_START),
            pl.lit(MASTER).alias("right_source"),
            pl.lit(None, dtype=pl.Float64).alias(MEASURE),
            (pl.col("_holds") & ~attribute.is_in(rule.allowed)).fill_null(False).alias(VIOLATED),
        )
    )
