"""The point-in-time core on hand-built versions: intervals, windows, latest keys."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from features.point_in_time import (
    AS_OF,
    GRID_ROW,
    USCC,
    VALID_TO,
    VISIBLE_FROM,
    Timing,
    WindowSum,
    latest_key,
    versions,
    window_sums,
)

TIMING = Timing("demo", "uscc", "event_day", "arrived_at", ("key",))


def lake(rows: list[tuple]) -> pl.LazyFrame:
    return pl.LazyFrame(
        rows,
        schema={
            "uscc": pl.String,
            "key": pl.String,
            "event_day": pl.Date,
            "arrived_at": pl.Datetime("us"),
            "amount": pl.Float64,
        },
        orient="row",
    )


def grid(*days: date, firm: str = "A") -> pl.LazyFrame:
    """Grid rows numbered in the order given."""
    return pl.LazyFrame({USCC: [firm] * len(days), AS_OF: list(days)}).with_row_index(GRID_ROW)


def test_version_visible_from_the_later_of_event_and_arrival_day():
    rows = lake(
        [
            ("A", "k1", date(2024, 1, 10), datetime(2024, 1, 5, 23, 59), 1.0),
            ("A", "k2", date(2024, 1, 10), datetime(2024, 1, 20, 0, 1), 1.0),
        ]
    )
    got = versions(rows, TIMING, ["key", "amount"]).sort("key").collect()
    assert got[VISIBLE_FROM].to_list() == [date(2024, 1, 10), date(2024, 1, 20)]
    assert got[VALID_TO].to_list() == [None, None]


def test_revision_arriving_late_replaces_the_first_version_from_its_arrival():
    rows = lake(
        [
            ("A", "k1", date(2024, 1, 10), datetime(2024, 1, 11), 1.0),
            ("A", "k1", date(2024, 1, 10), datetime(2024, 3, 1), 5.0),
        ]
    )
    got = versions(rows, TIMING, ["amount"]).sort(VISIBLE_FROM).collect()
    assert got["amount"].to_list() == [1.0, 5.0]
    assert got[VALID_TO].to_list() == [date(2024, 3, 1), None]


def test_revision_moving_the_event_after_t_keeps_the_old_version_until_it_is_usable():
    rows = lake(
        [
            ("A", "k1", date(2024, 1, 10), datetime(2024, 1, 11), 1.0),
            ("A", "k1", date(2024, 6, 1), datetime(2024, 2, 1), 2.0),
        ]
    )
    got = versions(rows, TIMING, ["amount"]).sort(VISIBLE_FROM).collect()
    assert got[VALID_TO].to_list() == [date(2024, 6, 1), None]


def test_version_superseded_before_it_is_ever_usable_is_dropped():
    rows = lake(
        [
            ("A", "k1", date(2024, 5, 1), datetime(2024, 1, 1), 1.0),
            ("A", "k1", date(2024, 2, 1), datetime(2024, 2, 1), 2.0),
        ]
    )
    got = versions(rows, TIMING, ["amount"]).collect()
    assert got["amount"].to_list() == [2.0]


def test_window_counts_event_on_t_and_drops_it_exactly_window_days_later():
    rows = lake([("A", "k1", date(2024, 1, 10), datetime(2024, 1, 10, 8), 3.0)])
    sums = (
        window_sums(
            versions(rows, TIMING, ["amount"]),
            grid(date(2024, 1, 9), date(2024, 1, 10), date(2024, 1, 19), date(2024, 1, 20)),
            {"n": WindowSum(pl.lit(1), 10), "amount": WindowSum(pl.col("amount"), 10)},
        )
        .sort(GRID_ROW)
        .collect()
    )
    assert sums["n"].to_list() == [0.0, 1.0, 1.0, 0.0]
    assert sums["amount"].to_list() == [0.0, 3.0, 3.0, 0.0]


def test_window_sum_of_revised_amount_switches_at_the_revision_and_leaves_no_dust():
    rows = lake(
        [
            ("A", "k1", date(2024, 1, 10), datetime(2024, 1, 11), 0.1),
            ("A", "k1", date(2024, 1, 10), datetime(2024, 2, 1), 0.2),
            ("A", "k2", date(2024, 1, 12), datetime(2024, 1, 12), 0.7),
        ]
    )
    sums = (
        window_sums(
            versions(rows, TIMING, ["amount"]),
            grid(date(2024, 1, 15), date(2024, 2, 1), date(2025, 1, 1)),
            {"amount": WindowSum(pl.col("amount"), 100)},
        )
        .sort(GRID_ROW)
        .collect()
    )
    assert sums["amount"].to_list() == pytest.approx([0.8, 0.9, 0.0], abs=1e-6)
    assert sums["amount"][2] == 0.0


def test_window_sums_of_a_firm_without_rows_are_zero():
    rows = lake([("A", "k1", date(2024, 1, 10), datetime(2024, 1, 11), 1.0)])
    sums = window_sums(
        versions(rows, TIMING, ["amount"]),
        grid(date(2024, 2, 1), firm="B"),
        {"n": WindowSum(pl.lit(1))},
    ).collect()
    assert sums["n"].to_list() == [0.0]


def test_latest_key_ignores_a_later_period_that_has_not_arrived():
    rows = lake(
        [
            ("A", "2024-01", date(2024, 1, 1), datetime(2024, 2, 20), 1.0),
            ("A", "2024-03", date(2024, 3, 1), datetime(2024, 4, 20), 1.0),
            ("A", "2024-02", date(2024, 2, 1), datetime(2024, 5, 20), 1.0),
        ]
    )
    got = (
        latest_key(
            versions(rows, TIMING, ["event_day"]),
            grid(date(2024, 2, 1), date(2024, 3, 1), date(2024, 5, 1), date(2024, 6, 1)),
            key="event_day",
            alias="latest",
        )
        .sort(AS_OF)
        .collect()
    )
    assert got["latest"].to_list() == [None, date(2024, 1, 1), date(2024, 3, 1), date(2024, 3, 1)]


def test_row_arriving_after_its_window_closed_never_counts():
    rows = lake([("A", "k1", date(2024, 1, 10), datetime(2024, 3, 1), 1.0)])
    sums = (
        window_sums(
            versions(rows, TIMING, ["amount"]),
            grid(date(2024, 1, 25), date(2024, 2, 15), date(2024, 3, 1), date(2024, 4, 1)),
            {"n": WindowSum(pl.lit(1), 30)},
        )
        .sort(GRID_ROW)
        .collect()
    )
    assert sums["n"].to_list() == [0.0, 0.0, 0.0, 0.0]
