"""The general model's label: the generic distress event read from lake sources
(``models.labels.source_events``) and labelled like any industry's (``label_snapshots``).

Each firm of these tiny frames names its edge case; firm X has nothing happen to it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from models.config import load_config
from models.labels import label_snapshots, source_events

GENERAL = load_config().general
AS_OF = date(2025, 1, 5)
KNOWN = date(2026, 11, 29)
HORIZON = timedelta(days=GENERAL.horizon_days)
# The shipped label's sources, their (event time, arrival time) columns as their contracts name
# them, and one row each of a firm named after the source.
TIMES = {
    "reg_licence_revocation": ("revoked_date", "arrived_at"),
    "credit_abnormal_operation": ("listed_date", "arrived_at"),
    "credit_serious_dishonest": ("listed_date", "arrived_at"),
    "reg_deregistration": ("deregistered_date", "arrived_at"),
}


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=9)


def frames(**rows: list[tuple]) -> dict[str, pl.DataFrame]:
    """Each labelling source's rows: (uscc, event date, arrival[, reason])."""
    out = {}
    for source, (event_time, arrival) in TIMES.items():
        schema = {"uscc": pl.String, event_time: pl.Date, arrival: pl.Datetime("us")}
        if source == "reg_deregistration":
            schema["reason"] = pl.String
        out[source] = pl.DataFrame(rows.get(source, []), schema=schema, orient="row")
    return out


def history(*firms: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"uscc": list(firms), "as_of": [AS_OF] * len(firms), "sector": ["其他"] * len(firms)}
    )


def labels(events: pl.DataFrame, *firms: str, known_until: date = KNOWN) -> dict[str, int]:
    labelled = label_snapshots(history(*firms), events, GENERAL, known_until)
    return dict(labelled.select("uscc", "label").iter_rows())


def test_the_shipped_label_is_revocation_abnormal_operation_dishonesty_and_bankruptcy():
    assert GENERAL is not None and GENERAL.sector_value == "其他"
    assert set(GENERAL.label) == set(TIMES)
    assert GENERAL.label["reg_deregistration"] == {"reason": ["被依法宣告破产"]}
    assert "court_enforcement" not in GENERAL.label


@pytest.mark.parametrize("source", sorted(TIMES))
def test_each_event_type_within_the_horizon_labels_the_firm(source):
    day = AS_OF + timedelta(days=30)
    row = (
        ("E", day, at(day), "被依法宣告破产")
        if source == "reg_deregistration"
        else ("E", day, at(day))
    )
    events = source_events(frames(**{source: [row]}), TIMES, GENERAL)
    assert events.row(0) == ("E", day, GENERAL.event_type, at(day))
    assert labels(events, "E", "X") == {"E": 1, "X": 0}


def test_a_voluntary_deregistration_is_no_distress_event():
    day = AS_OF + timedelta(days=30)
    events = source_events(
        frames(reg_deregistration=[("V", day, at(day), "决议解散")]), TIMES, GENERAL
    )
    assert events.height == 0
    assert labels(events, "V") == {"V": 0}


def test_an_event_after_the_horizon_is_ignored_and_one_on_its_last_day_counts():
    last, late = AS_OF + HORIZON, AS_OF + HORIZON + timedelta(days=1)
    events = source_events(
        frames(
            credit_abnormal_operation=[("L", last, at(last)), ("H", late, at(late))],
        ),
        TIMES,
        GENERAL,
    )
    assert labels(events, "L", "H") == {"L": 1, "H": 0}


def test_an_event_arrived_after_the_cut_off_is_not_known_and_the_window_must_be_over():
    day = AS_OF + timedelta(days=40)
    cut_off = AS_OF + HORIZON + timedelta(days=5)
    events = source_events(
        frames(
            credit_serious_dishonest=[
                ("K", day, at(day)),  # known in time
                ("U", day, at(cut_off + timedelta(days=1))),  # delivered after the cut-off
            ]
        ),
        TIMES,
        GENERAL,
    )
    assert labels(events, "K", "U", known_until=cut_off) == {"K": 1, "U": 0}
    # A window not over by the cut-off is censored, not labelled 0.
    assert labels(events, "K", known_until=AS_OF + HORIZON - timedelta(days=1)) == {}


def test_a_firm_with_an_event_before_the_as_of_date_is_no_longer_a_candidate():
    before = AS_OF - timedelta(days=10)
    events = source_events(
        frames(reg_licence_revocation=[("B", before, at(before))]), TIMES, GENERAL
    )
    assert labels(events, "B", "X") == {"X": 0}


def test_a_source_missing_its_columns_is_named():
    broken = frames()
    broken["reg_deregistration"] = broken["reg_deregistration"].drop("reason")
    with pytest.raises(ValueError, match=r"reg_deregistration lacks column\(s\) \['reason'\]"):
        source_events(broken, TIMES, GENERAL)
