"""Deliveries: a source's rows cut into files as the department sends them, rendered to bytes.

History arrives in one bulk delivery ``backfill-YYYY-MM-DD``; the last weeks arrive weekly,
named by their delivery date, each holding the rows whose ``arrived_at`` falls in its week.
Rows that arrive after the end date are not delivered yet. A week without rows has no file,
except for snapshot sources, which deliver every week, and sources whose contract declares
``nil_returns``, which send a header-only file (a nil return: nothing happened this week).

Files carry the contract's raw headers in contract order. CSV: UTF-8 or GB18030 as declared,
dates ``YYYY-MM-DD``, times ``YYYY-MM-DD HH:MM:SS``, empty for null, no byte-order mark.
Parquet: typed columns (Int64, Float64, Date, Datetime[us], String), LZ4-compressed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import polars as pl

from data_contracts.schema import Column, ColumnType, FileFormat, Grain, SourceContract
from data_contracts.simulate.calendar import SimCalendar

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Delivery:
    """One file of one source: its rows under the raw headers, typed until rendered."""

    source_id: str
    delivery_id: str
    format: FileFormat
    encoding: str  # the encoding the bytes are written in (a defect may differ from the contract)
    frame: pl.DataFrame
    zero_bytes: bool = False  # an empty file: not even a header

    @property
    def file_name(self) -> str:
        return f"{self.delivery_id}.{self.format.value}"

    @property
    def rows(self) -> int:
        return 0 if self.zero_bytes else self.frame.height

    def with_frame(self, frame: pl.DataFrame) -> Delivery:
        return replace(self, frame=frame)


def raw_frame(contract: SourceContract, canonical: pl.DataFrame) -> pl.DataFrame:
    """Canonical columns renamed to the delivered headers, in contract order."""
    return canonical.select(pl.col(c.name).alias(c.raw) for c in contract.columns)


def as_text(column: Column, values: pl.Series) -> pl.Series:
    """A column's values as a delivered CSV shows them."""
    if column.type == ColumnType.date:
        return values.dt.strftime(DATE_FORMAT)
    if column.type == ColumnType.datetime:
        return values.dt.strftime(DATETIME_FORMAT)
    return values.cast(pl.String)


def split_deliveries(
    contract: SourceContract, canonical: pl.DataFrame, calendar: SimCalendar
) -> list[Delivery]:
    """The backfill and the weekly deliveries of one source (empty weeks left out unless the
    source delivers every week)."""
    arrived = canonical[contract.arrival_time].dt.date().to_numpy().astype("datetime64[D]")
    number = pl.Series("_delivery", calendar.delivery_of(arrived))
    parts = (
        raw_frame(contract, canonical)
        .with_columns(number)
        .partition_by("_delivery", as_dict=True, include_key=False)
    )
    empty = raw_frame(contract, canonical.head(0))
    every_week = contract.grain == Grain.snapshot or contract.delivery.nil_returns
    deliveries = []
    for k, delivery_id in enumerate(calendar.delivery_ids):
        part = parts.get((k,), empty)
        if part.height == 0 and (k == 0 or not every_week):
            continue
        deliveries.append(
            Delivery(
                source_id=contract.id,
                delivery_id=delivery_id,
                format=contract.delivery.format,
                encoding=contract.delivery.encoding,
                frame=part,
            )
        )
    return deliveries


def render(delivery: Delivery) -> bytes:
    """The delivery's file content, byte for byte."""
    if delivery.zero_bytes:
        return b""
    buffer = io.BytesIO()
    if delivery.format == FileFormat.parquet:
        delivery.frame.write_parquet(buffer, compression="lz4", statistics=False)
        return buffer.getvalue()
    options = {
        "date_format": DATE_FORMAT,
        "datetime_format": DATETIME_FORMAT,
        "line_terminator": "\n",
    }
    if delivery.encoding == "utf-8":
        delivery.frame.write_csv(buffer, **options)
        return buffer.getvalue()
    return delivery.frame.write_csv(**options).encode(delivery.encoding)
