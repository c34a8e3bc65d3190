"""Plausibility checks on accepted rows: warnings, not quarantine (pure).

A row can satisfy its contract and still be impossible: an event dated after the row arrived, a
date before 1949 or centuries ahead, a magnitude no firm has in a column without a declared
maximum. The bounds are data (``plausibility.yaml``, package data); each check yields a count and
the first rows, for the ingest summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl
import yaml
from pydantic import Field

from data_contracts.coerce import ROW
from data_contracts.schema import ColumnType, Frozen, SourceContract

FIRST_ROWS = 5  # rows named in a warning; the count says how many there are


class Plausibility(Frozen):
    earliest_date: dt.date
    latest_years_after_delivery: int = Field(gt=0)
    max_magnitude: float = Field(gt=0)


@cache
def load_plausibility() -> Plausibility:
    text = (resources.files("data_contracts") / "plausibility.yaml").read_text(encoding="utf-8")
    return Plausibility.model_validate(yaml.safe_load(text))


@dataclass(frozen=True)
class Implausible:
    column: str
    check: str  # event_after_arrival | before_earliest_date | far_future | magnitude
    count: int
    rows: list[int]  # the first FIRST_ROWS data rows
    detail: str  # what was found, in words

    def sentence(self, where: str) -> str:
        shown = ", ".join(str(r) for r in self.rows)
        more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
        return (
            f"{where} column {self.column}: {self.count} value{'s' if self.count > 1 else ''} "
            f"{self.detail} (row{'s' if self.count > 1 else ''} {shown}{more}); kept, "
            f"please check with the department"
        )


def implausible(
    typed: pl.DataFrame,
    contract: SourceContract,
    delivered_on: dt.date,
    bounds: Plausibility | None = None,
) -> list[Implausible]:
    """Every plausibility finding in ``typed`` (canonical typed columns and ``_row``)."""
    bounds = bounds or load_plausibility()
    if typed.height == 0:
        return []
    latest = _years_after(delivered_on, bounds.latest_years_after_delivery)
    checks: list[tuple[str, str, pl.Expr, str]] = [
        (
            contract.event_time,
            "event_after_arrival",
            pl.col(contract.event_time).cast(pl.Date) > pl.col(contract.arrival_time).cast(pl.Date),
            f"dated after the row's arrival ({contract.arrival_time})",
        )
    ]
    for column in contract.columns:
        if column.name not in typed.columns:
            continue
        value = pl.col(column.name)
        if column.type in (ColumnType.date, ColumnType.datetime):
            day = value.cast(pl.Date)
            checks.append(
                (
                    column.name,
                    "before_earliest_date",
                    day < bounds.earliest_date,
                    f"before {bounds.earliest_date}",
                )
            )
            checks.append(
                (
                    column.name,
                    "far_future",
                    day > latest,
                    f"more than {bounds.latest_years_after_delivery} years after the delivery "
                    f"({delivered_on})",
                )
            )
        elif column.type in (ColumnType.int, ColumnType.float) and column.max is None:
            checks.append(
                (
                    column.name,
                    "magnitude",
                    value.cast(pl.Float64).abs() > bounds.max_magnitude,
                    f"beyond {bounds.max_magnitude:g} in magnitude, more than any firm has",
                )
            )
    flags = typed.select(
        pl.col(ROW),
        *(expr.fill_null(False).alias(str(i)) for i, (_, _, expr, _) in enumerate(checks)),
    )
    found = []
    for i, (column, check, _, detail) in enumerate(checks):
        rows = flags.filter(pl.col(str(i))).get_column(ROW)
        if rows.len():
            found.append(
                Implausible(column, check, rows.len(), rows.head(FIRST_ROWS).to_list(), detail)
            )
    return found


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
