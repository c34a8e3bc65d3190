"""Plausibility findings on typed rows: each bound named once, counted, the first rows named."""

from __future__ import annotations

import datetime as dt

import polars as pl

from data_contracts import catalog
from data_contracts.plausibility import FIRST_ROWS, implausible, load_plausibility

LICENCE = next(
    c
    for c in catalog.load_all().values()
    if sum(col.type == "date" for col in c.columns) >= 2
    and any(col.type == "float" and col.max is None for col in c.columns)
)
DELIVERED = dt.date(2026, 11, 2)


def _typed(n: int, **columns) -> pl.DataFrame:
    """``n`` plausible rows, with the given columns overridden."""
    base = {}
    for column in LICENCE.columns:
        if column.type == "date":
            base[column.name] = [dt.date(2026, 10, 1)] * n
        elif column.type == "datetime":
            base[column.name] = [dt.datetime(2026, 10, 2, 8)] * n
        elif column.type in ("int", "float"):
            base[column.name] = [1.0] * n
        else:
            base[column.name] = ["x"] * n
    base.update(columns)
    frame = pl.DataFrame(base).with_row_index("_row", offset=1)
    return frame.with_columns(pl.col("_row").cast(pl.Int64))


def test_the_bounds_are_declared_once_and_load():
    bounds = load_plausibility()
    assert bounds.earliest_date == dt.date(1949, 10, 1)
    assert bounds.max_magnitude >= 1e12


def test_plausible_rows_and_a_long_term_licence_date_raise_nothing():
    other = next(
        c.name for c in LICENCE.columns if c.type == "date" and c.name != LICENCE.event_time
    )
    typed = _typed(2, **{other: [dt.date(2099, 12, 31), dt.date(1949, 10, 1)]})
    assert implausible(typed, LICENCE, DELIVERED) == []


def test_each_finding_counts_every_row_and_names_the_first():
    amount = next(c.name for c in LICENCE.columns if c.type == "float" and c.max is None)
    other = next(
        c.name for c in LICENCE.columns if c.type == "date" and c.name != LICENCE.event_time
    )
    n = FIRST_ROWS + 2
    typed = _typed(
        n,
        **{
            amount: [1e30] * n,
            other: [dt.date(2226, 1, 1)] + [dt.date(1900, 1, 1)] * (n - 1),
            LICENCE.event_time: [dt.date(2026, 10, 3)] + [dt.date(2026, 10, 1)] * (n - 1),
        },
    )
    found = {(f.column, f.check): f for f in implausible(typed, LICENCE, DELIVERED)}
    assert set(found) == {
        (amount, "magnitude"),
        (other, "far_future"),
        (other, "before_earliest_date"),
        (LICENCE.event_time, "event_after_arrival"),
    }
    assert (found[amount, "magnitude"].count, found[amount, "magnitude"].rows) == (
        n,
        [1, 2, 3, 4, 5],
    )
    assert found[other, "before_earliest_date"].count == n - 1
    sentence = found[amount, "magnitude"].sentence("s file f.csv")
    assert sentence.startswith(f"s file f.csv column {amount}: {n} values beyond 1e+13")
    assert "(rows 1, 2, 3, 4, 5 and 2 more)" in sentence
