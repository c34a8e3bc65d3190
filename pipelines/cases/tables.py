"""The case store's tables (SQLAlchemy 2 ORM). Changing one means a new Alembic migration.

Every table of things that come back from people is **append-only**: a row is never updated or
deleted. A correction is a new row that names the row it replaces (``supersedes_id``); a
withdrawal is a new row with ``withdrawn`` set. Each row belongs to the ``Batch`` (one committed
write: an import, a publication, a sync) that added it, and carries ``received_at``, when the
information reached the platform. So the store "as it stood" at any earlier point is a query
(``pipelines.cases.history``), and a week published then can be re-derived exactly.

A new kind of record (objections, overrides, credit repairs, consistency follow-ups) is a new
class mixing in ``Recorded`` plus a migration; the history queries work on it unchanged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

# Constraint names fixed by convention, so migrations name them the same on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as naive UTC, the same on SQLite (no time zones) and PostgreSQL.

    A naive value is refused: a time without a zone is ambiguous between UTC and the park's
    local time, and guessing would shift records across a week's cut-off.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give the case store aware datetimes")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Batch kinds so far; a later issue adds its own (objection, override, repair, ...).
PUBLICATION = "publication"  # a published weekly list recorded as listings
WORKBOOK = "workbook"  # a regulator's returned risk_list.xlsx
DEPARTMENT_SOURCE = "department_source"  # inspection rows from the lake's inspection sources
INSPECTION_PLAN = "inspection_plan"  # a department's monthly double-random plan
CONSISTENCY_RUN = "consistency_run"  # a consistency run: its anomalies and automatic follow-ups
CONSISTENCY_FOLLOW_UP = "consistency_follow_up"  # a department's follow-up of anomalies
OBJECTION = "objection"  # an objection filed, taken up for review or decided
OVERRIDE = "override"  # an analyst's override set or revoked


class Batch(Base):
    """One committed write. Batch ids only grow and are committed in order (writers are
    serialised), so "every batch up to N" is a consistent state of the store."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    operator: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())  # the clock at commit
    source: Mapped[str] = mapped_column(String(500))  # file or source the rows came from
    source_sha256: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Recorded:
    """Columns every append-only record has (see the module docstring)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)

    @declared_attr
    def batch_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("batches.id"), index=True)

    # When the information reached the platform (UTC); as-of queries cut on it.
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)

    @declared_attr
    def supersedes_id(cls) -> Mapped[int | None]:
        # Unique: a record is replaced at most once, so its history is a chain, never a fork.
        return mapped_column(ForeignKey(f"{cls.__tablename__}.id"), unique=True)

    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)

    # The columns that name "the same thing" across corrections (set by each table).
    identity: tuple[str, ...] = ()


class Listing(Recorded, Base):
    """A firm on a published weekly list: what the regulator was asked to look at."""

    __tablename__ = "listings"
    identity = ("week", "industry", "uscc")

    week: Mapped[str] = mapped_column(String(8))  # ISO week, 2026-W47
    industry: Mapped[str] = mapped_column(String(32))
    regulator: Mapped[str] = mapped_column(String(100))
    as_of: Mapped[dt.date] = mapped_column(Date)  # the data the list used
    published_on: Mapped[dt.date] = mapped_column(Date)  # the week's Monday
    uscc: Mapped[str] = mapped_column(String(18))
    firm_name: Mapped[str | None] = mapped_column(String(300))
    rank: Mapped[int] = mapped_column(Integer)
    tier: Mapped[str] = mapped_column(String(1))
    probability: Mapped[float] = mapped_column(Float)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_listings_identity", "week", "industry", "uscc"),)


class Inspection(Recorded, Base):
    """What an inspection found, as a regulator or a department reported it.

    ``report_key`` names one report across corrections: ``workbook/<week>/<industry>/<uscc>``
    for a row of a returned list, ``<source id>/<record id>`` for a department's record.
    """

    __tablename__ = "inspections"
    identity = ("report_key",)

    report_key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(64))  # "workbook" or the lake source id
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    industry: Mapped[str] = mapped_column(String(32))  # modelled industry key, or "other"
    week: Mapped[str | None] = mapped_column(String(8))  # the list it answers (workbook rows)
    inspection_date: Mapped[dt.date | None] = mapped_column(Date)  # null: not inspected
    method: Mapped[str | None] = mapped_column(String(16))  # targeted / double_random / joint
    outcome: Mapped[str] = mapped_column(String(32))  # data_contracts/feedback.yaml outcomes
    note: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(200))  # sheet and row, or record id

    __table_args__ = (Index("ix_inspections_report_key", "report_key"),)


class PlannedInspection(Recorded, Base):
    """A firm a department's monthly "double random" plan drew, with its inspectors.

    ``design`` and ``inclusion`` say how the firm's class was drawn (all of it, a simple random
    sample of that share, or by score when the capacity was short): what makes the inspections'
    findings an estimate of the class's risk.
    """

    __tablename__ = "planned_inspections"
    identity = ("month", "department", "uscc")

    month: Mapped[str] = mapped_column(String(7))  # 2026-12
    department: Mapped[str] = mapped_column(String(64))  # data_contracts/departments.yaml key
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    firm_name: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(1))
    basis: Mapped[str] = mapped_column(String(32))  # what set the class (models.tiering)
    probability: Mapped[float | None] = mapped_column(Float)
    selection: Mapped[str] = mapped_column(String(16))  # mandatory / random
    design: Mapped[str] = mapped_column(String(16))  # census / random_sample / by_score
    inclusion: Mapped[float] = mapped_column(Float)  # the class's share of eligible firms drawn
    inspectors: Mapped[str] = mapped_column(String(200))  # inspector ids, comma-separated
    seed: Mapped[str] = mapped_column(String(24))  # the published seed (as text: 64 bits)
    snapshot_week: Mapped[str] = mapped_column(String(8))  # the tier snapshot the plan used

    __table_args__ = (Index("ix_planned_inspections_identity", "month", "department", "uscc"),)


class Anomaly(Recorded, Base):
    """A cross-source consistency anomaly as the runs found it (``data_contracts/consistency``).

    One record per anomaly key (rule, firm, period): a run that finds it again with the same
    values writes nothing, so an anomaly that persists keeps its identity; one that finds other
    values (a revised row, a longer lapse) supersedes it, and the values' history stays.
    """

    __tablename__ = "anomalies"
    identity = ("anomaly_key",)

    anomaly_key: Mapped[str] = mapped_column(String(300))
    rule_id: Mapped[str] = mapped_column(String(80), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    firm_name: Mapped[str | None] = mapped_column(String(300))
    period: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[dt.date | None] = mapped_column(Date)
    left_value: Mapped[str] = mapped_column(Text)
    right_value: Mapped[str] = mapped_column(Text)
    left_source: Mapped[str] = mapped_column(String(80))
    right_source: Mapped[str] = mapped_column(String(80))
    measure: Mapped[float | None] = mapped_column(Float)
    text_zh: Mapped[str] = mapped_column(Text)
    as_of: Mapped[dt.date] = mapped_column(Date)  # the run that found these values

    __table_args__ = (Index("ix_anomalies_anomaly_key", "anomaly_key"),)


class AnomalyFollowUp(Recorded, Base):
    """Where an anomaly's follow-up stands: a chain of states (dispatched, verified, corrected,
    false alarm; see ``data_contracts/consistency/topics.yaml``), each row superseding the last.
    ``by`` is ``run`` for what a consistency run did itself (dispatching a new anomaly, closing
    one whose data was corrected at its source) and the department or operator otherwise."""

    __tablename__ = "anomaly_followups"
    identity = ("anomaly_key",)

    anomaly_key: Mapped[str] = mapped_column(String(300))
    rule_id: Mapped[str] = mapped_column(String(80), index=True)
    department: Mapped[str] = mapped_column(String(40))
    uscc: Mapped[str] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(24))
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    by: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_anomaly_followups_anomaly_key", "anomaly_key"),)


class Objection(Recorded, Base):
    """A firm's objection (异议) to a listing, a credit risk class or a fact on its page.

    One record per ``objection_id``; each step of the workflow (filed, taken up for review,
    decided) is a row superseding the last, so where the case stood at any earlier point is a
    query. Rules and remedies: ``models.objections``.
    """

    __tablename__ = "objections"
    identity = ("objection_id",)

    objection_id: Mapped[str] = mapped_column(String(16))  # OBJ-000017
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    firm_name: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(32))  # the list (null for a class)
    week: Mapped[str] = mapped_column(String(8))  # the publication objected to
    subject: Mapped[str] = mapped_column(String(16))  # listing / tier / fact
    fact_text: Mapped[str | None] = mapped_column(Text)  # the fact as the page showed it
    filed_by: Mapped[str] = mapped_column(String(16))  # firm / regulator
    claim: Mapped[str] = mapped_column(Text)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    acknowledge_by: Mapped[dt.date] = mapped_column(Date)
    decide_by: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    reviewer: Mapped[str | None] = mapped_column(String(128))
    acknowledged_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)  # the decision's reason
    remedy: Mapped[str | None] = mapped_column(String(16))  # remove / retier / withdraw_fact
    tier: Mapped[str | None] = mapped_column(String(1))  # the class a decision set

    __table_args__ = (Index("ix_objections_objection_id", "objection_id"),)


class Override(Recorded, Base):
    """An analyst's override: a firm pinned on or off an industry's list, or its credit risk
    class set, with a reason and an expiry date. Revoking it is a row superseding it (status
    ``revoked``, with the reason); an expired one lapses without any row."""

    __tablename__ = "overrides"
    identity = ("override_id",)

    override_id: Mapped[str] = mapped_column(String(16))  # OVR-000003
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    firm_name: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(32))  # the list (null for a class)
    action: Mapped[str] = mapped_column(String(16))  # list_on / list_off / tier
    tier: Mapped[str | None] = mapped_column(String(1))
    reason: Mapped[str] = mapped_column(Text)
    analyst: Mapped[str] = mapped_column(String(128))
    set_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date] = mapped_column(Date)  # the last day it is in force
    status: Mapped[str] = mapped_column(String(16))  # active / revoked
    revoked_on: Mapped[dt.date | None] = mapped_column(Date)
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_overrides_override_id", "override_id"),)


def recorded_tables() -> list[type[Recorded]]:
    """Every append-only table (the ones the store's version and history cover)."""
    return [
        mapper.class_ for mapper in Base.registry.mappers if issubclass(mapper.class_, Recorded)
    ]
