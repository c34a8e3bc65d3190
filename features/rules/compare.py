"""Compare rules: two sides on the same firm and period.

At each as-of date T, the periods examined are the latest ``lookback`` periods of the side that
sets them (``periods_from``) usable at T, plus any period asked for again (``revisit``: an open
anomaly whose data may have been corrected). For each, both sides' versions valid at T are looked
up; a period where a value side has nothing is not examined (a month not yet delivered is not a
contradiction), while a count or exists side with nothing counts 0.
"""

from __future__ import annotations

import polars as pl

from data_contracts.rules import (
    MASTER,
    ROW_AGGREGATES,
    BothCheck,
    CompareRule,
    DiffersCheck,
    GapCheck,
    Period,
    Side,
    period_index,
    period_start,
    periods_per_year,
)
from features.point_in_time import AS_OF, GRID_ROW, USCC, latest_key, values_at
from features.rules.examined import (
    MEASURE,
    PERIOD_KEY,
    PERIOD_START,
    RULE_ID,
    VIOLATED,
    conform,
)
from features.rules.sides import ARRIVED, DATE, PERIOD, VALUE, side_versions
from features.source_set import SourceSet

TARGET = "_target"
LATEST = "_latest"
LAG = "_lag"
PRIOR = "_prior"
# Periods past the latest ones a delivery can still be late for: a latest period older than
# ``lookback`` plus this is stale (the firm's data stopped) and not examined. An annual report
# comes up to half a year after its year; a monthly row is rarely more than a few months late.
STALE_AFTER = {Period.month: 6, Period.quarter: 2, Period.year: 1}


def period_label(period: Period, index: pl.Expr) -> pl.Expr:
    """The period as text: 2025, 2025-03, 2025-Q1."""
    if period == Period.year:
        return index.cast(pl.String)
    if period == Period.month:
        return period_start(period, index).dt.strftime("%Y-%m")
    year = (index // 4).cast(pl.String)
    return pl.concat_str(year, pl.lit("-Q"), (index % 4 + 1).cast(pl.String))


def targets_of(
    rule: CompareRule,
    driver: pl.LazyFrame,
    grid: pl.LazyFrame,
    lookback: int,
    revisit: pl.LazyFrame | None,
) -> pl.LazyFrame:
    """(grid row, uscc, as_of, target period) to examine."""
    base = grid.select(GRID_ROW, USCC, AS_OF)
    latest = latest_key(driver, base, key=PERIOD, alias=LATEST).filter(pl.col(LATEST).is_not_null())
    # A firm whose data stopped long ago (it left, a source dropped it) has no current periods.
    oldest = period_index(rule.period, pl.col(AS_OF)) - lookback - STALE_AFTER[rule.period]
    targets = (
        latest.with_columns(pl.lit(list(range(lookback)), dtype=pl.List(pl.Int32)).alias(LAG))
        .explode(LAG)
        .select(GRID_ROW, USCC, AS_OF, (pl.col(LATEST) - pl.col(LAG)).cast(pl.Int32).alias(TARGET))
        .filter(pl.col(TARGET) >= oldest)
    )
    if revisit is not None:
        again = base.join(revisit.select(GRID_ROW, pl.col(TARGET).cast(pl.Int32)), on=GRID_ROW)
        targets = pl.concat([targets, again.select(targets.collect_schema().names())])
    return targets.unique([GRID_ROW, TARGET])


def _values(
    side: Side, versions: pl.LazyFrame, targets: pl.LazyFrame, name: str, period: Period
) -> pl.LazyFrame:
    """``GRID_ROW``, ``TARGET`` and the side's value, date and arrival at each target."""
    found = values_at(versions, targets, key=PERIOD, target=TARGET).select(
        GRID_ROW,
        TARGET,
        pl.col(VALUE).alias(f"{name}_value"),
        pl.col(DATE).alias(f"{name}_date"),
        pl.col(ARRIVED).alias(f"{name}_arrived"),
    )
    if side.change is None:
        return found
    shifted = targets.with_columns((pl.col(TARGET) - periods_per_year(period)).alias(PRIOR))
    prior = values_at(versions, shifted, key=PERIOD, target=PRIOR).select(
        GRID_ROW, TARGET, pl.col(VALUE).alias(PRIOR)
    )
    value = pl.col(f"{name}_value")
    return found.join(prior, on=[GRID_ROW, TARGET], how="inner").with_columns(
        pl.when(pl.col(PRIOR) > 0).then(value / pl.col(PRIOR) - 1.0).alias(f"{name}_value")
    )


def evaluate_compare(
    rule: CompareRule,
    grid: pl.LazyFrame,
    sources: SourceSet,
    *,
    lookback: int | None = None,
    revisit: pl.LazyFrame | None = None,
) -> pl.LazyFrame | None:
    """The examined rows of one compare rule on ``grid`` (GRID_ROW, USCC, AS_OF and the master
    attributes the rule reads); None when a source it reads is absent.

    ``revisit``: GRID_ROW and ``_target`` (period index) to examine besides the latest periods.
    """
    versions: dict[str, pl.LazyFrame] = {}
    for name in ("left", "right"):
        side = rule.side(name)
        if side.source is not None:
            found = side_versions(side, rule.period, sources)
            if found is None:
                return None
            versions[name] = found.collect().lazy()  # read at least twice (periods, values)
    driver = versions[rule.periods_from]
    targets = targets_of(rule, driver, grid, lookback or rule.lookback, revisit).collect().lazy()
    rows = targets.select(GRID_ROW, TARGET)
    for name in ("left", "right"):
        side = rule.side(name)
        if side.attribute is not None:
            rows = rows.join(
                grid.select(GRID_ROW, pl.col(side.attribute).alias(f"{name}_value")),
                on=GRID_ROW,
                how="left",
            ).with_columns(
                pl.lit(None, dtype=pl.Date).alias(f"{name}_date"),
                pl.lit(None, dtype=pl.Datetime("us")).alias(f"{name}_arrived"),
            )
            continue
        values = _values(side, versions[name], targets, name, rule.period)
        rows = rows.join(values, on=[GRID_ROW, TARGET], how="left")
        if side.aggregate in ROW_AGGREGATES:
            rows = rows.with_columns(pl.col(f"{name}_value").fill_null(0.0))
    left, right = pl.col("left_value"), pl.col("right_value")
    measure, violated = _check(rule, left, right)
    examined = rows.filter(left.is_not_null() & right.is_not_null())
    return conform(
        examined.with_columns(
            pl.lit(rule.id).alias(RULE_ID),
            period_label(rule.period, pl.col(TARGET)).alias(PERIOD_KEY),
            period_start(rule.period, pl.col(TARGET)).alias(PERIOD_START),
            *_side_columns(rule, "left"),
            *_side_columns(rule, "right"),
            measure.alias(MEASURE),
            violated.alias(VIOLATED),
        )
    )


def _side_columns(rule: CompareRule, name: str) -> list[pl.Expr]:
    side = rule.side(name)
    value = pl.col(f"{name}_value")
    numeric = side.attribute is None and (
        side.numeric_result
        or side.change is not None
        or side.aggregate in ROW_AGGREGATES
        or _numeric_check(rule, name)
    )
    return [
        pl.lit(side.source or MASTER).alias(f"{name}_source"),
        (pl.lit(None, dtype=pl.String) if numeric else value.cast(pl.String)).alias(f"{name}_text"),
        (value.cast(pl.Float64) if numeric else pl.lit(None, dtype=pl.Float64)).alias(
            f"{name}_number"
        ),
    ]


def _numeric_check(rule: CompareRule, name: str) -> bool:
    check = rule.check
    if isinstance(check, GapCheck):
        return True
    if isinstance(check, BothCheck):
        return (check.left if name == "left" else check.right).numeric
    return False


def _check(rule: CompareRule, left: pl.Expr, right: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(measure, violated) of the rule's test."""
    check = rule.check
    if isinstance(check, DiffersCheck):
        return pl.lit(None, dtype=pl.Float64), (left != right).fill_null(False)
    if isinstance(check, BothCheck):
        return pl.lit(None, dtype=pl.Float64), check.left.expr(left) & check.right.expr(right)
    return check.measure(left, right), check.violated(left, right)


def target_of(rule: CompareRule, period_start_day: pl.Expr) -> pl.Expr:
    """The period index of a period's first day (to revisit a recorded anomaly's period)."""
    return period_index(rule.period, period_start_day)
