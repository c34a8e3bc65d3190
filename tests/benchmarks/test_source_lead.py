"""source_lead: a record counts when its firm's event follows within the horizon, records after
the event are left out, and the base counts only the months a firm was alive before its event."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tests.benchmarks.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("source_lead")


FIRMS = pl.DataFrame(
    {
        "uscc": ["A", "B", "C"],
        "distress_date": [date(2024, 7, 1), None, date(2025, 6, 1)],
        "vanish_date": [date(2024, 9, 1), None, date(2025, 8, 1)],
    }
)


def test_records_ahead_of_the_event_within_the_horizon(bench):
    records = pl.DataFrame(
        {
            "uscc": ["A", "A", "B", "C", "A"],
            # A: 91 days before its event (counts), 273 days before (too early); B: never
            # distressed; C: 365 days before; A again, after its event: left out.
            "day": [
                date(2024, 4, 1),
                date(2023, 10, 2),
                date(2024, 4, 1),
                date(2024, 6, 1),
                date(2024, 8, 1),
            ],
        }
    )
    count, share = bench.record_share(records, FIRMS, 180)
    assert count == 4
    assert share == pytest.approx(1 / 4)


def test_no_record_before_any_event_reads_zero(bench):
    records = pl.DataFrame({"uscc": ["A"], "day": [date(2024, 8, 1)]})
    assert bench.record_share(records, FIRMS, 180) == (0, 0.0)


def test_the_base_counts_months_alive_before_the_event(bench):
    # A: Jan-Jul 2024 before or at its event (Jan-Jun within 180 days? Jan is 182 days before,
    # so Feb-Jul count: 6 of 7); its Aug month is after the event and left out. B: 6 months,
    # never distressed.
    months = pl.DataFrame(
        {
            "uscc": ["A"] * 8 + ["B"] * 6,
            "month": [date(2024, m, 1) for m in range(1, 9)]
            + [date(2024, m, 1) for m in range(1, 7)],
        }
    )
    share = bench.base_share(months.lazy(), FIRMS.lazy(), 180)
    assert share == pytest.approx(6 / 13)
