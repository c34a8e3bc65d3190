"""Objections and overrides in the case store: every step a row, the state at any point a query.

Each function is one store write: it reads the record's current row inside the write's
transaction (writers are serialised), checks the step with ``models.objections`` and adds the
new row superseding the last. A step that is not allowed raises ``ObjectionError`` and writes
nothing (no batch, no row). Ids are given in the order records are filed (``OBJ-000001``,
``OVR-000001``); the transaction holds the writers' lock, so two filings never share one.

``received_at`` is when the step reached the platform (now by default); the park's date of it
is the step's date (filed on, acknowledged on, decided on, set on). A week's publication reads
both tables as of its cut-off (``pipelines.feedback.report.publication_view``), so a decision
taken later never changes a week already published.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import polars as pl
from sqlalchemy import func, select

from models.objections import (
    ACTIVE,
    LIST_OFF,
    LIST_ON,
    RECEIVED,
    REVOKED,
    SET_TIER,
    UNDER_REVIEW,
    Decisions,
    ObjectionError,
    ObjectionPolicy,
    check_decision,
    check_filing,
    check_override,
    check_review,
    check_revoke,
    deadlines,
    flag_overdue,
    load_objection_policy,
)
from pipelines.cases.history import NOW, AsOf, current
from pipelines.cases.store import CaseStore, Change
from pipelines.cases.tables import OBJECTION, OVERRIDE, Objection, Override, Recorded
from pipelines.timeline import PARK_TZ

_RECORD_COLUMNS = ("id", "batch_id", "received_at", "supersedes_id", "withdrawn")


def park_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(PARK_TZ).date()


def _values(row: Recorded) -> dict[str, Any]:
    return {
        c.key: getattr(row, c.key)
        for c in type(row).__table__.columns
        if c.key not in _RECORD_COLUMNS
    }


def _next_id(change: Change, model: type[Recorded], column: str, prefix: str) -> str:
    count = change.session.scalar(select(func.count(func.distinct(getattr(model, column)))))
    return f"{prefix}-{(count or 0) + 1:06d}"


def _current(change: Change, model: type[Recorded], **identity: Any) -> Recorded:
    row = change.latest(model, **identity)
    if row is None:
        [value] = identity.values()
        raise ObjectionError(f"no {model.__tablename__[:-1]} {value} in the case store")
    return row


def _step(change: Change, old: Recorded, received_at: dt.datetime, **values: Any) -> Recorded:
    new = type(old)(**{**_values(old), **values}, received_at=received_at, withdrawn=False)
    return change.supersede(old, new)


# ---------------------------------------------------------------- objections


def file_objection(
    store: CaseStore,
    *,
    uscc: str,
    firm_name: str | None,
    industry: str | None,
    week: str,
    subject: str,
    claim: str,
    filed_by: str,
    fact_text: str | None,
    policy: ObjectionPolicy,
    operator: str,
    received_at: dt.datetime,
    source: str = "ews objection file",
) -> dict[str, Any]:
    """Record a new objection (received); returns it. The caller has checked that the firm was
    shown so in that week's publication."""
    check_filing(subject, filed_by, claim, fact_text)
    filed_on = park_day(received_at)
    acknowledge_by, decide_by = deadlines(filed_on, policy)
    with store.write(
        OBJECTION, operator, source, details={"action": "file", "uscc": uscc, "week": week}
    ) as change:
        objection_id = _next_id(change, Objection, "objection_id", "OBJ")
        row = Objection(
            objection_id=objection_id,
            uscc=uscc,
            firm_name=firm_name,
            industry=industry,
            week=week,
            subject=subject,
            fact_text=(fact_text or "").strip() or None,
            filed_by=filed_by,
            claim=claim.strip(),
            filed_on=filed_on,
            acknowledge_by=acknowledge_by,
            decide_by=decide_by,
            status=RECEIVED,
            reviewer=None,
            acknowledged_on=None,
            decided_on=None,
            reason=None,
            remedy=None,
            tier=None,
            received_at=received_at,
            withdrawn=False,
        )
        change.add(row)
        change.batch.details = {**change.batch.details, "objection_id": objection_id}
        out = _values(row)
    return out


def review_objection(
    store: CaseStore,
    objection_id: str,
    *,
    reviewer: str,
    operator: str,
    received_at: dt.datetime,
) -> dict[str, Any]:
    """Take a received objection up for review, naming the reviewer."""
    with store.write(
        OBJECTION,
        operator,
        "ews objection review",
        details={"action": "review", "id": objection_id},
    ) as change:
        old = _current(change, Objection, objection_id=objection_id)
        check_review(objection_id, old.status, reviewer)
        new = _step(
            change,
            old,
            received_at,
            status=UNDER_REVIEW,
            reviewer=reviewer.strip(),
            acknowledged_on=park_day(received_at),
        )
        out = _values(new)
    return out


def decide_objection(
    store: CaseStore,
    objection_id: str,
    *,
    decision: str,
    reason: str,
    tier: str | None,
    operator: str,
    received_at: dt.datetime,
) -> dict[str, Any]:
    """Decide an objection under review (upheld, partly upheld, rejected) with its reason."""
    with store.write(
        OBJECTION,
        operator,
        "ews objection decide",
        details={"action": "decide", "id": objection_id},
    ) as change:
        old = _current(change, Objection, objection_id=objection_id)
        remedy = check_decision(objection_id, old.subject, old.status, decision, reason, tier)
        new = _step(
            change,
            old,
            received_at,
            status=decision,
            decided_on=park_day(received_at),
            reason=reason.strip(),
            remedy=remedy,
            tier=tier,
        )
        out = _values(new)
    return out


def objections(store: CaseStore, as_of: AsOf = NOW, *, at: dt.date | None = None) -> pl.DataFrame:
    """Every objection's current state at ``as_of``, with the overdue flags as of the day ``at``
    (default: the park's today), by id."""
    frame = store.frame(Objection, as_of).sort("objection_id")
    return flag_overdue(frame, at or park_day(dt.datetime.now(dt.UTC)))


def objection_history(store: CaseStore, objection_id: str, as_of: AsOf = NOW) -> pl.DataFrame:
    """Every step of one objection, in order."""
    return store.frame(Objection, as_of, Objection.objection_id == objection_id, history=True)


# ---------------------------------------------------------------- overrides


def set_override(
    store: CaseStore,
    *,
    uscc: str,
    firm_name: str | None,
    industry: str | None,
    action: str,
    tier: str | None,
    reason: str,
    expires_on: dt.date | None,
    policy: ObjectionPolicy,
    operator: str,
    received_at: dt.datetime,
) -> dict[str, Any]:
    """Record an analyst's override (active from the park's day of ``received_at``). A firm has
    at most one active override of a list, and one of its class: revoke the old one first."""
    today = park_day(received_at)
    check_override(action, reason, expires_on, today, policy, tier=tier, industry=industry)
    with store.write(
        OVERRIDE, operator, "ews override set", details={"action": "set", "uscc": uscc}
    ) as change:
        same = (
            (Override.action == SET_TIER)
            if action == SET_TIER
            else Override.action.in_((LIST_ON, LIST_OFF)) & (Override.industry == industry)
        )
        clash = change.session.scalars(
            current(Override, NOW).where(
                Override.uscc == uscc,
                Override.status == ACTIVE,
                Override.expires_on >= today,
                same,
            )
        ).first()
        if clash is not None:
            raise ObjectionError(
                f"firm {uscc} already has override {clash.override_id} ({clash.action}, until "
                f"{clash.expires_on.isoformat()}): revoke it first"
            )
        override_id = _next_id(change, Override, "override_id", "OVR")
        row = Override(
            override_id=override_id,
            uscc=uscc,
            firm_name=firm_name,
            industry=industry,
            action=action,
            tier=tier,
            reason=reason.strip(),
            analyst=operator,
            set_on=today,
            expires_on=expires_on,
            status=ACTIVE,
            revoked_on=None,
            revoke_reason=None,
            received_at=received_at,
            withdrawn=False,
        )
        change.add(row)
        change.batch.details = {**change.batch.details, "override_id": override_id}
        out = _values(row)
    return out


def revoke_override(
    store: CaseStore, override_id: str, *, reason: str, operator: str, received_at: dt.datetime
) -> dict[str, Any]:
    with store.write(
        OVERRIDE, operator, "ews override revoke", details={"action": "revoke", "id": override_id}
    ) as change:
        old = _current(change, Override, override_id=override_id)
        check_revoke(override_id, old.status, reason)
        new = _step(
            change,
            old,
            received_at,
            status=REVOKED,
            revoked_on=park_day(received_at),
            revoke_reason=reason.strip(),
        )
        out = _values(new)
    return out


def overrides(store: CaseStore, as_of: AsOf = NOW) -> pl.DataFrame:
    """Every override's current state at ``as_of``, by id (expired ones included: their
    ``expires_on`` says so)."""
    return store.frame(Override, as_of).sort("override_id")


# ---------------------------------------------------------------- what a manifest records


def fingerprint(row: dict[str, Any]) -> str:
    """SHA-256 of a record's state (its values, canonical JSON): what a manifest cites."""
    text = json.dumps(row, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cited(frame: pl.DataFrame, id_column: str) -> list[dict[str, Any]]:
    """``[{id, status, sha256}]`` of the records in ``frame`` (record columns left out)."""
    keep = [c for c in frame.columns if c not in _RECORD_COLUMNS and not c.endswith("_overdue")]
    return [
        {"id": row[id_column], "status": row["status"], "sha256": fingerprint(row)}
        for row in frame.select(keep).sort(id_column).iter_rows(named=True)
    ]


def publication_decisions(store: CaseStore, view: AsOf) -> Decisions:
    """The objections and overrides a week's publication applies: the store as it stood at the
    week's view (``pipelines.feedback.report.publication_view``, recorded in the manifest)."""
    return Decisions(
        objections=store.frame(Objection, view).sort("objection_id"),
        overrides=store.frame(Override, view).sort("override_id"),
        policy=load_objection_policy(),
    )
