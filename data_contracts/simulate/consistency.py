"""Planted inconsistencies with known truth, driven by the consistency rules.

The park's generators make every source independently, so two departments' figures about the same
firm drift apart by chance (each source has its own trend and noise). Real departments mostly
agree; a contradiction is the exception an inspector wants to hear about. So, for each rule of
``data_contracts/consistency`` (in an order where a value is settled before a rule compares
against it), the source rows it compares are first **reconciled** — the rule's ``derive`` side is
set from the other side, within the innocent band of the rule — and then **planted**:

- a share of the eligible firm-periods (``rate``, raised by the firm's stress with
  ``stress_sensitivity``: contradictions go with trouble) gets a contradiction well past the
  tolerance; a share (``near_miss_rate``) gets an innocent near miss: a gap just within the
  tolerance, a lapsed licence that was renewed, a last payroll within the grace month, a grade A
  in the year before a listing, ...;
- some planted contradictions are corrected by their department in the last weeks
  (``corrected_share``): the row is delivered again with a consistent value.

Every planted row is recorded in the truth (``TRUTH_SCHEMA``): rule, firm, period key (as the
engine names it), kind (``violation`` or ``near_miss``), the day from which the data shows it
(``visible_from``: every row involved has arrived) and, for a correction, when it arrived. A
planted row's truth kind is what the rule's own test says of the planted values (a rounding that
lands a near miss past the tolerance makes it a violation, recorded as such).

Pure: canonical frames and the world in, frames and truth out (``plant``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

import numpy as np
import polars as pl

from data_contracts.rules import (
    MASTER,
    MONTHS_PER_PERIOD,
    ROW_AGGREGATES,
    Aggregate,
    BothCheck,
    CompareRule,
    DiffersCheck,
    GapCheck,
    LapseRule,
    LicenceState,
    Period,
    ScopeRule,
    Side,
    period_index,
    period_start,
    periods_per_year,
)
from data_contracts.schema import ColumnType, SourceContract
from data_contracts.simulate.generators import arrival_times
from data_contracts.simulate.rng import stream
from data_contracts.simulate.world import World

Rule = CompareRule | LapseRule | ScopeRule
VIOLATION, NEAR_MISS = "violation", "near_miss"
TRUTH_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "uscc": pl.String(),
    "period": pl.String(),
    "period_start": pl.Date(),
    "kind": pl.String(),
    "visible_from": pl.Date(),
    "corrected_at": pl.Datetime("us"),
    "left": pl.String(),
    "right": pl.String(),
    # The rule whose plant made it: this rule's own, or another's that changed a value this rule
    # compares (a month of zero sales also halves its quarter).
    "origin": pl.String(),
}
ROW = "_row"
PERIOD = "_period"
VALUE = "_value"
VISIBLE = "_visible"
FIRM = "_firm"
STRESS_REFERENCE = 0.125  # the park's typical stress (mean of the baseline)
VALID, EXPIRED, CANCELLED = "有效", "过期", "注销"
ENDED_STATUSES = ("注销", "吊销")


def planting_sources(rules: Mapping[str, Rule]) -> list[str]:
    """Every source the planter reads or rewrites (the master comes from the world)."""
    found: set[str] = set()
    for rule in rules.values():
        if isinstance(rule, CompareRule):
            found |= {s.source for s in (rule.left, rule.right) if s.source}
        elif isinstance(rule, LapseRule):
            found.add(rule.activity.source)
            if isinstance(rule.state, LicenceState):
                found |= set(rule.state.licences)
        else:
            found |= set(rule.state.licences)
    return sorted(found - {MASTER})


def _writes(rule: Rule) -> set[tuple[str, str]]:
    if isinstance(rule, CompareRule):
        side = rule.side(rule.simulation.derive)
        return {(side.source or "", side.column or "")}
    if isinstance(rule, LapseRule) and not isinstance(rule.state, LicenceState):
        return {(rule.activity.source, "*")}
    return {(s, "*") for s in rule.state.licences}


def _reads(rule: Rule) -> set[tuple[str, str]]:
    if isinstance(rule, CompareRule):
        other = rule.side("right" if rule.simulation.derive == "left" else "left")
        if other.source is None:
            return set()
        columns = {other.column or "*", other.where.column if other.where else "*"}
        return {(other.source, c) for c in columns}
    if isinstance(rule, LapseRule):
        return {(rule.activity.source, rule.activity.column)}
    return set()


def planting_order(rules: Mapping[str, Rule]) -> list[str]:
    """Rule ids so that a rule rewriting a column runs before every rule reading it (a rule
    compares against settled values); ties by id."""
    writers: dict[tuple[str, str], set[str]] = {}
    for rule in rules.values():
        for key in _writes(rule):
            writers.setdefault(key, set()).add(rule.id)
    graph: dict[str, set[str]] = {rule_id: set() for rule_id in rules}
    for rule in rules.values():
        for source, column in _reads(rule):
            for (w_source, w_column), ids in writers.items():
                if w_source == source and (column == "*" or w_column in (column, "*")):
                    graph[rule.id] |= ids - {rule.id}
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as error:
        raise ValueError(f"consistency rules rewrite each other's columns: {error}") from error
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order.extend(ready)
        sorter.done(*ready)
    return order


@dataclass
class Planter:
    world: World
    contracts: Mapping[str, SourceContract]
    frames: dict[str, pl.DataFrame]
    seed: int
    truth: list[pl.DataFrame] = field(default_factory=list)
    # Firms already given a state contradiction (a lapse, a status, a scope): one each, so that
    # one planted row never answers for two rules.
    taken: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Corrections re-deliver a row once every rule has set it: (source, rows, column, value,
    # arrival) applied at the end, one re-delivery per row.
    corrections: list[tuple[str, pl.DataFrame]] = field(default_factory=list)
    # Which rules' plants changed each (source, firm): the origin of a contradiction that a
    # plant for one rule makes for another.
    touched: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.taken = np.zeros(self.world.n, dtype=bool)
        firms = self.world.firms.select("uscc").with_row_index(FIRM)
        self.firm_index = firms.with_columns(pl.col(FIRM).cast(pl.Int64))
        self.end = self.world.calendar.end
        self.backfill = self.world.calendar.backfill_date.astype(object)

    # ------------------------------------------------------------------ helpers

    def rng(self, rule: Rule) -> np.random.Generator:
        return stream(self.seed, "consistency", rule.id)

    def indexed(self, source: str) -> pl.DataFrame:
        """The source's frame with its row number and firm index (kept in the frame while
        planting, dropped at the end)."""
        frame = self.frames[source]
        if ROW not in frame.columns:
            frame = frame.with_row_index(ROW).join(
                self.firm_index, on="uscc", how="left", maintain_order="left"
            )
            self.frames[source] = frame
        return frame

    def chance(self, rule: Rule, rate: float, firms: np.ndarray, days: np.ndarray) -> np.ndarray:
        """Each unit's probability of a plant: ``rate`` scaled by exp(k (stress - typical))."""
        if len(firms) == 0:
            return np.zeros(0)
        k = rule.simulation.stress_sensitivity
        stress = self.world.stress_at(firms.astype(np.int64), days.astype("datetime64[D]"))
        return np.clip(rate * np.exp(k * (stress - STRESS_REFERENCE)), 0.0, 1.0)

    def set_values(self, source: str, column: str, rows: pl.DataFrame) -> None:
        """Write ``rows`` (``_row``, ``value``) into the source's column, typed as declared."""
        if rows.is_empty():
            return
        dtype = self.frames[source].schema[column]
        update = rows.select(ROW, pl.col("value").cast(dtype).alias("_new"))
        self.frames[source] = (
            self.frames[source]
            .join(update, on=ROW, how="left", maintain_order="left")
            .with_columns(pl.coalesce("_new", column).alias(column))
            .drop("_new")
        )

    def mark(self, rule: Rule, source: str, uscc: pl.Series | list[str]) -> None:
        for firm in set(uscc):
            self.touched.setdefault((source, firm), set()).add(rule.id)

    def record(self, rule: Rule, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        frame = frame.with_columns(pl.lit(rule.id).alias("rule_id"))
        if "origin" not in frame.columns:
            frame = frame.with_columns(pl.lit(rule.id).alias("origin"))
        self.truth.append(
            frame.select(
                (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
                for c, t in TRUTH_SCHEMA.items()
            )
        )

    # ------------------------------------------------------------------ sides

    def side_values(self, side: Side, period: Period) -> pl.DataFrame:
        """uscc, _period, _value, _visible (the day its last row arrived) per firm and period,
        as the engine would aggregate every delivered row (complete periods only for sums)."""
        contract = self.contracts[side.source or ""]
        frame = self.frames[side.source or ""]
        day = pl.col(contract.event_time).cast(pl.Date)
        # Keys are unique until the corrections, which are delivered after every rule is set.
        needed = [
            contract.event_time,
            contract.arrival_time,
            side.column,
            side.where and side.where.column,
        ]
        rows = frame.select("uscc", *dict.fromkeys(c for c in needed if c))
        if side.where is not None:
            rows = rows.filter(side.where.condition.expr(pl.col(side.where.column)))
        rows = rows.with_columns(
            period_index(period, day).alias(PERIOD),
            pl.col(contract.arrival_time).cast(pl.Date).alias(VISIBLE),
        )
        if side.aggregate in (Aggregate.value, Aggregate.last):
            if side.aggregate == Aggregate.last:
                rows = rows.filter(day.dt.month() % MONTHS_PER_PERIOD[period] == 0)
            value = pl.col(side.column or "")
            if contract.column(side.column or "").type in (ColumnType.int, ColumnType.float):
                value = value.cast(pl.Float64) * side.scale
            values = rows.select("uscc", PERIOD, value.alias(VALUE), VISIBLE)
        elif side.aggregate in ROW_AGGREGATES:
            values = rows.group_by("uscc", PERIOD).agg(
                pl.len().cast(pl.Float64).alias(VALUE), pl.col(VISIBLE).max()
            )
            if side.aggregate == Aggregate.exists:
                values = values.with_columns(pl.lit(1.0).alias(VALUE))
        else:
            months = MONTHS_PER_PERIOD[period]
            total = pl.col(side.column or "").cast(pl.Float64).sum() * side.scale
            values = (
                rows.group_by("uscc", PERIOD)
                .agg(total.alias(VALUE), pl.len().alias("_n"), pl.col(VISIBLE).max())
                .filter(pl.col("_n") == months)
                .with_columns(pl.col(VALUE) / (months if side.aggregate == Aggregate.mean else 1))
                .drop("_n")
            )
        if side.change is None:
            return values
        prior = values.select(
            "uscc",
            (pl.col(PERIOD) + periods_per_year(period)).alias(PERIOD),
            pl.col(VALUE).alias("_prior"),
            pl.col(VISIBLE).alias("_prior_visible"),
        )
        return values.join(prior, on=["uscc", PERIOD], how="inner").select(
            "uscc",
            PERIOD,
            pl.when(pl.col("_prior") > 0).then(pl.col(VALUE) / pl.col("_prior") - 1).alias(VALUE),
            pl.max_horizontal(VISIBLE, "_prior_visible").alias(VISIBLE),
        )

    def derived_rows(self, rule: CompareRule) -> tuple[Side, pl.DataFrame]:
        """The derived side's rows: _row, _firm, uscc, _period, raw value, its day and arrival."""
        side = rule.side(rule.simulation.derive)
        contract = self.contracts[side.source or ""]
        day = pl.col(contract.event_time).cast(pl.Date)
        rows = self.indexed(side.source or "")
        if side.aggregate == Aggregate.last:
            rows = rows.filter(day.dt.month() % MONTHS_PER_PERIOD[rule.period] == 0)
        return side, rows.select(
            ROW,
            FIRM,
            "uscc",
            period_index(rule.period, day).alias(PERIOD),
            pl.col(side.column or "").alias("raw"),
            day.alias("_day"),
            pl.col(contract.arrival_time).alias("_arrived"),
        )

    def other_values(self, rule: CompareRule) -> pl.DataFrame:
        """The reference side per (uscc, period): its value and visibility (an attribute side
        from the world, as the master shows it)."""
        name = "right" if rule.simulation.derive == "left" else "left"
        side = rule.side(name)
        if side.attribute is None:
            return self.side_values(side, rule.period)
        raise ValueError(f"rule {rule.id}: an attribute side is read from the world")

    # ------------------------------------------------------------------ compare rules

    def plant_gap(self, rule: CompareRule) -> None:
        check = rule.check
        assert isinstance(check, GapCheck)
        sim, rng = rule.simulation, self.rng(rule)
        side, derived = self.derived_rows(rule)
        reference = self.other_values(rule).rename({VALUE: "_ref", VISIBLE: "_ref_visible"})
        units = derived.join(reference, on=["uscc", PERIOD], how="inner").sort(ROW)
        n = units.height
        if n == 0:
            return
        tol = check.tolerance
        low, high = sim.background or (-0.4 * tol, 0.4 * tol)
        ref = units["_ref"].to_numpy()
        gap = rng.uniform(low, high, n)
        if sim.reconcile:
            new = self._solve(ref, gap, rule.simulation.derive)
        else:
            new = units["raw"].cast(pl.Float64).to_numpy() * side.scale
        # Plants: a contradiction past the tolerance, or a near miss within it.
        larger = np.maximum(np.abs(ref), np.abs(new))
        eligible = (ref > 0) & (larger >= 1.5 * max(check.floor, 1e-9))
        firms = units[FIRM].to_numpy()
        days = units["_day"].to_numpy().astype("datetime64[D]")
        draw = rng.random(n)
        p = self.chance(rule, sim.rate, firms, days)
        violate = eligible & (draw < p)
        near = eligible & ~violate & (draw < p + sim.near_miss_rate)
        sign = {"both": rng.choice([-1.0, 1.0], n), "left_above": 1.0, "left_below": -1.0}[
            check.direction
        ]
        wide = rng.uniform(1.6 * tol, min(0.95, 3.5 * tol), n) * sign
        close = rng.uniform(0.55 * tol, 0.85 * tol, n) * sign
        gap = np.where(violate, wide, np.where(near, close, gap))
        planted = violate | near
        new = np.where(planted, self._solve(ref, gap, rule.simulation.derive), new)
        raw = self._raw(side, new)
        # What the rule's own test says of the values as delivered (after rounding).
        left, right = (raw * side.scale, ref) if sim.derive == "left" else (ref, raw * side.scale)
        tested = (
            pl.DataFrame({"l": left, "r": right})
            .select(check.violated(pl.col("l"), pl.col("r")).alias("v"))["v"]
            .to_numpy()
        )
        if sim.reconcile or planted.any():
            write = planted | sim.reconcile
            self.set_values(
                side.source or "",
                side.column or "",
                pl.DataFrame({ROW: units[ROW], "value": raw}).filter(pl.Series(write)),
            )
        truth = units.with_columns(
            pl.Series("l", left),
            pl.Series("r", right),
            pl.Series("kind", np.where(tested, VIOLATION, NEAR_MISS)),
        ).filter(pl.Series(planted))
        self.mark(rule, side.source or "", truth["uscc"])
        truth = self._period_truth(rule, truth)
        corrected = self._corrections(rule, side, truth, units, ref, rng)
        self.record(rule, corrected)

    @staticmethod
    def _solve(reference: np.ndarray, gap: np.ndarray, derive: str) -> np.ndarray:
        """The derived value whose relative gap to ``reference`` is ``gap`` (left - right)."""
        if derive == "left":
            return np.where(gap >= 0, reference / (1 - gap), reference * (1 + gap))
        return np.where(gap >= 0, reference * (1 - gap), reference / (1 + gap))

    def _raw(self, side: Side, common: np.ndarray) -> np.ndarray:
        """A value in the rule's unit back in the column's own (rounded for whole numbers)."""
        contract = self.contracts[side.source or ""]
        column = contract.column(side.column or "")
        raw = np.maximum(common / side.scale, 0.0)
        if column.max is not None:
            raw = np.minimum(raw, column.max)
        return np.round(raw) if column.type == ColumnType.int else np.round(raw, 2)

    def _period_truth(self, rule: CompareRule, units: pl.DataFrame) -> pl.DataFrame:
        """Truth rows of planted units: period key and start as the engine names them."""
        start = period_start(rule.period, pl.col(PERIOD))
        label = {
            Period.year: pl.col(PERIOD).cast(pl.String),
            Period.month: start.dt.strftime("%Y-%m"),
            Period.quarter: pl.concat_str(
                (pl.col(PERIOD) // 4).cast(pl.String),
                pl.lit("-Q"),
                (pl.col(PERIOD) % 4 + 1).cast(pl.String),
            ),
        }[rule.period]
        visible = [pl.col("_arrived").cast(pl.Date)]
        if "_ref_visible" in units.columns:
            visible.append(pl.col("_ref_visible"))
        return units.with_columns(
            label.alias("period"),
            start.alias("period_start"),
            pl.max_horizontal(*visible).alias("visible_from"),
            pl.col("l").cast(pl.String).alias("left"),
            pl.col("r").cast(pl.String).alias("right"),
        )

    def _corrections(
        self,
        rule: CompareRule,
        side: Side,
        truth: pl.DataFrame,
        units: pl.DataFrame,
        ref: np.ndarray,
        rng: np.random.Generator,
    ) -> pl.DataFrame:
        """Some planted contradictions delivered again, consistent, in the last weeks (only rows
        of the backfill, so the two versions never share a delivery file)."""
        share = rule.simulation.corrected_share
        if share <= 0 or truth.is_empty():
            return truth.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("corrected_at"))
        in_backfill = pl.col("_arrived").cast(pl.Date) <= pl.lit(self.backfill)
        chosen = (
            (pl.col("kind") == VIOLATION)
            & in_backfill
            & pl.Series(rng.random(truth.height) < share)
        )
        fixes = truth.filter(chosen)
        if fixes.is_empty():
            return truth.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("corrected_at"))
        weekly_days = (self.world.calendar.end_day - self.world.calendar.backfill_date).astype(int)
        offsets = rng.integers(1, max(weekly_days, 1) + 1, fixes.height)
        seconds = rng.integers(8 * 3600, 18 * 3600, fixes.height)
        arrived = (np.datetime64(self.backfill, "D") + offsets.astype("timedelta64[D]")).astype(
            "datetime64[us]"
        ) + (seconds * 1_000_000).astype("timedelta64[us]")
        consistent = self._raw(
            side, fixes["r" if rule.simulation.derive == "left" else "l"].to_numpy()
        )
        self.corrections.append(
            (
                side.source or "",
                pl.DataFrame(
                    {
                        ROW: fixes[ROW],
                        "column": side.column or "",
                        "value": consistent,
                        "arrived": arrived,
                    }
                ),
            )
        )
        fixed = fixes.select(ROW).with_columns(pl.Series("corrected_at", arrived))
        return truth.join(fixed, on=ROW, how="left")

    def plant_differs(self, rule: CompareRule) -> None:
        """A meter (or any text side) set to the reference, then moved elsewhere from a planted
        period on: the firm relocated without registering it."""
        sim, rng = rule.simulation, self.rng(rule)
        side, derived = self.derived_rows(rule)
        reference = rule.side("left" if sim.derive == "right" else "right")
        if reference.attribute is None:
            raise ValueError(f"rule {rule.id}: a differs rule is planted against an attribute")
        units = derived.sort(ROW)
        if units.is_empty():
            return
        firms = units[FIRM].to_numpy()
        days = units["_day"].to_numpy().astype("datetime64[D]")
        truth_value = pl.Series(self.world.attribute(reference.attribute, firms, days)).cast(
            pl.String
        )
        allowed = self.contracts[side.source or ""].column(side.column or "").allowed or []
        start = rng.random(units.height) < self.chance(rule, sim.rate, firms, days)
        moved_from = (
            units.with_columns(pl.Series("_start", start))
            .filter("_start")
            .group_by(FIRM)
            .agg(pl.col(PERIOD).min().alias("_from"))
        )
        units = units.with_columns(truth_value.alias("_ref")).join(
            moved_from, on=FIRM, how="left", maintain_order="left"
        )
        moved = (pl.col(PERIOD) >= pl.col("_from")).fill_null(False)
        # The new district: one per firm, drawn among the others.
        choices = rng.integers(1, max(len(allowed), 2), self.world.n)
        position = {v: i for i, v in enumerate(allowed)}
        ref_pos = units["_ref"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        elsewhere = (ref_pos + choices[firms]) % len(allowed)
        other = pl.Series(allowed).gather(elsewhere)
        value = pl.when(moved).then(pl.lit(other)).otherwise(pl.col("_ref"))
        units = units.with_columns(value.alias("value"), pl.lit(other).alias("_moved_to"))
        self.set_values(side.source or "", side.column or "", units.select(ROW, "value"))
        self.mark(rule, side.source or "", units.filter(moved)["uscc"])
        truth = units.filter(moved).with_columns(
            pl.lit(VIOLATION).alias("kind"),
            pl.col("_ref").alias("l"),
            pl.col("value").alias("r"),
        )
        self.record(rule, self._period_truth(rule, truth))

    def plant_both(self, rule: CompareRule) -> None:
        check = rule.check
        assert isinstance(check, BothCheck)
        sim, rng = rule.simulation, self.rng(rule)
        mine, theirs = (
            (check.left, check.right) if sim.derive == "left" else (check.right, check.left)
        )
        side = rule.side(sim.derive)
        other = rule.side("right" if sim.derive == "left" else "left")
        if side.aggregate != Aggregate.value:
            self._plant_scaled(rule, side, other, theirs)
            return
        _, derived = self.derived_rows(rule)
        reference = self.side_values(other, rule.period)
        fill = 0.0 if other.aggregate in ROW_AGGREGATES else None
        units = (
            derived.join(
                reference.rename({VALUE: "_ref", VISIBLE: "_ref_visible"}),
                on=["uscc", PERIOD],
                how="left",
            )
            .join(
                reference.select(
                    "uscc", (pl.col(PERIOD) - 1).alias(PERIOD), pl.col(VALUE).alias("_next")
                ),
                on=["uscc", PERIOD],
                how="left",
            )
            .sort(ROW)
        )
        if fill is not None:
            units = units.with_columns(pl.col("_ref", "_next").fill_null(fill))
        ref_holds = theirs.expr(pl.col("_ref"))
        raw = pl.col("raw")
        mine_holds = mine.expr(raw * side.scale if mine.numeric else raw)
        units = units.with_columns(
            ref_holds.alias("_ref_holds"),
            mine_holds.alias("_holds"),
            theirs.expr(pl.col("_next")).alias("_next_holds"),
        )
        if sim.reconcile:
            fix = units.filter(pl.col("_holds") & pl.col("_ref_holds"))
            self.set_values(
                side.source or "",
                side.column or "",
                fix.select(ROW, pl.lit(sim.consistent_value).alias("value")),
            )
            units = units.with_columns((pl.col("_holds") & ~pl.col("_ref_holds")).alias("_holds"))
        n = units.height
        firms = units[FIRM].to_numpy()
        days = units["_day"].to_numpy().astype("datetime64[D]")
        draw = rng.random(n)
        p = self.chance(rule, sim.rate, firms, days)
        free = ~units["_holds"].to_numpy()
        violate = units["_ref_holds"].to_numpy() & free & (draw < p)
        near_pool = ~units["_ref_holds"].to_numpy() & units["_next_holds"].to_numpy() & free
        near = near_pool & (rng.random(n) < sim.near_miss_rate)
        planted = violate | near
        chosen = units.filter(pl.Series(planted)).with_columns(
            pl.lit(sim.contradicting_value).alias("value")
        )
        self.set_values(side.source or "", side.column or "", chosen.select(ROW, "value"))
        self.mark(rule, side.source or "", chosen["uscc"])
        shown = chosen.with_columns(
            pl.when(pl.Series(violate[planted]))
            .then(pl.lit(VIOLATION))
            .otherwise(pl.lit(NEAR_MISS))
            .alias("kind"),
            pl.col("value").cast(pl.String).alias("_mine"),
            pl.col("_ref").cast(pl.String).alias("_theirs"),
        )
        ordered = ("_mine", "_theirs") if sim.derive == "left" else ("_theirs", "_mine")
        shown = shown.with_columns(pl.col(ordered[0]).alias("l"), pl.col(ordered[1]).alias("r"))
        self.record(rule, self._period_truth(rule, shown))

    def _plant_scaled(self, rule: CompareRule, side: Side, other: Side, theirs) -> None:
        """A sum over months (a quarter's sales) scaled down in the chosen periods, where the
        other side's condition holds; truth by the rule's test on the values afterwards."""
        check = rule.check
        assert isinstance(check, BothCheck)
        sim, rng = rule.simulation, self.rng(rule)
        mine = check.left if sim.derive == "left" else check.right
        contract = self.contracts[side.source or ""]
        day = pl.col(contract.event_time).cast(pl.Date)
        members = self.indexed(side.source or "").with_columns(
            period_index(rule.period, day).alias(PERIOD), day.alias("_day")
        )
        units = (
            self.side_values(side, rule.period)
            .join(self.side_values(other, rule.period).rename({VALUE: "_ref"}), on=["uscc", PERIOD])
            .filter(theirs.expr(pl.col("_ref")))
            .join(self.firm_index, on="uscc")
            .sort("uscc", PERIOD)
        )
        if units.is_empty():
            return
        if sim.reconcile:
            # A natural contradiction (sales and power reported with independent noise) scaled
            # back to the consistent value.
            natural = units.filter(mine.expr(pl.col(VALUE)) & (pl.col(VALUE) > -1))
            target = float(sim.consistent_value or 0.0)
            self._scale_periods(
                side,
                members,
                natural.select(
                    "uscc", PERIOD, ((1 + target) / (1 + pl.col(VALUE))).alias("_factor")
                ),
            )
            units = units.join(natural.select("uscc", PERIOD), on=["uscc", PERIOD], how="anti")
        start = units.select(period_start(rule.period, pl.col(PERIOD)))
        days = start.to_series().to_numpy().astype("datetime64[D]")
        firms = units[FIRM].to_numpy()
        draw = rng.random(units.height)
        p = self.chance(rule, sim.rate, firms, days)
        violate = draw < p
        near = ~violate & (draw < p + sim.near_miss_rate)
        factor = np.where(
            violate,
            rng.uniform(*(sim.contradicting_scale or (0.2, 0.4)), units.height),
            rng.uniform(*(sim.near_miss_scale or (0.7, 0.8)), units.height),
        )
        chosen = units.with_columns(pl.Series("_factor", factor)).filter(pl.Series(violate | near))
        # The next year's same period compares against the scaled one: leave those alone.
        chosen = chosen.join(
            chosen.select("uscc", (pl.col(PERIOD) + periods_per_year(rule.period)).alias(PERIOD)),
            on=["uscc", PERIOD],
            how="anti",
        )
        rows = self._scale_periods(side, members, chosen.select("uscc", PERIOD, "_factor"))
        self.mark(rule, side.source or "", rows["uscc"])
        after = self.side_values(side, rule.period).join(
            self.side_values(other, rule.period).rename({VALUE: "_ref", VISIBLE: "_ref_visible"}),
            on=["uscc", PERIOD],
        )
        truth = (
            chosen.select("uscc", PERIOD)
            .join(after, on=["uscc", PERIOD])
            .with_columns(
                pl.when(mine.expr(pl.col(VALUE)) & theirs.expr(pl.col("_ref")))
                .then(pl.lit(VIOLATION))
                .otherwise(pl.lit(NEAR_MISS))
                .alias("kind"),
                pl.col(VISIBLE).cast(pl.Datetime("us")).alias("_arrived"),
                pl.col(VALUE if sim.derive == "left" else "_ref").alias("l"),
                pl.col("_ref" if sim.derive == "left" else VALUE).alias("r"),
            )
        )
        self.record(rule, self._period_truth(rule, truth))

    def _scale_periods(
        self, side: Side, members: pl.DataFrame, factors: pl.DataFrame
    ) -> pl.DataFrame:
        """Multiply the side's rows of each (uscc, _period) by its ``_factor``; returns them."""
        rows = members.join(factors, on=["uscc", PERIOD])
        self.set_values(
            side.source or "",
            side.column or "",
            rows.select(
                ROW, (pl.col(side.column or "") * pl.col("_factor")).round(2).alias("value")
            ),
        )
        return rows

    # ------------------------------------------------------------------ licences and states

    def licences(self, sources: list[str]) -> pl.DataFrame:
        """Every licence of ``sources`` with its firm, issue, validity and status history."""
        parts = []
        for source in sources:
            if source not in self.frames:
                continue
            contract = self.contracts[source]
            frame = self.indexed(source)
            parts.append(
                frame.group_by("licence_no")
                .agg(
                    pl.col(FIRM).first(),
                    pl.col("uscc").first(),
                    pl.col(contract.event_time).min().cast(pl.Date).alias("_issued"),
                    pl.col("valid_to").max().cast(pl.Date).alias("_valid_to"),
                    pl.col(contract.arrival_time).min().alias("_first_arrival"),
                    (pl.col("status") != VALID).any().alias("_changed"),
                )
                .with_columns(pl.lit(source).alias("_source"))
            )
        if not parts:
            return pl.DataFrame()
        return pl.concat(parts).sort("_source", "licence_no")

    def reconcile_licences(self, sources: list[str]) -> None:
        """A licence the park's generator marked 过期 is turned into a formal cancellation (注销):
        every lapse in the delivered data is then a planted one."""
        for source in sources:
            if source not in self.frames:
                continue
            self.frames[source] = self.frames[source].with_columns(
                pl.when(pl.col("status") == EXPIRED)
                .then(pl.lit(CANCELLED))
                .otherwise(pl.col("status"))
                .alias("status")
            )

    def alive_through_end(self, firms: np.ndarray) -> np.ndarray:
        vanish = self.world.array("vanish_date")[firms]
        status = self.world.array("status_date")[firms]
        end = self.world.calendar.end_day
        return (np.isnat(vanish) | (vanish > end)) & (np.isnat(status) | (status > end))

    def active_months(self, source: str, column: str, condition, firms: np.ndarray) -> pl.DataFrame:
        """Months (month index) with the activity, per firm index, with their arrival day."""
        contract = self.contracts[source]
        day = pl.col(contract.event_time).cast(pl.Date)
        return (
            self.indexed(source)
            .filter(pl.col(FIRM).is_in(firms.tolist()) & condition.expr(pl.col(column)))
            .select(
                FIRM,
                period_index(Period.month, day).alias("_month"),
                pl.col(contract.arrival_time).cast(pl.Date).alias("_arrival"),
            )
        )

    def plant_licence_lapse(self, rule: LapseRule) -> None:
        assert isinstance(rule.state, LicenceState)
        sim, rng = rule.simulation, self.rng(rule)
        self.reconcile_licences(rule.state.licences)
        held = self.licences(rule.state.licences)
        if held.is_empty():
            return
        end = np.datetime64(self.end, "D")
        held = held.filter(~pl.col("_changed") & (pl.col("_valid_to") > pl.lit(self.end)))
        firms = held[FIRM].to_numpy()
        # Lapse dates leave room for the grace and the activity months before the end.
        latest = end - np.timedelta64(31 * (rule.grace_months + rule.min_months + 2), "D")
        issued = held["_issued"].to_numpy().astype("datetime64[D]") + np.timedelta64(60, "D")
        room = (latest - issued).astype(np.int64)
        lapse = issued + (rng.random(len(held)) * np.maximum(room, 0)).astype("timedelta64[D]")
        per_source = held.group_by("_source", FIRM).agg(pl.len().alias("_same"))
        held = held.with_columns(pl.Series("_lapse", lapse)).join(
            per_source, on=["_source", FIRM], how="left", maintain_order="left"
        )
        free = (room > 0) & self.alive_through_end(firms) & ~self.taken[firms]
        draw = rng.random(len(held))
        p = self.chance(rule, sim.rate, firms, lapse)
        violate = free & (held["_same"].to_numpy() == 1) & (draw < p)
        # A near miss: one of two licences of the same source lapses; the other is still valid.
        near = free & ~violate & (held["_same"].to_numpy() > 1) & (draw < sim.near_miss_rate)
        near &= _first_of(firms, near)
        activity = self.active_months(
            rule.activity.source, rule.activity.column, rule.activity.condition, firms[violate]
        )
        chosen = held.filter(pl.Series(violate | near)).with_columns(
            pl.Series("kind", np.where(violate, VIOLATION, NEAR_MISS)[violate | near])
        )
        # A violation shows once enough active months after the grace have arrived.
        since_month = period_index(Period.month, pl.col("_lapse"))
        counted = (
            chosen.filter(pl.col("kind") == VIOLATION)
            .select(FIRM, "licence_no", "_source", since_month.alias("_since_month"))
            .join(activity, on=FIRM)
            .filter(pl.col("_month") >= pl.col("_since_month") + 1 + rule.grace_months)
            .group_by("_source", "licence_no")
            .agg(
                pl.col("_arrival").sort().get(rule.min_months - 1, null_on_oob=True).alias("_shows")
            )
        )
        chosen = chosen.join(counted, on=["_source", "licence_no"], how="left").filter(
            (pl.col("kind") == NEAR_MISS) | pl.col("_shows").is_not_null()
        )
        for source, part in chosen.partition_by("_source", as_dict=True).items():
            update = self.indexed(source[0]).join(
                part.select("licence_no", (pl.col("_lapse") - pl.duration(days=1)).alias("value")),
                on="licence_no",
            )
            self.set_values(source[0], "valid_to", update.select(ROW, "value"))
            self.mark(rule, source[0], update["uscc"])
        self.taken[chosen.filter(pl.col("kind") == VIOLATION)[FIRM].to_numpy()] = True
        truth = chosen.with_columns(
            pl.concat_str("_source", pl.lit("/"), "licence_no").alias("period"),
            pl.col("_lapse").alias("period_start"),
            pl.max_horizontal(pl.col("_shows"), pl.col("_lapse")).alias("visible_from"),
            pl.col("licence_no").alias("left"),
        )
        self.record(rule, truth)

    def plant_status_lapse(self, rule: LapseRule) -> None:
        """Activity rows after a cancellation or revocation: copies of the firm's last month,
        delivered for months after the status changed (past the grace for a violation, within
        it for a near miss)."""
        assert not isinstance(rule.state, LicenceState)
        sim, rng = rule.simulation, self.rng(rule)
        source = rule.activity.source
        contract = self.contracts[source]
        status = self.world.array("exit_status")
        changed = self.world.array("status_date")
        end = self.world.calendar.end_day
        margin = np.timedelta64(31 * (rule.grace_months + rule.min_months + 2), "D")
        ended = np.isin(status, list(rule.state.statuses)) & ~np.isnat(changed) & (changed <= end)
        # Every exit is reconciled, also one too recent to plant on (its activity would
        # otherwise go on past the grace unplanted).
        self._stop_after_exit(rule, np.flatnonzero(ended))
        exited = np.flatnonzero(ended & (changed < end - margin))
        exited = exited[~self.taken[exited]]
        frame = self.indexed(source)
        last = (
            frame.filter(
                pl.col(FIRM).is_in(exited.tolist())
                & rule.activity.condition.expr(pl.col(rule.activity.column))
            )
            .sort(contract.event_time, ROW)
            .group_by(FIRM, maintain_order=True)
            .last()
        )
        if last.is_empty():
            return
        firms = last[FIRM].to_numpy()
        # Months the firm already has a row for (a near miss's grace month often does): a copy
        # there would deliver the key twice.
        held = (
            frame.filter(pl.col(FIRM).is_in(firms.tolist()))
            .group_by(FIRM)
            .agg(pl.col(contract.event_time).cast(pl.Date).dt.month_start().unique().alias("_m"))
        )
        months_held = {int(f): np.array(m, dtype="datetime64[M]") for f, m in held.iter_rows()}
        draw = rng.random(len(firms))
        violate = draw < sim.rate
        near = ~violate & (draw < sim.rate + sim.near_miss_rate)
        since = changed[firms].astype("datetime64[M]")
        months = rng.integers(rule.min_months, rule.min_months + 3, len(firms))
        first = np.where(violate, since + 1 + rule.grace_months, since + rule.grace_months)
        count = np.where(violate, months, 1)
        pick = violate | near
        rows, truths = [], []
        for i in np.flatnonzero(pick):
            periods = first[i] + np.arange(count[i])
            periods = periods[periods <= end.astype("datetime64[M]") - 1]
            periods = periods[~np.isin(periods, months_held.get(int(firms[i]), []))]
            if len(periods) < (rule.min_months if violate[i] else 1):
                continue
            starts = periods.astype("datetime64[D]")
            base = (periods + 1).astype("datetime64[D]")
            arrived = arrival_times(
                rng, self.world.params.arrivals, base, contract.simulation.delay_days
            )
            keep = arrived.astype("datetime64[D]") <= end
            if violate[i] and keep.sum() < rule.min_months:
                continue
            starts, arrived = starts[keep], arrived[keep]
            if len(starts) == 0:
                continue
            template = last[int(i)]
            copies = pl.concat([template] * len(starts)).with_columns(
                pl.Series(contract.event_time, starts).cast(template.schema[contract.event_time]),
                pl.Series(contract.arrival_time, arrived).cast(
                    template.schema[contract.arrival_time]
                ),
                pl.lit(None, dtype=pl.UInt32).alias(ROW),
            )
            rows.append(copies)
            truths.append(
                {
                    "uscc": template["uscc"][0],
                    "period": f"status/{status[firms[i]]}",
                    "period_start": changed[firms[i]].astype(object),
                    "kind": VIOLATION if violate[i] else NEAR_MISS,
                    "visible_from": np.sort(arrived.astype("datetime64[D]"))[
                        (rule.min_months if violate[i] else 1) - 1
                    ].astype(object),
                    "left": str(status[firms[i]]),
                    "right": str(len(starts)),
                }
            )
            self.taken[int(firms[i])] = True
        if rows:
            self.mark(rule, source, [row["uscc"] for row in truths])
            self.frames[source] = pl.concat(
                [self.frames[source], pl.concat(rows).select(self.frames[source].columns)],
                how="vertical",
            )
        self.record(
            rule,
            pl.DataFrame(truths, schema={k: TRUTH_SCHEMA[k] for k in truths[0]})
            if truths
            else pl.DataFrame(),
        )

    def _stop_after_exit(self, rule: LapseRule, exited: np.ndarray) -> None:
        """Reconcile: no activity rows after an exit's month plus the grace (the generator keeps
        a distressed firm's rows for months after its event, sometimes past a cancellation)."""
        source = rule.activity.source
        contract = self.contracts[source]
        changed = self.world.array("status_date")
        exits = pl.DataFrame(
            {FIRM: exited.astype(np.int64), "_changed": changed[exited].astype("datetime64[D]")}
        )
        frame = self.indexed(source).join(exits, on=FIRM, how="left", maintain_order="left")
        month = period_index(Period.month, pl.col(contract.event_time).cast(pl.Date))
        last = period_index(Period.month, pl.col("_changed")) + rule.grace_months
        keep = pl.col("_changed").is_null() | (month <= last)
        self.frames[source] = frame.filter(keep).select(self.frames[source].columns)

    def plant_scope(self, rule: ScopeRule) -> None:
        """A licence moved to a firm of a sector it does not fit (held: a violation; cancelled
        before the end: a near miss)."""
        sim, rng = rule.simulation, self.rng(rule)
        licences = self.licences(rule.state.licences)
        if licences.is_empty():
            return
        sector = self.world.array("sector")
        candidates = np.flatnonzero(
            ~np.isin(sector, rule.allowed) & self.alive_through_end(np.arange(self.world.n))
        )
        candidates = candidates[~self.taken[candidates]]
        if len(candidates) == 0:
            return
        end = self.end
        held = (~pl.col("_changed")) & (pl.col("_valid_to") > pl.lit(end))
        draw = rng.random(licences.height)
        violate = licences.select(held).to_series().to_numpy() & (draw < sim.rate)
        near = (
            licences.select(pl.col("_changed")).to_series().to_numpy()
            & ~violate
            & (draw < sim.near_miss_rate)
        )
        pick = np.flatnonzero(violate | near)
        established = self.world.array("established_date")
        moved = []
        for i in pick:
            issued = np.datetime64(licences["_issued"][int(i)], "D")
            fits = candidates[established[candidates] <= issued]
            fits = fits[~self.taken[fits]]
            if len(fits) == 0:
                continue
            firm = int(fits[rng.integers(0, len(fits))])
            self.taken[firm] = True
            moved.append((int(i), firm))
        if not moved:
            return
        target = pl.DataFrame(
            {"_i": [i for i, _ in moved], "_to": [f for _, f in moved]},
            schema={"_i": pl.UInt32, "_to": pl.Int64},
        )
        chosen = licences.with_row_index("_i").join(target, on="_i")
        uscc = self.world.firms["uscc"]
        chosen = chosen.with_columns(
            pl.col("_to").map_elements(lambda f: uscc[f], return_dtype=pl.String).alias("_new"),
            pl.when(pl.Series(violate)[chosen["_i"]])
            .then(pl.lit(VIOLATION))
            .otherwise(pl.lit(NEAR_MISS))
            .alias("kind"),
        )
        for source, part in chosen.partition_by("_source", as_dict=True).items():
            self._reassign(source[0], part)
            self.mark(rule, source[0], part["_new"])
        cancelled = self._cancellation_arrivals(chosen)
        truth = chosen.join(cancelled, on=["_source", "licence_no"], how="left").with_columns(
            pl.col("_new").alias("uscc"),
            pl.concat_str("_source", pl.lit("/"), "licence_no").alias("period"),
            pl.col("_valid_to").alias("period_start"),
            pl.when(pl.col("kind") == VIOLATION)
            .then(pl.col("_first_arrival").cast(pl.Date))
            .otherwise(pl.col("_cancelled"))
            .alias("visible_from"),
            pl.col("licence_no").alias("left"),
            pl.col("_to")
            .map_elements(lambda f: str(sector[f]), return_dtype=pl.String)
            .alias("right"),
        )
        self.record(rule, truth)

    def _reassign(self, source: str, part: pl.DataFrame) -> None:
        """Every row of the licences in ``part`` moved to firm ``_to`` (firm columns too)."""
        contract = self.contracts[source]
        frame = self.indexed(source).join(
            part.select("licence_no", "_to"), on="licence_no", how="left", maintain_order="left"
        )
        moving = frame.filter(pl.col("_to").is_not_null())
        firms = moving["_to"].to_numpy()
        days = moving[contract.event_time].cast(pl.Date).to_numpy().astype("datetime64[D]")
        for column in contract.columns:
            if column.sim and column.sim.role == "firm" and column.sim.attr:
                values = pl.Series(self.world.attribute(column.sim.attr, firms, days))
                self.set_values(
                    source, column.name, pl.DataFrame({ROW: moving[ROW], "value": values})
                )
        self.set_values(source, FIRM, pl.DataFrame({ROW: moving[ROW], "value": firms}))

    def _cancellation_arrivals(self, chosen: pl.DataFrame) -> pl.DataFrame:
        parts = []
        for source in chosen["_source"].unique().sort().to_list():
            contract = self.contracts[source]
            parts.append(
                self.frames[source]
                .filter(pl.col("status").is_in([*ENDED_STATUSES, EXPIRED]))
                .group_by("licence_no")
                .agg(pl.col(contract.arrival_time).min().cast(pl.Date).alias("_cancelled"))
                .with_columns(pl.lit(source).alias("_source"))
            )
        return pl.concat(parts).select("_source", "licence_no", "_cancelled")

    # ------------------------------------------------------------------ driver

    def plant_rule(self, rule: Rule) -> None:
        if isinstance(rule, CompareRule):
            if any(s.source and s.source not in self.frames for s in (rule.left, rule.right)):
                return
            if isinstance(rule.check, GapCheck):
                self.plant_gap(rule)
            elif isinstance(rule.check, DiffersCheck):
                self.plant_differs(rule)
            else:
                self.plant_both(rule)
        elif isinstance(rule, LapseRule):
            if rule.activity.source not in self.frames:
                return
            if isinstance(rule.state, LicenceState):
                self.plant_licence_lapse(rule)
            else:
                self.plant_status_lapse(rule)
        else:
            self.plant_scope(rule)

    def settle(self, rules: Mapping[str, Rule]) -> None:
        """Make each compare rule's truth exactly what its test says of the delivered values
        (latest rows, every period): a planted contradiction a later plant undid is dropped, and
        one that another rule's plant made is added with that rule as its origin. Anything else
        would be a contradiction nobody planted (origin ``unplanned``: the reconciliation missed
        it; tests assert there is none)."""
        truth = self.truth_frame()
        kept = [
            truth.filter(
                pl.col("rule_id").is_in(
                    [r for r, rule in rules.items() if not isinstance(rule, CompareRule)]
                )
            )
        ]
        for rule_id in sorted(rules):
            rule = rules[rule_id]
            if not isinstance(rule, CompareRule):
                continue
            if any(s.source and s.source not in self.frames for s in (rule.left, rule.right)):
                continue
            mine = truth.filter(pl.col("rule_id") == rule_id)
            tested = self.test(rule)
            violated = tested.filter(pl.col("_violated"))
            planted = mine.filter(pl.col("kind") == VIOLATION)
            still = planted.join(violated.select("uscc", "period"), on=["uscc", "period"])
            near = mine.filter(pl.col("kind") == NEAR_MISS).join(
                violated.select("uscc", "period"), on=["uscc", "period"], how="anti"
            )
            extra = violated.join(
                planted.select("uscc", "period"), on=["uscc", "period"], how="anti"
            )
            sources = [s.source for s in (rule.left, rule.right) if s.source]
            origins = [
                ",".join(
                    sorted(
                        set().union(*(self.touched.get((s, u), set()) for s in sources)) - {rule_id}
                    )
                )
                or "unplanned"
                for u in extra["uscc"].to_list()
            ]
            extra = extra.with_columns(
                pl.lit(rule_id).alias("rule_id"),
                pl.lit(VIOLATION).alias("kind"),
                pl.Series("origin", origins, dtype=pl.String),
            )
            extra = extra.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias("corrected_at"))
            kept += [still, near, extra.select(still.columns)]
        self.truth = [pl.concat(kept, how="vertical")]

    def test(self, rule: CompareRule) -> pl.DataFrame:
        """The rule's test on every period of the delivered values: uscc, period, period_start,
        visible_from, left, right, _violated."""
        values = {}
        for name in ("left", "right"):
            side = rule.side(name)
            if side.attribute is not None:
                continue
            values[name] = self.side_values(side, rule.period).rename(
                {VALUE: name, VISIBLE: f"_{name}_visible"}
            )
        driver = rule.periods_from
        other = "right" if driver == "left" else "left"
        units = values[driver]
        if other in values:
            how = "left" if rule.side(other).aggregate in ROW_AGGREGATES else "inner"
            units = units.join(values[other], on=["uscc", PERIOD], how=how)
            if how == "left":
                units = units.with_columns(pl.col(other).fill_null(0.0))
        else:
            attribute = rule.side(other).attribute or ""
            firms = units.join(self.firm_index, on="uscc", how="left")
            days = firms.select(period_start(rule.period, pl.col(PERIOD))).to_series()
            shown = self.world.attribute(
                attribute, firms[FIRM].to_numpy(), days.to_numpy().astype("datetime64[D]")
            )
            units = units.with_columns(
                pl.Series(other, shown).cast(pl.String),
                pl.lit(None, dtype=pl.Date).alias(f"_{other}_visible"),
            )
        check = rule.check
        left, right = pl.col("left"), pl.col("right")
        if isinstance(check, GapCheck):
            violated = check.violated(left, right)
        elif isinstance(check, DiffersCheck):
            violated = (left != right).fill_null(False)
        else:
            violated = check.left.expr(left) & check.right.expr(right)
        tested = units.with_columns(
            violated.alias("_violated"),
            pl.max_horizontal(
                *[pl.col(c) for c in ("_left_visible", "_right_visible") if c in units.columns]
            ).alias("visible_from"),
            pl.col("left").cast(pl.String),
            pl.col("right").cast(pl.String),
        ).rename({PERIOD: "_p"})
        labelled = self._period_truth(
            rule,
            tested.rename({"_p": PERIOD}).with_columns(
                pl.col("visible_from").cast(pl.Datetime("us")).alias("_arrived"),
                pl.col("left").alias("l"),
                pl.col("right").alias("r"),
            ),
        )
        return labelled.select(
            "uscc", "period", "period_start", "visible_from", "left", "right", "_violated"
        )

    def apply_corrections(self) -> None:
        """Each corrected row delivered once more with its corrected values (the earliest
        correction's arrival when two rules corrected the same row)."""
        by_source: dict[str, list[pl.DataFrame]] = {}
        for source, rows in self.corrections:
            by_source.setdefault(source, []).append(rows)
        for source in sorted(by_source):
            contract = self.contracts[source]
            fixes = pl.concat(by_source[source]).sort(ROW, "arrived", "column")
            frame = self.frames[source]
            again = frame.join(fixes.group_by(ROW).agg(pl.col("arrived").min()), on=ROW).sort(ROW)
            for column, part in fixes.partition_by("column", as_dict=True).items():
                name = column[0]
                again = (
                    again.join(part.select(ROW, pl.col("value").alias("_fix")), on=ROW, how="left")
                    .with_columns(
                        pl.coalesce(pl.col("_fix").cast(frame.schema[name]), name).alias(name)
                    )
                    .drop("_fix")
                )
            again = again.with_columns(
                pl.col("arrived")
                .cast(frame.schema[contract.arrival_time])
                .alias(contract.arrival_time),
                pl.lit(None, dtype=frame.schema[ROW]).alias(ROW),
            ).select(frame.columns)
            self.frames[source] = pl.concat([frame, again], how="vertical")

    def truth_frame(self) -> pl.DataFrame:
        if not self.truth:
            return pl.DataFrame(schema=TRUTH_SCHEMA)
        return pl.concat(self.truth).sort("rule_id", "uscc", "period", "kind")


def _first_of(firms: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """True at the first masked position of each firm (one near miss per firm)."""
    seen: set[int] = set()
    out = np.zeros(len(firms), dtype=bool)
    for i in np.flatnonzero(mask):
        if int(firms[i]) not in seen:
            seen.add(int(firms[i]))
            out[i] = True
    return out


def plant(
    world: World,
    rules: Mapping[str, Rule],
    frames: Mapping[str, pl.DataFrame],
    contracts: Mapping[str, SourceContract],
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The sources' canonical frames with every rule reconciled and planted, and the truth.

    Deterministic in (world seed, rules, frames): each rule draws from its own stream.
    """
    planter = Planter(world, contracts, dict(frames), world.seed)
    for rule_id in planting_order(rules):
        planter.plant_rule(rules[rule_id])
    planter.settle(rules)
    planter.apply_corrections()
    out = {source: frame.drop(ROW, FIRM, strict=False) for source, frame in planter.frames.items()}
    return out, planter.truth_frame()
