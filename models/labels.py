"""Point-in-time labels: did the firm have its industry's distress event within the horizon?

A snapshot taken at ``as_of`` is labelled 1 when the firm's first event of the industry's type
falls in ``(as_of, as_of + horizon]``. Only what was known by ``known_until`` counts: outcomes that
arrived later are ignored, and snapshots whose window is not yet over are dropped (censored)
rather than labelled 0. Firms that already had the event on or before ``as_of`` are dropped: they
are no longer candidates for an early warning.

The industries' events come from the label source (``outcome_distress_event``). A model whose
spec declares ``label`` (the general model) takes its events from the lake sources named there
instead: ``source_events`` turns their rows into the same outcome frame, every row one event of
the spec's ``event_type`` on the source's event date, known from its arrival.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from models.config import IndustrySpec

HISTORY_COLUMNS = ("uscc", "as_of", "sector")
OUTCOME_COLUMNS = ("uscc", "event_date", "event_type", "arrived_at")
LABEL = "label"


def label_snapshots(
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    spec: IndustrySpec,
    known_until: date,
) -> pl.DataFrame:
    """The industry's labelled snapshots: ``history`` rows plus an Int8 ``label`` column."""
    _require(history, HISTORY_COLUMNS, "history")
    _require(outcomes, OUTCOME_COLUMNS, "outcomes")
    horizon = timedelta(days=spec.horizon_days)
    first_event = (
        outcomes.filter(
            (pl.col("event_type") == spec.event_type)
            & (pl.col("arrived_at").cast(pl.Date) <= known_until)
            & (pl.col("event_date") <= known_until)
        )
        .group_by("uscc")
        .agg(pl.col("event_date").min().alias("_first_event"))
    )
    return (
        history.filter(
            (pl.col("sector") == spec.sector_value) & (pl.col("as_of") + horizon <= known_until)
        )
        .join(first_event, on="uscc", how="left", maintain_order="left")
        .filter(pl.col("_first_event").is_null() | (pl.col("_first_event") > pl.col("as_of")))
        .with_columns(
            (pl.col("_first_event") <= pl.col("as_of") + horizon)
            .fill_null(False)
            .cast(pl.Int8)
            .alias(LABEL)
        )
        .drop("_first_event")
    )


def source_events(
    frames: Mapping[str, pl.DataFrame],
    times: Mapping[str, tuple[str, str]],
    spec: IndustrySpec,
) -> pl.DataFrame:
    """The spec's ``label`` events from its sources' rows: uscc, event_date, event_type,
    arrived_at, sorted. ``frames``: each labelling source's rows (canonical columns);
    ``times``: each source's (event time, arrival time) columns, from its contract. A source's
    ``{column: values}`` in the spec keeps only rows whose column holds one of the values."""
    if not spec.label:
        raise ValueError(f"{spec.key}: no label sources declared; its events are outcomes")
    parts = []
    for source, kept in spec.label.items():
        if source not in frames:
            raise ValueError(f"{spec.key}: label source {source} has no rows frame")
        if source not in times:
            raise ValueError(f"{spec.key}: label source {source} has no event and arrival time")
        frame = frames[source]
        event_time, arrival_time = times[source]
        _require(frame, ("uscc", event_time, arrival_time, *kept), source)
        for column, values in kept.items():
            frame = frame.filter(pl.col(column).is_in(values))
        parts.append(
            frame.select(
                pl.col("uscc").cast(pl.String),
                pl.col(event_time).cast(pl.Date).alias("event_date"),
                pl.lit(spec.event_type, dtype=pl.String).alias("event_type"),
                pl.col(arrival_time).cast(pl.Datetime("us")).alias("arrived_at"),
            )
        )
    return pl.concat(parts).sort("uscc", "event_date", "arrived_at")


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {frame.columns}")
