"""Fill a source's columns from its rows, by each column's ``sim`` role.

One generic path for every source: the role picks how a value is made (see ``SimColumn`` in
schema.py), a column without a role is made from its type, range, allowed values, pattern and
PII kind. Values always satisfy the contract (types, ranges, allowed values, non-null keys,
unique keys); defects are injected later, on purpose, and recorded.

Levels (README.md, "How signals respond"):
  measure  employees x scale x activity, where activity = exp(trend + season + noise
           - response x sensitivity x stress); a float measure without a lower bound is signed
           (a profit): it turns negative under stress
  due      employees x due_per_employee_yuan x scale x activity
  paid     due - arrears; arrears appear with probability
           logistic(intercept + slope x sensitivity x stress) and grow with stress
  amount   amount_base_yuan x scale x (employees / 50)^0.6 x lognormal, larger under stress
"""

from __future__ import annotations

import numpy as np
import polars as pl

from data_contracts.schema import PII, Column, ColumnType, SourceContract
from data_contracts.simulate import identities as ids
from data_contracts.simulate.config import vocabulary
from data_contracts.simulate.generators import Rows, category_codes, source_abbreviation
from data_contracts.simulate.inspections import verdicts
from data_contracts.simulate.patterns import UnsupportedPattern, sample_pattern
from data_contracts.simulate.world import FIRM_ATTRIBUTES, World
from data_contracts.to_polars import polars_type

# Calendar-month multipliers of volumes (Spring Festival dip in February, summer cooling peak).
SEASON = np.array([0.97, 0.80, 1.0, 1.0, 1.0, 1.03, 1.08, 1.08, 1.02, 0.97, 1.0, 1.05])
GENERIC_DATE_SPAN_DAYS = 730
REFERENCE_EMPLOYEES = 50.0


class ColumnFiller:
    """Makes every column of one source for one set of rows (one rng stream, fixed order)."""

    def __init__(
        self, contract: SourceContract, world: World, rows: Rows, rng: np.random.Generator
    ) -> None:
        self.contract = contract
        self.world = world
        self.rows = rows
        self.rng = rng
        self.n = len(rows)
        self.signals = world.params.signals
        self.sensitivity = contract.simulation.stress_sensitivity
        self.employees = world.array("employees")[rows.firm].astype(float)
        self._activity: np.ndarray | None = None
        self._due: np.ndarray | None = None
        self._arrears_share: np.ndarray | None = None
        self._counterpart: np.ndarray | None = None

    def where(self, column: Column) -> str:
        return f"{self.contract.id}.{column.name}"

    # ------------------------------------------------------------------ the frame

    def frame(self) -> pl.DataFrame:
        values: dict[str, np.ndarray] = {}
        later = [c for c in self.contract.columns if c.sim and c.sim.role == "changed"]
        for column in self.contract.columns:
            if column not in later:
                values[column.name] = self.values(column)
        for column in later:
            values[column.name] = self.changed(column, values)
        series = [self.series(c, values[c.name]) for c in self.contract.columns]
        frame = pl.DataFrame(series)
        return self.with_nulls(frame)

    def values(self, column: Column) -> np.ndarray:
        if column.name in self.rows.fixed:
            return self.rows.fixed[column.name]
        role = column.sim.role if column.sim else "generic"
        if role == "firm":
            return self.firm_attribute(column, self.rows.firm)
        if role == "event_time":
            return self.event_time(column)
        if role == "arrival_time":
            return self.as_type(column, self.rows.arrival)
        if role == "measure":
            return self.measure(column)
        if role == "due":
            return self.due(column)
        if role in ("paid", "arrears"):
            return self.payment(column, role)
        if role == "amount":
            return self.amount(column)
        if role == "category":
            return self.categories(column, self.rows.stress, self.sensitivity)
        if role == "counterpart":
            return self.counterpart(column)
        if role == "verdict":
            return self.verdict(column)
        if role == "reference":
            # Only a generator knows which record a row names (simulate/repairs.py).
            return np.full(self.n, None, dtype=object)
        return self.generic(column)

    def series(self, column: Column, values: np.ndarray | pl.Series) -> pl.Series:
        dtype = polars_type(column.type)
        if isinstance(values, pl.Series):
            return values.alias(column.name).cast(dtype)
        if column.type == ColumnType.float:
            values = np.round(np.asarray(values, dtype=float), 2)
        elif column.type == ColumnType.string:
            # Object arrays convert to polars far faster than fixed-width numpy strings.
            values = np.asarray(values, dtype=object)
        return pl.Series(column.name, values).cast(dtype)

    def categories(self, column: Column, stress: np.ndarray, sensitivity: float) -> pl.Series:
        codes = category_codes(self.rng, column, stress, sensitivity)
        return pl.Series(column.allowed, dtype=pl.String).gather(codes)

    def with_nulls(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Nullable columns are sometimes empty (more often for personal data)."""
        keys = set(self.contract.required_columns)
        updates = []
        for column in self.contract.columns:
            if not column.nullable or column.name in keys:
                continue
            share = (
                self.signals.pii_null_share if column.pii != PII.none else self.signals.null_share
            )
            empty = pl.Series(self.rng.random(self.n) < share)
            updates.append(
                pl.when(empty).then(None).otherwise(pl.col(column.name)).alias(column.name)
            )
        return frame.with_columns(updates) if updates else frame

    # ------------------------------------------------------------------ roles

    def firm_attribute(self, column: Column, firms: np.ndarray) -> np.ndarray:
        attr = column.sim.attr if column.sim else None
        if attr not in FIRM_ATTRIBUTES:
            raise ValueError(
                f"{self.where(column)}: unknown firm attribute {attr!r}; "
                f"known: {list(FIRM_ATTRIBUTES)}"
            )
        values = self.world.attribute(attr, firms, self.rows.day)
        if column.allowed is not None:
            outside = sorted(self.world.attribute_values(attr, firms) - set(column.allowed))
            if outside:
                raise ValueError(
                    f"{self.where(column)}: the simulated park's {attr} values {outside} are not "
                    f"among the column's allowed values {column.allowed}"
                )
        return self.as_type(column, values)

    def event_time(self, column: Column) -> np.ndarray:
        return self.as_type(column, self.rows.day)

    def as_type(self, column: Column, values: np.ndarray) -> np.ndarray:
        """Dates and times in the column's type (a date column gets the day of a time)."""
        if isinstance(values, pl.Series) or values.dtype.kind != "M":
            return values
        if column.type == ColumnType.date:
            return values.astype("datetime64[D]")
        if column.type == ColumnType.datetime:
            if values.dtype == np.dtype("datetime64[D]"):
                seconds = self.rng.integers(8 * 3600, 18 * 3600, len(values))
                return values.astype("datetime64[us]") + (seconds * 1_000_000).astype(
                    "timedelta64[us]"
                )
            return values.astype("datetime64[us]")
        if column.type == ColumnType.int:
            return values.astype("datetime64[Y]").astype(np.int64) + 1970
        return np.datetime_as_string(values, unit="D").astype(object)

    def activity(self) -> np.ndarray:
        """How busy each row's entity is relative to its size (shared by its measures)."""
        if self._activity is None:
            s = self.signals
            cal = self.world.calendar
            years = (self.rows.day - cal.window_start).astype(np.int64) / 365.25
            trend = self.rng.normal(0.0, s.trend_sd_per_year, self.world.n)[self.rows.firm]
            log_level = trend * years - s.measure_response * self.sensitivity * self.rows.stress
            log_level += self.rng.normal(0.0, 0.05, self.n)
            if self.contract.simulation.generator == "monthly_panel":
                month = self.rows.day.astype("datetime64[M]").astype(np.int64) % 12
                log_level += np.log(SEASON[month])
            self._activity = np.exp(log_level)
        return self._activity

    def measure(self, column: Column) -> np.ndarray:
        scale = column.sim.scale if column.sim else 1.0
        level = self.employees * scale
        if column.type == ColumnType.float and column.min is None:
            # A signed measure (profit): a margin that stress pushes below zero.
            margin = (
                1.0 - 2.0 * self.sensitivity * self.rows.stress + self.rng.normal(0, 0.5, self.n)
            )
            return self.clip(column, level * margin)
        noise = (
            self.signals.measure_noise_int
            if column.type == ColumnType.int
            else (self.signals.measure_noise_float)
        )
        value = level * self.activity() * self.rng.lognormal(0.0, noise, self.n)
        if column.type == ColumnType.int:
            value = np.round(value)
        return self.clip(column, value)

    def due(self, column: Column) -> np.ndarray:
        scale = column.sim.scale if column.sim else 1.0
        due = self.employees * self.signals.due_per_employee_yuan * scale * self.activity()
        due *= self.rng.lognormal(0.0, 0.03, self.n)
        due = self.clip(column, np.round(due, 2))
        if self._due is None:
            self._due = due
        return due

    def arrears_share(self) -> np.ndarray:
        """Share of the amount due left unpaid (0 for most rows)."""
        if self._arrears_share is None:
            s = self.signals
            pressure = max(self.sensitivity, 0.0) * self.rows.stress
            logit = s.arrears_intercept + s.arrears_slope * pressure
            in_arrears = self.rng.random(self.n) < 1.0 / (1.0 + np.exp(-logit))
            share = self.rng.beta(2.0, 3.0, self.n) * (0.3 + 0.7 * np.clip(pressure, 0, 1))
            self._arrears_share = np.where(in_arrears, share, 0.0)
        return self._arrears_share

    def payment(self, column: Column, role: str) -> np.ndarray:
        """Paid and arrears add up to the due amount to the cent."""
        if self._due is None:
            due_columns = [c for c in self.contract.columns if c.sim and c.sim.role == "due"]
            self._due = (
                self.due(due_columns[0])
                if due_columns
                else np.round(self.employees * self.signals.due_per_employee_yuan, 2)
            )
        due_cents = np.round(self._due * 100).astype(np.int64)
        arrears_cents = np.round(due_cents * self.arrears_share()).astype(np.int64)
        cents = arrears_cents if role == "arrears" else due_cents - arrears_cents
        return cents / 100.0

    def amount(self, column: Column) -> np.ndarray:
        scale = column.sim.scale if column.sim else 1.0
        base = self.signals.amount_base_yuan * scale
        size = (self.employees / REFERENCE_EMPLOYEES) ** 0.6
        pressure = 1.0 + max(self.sensitivity, 0.0) * self.rows.stress
        return self.clip(column, base * size * pressure * self.rng.lognormal(0.0, 0.8, self.n))

    def verdict(self, column: Column) -> pl.Series:
        """The inspection outcome on the row's day, as this source writes it."""
        from data_contracts.feedback import load_feedback  # reads the source catalog

        mapping = load_feedback().department_sources.get(self.contract.id)
        if mapping is None or mapping.result_column != column.name:
            raise ValueError(
                f"{self.where(column)}: the verdict role needs the column mapped under "
                "department_sources in data_contracts/feedback.yaml"
            )
        written = {}
        for raw, outcome in mapping.outcomes.items():
            written.setdefault(outcome, raw)  # the first value listed for an outcome
        outcomes = verdicts(
            self.rng,
            self.world.params.inspections,
            self.world.array("distress_date")[self.rows.firm],
            self.world.array("silent")[self.rows.firm],
            self.rows.day,
        )
        return pl.Series([written[o] for o in outcomes], dtype=pl.String)

    def counterpart_index(self) -> np.ndarray:
        """The other entity of each row: the generator's link, else a random other entity."""
        if self._counterpart is None:
            if self.rows.counterpart is not None:
                self._counterpart = self.rows.counterpart
            else:
                other = self.rng.integers(0, max(self.world.n - 1, 1), self.n)
                self._counterpart = np.where(other >= self.rows.firm, other + 1, other)
        return self._counterpart

    def counterpart(self, column: Column) -> np.ndarray:
        attr = column.sim.attr if column.sim and column.sim.attr else "uscc"
        probe = Column.model_validate(
            {**column.model_dump(), "sim": {"role": "firm", "attr": attr}, "allowed": None}
        )
        return self.firm_attribute(probe, self.counterpart_index())

    def changed(self, column: Column, values: dict[str, np.ndarray]) -> np.ndarray:
        """The value after a change of the column named by ``attr`` (its value before)."""
        before_name = column.sim.attr
        before = values[before_name]
        if column.type in (ColumnType.int, ColumnType.float):
            # Reductions become likely under stress; otherwise mostly increases.
            p_reduce = 0.1 + 0.8 * np.clip(max(self.sensitivity, 0.0) * self.rows.stress, 0, 1)
            reduce = self.rng.random(self.n) < p_reduce
            factor = np.where(
                reduce, self.rng.uniform(0.2, 0.9, self.n), self.rng.uniform(1.1, 3.0, self.n)
            )
            after = before.astype(float) * factor
            if column.type == ColumnType.int:
                after = np.round(after)
            return self.clip(column, after)
        if column.type in (ColumnType.date, ColumnType.datetime):
            shift = self.rng.integers(180, 3 * 365, self.n).astype("timedelta64[D]")
            return self.as_type(column, before.astype("datetime64[D]") + shift)
        if column.allowed:
            size = len(column.allowed)
            position = {v: i for i, v in enumerate(column.allowed)}
            current = np.array([position.get(v, 0) for v in pl.Series(before).to_list()])
            step = self.rng.integers(1, max(size, 2), self.n)
            codes = (current.astype(np.int64) + step) % size
            return pl.Series(column.allowed, dtype=pl.String).gather(codes)
        source = self.contract.column(before_name)
        kind = source.sim.attr if source.sim and source.sim.role == "firm" else None
        return self.fresh_text(column, kind, before)

    def fresh_text(self, column: Column, kind: str | None, before: np.ndarray) -> np.ndarray:
        """New text of the same kind as the value it replaces (a new name, a new person)."""
        vocab = vocabulary()
        if kind == "name":
            trade = self.world.firms["trade_name"].gather(self.rows.firm).to_list()
            fresh = ids.trade_names(self.rng, vocab, self.n).tolist()
            names = pl.Series(before).to_list()
            renamed = [b.replace(t, f, 1) for b, t, f in zip(names, trade, fresh, strict=True)]
            return np.array(renamed, dtype=object)
        if kind == "registered_address":
            return ids.addresses(self.rng, vocab, self.world.array("district")[self.rows.firm])
        pii = {
            "legal_rep_name": PII.person_name,
            "legal_rep_phone": PII.phone,
            "legal_rep_id_number": PII.id_number,
        }.get(kind or "", column.pii)
        return self.text(column, pii)

    # ------------------------------------------------------------------ generic

    def generic(self, column: Column) -> np.ndarray:
        kind = column.type
        if kind == ColumnType.string:
            if column.unique or self.is_key_id(column):
                return self.identifiers(column)
            return self.text(column, column.pii)
        if kind in (ColumnType.int, ColumnType.float):
            return self.number(column)
        if kind == ColumnType.bool:
            return self.rng.random(self.n) < 0.2
        days = self.rows.secondary_day
        if days is None:
            days = self.rows.day + self.rng.integers(0, GENERIC_DATE_SPAN_DAYS, self.n).astype(
                "timedelta64[D]"
            )
        return self.as_type(column, days)

    def is_key_id(self, column: Column) -> bool:
        return (
            column.name in self.contract.unique_key
            and column.pii == PII.none
            and not column.allowed
            and column.pattern is None
        )

    def identifiers(self, column: Column) -> np.ndarray:
        """Unique codes: from the pattern when there is one, else abbreviation + date + number."""
        if column.pattern:
            return self.unique_from_pattern(column)
        dates = ids.yyyymmdd(self.rows.day)
        serial = ids.encode(np.arange(1, self.n + 1), ids.DIGITS, 7)
        return ids.join_columns(source_abbreviation(self.contract.id), dates, serial).astype(object)

    def unique_from_pattern(self, column: Column) -> np.ndarray:
        values = self.pattern_values(column, self.n)
        for _ in range(50):
            repeat = ~ids.first_occurrence(values)
            if not repeat.any():
                return values
            values[repeat] = self.pattern_values(column, int(repeat.sum()))
        raise ValueError(f"{self.where(column)}: pattern {column.pattern!r} has too few values")

    def pattern_values(self, column: Column, size: int) -> np.ndarray:
        try:
            return sample_pattern(self.rng, column.pattern or "", size).astype(object)
        except UnsupportedPattern as error:
            raise ValueError(f"{self.where(column)}: cannot simulate pattern: {error}") from error

    def text(self, column: Column, pii: PII) -> np.ndarray:
        vocab = vocabulary()
        if column.allowed:
            return self.categories(column, np.zeros(self.n), 0.0)
        if column.pattern:
            return self.pattern_values(column, self.n)
        if pii == PII.person_name:
            return ids.person_names(self.rng, vocab, self.n).astype(object)
        if pii == PII.phone:
            return ids.mobile_numbers(self.rng, vocab, self.n).astype(object)
        if pii == PII.id_number:
            age = self.rng.uniform(20 * 365.25, 70 * 365.25, self.n).astype("timedelta64[D]")
            return ids.id_numbers(self.rng, vocab, self.rows.day - age).astype(object)
        phrases = np.array(vocab.free_text, dtype=object)
        return phrases[self.rng.integers(0, len(phrases), self.n)]

    def number(self, column: Column) -> np.ndarray:
        """Skewed towards small values: counts are mostly small, money mostly modest."""
        lo = column.min if column.min is not None else 0.0
        hi = column.max
        if hi is not None and hi - lo <= 1000:
            value = lo + (hi - lo) * self.rng.beta(1.5, 5.0, self.n)
        else:
            median = 10.0 if column.type == ColumnType.int else 10_000.0
            value = max(lo, 0.0) + self.rng.lognormal(np.log(median), 1.0, self.n)
        if column.type == ColumnType.int:
            value = np.round(value)
        return self.clip(column, value)

    @staticmethod
    def clip(column: Column, values: np.ndarray) -> np.ndarray:
        lo = -np.inf if column.min is None else column.min
        hi = np.inf if column.max is None else column.max
        return np.clip(values, lo, hi)


def unique_by_construction(contract: SourceContract) -> bool:
    """Panels and snapshots have one row per entity and period: their key cannot repeat."""
    per_period = contract.simulation.generator in ("entity_snapshot", "monthly_panel", "annual")
    return per_period and {contract.entity_key, contract.event_time} <= set(contract.unique_key)


def fill_columns(
    contract: SourceContract, world: World, rows: Rows, rng: np.random.Generator
) -> pl.DataFrame:
    """The source's canonical frame (contract columns, contract types, contract order)."""
    frame = ColumnFiller(contract, world, rows, rng).frame()
    if unique_by_construction(contract):
        return frame
    # Other keys are unique by construction too, unless a generic key column collides.
    first = frame.select(pl.struct(contract.unique_key).is_first_distinct()).to_series()
    return frame if first.all() else frame.filter(first)
