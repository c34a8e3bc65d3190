"""The simulated park as one object: the calendar, every entity, its fate and its monthly stress.

``build_world`` is deterministic in (scale, seed, end date). The world can be written out as
truth frames (``truth_frames``) and rebuilt from them exactly (``World.from_truth``), which is
how the simulate flow hands it from one task to the next.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from data_contracts.simulate.calendar import SimCalendar
from data_contracts.simulate.config import SimScale, WorldParams, vocabulary, world_params
from data_contracts.simulate.firms import build_population
from data_contracts.simulate.rng import stream
from data_contracts.simulate.stress import (
    ACTIVE,
    DAYS_PER_MONTH,
    STATUSES,
    draw_fate,
    stress_matrix,
)

# Entity attributes a contract column may copy (sim role ``firm`` or ``counterpart``).
FIRM_ATTRIBUTES = (
    "uscc",
    "name",
    "industry",
    "sector",
    "entity_kind",
    "district",
    "ownership_type",
    "established_date",
    "size_band",
    "employees",
    "registered_capital",
    "registered_address",
    "legal_rep_name",
    "legal_rep_id_number",
    "legal_rep_phone",
    "distress_event_type",
    "status",
    "status_date",
)
# Attributes whose value depends on the date a row describes.
TIME_VARYING = ("status", "status_date")


@dataclass(frozen=True)
class World:
    seed: int
    scale: SimScale
    calendar: SimCalendar
    firms: pl.DataFrame  # population and fate, one row per entity (row = entity index)
    stress: np.ndarray  # float32 (entities, calendar.n_months)
    _arrays: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n(self) -> int:
        return self.firms.height

    def array(self, name: str) -> np.ndarray:
        """A firm column as numpy (dates as datetime64[D]), cached."""
        if name not in self._arrays:
            series = self.firms[name]
            if series.dtype == pl.Date:
                values = series.to_numpy().astype("datetime64[D]")
            else:
                values = series.to_numpy()
            self._arrays[name] = values
        return self._arrays[name]

    @property
    def params(self) -> WorldParams:
        return world_params()

    def stress_at(self, firms: np.ndarray, days: np.ndarray, lag_days: int = 0) -> np.ndarray:
        """Each entity's stress in the month ``lag_days`` before the given day."""
        lagged = np.asarray(days, dtype="datetime64[D]") - np.timedelta64(lag_days, "D")
        month = np.clip(self.calendar.month_index(lagged), 0, self.calendar.n_months - 1)
        return self.stress[firms, month].astype(np.float64)

    def lag_months(self, lag_days: int) -> int:
        return round(lag_days / DAYS_PER_MONTH)

    def status_code_at(self, firms: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Index into ``STATUSES`` of each entity's registration status on the day."""
        if "status_code" not in self._arrays:
            lookup = {status: code for code, status in enumerate(STATUSES)}
            codes = [lookup[s] for s in self.firms["exit_status"].to_list()]
            self._arrays["status_code"] = np.array(codes, dtype=np.int64)
        changed = self.array("status_date")[firms]
        moved = ~np.isnat(changed) & (changed <= np.asarray(days, dtype="datetime64[D]"))
        return np.where(moved, self._arrays["status_code"][firms], 0)

    def status_at(self, firms: np.ndarray, days: np.ndarray) -> pl.Series:
        return pl.Series(STATUSES, dtype=pl.String).gather(self.status_code_at(firms, days))

    def attribute(self, name: str, firms: np.ndarray, days: np.ndarray) -> np.ndarray | pl.Series:
        """Entity attribute ``name`` for each row, as it stood on the row's day (text comes back
        as a polars Series, everything else as numpy)."""
        if name not in FIRM_ATTRIBUTES:
            raise KeyError(f"unknown firm attribute {name!r}; known: {list(FIRM_ATTRIBUTES)}")
        if name == "status":
            return self.status_at(firms, days)
        if self.firms.schema[name] == pl.String:
            return self.firms[name].gather(firms)
        if name == "status_date":
            changed = self.array("status_date")[firms]
            known = ~np.isnat(changed) & (changed <= np.asarray(days, dtype="datetime64[D]"))
            return np.where(known, changed, self.array("established_date")[firms])
        return self.array(name)[firms]

    def attribute_values(self, name: str, firms: np.ndarray) -> set[str]:
        """Every value attribute ``name`` takes for the given entities (as text)."""
        present = np.zeros(self.n, dtype=bool)
        present[firms] = True
        if name == "status":
            values = np.union1d(self.array("exit_status")[present], [ACTIVE])
        elif name in TIME_VARYING:
            return set()
        else:
            values = np.unique(self.array(name)[present].astype(str))
        return set(values.tolist())

    def alive_until(self) -> np.ndarray:
        """Last day each entity produces rows (grid end when it never leaves)."""
        vanish = self.array("vanish_date")
        return np.where(np.isnat(vanish), self.calendar.grid_end, vanish)

    def truth_frames(self) -> dict[str, pl.DataFrame]:
        """The simulator's truth: entities with their fate, monthly stress, distress events."""
        months = self.calendar.grid.astype("datetime64[D]")
        entity = np.repeat(np.arange(self.n), len(months))
        stress = pl.DataFrame(
            [
                self.firms["uscc"].gather(entity),
                pl.Series("month", np.tile(months, self.n)),
                pl.Series("stress", self.stress.reshape(-1)),
                pl.Series("observable", np.tile(months <= self.calendar.end_day, self.n)),
            ]
        )
        events = (
            self.firms.filter(pl.col("distress_date").is_not_null())
            .select(
                "uscc",
                "industry",
                "entity_kind",
                "distress_date",
                "distress_event_type",
                "silent",
                "contagion",
                "ramp_months",
                "ramp_peak",
                "vanish_date",
                "exit_status",
                "status_date",
            )
            .with_columns(
                (pl.col("distress_date") <= self.calendar.end).alias("before_end_date"),
            )
            .sort("distress_date", "uscc")
        )
        return {"firms": self.firms, "monthly_stress": stress, "distress_events": events}

    def meta(self) -> dict[str, Any]:
        c = self.calendar
        return {
            "seed": self.seed,
            "scale": self.scale.model_dump(),
            "end_date": str(c.end),
            "lead_months": c.lead_months,
            "future_months": c.future_months,
            "weekly_deliveries": c.weekly_deliveries,
            "week_days": c.week_days,
        }

    @classmethod
    def from_truth(
        cls, meta: dict[str, Any], firms: pl.DataFrame, monthly_stress: pl.DataFrame
    ) -> World:
        calendar = _calendar(meta)
        stress = monthly_stress["stress"].to_numpy().astype(np.float32)
        return cls(
            seed=int(meta["seed"]),
            scale=SimScale.model_validate(meta["scale"]),
            calendar=calendar,
            firms=firms,
            stress=stress.reshape(firms.height, calendar.n_months),
        )


def _calendar(meta: dict[str, Any]) -> SimCalendar:
    scale = meta["scale"]
    return SimCalendar(
        end=dt.date.fromisoformat(meta["end_date"]),
        history_months=int(scale["history_months"]),
        lead_months=int(meta["lead_months"]),
        future_months=int(meta["future_months"]),
        weekly_deliveries=int(meta["weekly_deliveries"]),
        week_days=int(meta["week_days"]),
    )


def resolve_scale(scale: str | SimScale) -> SimScale:
    return scale if isinstance(scale, SimScale) else world_params().scale(scale)


def build_world(scale: str | SimScale, seed: int, end_date: dt.date) -> World:
    params, vocab = world_params(), vocabulary()
    sim_scale = resolve_scale(scale)
    calendar = SimCalendar(
        end=end_date,
        history_months=sim_scale.history_months,
        lead_months=params.stress.lead_months,
        future_months=params.stress.future_months,
        weekly_deliveries=params.deliveries.weekly_deliveries,
        week_days=params.deliveries.week_days,
    )
    firms = build_population(stream(seed, "population"), params, vocab, sim_scale, calendar)
    fate = draw_fate(stream(seed, "fate"), params, firms, calendar)
    firms = firms.with_columns(pl.Series(name, values) for name, values in fate.columns().items())
    stress = stress_matrix(stream(seed, "stress"), params, firms, fate, calendar)
    return World(seed=seed, scale=sim_scale, calendar=calendar, firms=firms, stress=stress)
