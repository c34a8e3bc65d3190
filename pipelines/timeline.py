"""Time, parsed once: as-of dates, ingest times and the park's ISO weeks.

Instants are UTC. Calendar days and weeks are the park's (Asia/Shanghai): a week's list covers
what was known by the end of its as-of Sunday, Monday 00:00 in the park, and goes out that Monday;
schedules fire on the park's clock. "Today" is the park's date of the current UTC instant, never
the machine's local clock.

The CLI and the flows turn what a person typed (``2026-11-29``, ``2026-W49``, nothing for "now")
into these values with the functions below, each naming the parameter in its error; the rest of
the code receives dates, aware datetimes and ``Week`` values.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

PARK_TZ = ZoneInfo("Asia/Shanghai")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# Only the extended calendar form: Python also reads ``2024-W51`` (a Monday) and ``20241216``
# as dates, and a week typed where a day is expected must be refused, not silently turned into
# a different as-of date.
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def park_today(now: dt.datetime | None = None) -> dt.date:
    """The park's calendar date at ``now`` (default: this instant)."""
    return (now or utc_now()).astimezone(PARK_TZ).date()


def parse_day(value: str | dt.date | None, what: str = "as_of") -> dt.date:
    """A calendar day given as ``YYYY-MM-DD`` or a date; ``None`` is the park's today."""
    if value is None:
        return park_today()
    if isinstance(value, dt.datetime):
        raise ValueError(f"{what} {value!r} is a date-time; give a date YYYY-MM-DD")
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{what} {value!r} is not a date YYYY-MM-DD")
    text = value.strip()
    if _DAY.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError as error:
            raise ValueError(f"{what} {value!r} is not a date YYYY-MM-DD") from error
    hint = "; it is a week, give its day" if _WEEK.fullmatch(text) else ""
    raise ValueError(f"{what} {value!r} is not a date YYYY-MM-DD{hint}")


def stored_day(value: str | dt.date | None, what: str) -> dt.date:
    """A day read back from a file or a store (a manifest's ``as_of``): ``YYYY-MM-DD`` or a
    date; missing is an error here, never today."""
    if value is None:
        raise ValueError(f"{what} is missing")
    return parse_day(value, what)


def parse_moment(value: str | dt.datetime, what: str) -> dt.datetime:
    """An instant given as an ISO date-time or a datetime, as written (naive stays naive, an
    offset is kept): for times read back from files and stores, named in the error."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{what} {value!r} is not an ISO date-time")
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise ValueError(f"{what} {value!r} is not an ISO date-time") from error


def parse_park_moment(value: str | dt.datetime | None, what: str) -> dt.datetime:
    """When something reached the platform, as a person gives it (a workbook's return, an
    objection's step): aware; now by default; a time without a zone is the park's."""
    if value is None:
        return utc_now()
    moment = parse_moment(value, what)
    return moment if moment.tzinfo else moment.replace(tzinfo=PARK_TZ)


def parse_ingest_time(value: str | dt.datetime | None, what: str = "as_of") -> dt.datetime:
    """The ingest time, naive UTC to the second (as the lake's ``_ingested_at`` holds it): now,
    a date (its last second: the whole day has arrived) or an ISO date-time (one with an offset
    is converted to UTC)."""
    if value is None:
        return utc_now().replace(tzinfo=None, microsecond=0)
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(23, 59, 59))
    elif not isinstance(value, str):
        raise ValueError(f"{what} {value!r} is neither YYYY-MM-DD nor an ISO date-time")
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(23, 59, 59))
            moment = dt.datetime.fromisoformat(text)
        except ValueError as error:
            raise ValueError(
                f"{what} {value!r} is neither YYYY-MM-DD nor an ISO date-time"
            ) from error
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def is_week_label(text: str) -> bool:
    """Written like an ISO week (``2026-W49``): how folders of weeks are recognised."""
    return _WEEK.match(text) is not None


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week of the park's calendar: ``2026-W49``."""

    year: int
    number: int

    def __post_init__(self) -> None:
        try:
            dt.date.fromisocalendar(self.year, self.number, 1)
        except ValueError as error:
            label = f"{self.year}-W{self.number:02d}"
            raise ValueError(f"week {label} does not exist: {error}") from error

    @classmethod
    def parse(cls, label: str, what: str = "week") -> Week:
        match = _WEEK.match(label.strip())
        if not match:
            raise ValueError(f"{what} {label!r} is not an ISO week like 2026-W47")
        try:
            return cls(int(match.group(1)), int(match.group(2)))
        except ValueError as error:
            raise ValueError(f"{what} {label!r}: {error}") from error

    @classmethod
    def containing(cls, day: dt.date) -> Week:
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def current(cls, now: dt.datetime | None = None) -> Week:
        return cls.containing(park_today(now))

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def __str__(self) -> str:
        return self.label

    @property
    def monday(self) -> dt.date:
        """The day the week's list goes out."""
        return dt.date.fromisocalendar(self.year, self.number, 1)

    @property
    def as_of(self) -> dt.date:
        """The Sunday before the Monday: the last day the week's list knows."""
        return self.monday - dt.timedelta(days=1)

    @property
    def cutoff(self) -> dt.datetime:
        """The instant that closes what the week's list may know: Monday 00:00 in the park."""
        return dt.datetime.combine(self.monday, dt.time(), tzinfo=PARK_TZ)

    @property
    def previous(self) -> Week:
        return Week.containing(self.as_of)


def parse_week(value: str | Week | None, what: str = "week", today: dt.date | None = None) -> Week:
    """An ISO week given as ``YYYY-Www`` or a ``Week``; ``None`` is the week containing
    ``today`` (the park's today unless given)."""
    if value is None:
        return Week.containing(today or park_today())
    if isinstance(value, Week):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{what} {value!r} is not an ISO week like 2026-W47")
    return Week.parse(value, what)


# The week functions for code that holds a week's label (it names folders, manifests and case
# store rows); each parses through Week. Flows and tasks pass ``Week`` values.


def week_label(day: dt.date) -> str:
    return Week.containing(day).label


def resolve_week(week: str | None, today: dt.date | None = None) -> tuple[str, dt.date]:
    """The ISO week (default: the one containing ``today``, the park's today unless given) and
    its as-of date."""
    parsed = parse_week(week, today=today)
    return parsed.label, parsed.as_of


def published_on(week: str) -> dt.date:
    """The Monday a week's list goes out."""
    return Week.parse(week).monday


def week_cutoff(week: str) -> dt.datetime:
    """The end of the week's as-of Sunday, Monday 00:00 in the park's time zone (aware)."""
    return Week.parse(week).cutoff


def previous_week(week: str) -> str:
    return Week.parse(week).previous.label
