"""The pydantic model of a source contract: the only schema of schemas.

A contract YAML under ``data_contracts/sources/`` declares one government data source. Every other
description of that source (its polars schema, its Great Expectations suite, its simulated
generator) is derived from a ``SourceContract`` and never written by hand a second time.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from data_contracts import industries

SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")

# The unified social credit code (统一社会信用代码): 18 characters from a 31-letter alphabet.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bilingual(Frozen):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Domain(StrEnum):
    registration = "registration"
    operations_tax = "operations_tax"
    energy = "energy"
    penalties = "penalties"
    social_insurance = "social_insurance"
    housing_fund = "housing_fund"
    complaints = "complaints"
    courts = "courts"
    licences = "licences"
    annual_reports = "annual_reports"
    credit = "credit"
    prepaid_fees = "prepaid_fees"
    related_firms = "related_firms"
    inspections = "inspections"
    outcomes = "outcomes"


class Grain(StrEnum):
    snapshot = "snapshot"  # the current state of each entity, re-delivered whole
    event = "event"  # one row per thing that happened
    monthly = "monthly"  # one row per entity per calendar month (period = first day)
    annual = "annual"  # one row per entity per year


class ColumnType(StrEnum):
    string = "string"
    int = "int"
    float = "float"
    bool = "bool"
    date = "date"
    datetime = "datetime"


class PII(StrEnum):
    none = "none"
    person_name = "person_name"
    id_number = "id_number"
    phone = "phone"


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


class SimColumn(Frozen):
    """Simulation hint for one column.

    role:
      firm: copy the firm attribute ``attr`` (uscc, name, district, legal_rep_name, ...)
      event_time / arrival_time: filled by the generator from the world's clock
      measure: a level that follows the firm's size and falls with stress (headcount, kWh, tax)
      due / paid / arrears: a contribution due, the part paid, the unpaid remainder
      amount: a money amount scaled by firm size, larger under stress
      category: drawn from ``allowed`` with ``weights``; ``stress_weights`` apply under stress
      counterpart: another entity's code (a linked firm, the other party)
      changed: the new value of the column named ``attr`` after a change (a capital
        reduction under stress, mostly an increase otherwise)
      verdict: what an inspector finds on the row's day, from the firm's fate
        (simulate/inspections.py), written as the allowed value that ``feedback.yaml`` maps to
        that outcome for this source
      department: the row's enforcing department, by its Chinese name (departments.yaml)
      inspector: the row's inspector's ``attr`` (``id``: certificate number, ``name``)
      capacity: the firms a department plans to inspect in the row's month
      reference: the named record's source id or unique key (``refers_to``), set by the
        generator (null on rows it names no record for)
      generic: from type, range and allowed values
    """

    role: Literal[
        "firm",
        "event_time",
        "arrival_time",
        "measure",
        "due",
        "paid",
        "arrears",
        "amount",
        "category",
        "counterpart",
        "changed",
        "verdict",
        "department",
        "inspector",
        "capacity",
        "reference",
        "generic",
    ] = "generic"
    attr: str | None = None
    weights: list[float] | None = None
    stress_weights: list[float] | None = None
    scale: float = 1.0  # multiplies a measure's or amount's typical level


class Column(Frozen):
    """One canonical column and how the department delivers it."""

    name: str = Field(description="canonical snake_case name used everywhere downstream")
    raw: str = Field(min_length=1, description="the column header exactly as delivered")
    type: ColumnType
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    allowed: list[str] | None = Field(default=None, description="allowed values (as delivered)")
    # Allowed values declared elsewhere, once: the industries' keys, sector values or event types
    # (data_contracts/industries.py); resolved into ``allowed`` when the contract is read.
    allowed_from: Literal["industry_keys", "sector_values", "event_types"] | None = None
    pattern: str | None = Field(default=None, description="regex a string value must match")
    unique: bool = False
    pii: PII = PII.none
    description: Bilingual
    # How the simulator fills the column; absent means "derive from type, range and allowed".
    sim: SimColumn | None = None

    @property
    def check_character(self) -> str | None:
        """The identifier scheme whose last character checks the others (``uscc``: GB
        32100-2015), known from the declared pattern; None for other columns."""
        return "uscc" if self.pattern == USCC_PATTERN else None

    @field_validator("name")
    @classmethod
    def _snake(cls, v: str) -> str:
        if not SNAKE.match(v):
            raise ValueError(f"column name {v!r} is not snake_case")
        return v

    @model_validator(mode="before")
    @classmethod
    def _resolve_allowed_from(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("allowed_from") is not None:
            if data.get("allowed") is not None:
                raise ValueError(
                    f"column {data.get('name')}: give allowed or allowed_from, not both"
                )
            source = industries.ALLOWED_FROM.get(data["allowed_from"])
            if source is not None:  # an unknown name is reported by the field's own check
                data = {**data, "allowed": source()}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        if (self.min is not None or self.max is not None) and self.type not in (
            ColumnType.int,
            ColumnType.float,
        ):
            raise ValueError(f"column {self.name}: min/max only apply to numeric columns")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: min {self.min} > max {self.max}")
        if self.allowed is not None and self.type != ColumnType.string:
            raise ValueError(f"column {self.name}: allowed values only apply to string columns")
        if self.allowed is not None and len(set(self.allowed)) != len(self.allowed):
            raise ValueError(f"column {self.name}: allowed values repeat")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class Simulation(Frozen):
    """How the simulated park generates this source (derived behaviour, declared as data).

    ``rate`` the expected events per firm-year for event sources; ``stress_sensitivity`` how
    strongly the firm's latent stress raises that rate (or lowers a measure); ``lag_days`` how
    long after the stress the signal shows; ``delay_days`` how late rows typically arrive after
    their event time. Which firms of each industry a source knows at all is the world's: each
    industry profile's ``coverage`` in data_contracts/simulate/world.yaml.
    """

    generator: Literal[
        "entity_snapshot",
        "monthly_panel",
        "events",
        "annual",
        "linked_firms",
        "licences",
        "outcomes",
        "roster",
        "department_months",
        "repairs",
    ]
    rate: float = Field(default=0.0, ge=0)
    stress_sensitivity: float = 0.0
    lag_days: int = Field(default=0, ge=0)
    delay_days: int = Field(default=3, ge=0)


class Delivery(Frozen):
    format: FileFormat
    encoding: Literal["utf-8", "gb18030"] = "utf-8"
    cadence_days: int = Field(gt=0, description="how often a delivery is expected")
    freshness_days: int = Field(gt=0, description="older than this at ingest time means late")
    nil_returns: bool = Field(
        default=False,
        description="a scheduled delivery with no records is still sent, as a header-only file",
    )


class RecordReference(Frozen):
    """Rows of this source name one row of another source: a credit repair names the penalty or
    the listing it repairs (``features/credit_repair.py`` reads it).

    ``source`` is the column holding the named source's id; its ``allowed`` values are the sources
    that can be named. ``record`` is the column holding the named row's unique key (those sources
    are keyed by one record number). ``when`` keeps only the rows whose columns take one of the
    listed values (a commitment repairs only when it is a fulfilled repair commitment); a row
    outside it, or with a null reference, names nothing. ``kind``, when given, is the column
    saying in the department's words what kind of record is named.
    """

    source: str
    record: str
    kind: str | None = None
    when: dict[str, list[str]] = Field(default_factory=dict)


class SourceContract(Frozen):
    id: str
    title: Bilingual
    department: Bilingual
    domain: Domain
    grain: Grain
    entity_key: str = "uscc"
    event_time: str
    arrival_time: str = "arrived_at"
    unique_key: list[str] = Field(min_length=1)
    delivery: Delivery
    columns: list[Column] = Field(min_length=3)
    simulation: Simulation
    description: Bilingual | None = None
    refers_to: RecordReference | None = None

    @field_validator("id")
    @classmethod
    def _snake_id(cls, v: str) -> str:
        if not SNAKE.match(v):
            raise ValueError(f"source id {v!r} is not snake_case")
        return v

    @model_validator(mode="after")
    def _references_exist(self) -> SourceContract:
        names = [c.name for c in self.columns]
        raws = [c.raw for c in self.columns]
        for label, values in (("canonical", names), ("raw", raws)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"{self.id}: duplicate {label} column names {dupes}")
        for role, col in (
            ("entity_key", self.entity_key),
            ("event_time", self.event_time),
            ("arrival_time", self.arrival_time),
        ):
            if col not in names:
                raise ValueError(f"{self.id}: {role} {col!r} is not a declared column")
        for col in self.unique_key:
            if col not in names:
                raise ValueError(f"{self.id}: unique_key column {col!r} is not declared")
        by_name = {c.name: c for c in self.columns}
        if by_name[self.event_time].type not in (ColumnType.date, ColumnType.datetime):
            raise ValueError(f"{self.id}: event_time {self.event_time!r} must be a date")
        if by_name[self.arrival_time].type != ColumnType.datetime:
            raise ValueError(f"{self.id}: arrival_time {self.arrival_time!r} must be a datetime")
        for col in (self.entity_key, self.event_time, self.arrival_time, *self.unique_key):
            if by_name[col].nullable:
                raise ValueError(f"{self.id}: key column {col!r} must not be nullable")
        for c in self.columns:
            if c.sim and c.sim.role == "category":
                if not c.allowed:
                    raise ValueError(f"{self.id}.{c.name}: category role needs allowed values")
                for w in (c.sim.weights, c.sim.stress_weights):
                    if w is not None and len(w) != len(c.allowed):
                        raise ValueError(
                            f"{self.id}.{c.name}: weights must match allowed values one to one"
                        )
            if c.sim and c.sim.role in ("firm", "changed") and not c.sim.attr:
                raise ValueError(f"{self.id}.{c.name}: {c.sim.role} role needs attr")
            if c.sim and c.sim.role == "inspector" and c.sim.attr not in ("id", "name"):
                raise ValueError(f"{self.id}.{c.name}: inspector role needs attr id or name")
            if c.sim and c.sim.role == "changed" and c.sim.attr not in names:
                raise ValueError(f"{self.id}.{c.name}: changed role names unknown {c.sim.attr!r}")
        if self.refers_to is not None:
            self._check_reference(self.refers_to, by_name)
        return self

    def _check_reference(self, ref: RecordReference, by_name: dict[str, Column]) -> None:
        for role, col in (
            ("source", ref.source),
            ("record", ref.record),
            *([("kind", ref.kind)] if ref.kind else []),
            *[("when", c) for c in ref.when],
        ):
            if col not in by_name:
                raise ValueError(f"{self.id}: refers_to {role} {col!r} is not a declared column")
            if by_name[col].type != ColumnType.string:
                raise ValueError(f"{self.id}: refers_to {role} {col!r} must be a string column")
        if not by_name[ref.source].allowed:
            raise ValueError(
                f"{self.id}: refers_to source {ref.source!r} must list the sources it can name"
            )
        for col, values in ref.when.items():
            unknown = sorted(set(values) - set(by_name[col].allowed or values))
            if unknown:
                raise ValueError(f"{self.id}: refers_to when {col!r} names unknown {unknown}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        """Columns without which a delivery cannot be used at all."""
        keys = {self.entity_key, self.event_time, self.arrival_time, *self.unique_key}
        return [c.name for c in self.columns if c.name in keys or not c.nullable]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.id} has no column {name!r}")

    def raw_to_canonical(self) -> dict[str, str]:
        return {c.raw: c.name for c in self.columns}

    @property
    def about_firms(self) -> bool:
        """A source about firms (keyed by their credit code), not about the regulators
        themselves (an inspector roster, a department's capacity)."""
        return self.entity_key == "uscc"

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii != PII.none]


def parse_contract(data: dict[str, Any]) -> SourceContract:
    """Validate a contract from its YAML mapping (raises pydantic.ValidationError)."""
    return SourceContract.model_validate(data)
