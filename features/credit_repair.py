"""Credit repair, point in time: a repaired penalty or dishonesty record stops counting from the
day its repair is in effect and known, and still counts for every as-of date before it.

A source whose contract declares ``refers_to`` (``credit_repair``; ``credit_commitment`` for a
fulfilled credit-repair commitment) names records of other sources: the named source's id in one
column (its ``allowed`` values are the repairable sources) and the record's unique key in another.
A repair is read like every other row: it counts from ``max(event date, arrival date)``, the day
it took effect and reached the platform. The first such day over the repairs naming a record is
that record's ``_repaired_from``.

Every feature and fact reads a source through its row versions' validity intervals
(``point_in_time.versions``); a repaired record's versions end at ``_repaired_from``. So a
windowed count, a running total and the facts behind a reason all stop counting the record on
that day, and the history built for earlier as-of dates is unchanged: training stays honest.

A repair naming a record the firm does not have in the named source is kept, not quarantined:
records often reach the platform late, and a record arriving after its repair then never counts.
``unresolved_repairs`` lists such repairs (source, delivery, column, key) for the feature build to
report. Repairs are final: a revision that withdraws a repair does not bring its record back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date

import polars as pl

from data_contracts.schema import SourceContract
from features.point_in_time import USCC, VALID_TO, VISIBLE_FROM, Timing, versions

REPAIRED_SOURCE = "repaired_source"
REPAIRED_RECORD = "repaired_record"
REPAIRED_FROM = "repaired_from"
REPAIR_SOURCE = "repair_source"
REPAIR_KEY = "repair_key"
# The lake's delivery id column (pipelines.io.DELIVERY_ID), named here to keep features/ free of
# pipelines; absent in hand-built frames.
DELIVERY = "_delivery_id"
REPAIRS_SCHEMA = {
    USCC: pl.String,
    REPAIRED_SOURCE: pl.String,
    REPAIRED_RECORD: pl.String,
    REPAIRED_FROM: pl.Date,
}


def repair_sources(contracts: Mapping[str, SourceContract]) -> list[str]:
    """The sources whose rows repair records of other sources."""
    return sorted(s for s, c in contracts.items() if c.refers_to is not None)


def repairable_sources(contracts: Mapping[str, SourceContract]) -> set[str]:
    """Every source a repair source can name (its reference column's allowed values)."""
    named: set[str] = set()
    for source_id in repair_sources(contracts):
        ref = contracts[source_id].refers_to
        assert ref is not None  # repair_sources keeps only contracts that refer
        named.update(contracts[source_id].column(ref.source).allowed or ())
    return named


def correctable(contract: SourceContract) -> bool:
    """Whether people's decisions can withdraw one record of the source: its rows are records
    with a one-column key (a decision, case or listing number), not a firm's monthly panel."""
    return len(contract.unique_key) == 1 and contract.unique_key[0] != contract.entity_key


def check_corrections(
    corrections: pl.DataFrame | None, contracts: Mapping[str, SourceContract]
) -> pl.DataFrame:
    """Records withdrawn by people's decisions (``REPAIRS_SCHEMA``), checked: each names a
    correctable source among ``contracts`` (sorted by firm, source and record)."""
    if corrections is None:
        return pl.DataFrame(schema=REPAIRS_SCHEMA)
    missing = sorted(set(REPAIRS_SCHEMA) - set(corrections.columns))
    if missing:
        raise ValueError(f"corrections lack the columns {missing}")
    named = sorted(set(corrections[REPAIRED_SOURCE].to_list()))
    wrong = [s for s in named if s not in contracts or not correctable(contracts[s])]
    if wrong:
        raise ValueError(
            f"corrections name {wrong}: only a source of records keyed by one column "
            "(not a monthly panel) can have one record withdrawn"
        )
    schema = {**REPAIRS_SCHEMA, USCC: corrections.schema[USCC]}
    return (
        corrections.select(list(REPAIRS_SCHEMA))
        .cast(schema)
        .sort(USCC, REPAIRED_SOURCE, REPAIRED_RECORD)
    )


def record_key(contract: SourceContract) -> str:
    """The one column that identifies a repairable source's record."""
    if len(contract.unique_key) != 1:
        raise ValueError(
            f"source {contract.id}: a repairable source needs a one-column unique key, "
            f"not {contract.unique_key}"
        )
    return contract.unique_key[0]


def _naming_rows(
    frame: pl.LazyFrame, contract: SourceContract, extra: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """Every version of a repair source's rows that names a record (within ``when``), with
    ``repaired_source``, ``repaired_record`` and ``_visible_from``."""
    ref = contract.refers_to
    assert ref is not None
    rows = versions(frame, Timing.of(contract), [ref.source, ref.record, *ref.when, *extra])
    for column, values in ref.when.items():
        rows = rows.filter(pl.col(column).is_in(values))
    return rows.filter(pl.col(ref.source).is_not_null() & pl.col(ref.record).is_not_null()).select(
        USCC,
        pl.col(ref.source).cast(pl.String).alias(REPAIRED_SOURCE),
        pl.col(ref.record).cast(pl.String).alias(REPAIRED_RECORD),
        VISIBLE_FROM,
        *extra,
    )


def repairs(
    frames: Mapping[str, pl.LazyFrame], contracts: Mapping[str, SourceContract]
) -> pl.DataFrame:
    """One row per repaired record: ``uscc``, ``repaired_source``, ``repaired_record`` and
    ``repaired_from``, the first day a repair naming it is in effect and known (sorted by firm,
    source and record). Two repairs of one record: the earlier counts."""
    parts = [
        _naming_rows(frames[s], contracts[s]) for s in repair_sources(contracts) if s in frames
    ]
    if not parts:
        return pl.DataFrame(schema=REPAIRS_SCHEMA)
    stacked = pl.concat(parts, how="vertical_relaxed")
    return (
        stacked.group_by(USCC, REPAIRED_SOURCE, REPAIRED_RECORD)
        .agg(pl.col(VISIBLE_FROM).min().alias(REPAIRED_FROM))
        .sort(USCC, REPAIRED_SOURCE, REPAIRED_RECORD)
        .collect()
    )


def repairs_in_force(
    frames: Mapping[str, pl.LazyFrame], contracts: Mapping[str, SourceContract], as_of: date
) -> pl.DataFrame:
    """Every repair in force at ``as_of`` (in effect and known by then): ``repair_source``,
    ``repair_key``, ``uscc``, ``repaired_source``, ``repaired_record``, ``repaired_from`` and
    ``sha256`` of those fields, sorted by source and key: what a week's manifest lists."""
    parts = []
    for source_id in repair_sources(contracts):
        if source_id not in frames:
            continue
        key = record_key(contracts[source_id])
        parts.append(
            _naming_rows(frames[source_id], contracts[source_id], extra=(key,))
            .filter(pl.col(VISIBLE_FROM) <= as_of)
            .group_by(key, USCC, REPAIRED_SOURCE, REPAIRED_RECORD)
            .agg(pl.col(VISIBLE_FROM).min().alias(REPAIRED_FROM))
            .select(
                pl.lit(source_id).alias(REPAIR_SOURCE),
                pl.col(key).cast(pl.String).alias(REPAIR_KEY),
                pl.col(USCC).cast(pl.String),
                REPAIRED_SOURCE,
                REPAIRED_RECORD,
                REPAIRED_FROM,
            )
            .collect()
        )
    columns = [REPAIR_SOURCE, REPAIR_KEY, USCC, REPAIRED_SOURCE, REPAIRED_RECORD, REPAIRED_FROM]
    if not parts:
        schema = {**dict.fromkeys(columns, pl.String), REPAIRED_FROM: pl.Date}
        return pl.DataFrame(schema={**schema, "sha256": pl.String})
    found = pl.concat(parts).sort(columns)
    digests = [
        hashlib.sha256("\x1f".join(str(v) for v in row).encode("utf-8")).hexdigest()
        for row in found.iter_rows()
    ]
    return found.with_columns(pl.Series("sha256", digests, dtype=pl.String))


def without_repaired(
    versions_frame: pl.LazyFrame, key: str, repaired: pl.LazyFrame
) -> pl.LazyFrame:
    """``versions_frame`` (row versions of one repairable source, with its record ``key``) with
    every repaired record's versions ending at its ``repaired_from``; a version that would only
    start on or after it is dropped. ``repaired``: ``uscc``, ``repaired_record``,
    ``repaired_from`` of that source's records."""
    return (
        versions_frame.join(
            repaired.select(USCC, pl.col(REPAIRED_RECORD).alias(key), REPAIRED_FROM),
            on=[USCC, key],
            how="left",
            maintain_order="left",
        )
        .with_columns(pl.min_horizontal(VALID_TO, REPAIRED_FROM).alias(VALID_TO))
        .filter(pl.col(VALID_TO).is_null() | (pl.col(VISIBLE_FROM) < pl.col(VALID_TO)))
        .drop(REPAIRED_FROM)
    )


def unresolved_repairs(
    frames: Mapping[str, pl.LazyFrame], contracts: Mapping[str, SourceContract]
) -> pl.DataFrame:
    """Repairs naming a record their firm does not have in the named source (or a source not in
    ``frames``): ``repair_source``, ``repair_key``, ``uscc``, ``repaired_source``,
    ``repaired_record``, ``_delivery_id`` (null when the frame has none) and ``reason``, a sentence
    naming the source, delivery, column and key. Sorted by source and key."""
    found: list[pl.DataFrame] = []
    for source_id in repair_sources(contracts):
        if source_id not in frames:
            continue
        contract = contracts[source_id]
        ref = contract.refers_to
        assert ref is not None
        key = record_key(contract)
        frame = frames[source_id]
        if DELIVERY not in frame.collect_schema().names():
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(DELIVERY))
        named = (
            _naming_rows(frame, contract, extra=(key, DELIVERY))
            .select(USCC, REPAIRED_SOURCE, REPAIRED_RECORD, key, DELIVERY)
            .unique()
            .collect()
        )
        known = _known_records(frames, contracts, named)
        missing = named.join(known, on=[USCC, REPAIRED_SOURCE, REPAIRED_RECORD], how="anti")
        found.append(
            missing.select(
                pl.lit(source_id).alias(REPAIR_SOURCE),
                pl.col(key).cast(pl.String).alias(REPAIR_KEY),
                pl.col(USCC).cast(pl.String),
                REPAIRED_SOURCE,
                REPAIRED_RECORD,
                pl.col(DELIVERY).cast(pl.String),
            ).with_columns(
                pl.format(
                    "source {}, delivery {}, column {}, {} {}: names {} record {}, "
                    "which firm {} does not have in that source",
                    pl.lit(source_id),
                    pl.col(DELIVERY).fill_null("-"),
                    pl.lit(ref.record),
                    pl.lit(key),
                    pl.col(REPAIR_KEY),
                    pl.col(REPAIRED_SOURCE),
                    pl.col(REPAIRED_RECORD),
                    pl.col(USCC),
                ).alias("reason")
            )
        )
    if not found:
        return pl.DataFrame(
            schema={
                REPAIR_SOURCE: pl.String,
                REPAIR_KEY: pl.String,
                USCC: pl.String,
                REPAIRED_SOURCE: pl.String,
                REPAIRED_RECORD: pl.String,
                DELIVERY: pl.String,
                "reason": pl.String,
            }
        )
    return pl.concat(found).unique().sort(REPAIR_SOURCE, REPAIR_KEY, DELIVERY, nulls_last=True)


def _known_records(
    frames: Mapping[str, pl.LazyFrame],
    contracts: Mapping[str, SourceContract],
    named: pl.DataFrame,
) -> pl.DataFrame:
    """(uscc, repaired_source, repaired_record) of every named record that some delivery of its
    source holds."""
    parts = []
    for source_id in sorted(set(named[REPAIRED_SOURCE].to_list())):
        if source_id not in frames or source_id not in contracts:
            continue
        contract = contracts[source_id]
        key = record_key(contract)
        wanted = named.filter(pl.col(REPAIRED_SOURCE) == source_id)[REPAIRED_RECORD].unique()
        parts.append(
            frames[source_id]
            .select(
                pl.col(contract.entity_key).alias(USCC),
                pl.col(key).cast(pl.String).alias(REPAIRED_RECORD),
            )
            .filter(pl.col(REPAIRED_RECORD).is_in(wanted.implode()))
            .unique()
            .with_columns(pl.lit(source_id).alias(REPAIRED_SOURCE))
            .collect()
        )
    schema = {USCC: named.schema[USCC], REPAIRED_SOURCE: pl.String, REPAIRED_RECORD: pl.String}
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts, how="vertical_relaxed").select(list(schema))
