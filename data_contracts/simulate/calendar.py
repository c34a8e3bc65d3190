"""The simulation's clock: the month grid, the history window and the delivery dates.

Months are numpy ``datetime64[M]``; days ``datetime64[D]``. The grid starts ``lead_months``
before the history window (so lagged signals have a past) and runs ``future_months`` past the
end date (distress that is coming but not yet visible in any delivery).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np

DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class SimCalendar:
    end: dt.date
    history_months: int
    lead_months: int
    future_months: int
    weekly_deliveries: int = 4
    week_days: int = 7

    @cached_property
    def end_day(self) -> np.datetime64:
        return np.datetime64(self.end, "D")

    @cached_property
    def end_month(self) -> np.datetime64:
        return self.end_day.astype("datetime64[M]")

    @cached_property
    def window_start_month(self) -> np.datetime64:
        return self.end_month - (self.history_months - 1)

    @cached_property
    def window_start(self) -> np.datetime64:
        """First day of the history window (the first month sources deliver)."""
        return self.window_start_month.astype("datetime64[D]")

    @cached_property
    def grid(self) -> np.ndarray:
        """Month starts of the whole simulated span (lead + history + future)."""
        first = self.window_start_month - self.lead_months
        return np.arange(first, self.end_month + self.future_months + 1)

    @property
    def n_months(self) -> int:
        return len(self.grid)

    @cached_property
    def window_offset(self) -> int:
        """Grid index of the history window's first month."""
        return self.lead_months

    @cached_property
    def end_index(self) -> int:
        """Grid index of the end date's month."""
        return self.lead_months + self.history_months - 1

    @cached_property
    def grid_end(self) -> np.datetime64:
        """The day after the grid's last month."""
        return (self.grid[-1] + 1).astype("datetime64[D]")

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Grid index of the month of each day (may fall outside the grid)."""
        months = np.asarray(days, dtype="datetime64[D]").astype("datetime64[M]")
        return (months - self.grid[0]).astype(np.int64)

    @cached_property
    def backfill_date(self) -> np.datetime64:
        """The bulk load of history lands this day; weekly deliveries follow."""
        return self.end_day - self.weekly_deliveries * self.week_days

    @cached_property
    def weekly_dates(self) -> np.ndarray:
        steps = np.arange(1, self.weekly_deliveries + 1) * self.week_days
        return self.backfill_date + steps.astype("timedelta64[D]")

    @property
    def backfill_id(self) -> str:
        return f"backfill-{self.backfill_date}"

    @property
    def delivery_ids(self) -> list[str]:
        return [self.backfill_id, *(str(d) for d in self.weekly_dates)]

    def delivery_of(self, arrival_days: np.ndarray) -> np.ndarray:
        """Delivery number per arrival day: 0 the backfill, k the k-th weekly delivery,
        -1 not delivered by the end date."""
        days = np.asarray(arrival_days, dtype="datetime64[D]")
        after = (days - self.backfill_date).astype(np.int64)
        number = np.where(after <= 0, 0, (after + self.week_days - 1) // self.week_days)
        return np.where(days > self.end_day, -1, number)
