"""Point-in-time labels: did the firm have its industry's distress event within the horizon?

A snapshot taken at ``as_of`` is labelled 1 when the firm's first event of the industry's type
falls in ``(as_of, as_of + horizon]``. Only what was known by ``known_until`` counts: outcomes that
arrived later are ignored, and snapshots whose window is not yet over are dropped (censored)
rather than labelled 0. Firms that already had the event on or before ``as_of`` are dropped: they
are no longer candidates for an early warning.
"""

from __future__ import annotations

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


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {frame.columns}")
