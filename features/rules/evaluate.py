"""Evaluating rules: one rule on any grid (``evaluate``), every rule at one date (``examine``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from data_contracts.rules import CompareRule, LapseRule, ScopeRule
from data_contracts.schema import SourceContract
from features.point_in_time import AS_OF, GRID_ROW, USCC
from features.rules.compare import TARGET, evaluate_compare, target_of
from features.rules.examined import (
    EXAMINED_SCHEMA,
    PERIOD_KEY,
    PERIOD_START,
    RULE_ID,
    VIOLATED,
)
from features.rules.grid import GRID_COLUMNS, consistency_grid
from features.rules.lapse import evaluate_lapse
from features.rules.scope import evaluate_scope
from features.source_set import SourceSet

Rule = CompareRule | LapseRule | ScopeRule
# A recorded anomaly to examine again: its rule, firm and period (key and first day).
REVISIT_COLUMNS = (RULE_ID, USCC, PERIOD_KEY, PERIOD_START)


def evaluate(
    rule: Rule,
    grid: pl.LazyFrame,
    sources: SourceSet,
    *,
    lookback: int | None = None,
    revisit: pl.LazyFrame | None = None,
) -> pl.LazyFrame | None:
    """The rows ``rule`` examines on ``grid`` (``EXAMINED_SCHEMA``), None when a source it needs
    is absent. ``revisit`` (GRID_ROW, period key and start) adds periods to examine."""
    if isinstance(rule, CompareRule):
        targets = None
        if revisit is not None:
            targets = revisit.select(
                GRID_ROW, target_of(rule, pl.col(PERIOD_START)).cast(pl.Int32).alias(TARGET)
            )
        return evaluate_compare(rule, grid, sources, lookback=lookback, revisit=targets)
    if isinstance(rule, LapseRule):
        return evaluate_lapse(rule, grid, sources, revisit=revisit)
    return evaluate_scope(rule, grid, sources, revisit=revisit)


@dataclass(frozen=True)
class Examination:
    """One run: the grid of firms at the as-of date, every examined row (with the firm's
    descriptors) and the rules that could not run for want of a source."""

    as_of: date
    grid: pl.DataFrame
    examined: pl.DataFrame
    skipped: dict[str, list[str]]

    @property
    def anomalies(self) -> pl.DataFrame:
        return self.examined.filter(pl.col(VIOLATED))


def examine(
    rules: Mapping[str, Rule],
    sources: Mapping[str, pl.LazyFrame],
    as_of: date,
    *,
    contracts: Mapping[str, SourceContract],
    firms: Sequence[str] | None = None,
    revisit: pl.DataFrame | None = None,
) -> Examination:
    """Every rule at ``as_of`` over the master's firms (or only ``firms``).

    ``revisit``: recorded anomalies (``REVISIT_COLUMNS``) to examine again even where the latest
    periods have moved on, so that one corrected at its source is seen to be corrected.
    ``contracts`` say how to read each source in time. The
    examined frame is sorted by rule, firm and period (a total order: one row per key).
    """
    source_set = SourceSet(sources, contracts)
    if firms is not None:
        source_set = source_set.for_firms(
            pl.DataFrame({USCC: list(firms)}, schema={USCC: pl.String})
        )
    grid = consistency_grid(source_set, [as_of], firms).collect()
    frames, skipped = [], {}
    for rule_id in sorted(rules):
        rule = rules[rule_id]
        again = _revisit_rows(revisit, rule_id, grid)
        found = evaluate(rule, grid.lazy(), source_set, revisit=again)
        if found is None:
            skipped[rule_id] = [s for s in rule.sources() if s not in source_set]
            continue
        frames.append(found)
    examined = (
        pl.concat([f.collect() for f in frames], how="vertical")
        if frames
        else pl.DataFrame(schema=EXAMINED_SCHEMA)
    )
    examined = (
        examined.join(grid.select(GRID_COLUMNS), on=GRID_ROW, how="left")
        .drop(GRID_ROW)
        .sort(RULE_ID, USCC, PERIOD_KEY)
    )
    _check_unique(examined)
    return Examination(as_of, grid.drop(GRID_ROW), examined, skipped)


def _revisit_rows(revisit: pl.DataFrame | None, rule_id: str, grid: pl.DataFrame):
    if revisit is None or revisit.is_empty():
        return None
    mine = revisit.filter(pl.col(RULE_ID) == rule_id)
    if mine.is_empty():
        return None
    return (
        grid.select(GRID_ROW, USCC, AS_OF)
        .join(mine.select(USCC, PERIOD_KEY, PERIOD_START), on=USCC)
        .select(GRID_ROW, PERIOD_KEY, PERIOD_START)
        .lazy()
    )


def _check_unique(examined: pl.DataFrame) -> None:
    keys = examined.select(RULE_ID, USCC, AS_OF, PERIOD_KEY)
    if keys.is_duplicated().any():
        first = keys.filter(keys.is_duplicated()).row(0)
        raise AssertionError(f"a rule examined the same period twice: {first}")
