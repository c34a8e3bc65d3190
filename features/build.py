"""The feature table: one row per active firm per as-of date, every registry column.

Every step of every family (``features.registry.FAMILIES``) computes all as-of dates in one query
(see ``point_in_time``); its columns are placed at their grid rows, then the derived features
(made of several families' columns) are computed on the assembled table, and the peer features
(a firm against the other firms of its sector at the same date) last, over every firm of the
table. A step yields exactly the columns it declares: anything else is an error, never silently
filled or dropped.

Sharded by firm (``firms``): every step of a firm reads only that firm's rows (and the firms it
names, e.g. its legal representative's other firms, which sit in its own rows), so a shard's
rows are exact but for the peer features, which ``peers=False`` leaves null; ``with_peers`` then
computes them on the gathered shards, the same values as a build over every firm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import polars as pl

from data_contracts.schema import SourceContract
from features.family import STEP_KEYS, Family, Step
from features.point_in_time import AS_OF, GRID_ROW, USCC, SourceDataError
from features.profile import FIRM_CODE, firm_grid
from features.registry import FAMILIES, SPECS
from features.source_set import SourceSet

KEYS = [USCC, AS_OF]
# Features comparing a firm with the other firms of the table, computed last (Family.peers).
PEERS = {name: expr for family in FAMILIES for name, expr in family.peers.items()}


class FeatureTableError(ValueError):
    """A family's computation disagrees with its declared columns."""


def build_feature_table(
    sources: Mapping[str, pl.LazyFrame],
    as_of_dates: Sequence[date],
    *,
    sectors: Sequence[str] | None = None,
    contracts: Mapping[str, SourceContract] | None = None,
    firms: pl.DataFrame | None = None,
    peers: bool = True,
    corrections: pl.DataFrame | None = None,
) -> pl.LazyFrame:
    """One row per active firm per as-of date, sorted by as_of then uscc.

    ``sources``: lake frames by source id (canonical columns). ``sectors`` keeps only firms of
    those registered sectors; ``contracts`` overrides the shipped catalog (tests). ``firms`` (a
    ``uscc`` column) keeps only those firms' rows (a shard); ``peers=False`` leaves the peer
    features null, for ``with_peers`` to compute over every shard. ``corrections``: records
    withdrawn by upheld objections to a fact, from their decision day
    (``features.credit_repair.check_corrections``). Raises ``SourceDataError``
    naming the source, column and row of a key value that is missing.

    The families' steps are computed here, one after the other, so that memory holds one
    step's intermediate frames at a time; the frame returned only joins their results.
    """
    source_set = SourceSet(sources, contracts, corrections)
    check_keys(source_set)
    grid, coded_grid, coded = step_inputs(source_set, as_of_dates, sectors, firms)
    columns: dict[str, pl.Series] = {}
    for family in FAMILIES:
        for step in family.steps:
            part = step.compute(coded_grid, coded)
            columns.update(step_columns(family, step, part, grid.height))
    table = grid.select(*KEYS).hstack(list(columns.values())).lazy()
    return finish(table, peers=peers)


def step_inputs(
    sources: SourceSet,
    as_of_dates: Sequence[date],
    sectors: Sequence[str] | None = None,
    firms: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.LazyFrame, SourceSet]:
    """The grid, and what every step computes from: the grid and the sources with firms coded
    as integers (joined and grouped as ints, much cheaper than the 18-character code)."""
    # Every step joins onto the grid: computing it once keeps each step's plan small. Its rows
    # come in their final order (as_of, then uscc), numbered 0..n-1: each step's values are
    # then placed at their row numbers, no join needed.
    grid = firm_grid(sources, as_of_dates, sectors).collect()
    if firms is not None:  # a shard: its firms' rows, in order, numbered again from 0
        grid = (
            grid.join(firms.select(USCC), on=USCC, how="semi", maintain_order="left")
            .drop(GRID_ROW)
            .with_row_index(GRID_ROW)
        )
    firms = grid.select(USCC, pl.col(FIRM_CODE).alias("code")).unique("code")
    coded_grid = grid.drop(USCC).rename({FIRM_CODE: USCC}).lazy()
    return grid, coded_grid, sources.for_firms(firms)


def active_firm_count(
    sources: Mapping[str, pl.LazyFrame], as_of: date, *, sectors: Sequence[str] | None = None
) -> int:
    """How many firms (of ``sectors``) ``build_feature_table`` would give a row at ``as_of``."""
    return firm_grid(SourceSet(sources), [as_of], sectors).select(pl.len()).collect().item()


def step_columns(
    family: Family, step: Step, part: pl.LazyFrame | None, height: int
) -> dict[str, pl.Series]:
    """The step's declared columns at full grid height. None from the step (none of its sources
    is present) makes them unknown for every firm; any other column set is an error."""
    if part is None:
        return {c: pl.Series(c, [None] * height, dtype=pl.Float64) for c in step.columns}
    got = [c for c in part.collect_schema().names() if c not in STEP_KEYS]
    missing, extra = sorted(set(step.columns) - set(got)), sorted(set(got) - set(step.columns))
    if missing or extra:
        raise FeatureTableError(
            f"feature family {family.name}, step {step.label}: columns declared but not "
            f"computed {missing}, computed but not declared {extra}"
        )
    if GRID_ROW not in part.collect_schema().names():
        raise FeatureTableError(f"feature family {family.name}, step {step.label}: no {GRID_ROW}")
    return placed(part.select(GRID_ROW, *step.columns).collect(), height)


def placed(part: pl.DataFrame, height: int) -> dict[str, pl.Series]:
    """A step's columns at full grid height: each value at its grid row, null elsewhere."""
    rows = part[GRID_ROW]
    if rows.is_duplicated().any():
        raise ValueError(f"a family gave grid row {rows.filter(rows.is_duplicated())[0]} twice")
    return {
        name: pl.repeat(None, height, dtype=part[name].dtype, eager=True)
        .alias(name)
        .scatter(rows, part[name])
        for name in part.columns
        if name != GRID_ROW
    }


def check_keys(sources: SourceSet) -> None:
    """Every row needs its entity, event time and arrival time; name the first that lacks one.

    One small query per source: a single plan over every source would open them all at once.
    """
    for source_id in sources.ids():
        timing = sources.timing(source_id)
        frame = sources.frames[source_id]
        schema = frame.collect_schema()
        columns = [timing.entity_key, timing.event_time, timing.arrival_time]
        for column in columns:
            if column not in schema:
                raise SourceDataError(f"source {source_id}: column {column!r} is missing")
        for column in columns[1:]:
            if not (schema[column] == pl.Date or isinstance(schema[column], pl.Datetime)):
                raise SourceDataError(
                    f"source {source_id}: column {column!r} must be a date or datetime, "
                    f"not {schema[column]}"
                )
        first_nulls = frame.select(
            pl.col(c).is_null().arg_true().first().alias(c) for c in columns
        ).collect(engine="in-memory")
        for column in columns:
            row = first_nulls[column][0]
            if row is not None:
                raise SourceDataError(
                    f"source {source_id}: column {column!r} is null in row {row} "
                    "(0-based row of the source frame)"
                )


def finish(table: pl.LazyFrame, *, peers: bool = True) -> pl.LazyFrame:
    """The derived features (made of several families' columns), the peer features (null with
    ``peers=False``), then exactly the registry's columns in order and type; a registered
    column nothing computed is an error."""
    derived = {name: expr for family in FAMILIES for name, expr in family.derived.items()}
    table = table.with_columns(**derived)
    table = table.with_columns(
        **(PEERS if peers else {name: pl.lit(None, pl.Float64) for name in PEERS})
    )
    present = set(table.collect_schema().names())
    missing = [s.name for s in SPECS if s.name not in present]
    if missing:
        raise FeatureTableError(f"registered features nothing computed: {missing}")
    return registry_columns(table)


def with_peers(table: pl.LazyFrame) -> pl.LazyFrame:
    """The peer features computed over every firm of ``table`` (the gathered shards of builds
    with ``peers=False``), in the registry's order and types."""
    return registry_columns(table.with_columns(**PEERS))


def registry_columns(table: pl.LazyFrame) -> pl.LazyFrame:
    return table.select(*KEYS, *[pl.col(s.name).cast(s.dtype) for s in SPECS])
