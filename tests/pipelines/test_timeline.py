"""One time type: days and weeks of the park's calendar, instants in UTC, parsed in one place."""

from __future__ import annotations

import datetime as dt

import pytest

from pipelines.timeline import (
    PARK_TZ,
    Week,
    park_today,
    parse_day,
    parse_ingest_time,
    parse_moment,
    parse_week,
    previous_week,
    published_on,
    resolve_week,
    week_cutoff,
    week_label,
)


def test_a_week_knows_its_monday_as_of_sunday_cutoff_and_predecessor():
    week = Week.parse("2026-W49")
    assert (week.label, str(week)) == ("2026-W49", "2026-W49")
    assert week.monday == dt.date(2026, 11, 30) == published_on("2026-W49")
    assert week.as_of == dt.date(2026, 11, 29) == resolve_week("2026-W49")[1]
    assert week.cutoff == dt.datetime(2026, 11, 30, tzinfo=PARK_TZ) == week_cutoff("2026-W49")
    assert week.cutoff.astimezone(dt.UTC) == dt.datetime(2026, 11, 29, 16, tzinfo=dt.UTC)
    assert week.previous == Week(2026, 48) and previous_week("2026-W49") == "2026-W48"


def test_weeks_across_a_year_boundary():
    """ISO years: 2027-W01 begins on Monday 2027-01-04; the week before is 2026-W53."""
    assert Week.parse("2027-W01").previous.label == "2026-W53"
    assert week_label(dt.date(2027, 1, 3)) == "2026-W53"
    assert Week.containing(dt.date(2026, 12, 31)) == Week(2026, 53)


@pytest.mark.parametrize("label", ["2026-49", "2026-W5", "W49", "2026-W54", "2025-W53"])
def test_a_bad_week_is_refused_by_name(label):
    with pytest.raises(ValueError, match="week"):
        Week.parse(label)


def test_today_is_the_parks_date_of_the_utc_instant():
    """16:30 UTC on a Sunday is already Monday 00:30 in the park."""
    late = dt.datetime(2026, 11, 29, 16, 30, tzinfo=dt.UTC)
    assert park_today(late) == dt.date(2026, 11, 30)
    assert Week.current(late).label == "2026-W49"
    assert park_today(dt.datetime(2026, 11, 29, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 11, 29)


def test_days_parse_once_and_name_the_parameter():
    assert parse_day("2026-11-29") == dt.date(2026, 11, 29)
    assert parse_day(dt.date(2026, 11, 29)) == dt.date(2026, 11, 29)
    with pytest.raises(ValueError, match="end_date '29/11/2026'"):
        parse_day("29/11/2026", "end_date")
    with pytest.raises(ValueError, match="date-time"):
        parse_day(dt.datetime(2026, 11, 29, 8), "as_of")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("2024-W51", "it is a week"),  # Python's fromisoformat reads it as that week's Monday
        ("2024-W51-1", ""),
        ("20241216", ""),  # the basic form, also read by fromisoformat
        ("2024-12-32", ""),
        ("2024-1-16", ""),
    ],
)
def test_a_day_is_only_the_extended_calendar_form(text, hint):
    with pytest.raises(ValueError, match=f"as_of '{text}' is not a date YYYY-MM-DD") as error:
        parse_day(text)
    assert hint in str(error.value)
    assert parse_day(" 2024-12-16 ") == dt.date(2024, 12, 16)


def test_ingest_times_are_naive_utc():
    assert parse_ingest_time("2026-11-29") == dt.datetime(2026, 11, 29, 23, 59, 59)
    assert parse_ingest_time("2026-11-30T08:30:00+08:00") == dt.datetime(2026, 11, 30, 0, 30)
    now = parse_ingest_time(None)
    assert now.tzinfo is None and now.microsecond == 0
    assert abs(now - dt.datetime.now(dt.UTC).replace(tzinfo=None)) < dt.timedelta(minutes=1)
    with pytest.raises(ValueError, match="next tuesday"):
        parse_ingest_time("next tuesday")


def test_weeks_parse_once_from_a_label_or_a_week_and_name_the_parameter():
    assert parse_week("2026-W49") == parse_week(Week(2026, 49)) == Week(2026, 49)
    assert parse_week(None, today=dt.date(2026, 11, 29)) == Week(2026, 48)
    with pytest.raises(ValueError, match="first_week '2026-W54'"):
        parse_week("2026-W54", "first_week")
    with pytest.raises(ValueError, match="week '2026/49' is not an ISO week"):
        parse_week("2026/49")
    with pytest.raises(ValueError, match="week 49 is not an ISO week"):
        parse_week(49)


def test_a_value_that_is_not_text_is_refused_by_name_not_by_a_crash():
    with pytest.raises(ValueError, match="manifest as_of 20261129"):
        parse_day(20261129, "manifest as_of")
    with pytest.raises(ValueError, match=r"as_of 1\.5 is neither"):
        parse_ingest_time(1.5)


def test_an_ingest_day_given_as_a_date_is_its_last_second_as_its_text_is():
    day = parse_ingest_time(dt.date(2026, 11, 29))
    assert day == parse_ingest_time("2026-11-29") == dt.datetime(2026, 11, 29, 23, 59, 59)


def test_moments_read_back_keep_their_offset_and_name_what_was_read():
    assert parse_moment("2026-11-29T08:00:00", "trained_at") == dt.datetime(2026, 11, 29, 8)
    aware = parse_moment("2026-11-29T08:00:00+08:00", "received_at")
    assert aware.utcoffset() == dt.timedelta(hours=8)
    with pytest.raises(ValueError, match="trained_at 'yesterday' is not an ISO date-time"):
        parse_moment("yesterday", "trained_at")
