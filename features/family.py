"""How a feature family declares itself: its features, their evidence, and the steps computing them.

A family is one module (``features/capital.py``, ``features/complaints.py``, ...) holding

- its ``FeatureSpec`` s: name, window, unit, risk direction, zh/en description and explanation
  template (from which the model card's line is made) and the ``Evidence`` behind the value;
- its computation: ``Step`` s (grid and sources in, one row per grid row out) and, for a feature
  made of other families' columns, a derivation over the assembled table;
- a ``Family`` tying them together, which ``features.registry`` collects.

Nothing else restates a feature: the table's columns, explanations, facts, model cards and
monotone constraints all read the specs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import polars as pl

from features.point_in_time import AS_OF, GRID_ROW, USCC
from features.source_set import SourceFamily, SourceSet


class Direction(StrEnum):
    up = "up"
    down = "down"
    none = "none"


class Unit(StrEnum):
    count = "count"
    count_change = "count_change"
    months = "months"
    days = "days"
    years = "years"
    persons = "persons"
    persons_change = "persons_change"
    cny = "cny"
    cny_change = "cny_change"
    cny_10k = "cny_10k"
    ratio = "ratio"
    signed_ratio = "signed_ratio"
    multiple = "multiple"
    flag = "flag"
    rating = "rating"
    category = "category"


UNIT_NAMES: dict[Unit, tuple[str, str]] = {
    Unit.count: ("次/件/家", "count"),
    Unit.count_change: ("次/件（差值）", "count difference"),
    Unit.months: ("月", "months"),
    Unit.days: ("天", "days"),
    Unit.years: ("年", "years"),
    Unit.persons: ("人", "persons"),
    Unit.persons_change: ("人（变化）", "persons (change)"),
    Unit.cny: ("元", "CNY"),
    Unit.cny_change: ("元（变化）", "CNY (change)"),
    Unit.cny_10k: ("万元", "10k CNY"),
    Unit.ratio: ("比例", "ratio"),
    Unit.signed_ratio: ("比例（可为负）", "signed ratio"),
    Unit.multiple: ("倍", "multiple"),
    Unit.flag: ("是/否", "yes/no"),
    Unit.rating: ("等级", "grade"),
    Unit.category: ("类别", "category"),
}

# Tax credit grades, best first; a rating feature holds the position (0 = A).
TAX_RATINGS = ("A", "B", "M", "C", "D")

UP, DOWN, NONE = Direction.up, Direction.down, Direction.none


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        if lang not in ("zh", "en"):
            raise ValueError(f"language must be 'zh' or 'en', not {lang!r}")
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Window:
    """How far a feature looks back: ``length`` days (``d``) or reported periods (``m``)."""

    length: int
    unit: Literal["d", "m"]

    def __str__(self) -> str:
        return f"{self.length}{self.unit}"

    @property
    def days(self) -> int | None:
        return self.length if self.unit == "d" else None

    @property
    def periods(self) -> int | None:
        return self.length if self.unit == "m" else None


def days(length: int) -> Window:
    return Window(length, "d")


def months(length: int) -> Window:
    return Window(length, "m")


# The as-of date as a column, for evidence filters that compare with it.
AS_OF_COLUMN = "_as_of"
EvidenceMode = Literal["events", "summary", "panel", "latest"]


@dataclass(frozen=True)
class Evidence:
    """Which lake rows back a feature and how to show them (``features.facts`` renders them).

    ``events``: each row in the feature's window (newest first); ``summary``: rows counted by
    source and ``group_by`` column with the latest date; ``panel``: the periods ``lags`` back
    from the latest usable one (None = the feature's window in periods); ``latest``: the latest
    usable row of each source.
    """

    family: SourceFamily
    shown: tuple[str, ...] = ()
    where: pl.Expr | None = None
    mode: EvidenceMode = "events"
    lags: tuple[int, ...] | None = None
    window_days: int | None = field(default=None)
    group_by: str | None = None
    limit: int = 12
    # rows matching this come before the others of the feature (from every source), so that
    # the capped list shows what drives the value, e.g. the months actually in arrears
    first: pl.Expr | None = None


def is_in(column: str, values: Sequence[str]) -> pl.Expr:
    return pl.col(column).is_in(list(values))


@dataclass(frozen=True)
class FeatureSpec:
    """One column of the feature table.

    ``model_input`` is False for descriptors (sector, district, ...) that label a row but are
    not fed to a model. ``family`` is the topic the model card files the feature under.
    """

    name: str
    family: str
    source_families: tuple[SourceFamily, ...]
    window: Window | None
    unit: Unit
    direction: Direction
    description: Text
    template: Text
    model_input: bool = True
    evidence: tuple[Evidence, ...] = ()
    dtype: pl.DataType = field(default_factory=pl.Float64)

    @property
    def sources(self) -> tuple[str, ...]:
        """The contract ids this feature reads (every shipped member of its families)."""
        ids: set[str] = set()
        for family in self.source_families:
            ids.update(family.catalog_members())
        return tuple(sorted(ids))

    @property
    def monotone_sign(self) -> int:
        return {Direction.up: 1, Direction.down: -1, Direction.none: 0}[self.direction]

    def card_line(self, lang: str = "en") -> str:
        """One line for a model card: name, meaning, unit, window, sources, risk direction."""
        unit_zh, unit_en = UNIT_NAMES[self.unit]
        sources = _source_list(self.sources)
        if lang == "zh":
            direction = {"up": "越高风险越高", "down": "越低风险越高", "none": "不设方向"}
            window = self.window or "截至评估日"
            return (
                f"{self.name}：{self.description.zh}（单位：{unit_zh}；窗口：{window}；"
                f"来源：{sources}；{direction[self.direction]}）"
            )
        direction = {
            "up": "higher is riskier",
            "down": "lower is riskier",
            "none": "no set direction",
        }
        window = self.window or "as of the date"
        return (
            f"{self.name}: {self.description.get(lang)} (unit: {unit_en}; window: {window}; "
            f"sources: {sources}; {direction[self.direction]})"
        )

    def format(self, value: object, lang: str = "en") -> str:
        """A value as a person reads it, by the feature's unit."""
        return format_value(self.unit, value, lang)

    def reason(self, value: object, lang: str = "en") -> str:
        """The explanation template filled with the formatted value; ``[a|b]`` becomes ``a``
        when the value is one (or minus one) and ``b`` otherwise."""
        template = NUMBER_CHOICE.sub(
            lambda choice: choice.group(1 if _is_one(value) else 2), self.template.get(lang)
        )
        return template.format(value=self.format(value, lang))


def feature(
    name: str,
    family: str,
    sources: Iterable[SourceFamily],
    unit: Unit,
    direction: Direction,
    description: tuple[str, str],
    template: tuple[str, str],
    *,
    window: Window | None = None,
    evidence: Iterable[Evidence] = (),
    model_input: bool = True,
    dtype: pl.DataType | None = None,
) -> FeatureSpec:
    return FeatureSpec(
        name=name,
        family=family,
        source_families=tuple(sources),
        window=window,
        unit=unit,
        direction=direction,
        description=Text(*description),
        template=Text(*template),
        model_input=model_input,
        evidence=tuple(evidence),
        dtype=pl.Float64() if dtype is None else dtype,
    )


def windowed(
    stem: str,
    windows: Iterable[Window],
    family: str,
    sources: Iterable[SourceFamily],
    unit: Unit,
    direction: Direction,
    description: tuple[str, str],
    template: tuple[str, str],
    *,
    evidence: Iterable[Evidence] = (),
) -> tuple[FeatureSpec, ...]:
    """One spec per window, named ``<stem>_<window>``; ``{w}`` in the texts becomes the
    window's length."""
    sources, evidence = tuple(sources), tuple(evidence)
    return tuple(
        feature(
            f"{stem}_{w}",
            family,
            sources,
            unit,
            direction,
            (description[0].format(w=w.length), description[1].format(w=w.length)),
            (
                template[0].format(w=w.length, value="{value}"),
                template[1].format(w=w.length, value="{value}"),
            ),
            window=w,
            evidence=evidence,
        )
        for w in windows
    )


def names(specs: Iterable[FeatureSpec]) -> tuple[str, ...]:
    return tuple(s.name for s in specs)


def event_columns(specs: Iterable[FeatureSpec], measure: str) -> dict[str, tuple[str, int | None]]:
    """``features.events.event_window_sums`` columns: each spec's name -> (``measure``, its
    window in days, None for no window)."""
    out = {}
    for s in specs:
        if s.window is not None and s.window.days is None:
            raise ValueError(f"{s.name}: an event count needs a window in days, not {s.window}")
        out[s.name] = (measure, s.window.days if s.window else None)
    return out


# ---------------------------------------------------------------- how a family computes

Compute = Callable[[pl.LazyFrame, SourceSet], "pl.LazyFrame | None"]
# Columns a step's frame may carry besides the ones it yields.
STEP_KEYS = (GRID_ROW, USCC, AS_OF)


@dataclass(frozen=True)
class Step:
    """One computation of a family: grid and sources in, a frame keyed by ``_grid_row`` out.

    It yields ``features`` (names of the family's specs) and ``internal`` columns (``_``-named,
    read by another family's derivation and never published). It returns None when none of the
    sources it reads is present: its features are then unknown (null) for every firm.
    """

    compute: Compute
    features: tuple[str, ...]
    internal: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.features, *self.internal)

    @property
    def label(self) -> str:
        return getattr(self.compute, "__name__", repr(self.compute))


def from_grid(*columns: str) -> Compute:
    """A step computing nothing: the grid's own columns (the firm's registration at T)."""

    def read_grid(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame:
        return grid.select(GRID_ROW, *columns)

    return read_grid


@dataclass(frozen=True)
class Family:
    """A feature family: its specs in table order, the steps computing them from the sources,
    ``derived`` features (name -> expression over the assembled table, for a feature made of
    other families' columns, one row at a time) and ``peers`` (name -> expression comparing a
    firm with other firms of the table, e.g. its sector's median at the same date). Peers are
    computed last, over every firm of the table: a build sharded by firm computes them once its
    shards are gathered (``features.build.with_peers``). Every spec is computed exactly once."""

    name: str
    features: tuple[FeatureSpec, ...]
    steps: tuple[Step, ...] = ()
    derived: Mapping[str, pl.Expr] = field(default_factory=dict)
    peers: Mapping[str, pl.Expr] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = [s.name for s in self.features]
        computed = [
            *(n for step in self.steps for n in step.features),
            *self.derived,
            *self.peers,
        ]
        repeated = sorted({n for n in computed if computed.count(n) > 1})
        if repeated:
            raise ValueError(f"family {self.name}: {repeated} computed more than once")
        missing, extra = (
            sorted(set(declared) - set(computed)),
            sorted(set(computed) - set(declared)),
        )
        if missing or extra:
            raise ValueError(
                f"family {self.name}: features without a computation {missing}, "
                f"computed columns without a spec {extra}"
            )
        internal = [n for step in self.steps for n in step.internal]
        if any(not n.startswith("_") for n in internal):
            raise ValueError(
                f"family {self.name}: internal columns must start with '_': {internal}"
            )


# ---------------------------------------------------------------- values as people read them

# "[singular|plural]" in an English template: the noun that agrees with the value.
NUMBER_CHOICE = re.compile(r"\[([^\[\]|]+)\|([^\[\]|]+)\]")


def format_value(unit: Unit, value: object, lang: str = "en") -> str:
    """A value of ``unit`` as a person reads it."""
    if value is None or (isinstance(value, float) and value != value):
        return "未知" if lang == "zh" else "unknown"
    if unit == Unit.category:
        return str(value)
    if unit == Unit.flag:
        yes = bool(value)
        return ("是" if yes else "否") if lang == "zh" else ("yes" if yes else "no")
    number = float(value)  # type: ignore[arg-type]
    if unit == Unit.rating:
        position = round(number)
        return TAX_RATINGS[position] if 0 <= position < len(TAX_RATINGS) else f"{number:g}"
    if unit in (Unit.count, Unit.months, Unit.days, Unit.persons):
        return f"{round(number):,}"
    if unit in (Unit.count_change, Unit.persons_change):
        return _signed(f"{abs(round(number)):,}", number)
    if unit == Unit.years:
        return f"{number:.1f}"
    if unit == Unit.multiple:
        return f"{number:.1f}"
    if unit == Unit.ratio:
        return f"{number:.1%}"
    if unit == Unit.signed_ratio:
        return _signed(f"{abs(number):.1%}", number)
    if unit == Unit.cny:
        return _money(number, lang)
    if unit == Unit.cny_change:
        return _signed(_money(abs(number), lang), number)
    if unit == Unit.cny_10k:
        return _money(number * 10_000, lang)
    raise ValueError(f"no format for unit {unit}")


def _is_one(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return False
    return round(abs(float(value))) == 1


def _source_list(ids: tuple[str, ...], shown: int = 6) -> str:
    if not ids:
        return "-"
    if len(ids) <= shown:
        return ", ".join(ids)
    return f"{', '.join(ids[:shown])}, ... ({len(ids)})"


def _signed(text: str, number: float) -> str:
    if round(number, 6) > 0:
        return f"+{text}"
    if round(number, 6) < 0:
        return f"-{text}"
    return text


def _money(amount: float, lang: str) -> str:
    """Yuan below 10,000; then 万元 / 亿元 in Chinese, thousands / millions in English."""
    if lang == "zh":
        if abs(amount) >= 1e8:
            return f"{amount / 1e8:,.2f} 亿元"
        if abs(amount) >= 1e4:
            return f"{amount / 1e4:,.2f} 万元"
        return f"{amount:,.0f} 元"
    if abs(amount) >= 1e6:
        return f"CNY {amount / 1e6:,.2f} million"
    return f"CNY {amount:,.0f}"
