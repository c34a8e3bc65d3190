"""The pydantic model of a cross-source consistency rule, and the catalog of the shipped rules.

A rule YAML under ``data_contracts/consistency/`` declares one contradiction between what one
department holds and what another does: the two sides (sources and columns), how they are joined
(firm and period), the tolerance, the severity, the bilingual text an inspector reads, the evidence
shown with it and how the simulated park plants it. The evaluation (``features/rules``), the
anomaly lists, the consistency features of the models and the simulator's planted contradictions
are all derived from these files; nothing restates a rule.

Three kinds of rule:

``compare``  the same firm and period on two sides, e.g. the annual report's employees for a
             year against the pension scheme's insured headcount in that year's December;
             tested as a relative gap beyond a tolerance, a text that differs, or two
             conditions that cannot both hold.
``lapse``    a state that should end an activity (a licence that lapsed, a registration that
             was cancelled) while a monthly source shows the activity going on after it.
``scope``    a licence held by a firm whose registered sector the licence does not fit.

``topics.yaml`` next to the rules names the topics and the departments that receive the lists.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal

import polars as pl
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from data_contracts.schema import PII, SNAKE, Bilingual, ColumnType, Grain, SourceContract

FOLDER = "consistency"
TOPICS_FILE = "topics.yaml"
# The registration master: a side reading ``attribute`` takes its value there, as it stands at the
# as-of date (the consistency grid carries it).
MASTER = "reg_enterprise_master"
ATTRIBUTES = ("sector", "district", "status")
LICENCE_COLUMNS = ("licence_no", "valid_to", "status")
# Placeholders a rule's text may use; every kind fills all of them.
PLACEHOLDERS = ("left", "right", "period", "measure")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


SEVERITY_NAMES = {
    Severity.low: Bilingual(zh="低", en="low"),
    Severity.medium: Bilingual(zh="中", en="medium"),
    Severity.high: Bilingual(zh="高", en="high"),
}


class Period(StrEnum):
    month = "month"
    quarter = "quarter"
    year = "year"


MONTHS_PER_PERIOD = {Period.month: 1, Period.quarter: 3, Period.year: 12}


def period_index(period: Period, day: pl.Expr) -> pl.Expr:
    """Consecutive integers for consecutive periods of a date (months since year 0, quarters
    since year 0, the year)."""
    months = (day.dt.year().cast(pl.Int32) * 12 + day.dt.month().cast(pl.Int32) - 1).cast(pl.Int32)
    if period == Period.year:
        return day.dt.year().cast(pl.Int32)
    return (months // MONTHS_PER_PERIOD[period]).cast(pl.Int32)


def period_start(period: Period, index: pl.Expr) -> pl.Expr:
    """The first day of the period with that index."""
    if period == Period.year:
        return pl.date(index.cast(pl.Int32), 1, 1)
    months = index.cast(pl.Int32) * MONTHS_PER_PERIOD[period]
    return pl.date(months // 12, months % 12 + 1, 1)


def periods_per_year(period: Period) -> int:
    return 12 // MONTHS_PER_PERIOD[period]


class Aggregate(StrEnum):
    """How a side's rows become one value per firm and period.

    value: the row of the period (the source's own grain is the rule's period)
    last:  a monthly source's last month of the period (December of a year)
    sum / mean: over the months of the period, only when every month is there
    count / exists: event rows dated in the period (none: 0 / false)
    """

    value = "value"
    last = "last"
    sum = "sum"
    mean = "mean"
    count = "count"
    exists = "exists"


ROW_AGGREGATES = (Aggregate.count, Aggregate.exists)


# Values at a boundary (a gap equal to the tolerance, a change of exactly -50%) come out of sums
# on fixed point (about six decimals) and divisions: within a millionth they count as equal.
EPSILON = 1e-6


class Condition(Frozen):
    """A test on one value: ``op`` against ``value`` (a number, a text or a list of texts)."""

    op: Literal["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge"]
    value: float | str | list[str]

    @model_validator(mode="after")
    def _typed(self) -> Condition:
        listed = self.op in ("in", "not_in")
        if listed != isinstance(self.value, list):
            raise ValueError(f"condition {self.op!r} needs {'a list' if listed else 'one value'}")
        if self.op in ("lt", "le", "gt", "ge") and not isinstance(self.value, int | float):
            raise ValueError(f"condition {self.op!r} compares numbers, not {self.value!r}")
        return self

    @property
    def numeric(self) -> bool:
        return isinstance(self.value, int | float)

    def expr(self, value: pl.Expr) -> pl.Expr:
        """The condition on ``value`` as a boolean expression (a null value fails it)."""
        target = self.value
        if isinstance(target, list):
            held = value.is_in(target)
            return (held if self.op == "in" else ~held).fill_null(False)
        if isinstance(target, str):
            same = value == pl.lit(target)
        else:
            same = (value - target).abs() <= EPSILON
        tests = {
            "eq": lambda: same,
            "ne": lambda: ~same,
            "lt": lambda: value < target - EPSILON,
            "le": lambda: value <= target + EPSILON,
            "gt": lambda: value > target + EPSILON,
            "ge": lambda: value >= target - EPSILON,
        }
        return tests[self.op]().fill_null(False)


class RowFilter(Frozen):
    """Only rows whose ``column`` meets ``condition`` count (e.g. months with sales above 0)."""

    column: str
    condition: Condition


class Side(Frozen):
    """One side of a comparison: a source's column, or the master's attribute at the as-of date."""

    source: str | None = None
    column: str | None = None
    attribute: Literal["sector", "district", "status"] | None = None
    aggregate: Aggregate = Aggregate.value
    where: RowFilter | None = None
    # Multiplies the value into the rule's unit (元 -> 万元: 0.0001).
    scale: float = Field(default=1.0, gt=0)
    # The relative change against the same period a year earlier instead of the value itself.
    change: Literal["year_on_year"] | None = None
    label: Bilingual

    @model_validator(mode="after")
    def _one_origin(self) -> Side:
        if (self.attribute is None) == (self.source is None):
            raise ValueError("a side reads either a source or an attribute of the master")
        if self.attribute is not None:
            if self.column or self.where or self.change or self.aggregate != Aggregate.value:
                raise ValueError("an attribute side takes no column, filter, change or aggregate")
        elif self.column is None and self.aggregate not in ROW_AGGREGATES:
            raise ValueError(f"side on {self.source}: give the column it reads")
        return self

    @property
    def numeric_result(self) -> bool:
        return self.aggregate in (Aggregate.count, Aggregate.sum, Aggregate.mean)


def relative_gap(left: pl.Expr, right: pl.Expr) -> pl.Expr:
    """(left - right) / max(|left|, |right|): in [-1, 1], 0 when both are 0."""
    larger = pl.max_horizontal(left.abs(), right.abs())
    return pl.when(larger > 0).then((left - right) / larger).otherwise(0.0)


class GapCheck(Frozen):
    """Violated when the relative gap (left - right) / max(|left|, |right|) passes the tolerance
    in the named direction, and the larger value is at least ``floor`` (small firms' figures
    wobble)."""

    test: Literal["gap"]
    tolerance: float = Field(gt=0, lt=1)
    direction: Literal["both", "left_above", "left_below"] = "both"
    floor: float = Field(default=0.0, ge=0)

    def measure(self, left: pl.Expr, right: pl.Expr) -> pl.Expr:
        """The gap in the rule's direction (its absolute value when both directions count)."""
        gap = relative_gap(left, right)
        return {"both": gap.abs(), "left_above": gap, "left_below": -gap}[self.direction]

    def violated(self, left: pl.Expr, right: pl.Expr) -> pl.Expr:
        larger = pl.max_horizontal(left.abs(), right.abs())
        beyond = self.measure(left, right) > self.tolerance + EPSILON
        return (beyond & (larger >= self.floor)).fill_null(False)


class DiffersCheck(Frozen):
    """Violated when the two texts differ."""

    test: Literal["differs"]


class BothCheck(Frozen):
    """Violated when the left condition and the right condition hold at once."""

    test: Literal["both"]
    left: Condition
    right: Condition


Check = Annotated[GapCheck | DiffersCheck | BothCheck, Field(discriminator="test")]


class Simulation(Frozen):
    """How the simulated park plants this rule's contradictions (``data_contracts/simulate``).

    Before planting, the ``derive`` side is made to agree with the other wherever the park's
    independent generators would disagree (``reconcile``), so that every contradiction in the
    delivered data is a planted one, recorded with its truth. ``rate`` is the share of eligible
    firm-periods planted (raised by stress with ``stress_sensitivity``, as contradictions go with
    trouble); ``near_miss_rate`` the share given an innocent near miss (just within tolerance, a
    renewed licence, ...); ``corrected_share`` the share of planted contradictions that the
    department corrects later (re-delivered in the last weeks).
    """

    derive: Literal["left", "right"] = "left"
    reconcile: bool = True
    rate: float = Field(ge=0, le=1)
    near_miss_rate: float = Field(default=0.0, ge=0, le=1)
    stress_sensitivity: float = 0.0
    corrected_share: float = Field(default=0.0, ge=0, le=1)
    # gap rules: the range of the relative gap where the derived side lands when consistent
    # (default within 40% of the tolerance either way)
    background: tuple[float, float] | None = None
    # both rules: the derived value that makes the rule's derived condition false (reconcile)
    # or true (plant); or, for a number, a factor range to scale it by (plant / near miss)
    consistent_value: str | float | None = None
    contradicting_value: str | float | None = None
    contradicting_scale: tuple[float, float] | None = None
    near_miss_scale: tuple[float, float] | None = None


class Evidence(Frozen):
    """Rows shown with an anomaly: these columns of ``source`` for the firm around the period."""

    source: str
    columns: list[str] = Field(min_length=1)


class RuleBase(Frozen):
    id: str
    topic: str
    department: str
    severity: Severity
    title: Bilingual
    rationale: Bilingual
    # What an inspector reads; {left} {right} {period} {measure} are filled from the anomaly.
    text: Bilingual
    evidence: list[Evidence] = Field(default_factory=list)
    simulation: Simulation

    @field_validator("id", "topic", "department")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not SNAKE.match(v):
            raise ValueError(f"{v!r} is not snake_case")
        return v

    @field_validator("text")
    @classmethod
    def _placeholders(cls, v: Bilingual) -> Bilingual:
        for lang, template in (("zh", v.zh), ("en", v.en)):
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            unknown = sorted(names - set(PLACEHOLDERS))
            if unknown:
                raise ValueError(f"text.{lang} uses unknown placeholders {unknown}")
            missing = [p for p in ("left", "right") if p not in names]
            if missing:
                raise ValueError(f"text.{lang} must show both values: add {{{missing[0]}}}")
        return v

    def sources(self) -> list[str]:
        """Every source the rule reads (its sides, states and evidence), sorted."""
        raise NotImplementedError


class CompareRule(RuleBase):
    kind: Literal["compare"]
    period: Period
    # Examined at T: the latest ``lookback`` periods of the ``periods_from`` side usable at T.
    lookback: int = Field(default=1, ge=1, le=36)
    periods_from: Literal["left", "right"] = "left"
    left: Side
    right: Side
    check: Check

    @model_validator(mode="after")
    def _coherent(self) -> CompareRule:
        driver = self.left if self.periods_from == "left" else self.right
        if driver.attribute is not None:
            raise ValueError("the side that sets the periods must read a source")
        if driver.aggregate in ROW_AGGREGATES:
            raise ValueError("the side that sets the periods must hold a value per period")
        if isinstance(self.check, GapCheck | DiffersCheck):
            for name, side in (("left", self.left), ("right", self.right)):
                if side.aggregate == Aggregate.exists:
                    raise ValueError(f"{name}: a {self.check.test} test needs values, not exists")
        if isinstance(self.check, DiffersCheck) and (self.left.change or self.right.change):
            raise ValueError("a text comparison takes no year-on-year change")
        return self

    def side(self, name: str) -> Side:
        return self.left if name == "left" else self.right

    def sources(self) -> list[str]:
        named = [s.source for s in (self.left, self.right) if s.source]
        if any(s.attribute for s in (self.left, self.right)):
            named.append(MASTER)
        return sorted({*named, *(e.source for e in self.evidence)})


class LicenceState(Frozen):
    """Licences of these sources: a state while one has lapsed (its validity ended or it is
    marked 过期) and no licence of the same source is valid; or, with ``held``, while one is
    valid."""

    licences: list[str] = Field(min_length=1)


class RegistrationState(Frozen):
    """The master's registration status at the as-of date is one of ``statuses``, since the first
    snapshot that showed it."""

    statuses: list[str] = Field(min_length=1)


class Activity(Frozen):
    """A monthly source showing the firm at work: months whose ``column`` meets ``condition``."""

    source: str
    column: str
    condition: Condition
    label: Bilingual
    scale: float = Field(default=1.0, gt=0)


class LapseRule(RuleBase):
    kind: Literal["lapse"]
    state: LicenceState | RegistrationState
    activity: Activity
    # Months after the state began that do not count (a last payroll, a final bill).
    grace_months: int = Field(default=1, ge=0, le=12)
    # The activity source's latest ``window_months`` reported months at T are looked at ...
    window_months: int = Field(default=6, ge=1, le=36)
    # ... and at least this many of them, after the grace, must show the activity.
    min_months: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _window(self) -> LapseRule:
        if self.min_months > self.window_months:
            raise ValueError("min_months cannot exceed window_months")
        if not self.activity.condition.numeric:
            raise ValueError("activity is a numeric condition (e.g. amount paid > 0)")
        return self

    def sources(self) -> list[str]:
        state = self.state.licences if isinstance(self.state, LicenceState) else [MASTER]
        return sorted({*state, self.activity.source, *(e.source for e in self.evidence)})


class ScopeRule(RuleBase):
    kind: Literal["scope"]
    state: LicenceState
    attribute: Literal["sector"] = "sector"
    # The attribute values the licence fits; any other is a contradiction.
    allowed: list[str] = Field(min_length=1)

    def sources(self) -> list[str]:
        return sorted({*self.state.licences, MASTER, *(e.source for e in self.evidence)})


ConsistencyRule = Annotated[CompareRule | LapseRule | ScopeRule, Field(discriminator="kind")]


class Topic(Frozen):
    key: str
    name: Bilingual
    description: Bilingual


class Department(Frozen):
    key: str
    name: Bilingual


class FollowUpStatus(Frozen):
    key: str
    name: Bilingual
    closed: bool
    real: bool | None = None  # a true contradiction (None: not known yet)


# The statuses a run sets itself: a new anomaly is dispatched, a corrected one closed.
DISPATCHED, CORRECTED = "dispatched", "corrected"


class Topics(Frozen):
    topics: list[Topic] = Field(min_length=1)
    departments: list[Department] = Field(min_length=1)
    statuses: list[FollowUpStatus] = Field(min_length=1)

    @model_validator(mode="after")
    def _run_statuses(self) -> Topics:
        keys = {s.key: s for s in self.statuses}
        if DISPATCHED not in keys or keys[DISPATCHED].closed:
            raise ValueError(f"statuses need an open {DISPATCHED!r}")
        if CORRECTED not in keys or not (keys[CORRECTED].closed and keys[CORRECTED].real):
            raise ValueError(f"statuses need a closed, real {CORRECTED!r}")
        return self

    @model_validator(mode="after")
    def _unique(self) -> Topics:
        for label, keys in (
            ("topic", [t.key for t in self.topics]),
            ("department", [d.key for d in self.departments]),
            ("status", [s.key for s in self.statuses]),
        ):
            for key in keys:
                if not SNAKE.match(key):
                    raise ValueError(f"{label} key {key!r} is not snake_case")
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            if dupes:
                raise ValueError(f"duplicate {label} keys {dupes}")
        return self

    def topic(self, key: str) -> Topic:
        return next(t for t in self.topics if t.key == key)

    def department(self, key: str) -> Department:
        return next(d for d in self.departments if d.key == key)


class RuleError(ValueError):
    """A rule that does not fit the contracts or the topics (names the rule and the field)."""


# ---------------------------------------------------------------------------- checks on contracts


def _column(contract: SourceContract, name: str, where: str):
    try:
        return contract.column(name)
    except KeyError:
        raise RuleError(f"{where}: source {contract.id} has no column {name!r}") from None


def _contract(contracts: Mapping[str, SourceContract], source: str, where: str) -> SourceContract:
    if source not in contracts:
        raise RuleError(f"{where}: no contract for source {source!r}")
    return contracts[source]


_NUMERIC = (ColumnType.int, ColumnType.float)


def _check_side(
    rule: CompareRule, name: str, contracts: Mapping[str, SourceContract]
) -> ColumnType | None:
    """The side's value type (None: a count or a flag); raises on a side that cannot be read."""
    side = rule.side(name)
    where = f"rule {rule.id}: {name}"
    if side.attribute is not None:
        master = _contract(contracts, MASTER, where)
        return _column(master, side.attribute, where).type
    contract = _contract(contracts, side.source or "", where)
    if side.where is not None:
        column = _column(contract, side.where.column, f"{where}.where")
        if side.where.condition.numeric and column.type not in _NUMERIC:
            raise RuleError(f"{where}.where: {column.name} is not numeric")
    grain = contract.grain
    aggregate = side.aggregate
    if aggregate in ROW_AGGREGATES:
        if side.column is not None:
            _column(contract, side.column, where)
        return None
    if grain == Grain.monthly:
        if rule.period == Period.month and aggregate != Aggregate.value:
            raise RuleError(f"{where}: a monthly source read by month takes aggregate 'value'")
        if rule.period != Period.month and aggregate == Aggregate.value:
            raise RuleError(f"{where}: a monthly source read by {rule.period} needs an aggregate")
    elif grain == Grain.annual:
        if rule.period != Period.year or aggregate != Aggregate.value:
            raise RuleError(f"{where}: an annual source is read by year with aggregate 'value'")
    else:
        raise RuleError(
            f"{where}: source {contract.id} is a {grain} source: read it with count or exists"
        )
    if set(contract.unique_key) != {contract.entity_key, contract.event_time}:
        raise RuleError(
            f"{where}: {contract.id} has several rows per firm and period "
            f"(unique key {contract.unique_key}); read it with count or exists"
        )
    column = _column(contract, side.column or "", where)
    if aggregate in (Aggregate.sum, Aggregate.mean) and column.type not in _NUMERIC:
        raise RuleError(f"{where}: {aggregate} needs a numeric column, {column.name} is not")
    if side.change and column.type not in _NUMERIC:
        raise RuleError(f"{where}: a year-on-year change needs a numeric column")
    return column.type


def _check_compare(rule: CompareRule, contracts: Mapping[str, SourceContract]) -> None:
    types = {name: _check_side(rule, name, contracts) for name in ("left", "right")}
    check = rule.check
    if isinstance(check, GapCheck):
        for name, kind in types.items():
            side = rule.side(name)
            if kind is not None and kind not in _NUMERIC and not side.numeric_result:
                raise RuleError(f"rule {rule.id}: {name} is not numeric for a gap test")
    elif isinstance(check, DiffersCheck):
        for name, kind in types.items():
            if kind != ColumnType.string:
                raise RuleError(f"rule {rule.id}: {name} is not a text for a differs test")
    else:
        for name, condition in (("left", check.left), ("right", check.right)):
            side = rule.side(name)
            kind = types[name]
            counted = side.aggregate in ROW_AGGREGATES or side.change is not None
            numeric = counted or kind in _NUMERIC
            if condition.numeric != numeric and side.aggregate != Aggregate.exists:
                raise RuleError(f"rule {rule.id}: check.{name} does not fit the side's values")
            if side.aggregate == Aggregate.exists and condition.value not in (1, 1.0):
                raise RuleError(f"rule {rule.id}: an exists side is tested with eq 1")
            if not condition.numeric and side.source and side.column:
                allowed = contracts[side.source].column(side.column).allowed
                values = condition.value if isinstance(condition.value, list) else [condition.value]
                unknown = sorted(set(values) - set(allowed or values))
                if unknown:
                    raise RuleError(
                        f"rule {rule.id}: check.{name} values {unknown} are not allowed in "
                        f"{side.source}.{side.column}"
                    )
    derived = rule.side(rule.simulation.derive)
    sim = rule.simulation
    if derived.attribute is not None or derived.aggregate in ROW_AGGREGATES:
        raise RuleError(f"rule {rule.id}: simulation.derive must name a side with values")
    if derived.aggregate != Aggregate.value and not sim.contradicting_scale:
        raise RuleError(
            f"rule {rule.id}: a derived side over several rows is planted by scaling its rows "
            "(contradicting_scale)"
        )
    if isinstance(check, BothCheck) and not (
        sim.contradicting_scale or sim.contradicting_value is not None
    ):
        raise RuleError(f"rule {rule.id}: simulation needs contradicting_value or _scale")
    if isinstance(check, BothCheck) and sim.reconcile and sim.consistent_value is None:
        raise RuleError(f"rule {rule.id}: reconciling needs simulation.consistent_value")


def _check_licences(rule: LapseRule | ScopeRule, contracts: Mapping[str, SourceContract]) -> None:
    assert isinstance(rule.state, LicenceState)
    for source in rule.state.licences:
        contract = _contract(contracts, source, f"rule {rule.id}: state")
        for name in LICENCE_COLUMNS:
            _column(contract, name, f"rule {rule.id}: state (a licence source)")


def _check_lapse(rule: LapseRule, contracts: Mapping[str, SourceContract]) -> None:
    if isinstance(rule.state, LicenceState):
        _check_licences(rule, contracts)
    else:
        status = _column(_contract(contracts, MASTER, f"rule {rule.id}"), "status", rule.id)
        unknown = sorted(set(rule.state.statuses) - set(status.allowed or []))
        if unknown:
            raise RuleError(f"rule {rule.id}: statuses {unknown} are not registration statuses")
    where = f"rule {rule.id}: activity"
    contract = _contract(contracts, rule.activity.source, where)
    if contract.grain != Grain.monthly:
        raise RuleError(f"{where}: {contract.id} is not a monthly source")
    if _column(contract, rule.activity.column, where).type not in _NUMERIC:
        raise RuleError(f"{where}: {rule.activity.column} is not numeric")


def _check_scope(rule: ScopeRule, contracts: Mapping[str, SourceContract]) -> None:
    _check_licences(rule, contracts)
    master = _contract(contracts, MASTER, f"rule {rule.id}")
    allowed = _column(master, rule.attribute, f"rule {rule.id}").allowed or []
    unknown = sorted(set(rule.allowed) - set(allowed))
    if unknown:
        raise RuleError(f"rule {rule.id}: allowed {unknown} are not values of {rule.attribute}")


def check_rule(
    rule: CompareRule | LapseRule | ScopeRule,
    contracts: Mapping[str, SourceContract],
    topics: Topics,
) -> None:
    """Raise ``RuleError`` naming the rule and field when it does not fit contracts or topics."""
    if rule.topic not in {t.key for t in topics.topics}:
        raise RuleError(f"rule {rule.id}: unknown topic {rule.topic!r}")
    if rule.department not in {d.key for d in topics.departments}:
        raise RuleError(f"rule {rule.id}: unknown department {rule.department!r}")
    for evidence in rule.evidence:
        contract = _contract(contracts, evidence.source, f"rule {rule.id}: evidence")
        for column in evidence.columns:
            if _column(contract, column, f"rule {rule.id}: evidence").pii != PII.none:
                raise RuleError(
                    f"rule {rule.id}: evidence column {contract.id}.{column} is personal data"
                )
    if isinstance(rule, CompareRule):
        _check_compare(rule, contracts)
    elif isinstance(rule, LapseRule):
        _check_lapse(rule, contracts)
    else:
        _check_scope(rule, contracts)


def check_catalog(rules: Mapping[str, CompareRule | LapseRule | ScopeRule]) -> None:
    """What holds across rules: a column is reconciled by one rule only (two would undo each
    other's planting), and a licence source belongs to one lapse rule (a lapse is one question)."""
    reconciled: dict[tuple[str, str], str] = {}
    lapsing: dict[str, str] = {}
    read: dict[tuple[str, str], str] = {}
    for rule in rules.values():
        if isinstance(rule, CompareRule):
            other = rule.side("right" if rule.simulation.derive == "left" else "left")
            if other.source and other.column:
                read[(other.source, other.column)] = rule.id
    for rule in rules.values():
        if isinstance(rule, CompareRule) and rule.simulation.corrected_share > 0:
            side = rule.side(rule.simulation.derive)
            key = (side.source or "", side.column or "")
            if key in read:
                raise RuleError(
                    f"rule {rule.id}: a correction of {key[0]}.{key[1]} would contradict rule "
                    f"{read[key]}, which compares against it (set corrected_share: 0)"
                )
        if isinstance(rule, CompareRule) and rule.simulation.reconcile:
            side = rule.side(rule.simulation.derive)
            key = (side.source or "", side.column or "")
            if key in reconciled:
                raise RuleError(
                    f"rules {reconciled[key]} and {rule.id} both reconcile {key[0]}.{key[1]}"
                )
            reconciled[key] = rule.id
        if isinstance(rule, LapseRule) and isinstance(rule.state, LicenceState):
            for source in rule.state.licences:
                if source in lapsing:
                    raise RuleError(f"rules {lapsing[source]} and {rule.id} both lapse {source}")
                lapsing[source] = rule.id


# ---------------------------------------------------------------------------- loading

# libyaml's loader is several times faster than the pure-Python one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RULE_ADAPTER: TypeAdapter[CompareRule | LapseRule | ScopeRule] = TypeAdapter(ConsistencyRule)


def parse_rule(data: dict[str, Any]) -> CompareRule | LapseRule | ScopeRule:
    """Validate one rule from its YAML mapping (raises pydantic.ValidationError)."""
    return _RULE_ADAPTER.validate_python(data)


def rule_texts() -> dict[str, str]:
    """Every rule YAML's text by file stem, in a stable order."""
    folder = resources.files("data_contracts") / FOLDER
    files = sorted(
        (f for f in folder.iterdir() if f.name.endswith(".yaml") and f.name != TOPICS_FILE),
        key=lambda f: f.name,
    )
    return {f.name.removesuffix(".yaml"): f.read_text(encoding="utf-8") for f in files}


def parse_rule_text(stem: str, text: str) -> CompareRule | LapseRule | ScopeRule:
    """One rule file's text, validated; errors name the file."""
    try:
        rule = parse_rule(yaml.load(text, Loader=_Loader))
    except (yaml.YAMLError, ValidationError) as error:
        raise RuleError(f"rule file {stem}.yaml: {error}") from error
    if rule.id != stem:
        raise RuleError(f"rule file {stem}.yaml declares id {rule.id!r}")
    return rule


@cache
def load_topics() -> Topics:
    text = (resources.files("data_contracts") / FOLDER / TOPICS_FILE).read_text(encoding="utf-8")
    return Topics.model_validate(yaml.load(text, Loader=_Loader))


def build_catalog(
    texts: Mapping[str, str], contracts: Mapping[str, SourceContract], topics: Topics
) -> dict[str, CompareRule | LapseRule | ScopeRule]:
    """Rules by id from their YAML texts, each checked against contracts and topics."""
    rules = {}
    for stem, text in texts.items():
        rule = parse_rule_text(stem, text)
        check_rule(rule, contracts, topics)
        rules[rule.id] = rule
    check_catalog(rules)
    return rules


@cache
def load_rules() -> dict[str, CompareRule | LapseRule | ScopeRule]:
    """All shipped rules by id (validated against the contracts; cached for the process)."""
    from data_contracts.catalog import load_all

    return build_catalog(rule_texts(), load_all(), load_topics())


def anomaly_key(rule_id: str, uscc: str, period: str) -> str:
    """The identity of one anomaly across runs: the rule, the firm and the period (or licence)."""
    return f"{rule_id}|{uscc}|{period}"


KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\|[0-9A-Z]{18}\|[^|]+$")
