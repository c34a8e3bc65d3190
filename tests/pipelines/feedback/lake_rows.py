"""Tiny lakes on disk for the feedback tests: hand-built rows written as ingested deliveries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from data_contracts.catalog import get
from pipelines import io
from tests.features.tiny_lake import Rec, frames


def write_lake(lake: Path, records: Iterable[Rec], delivery: str = "2026-11-29") -> None:
    """Each source's rows as one delivery partition (as ingest would have written them)."""
    for source_id, frame in frames(records).items():
        schema = io.lake_schema(get(source_id))
        rows = frame.collect().with_columns(
            pl.lit(delivery).alias(io.DELIVERY_ID),
            pl.lit(dt.datetime(2026, 11, 29, 23, 0)).alias(io.INGESTED_AT),
        )
        io.write_partition(lake, source_id, delivery, rows.cast(dict(schema)))
