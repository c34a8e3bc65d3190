"""`ews objection ...` and `ews override ...`: checked against what was published, recorded in
the case store, audit-logged.

An objection names what the firm saw: a week that was published, and a firm that was on that
week's list (a listing, or a fact shown among its reasons) or was classed that week (a class).
Anything else is refused with a message saying what was published, and nothing is written. Every
attempt, refused or recorded, is one audit record with the operator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl

from models.config import load_industries
from models.objections import FACT, LIST_OFF, LIST_ON, LISTING, TIER, ObjectionError, in_force
from models.objections import load_objection_policy as policy
from pipelines import audit, publish_io, timeline
from pipelines.cases import case_store_exists, open_store
from pipelines.cases import objections as store_ops
from pipelines.cases.store import CaseStore
from pipelines.settings import Settings
from pipelines.tiers import FOLDER as TIERS_FOLDER
from pipelines.tiers import TIERS_FILE
from pipelines.timeline import resolve_week

# The timeline's parsers, their errors raised as ObjectionError (what the objection and override
# commands report as bad input).


def parse_moment(value: str | dt.datetime | None) -> dt.datetime:
    """When a step reached the platform: now by default; a time without a zone is the park's."""
    try:
        return timeline.parse_park_moment(value, "time")
    except ValueError as error:
        raise ObjectionError(str(error)) from error


def parse_day(value: str | dt.date | None, what: str) -> dt.date | None:
    """A day given (None stays None: the caller knows what its default is)."""
    if value is None:
        return None
    try:
        return timeline.parse_day(value, what)
    except ValueError as error:
        raise ObjectionError(str(error)) from error


def _published_weeks(settings: Settings) -> list[str]:
    root = settings.publish
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _week(settings: Settings, week: str) -> str:
    try:
        label, _ = resolve_week(week)
    except ValueError as error:
        raise ObjectionError(str(error)) from error
    published = _published_weeks(settings)
    if label not in published:
        shown = ", ".join(published[-6:]) or "none yet"
        raise ObjectionError(f"week {label} was not published (published weeks: {shown})")
    return label


def _listed(settings: Settings, week: str, industry: str | None, uscc: str) -> tuple[str, str]:
    """(industry, firm name) of the week's list that named the firm; refuses otherwise."""
    industries = list(load_industries())
    if industry is not None and industry not in industries:
        raise ObjectionError(f"industry {industry!r}: expected one of {industries}")
    for key in [industry] if industry else industries:
        path = settings.publish / week / key / publish_io.SCORES
        if not path.is_file():
            continue
        row = pl.read_parquet(path, columns=["uscc", "name", "listed"]).filter(
            (pl.col("uscc") == uscc) & pl.col("listed")
        )
        if row.height:
            return key, row["name"][0]
    where = f"{industry} list" if industry else "lists"
    raise ObjectionError(f"firm {uscc} is not on week {week}'s {where}")


def _classed(settings: Settings, week: str, uscc: str) -> str | None:
    path = settings.publish / week / TIERS_FOLDER / TIERS_FILE
    if not path.is_file():
        raise ObjectionError(f"week {week} has no credit risk classes published")
    row = pl.read_parquet(path, columns=["uscc", "name"]).filter(pl.col("uscc") == uscc)
    if not row.height:
        raise ObjectionError(f"firm {uscc} has no credit risk class in week {week}")
    return row["name"][0]


def _shown_fact(settings: Settings, week: str, industry: str, uscc: str, fact: str) -> None:
    reasons = pl.read_parquet(settings.publish / week / industry / publish_io.REASONS).filter(
        pl.col("uscc") == uscc
    )
    shown = {f for column in ("facts_zh", "facts_en") for facts in reasons[column] for f in facts}
    if fact.strip() not in shown:
        raise ObjectionError(
            f"firm {uscc}'s page in week {week} shows no fact {fact.strip()!r} "
            f"(it shows {len(shown) // 2 or len(shown)} facts; quote one exactly)"
        )


def _known_firm(settings: Settings, uscc: str, industry: str | None) -> str | None:
    """The firm's name in the newest publication that scored (an industry's list) or classed
    (no industry) it; refuses a firm the newest publication does not know."""
    weeks = _published_weeks(settings)
    if not weeks:
        raise ObjectionError("nothing was published yet: an override needs a published week")
    week = weeks[-1]
    if industry is None:
        return _classed(settings, week, uscc)
    path = settings.publish / week / industry / publish_io.SCORES
    row = (
        pl.read_parquet(path, columns=["uscc", "name"]).filter(pl.col("uscc") == uscc)
        if path.is_file()
        else pl.DataFrame()
    )
    if not row.height:
        raise ObjectionError(f"firm {uscc} is not among the {industry} firms scored in week {week}")
    return row["name"][0]


def _with_store(settings: Settings, work: Callable[[CaseStore], dict[str, Any]]) -> dict[str, Any]:
    store = open_store(settings)
    try:
        return work(store)
    finally:
        store.dispose()


def _logged(
    settings: Settings, kind: str, action: str, request: dict[str, Any], work: Callable[[], Any]
) -> dict[str, Any]:
    """Run one step; audit-log it whether recorded or refused (refusals re-raised)."""
    try:
        result = work()
    except ObjectionError as error:
        details = {"action": action, "outcome": "refused", "problem": str(error), **request}
        audit.record(settings, kind, details=details)
        raise
    audit.record(
        settings, kind, details={"action": action, "outcome": "recorded", "record": result}
    )
    return result


def file(
    settings: Settings,
    *,
    uscc: str,
    week: str,
    subject: str,
    claim: str,
    industry: str | None = None,
    fact: str | None = None,
    filed_by: str = "firm",
    at: str | dt.datetime | None = None,
) -> dict[str, Any]:
    """File an objection to what ``week`` showed of firm ``uscc``."""
    request = {"uscc": uscc, "week": week, "subject": subject, "industry": industry}

    def work() -> dict[str, Any]:
        label = _week(settings, week)
        moment = parse_moment(at)
        uscc_ = uscc.strip().upper()
        if subject == TIER:
            if industry is not None:
                raise ObjectionError("a class objection is the firm's, not one list's: no industry")
            key, name = None, _classed(settings, label, uscc_)
        elif subject in (LISTING, FACT):
            key, name = _listed(settings, label, industry, uscc_)
            if subject == FACT and fact:
                _shown_fact(settings, label, key, uscc_, fact)
        else:
            key, name = industry, None  # check_filing names the allowed subjects
        return _with_store(
            settings,
            lambda store: store_ops.file_objection(
                store,
                uscc=uscc_,
                firm_name=name,
                industry=key,
                week=label,
                subject=subject,
                claim=claim,
                filed_by=filed_by,
                fact_text=fact,
                policy=policy(),
                operator=settings.operator,
                received_at=moment,
            ),
        )

    return _logged(settings, "objection", "file", request, work)


def review(
    settings: Settings, objection_id: str, *, reviewer: str, at: str | dt.datetime | None = None
) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        moment = parse_moment(at)
        return _with_store(
            settings,
            lambda store: store_ops.review_objection(
                store,
                objection_id,
                reviewer=reviewer,
                operator=settings.operator,
                received_at=moment,
            ),
        )

    return _logged(settings, "objection", "review", {"id": objection_id}, work)


def decide(
    settings: Settings,
    objection_id: str,
    *,
    decision: str,
    reason: str,
    tier: str | None = None,
    at: str | dt.datetime | None = None,
) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        moment = parse_moment(at)
        return _with_store(
            settings,
            lambda store: store_ops.decide_objection(
                store,
                objection_id,
                decision=decision,
                reason=reason,
                tier=tier,
                operator=settings.operator,
                received_at=moment,
            ),
        )

    return _logged(
        settings, "objection", "decide", {"id": objection_id, "decision": decision}, work
    )


def list_objections(settings: Settings, at: str | None = None) -> list[dict[str, Any]]:
    """Every objection's current state with its overdue flags as of ``at`` (default today)."""
    day = parse_day(at, "day")
    if not case_store_exists(settings):  # reading must not create an empty store
        return []
    frame = _with_store(settings, lambda store: {"f": store_ops.objections(store, at=day)})["f"]
    return frame.drop("id", "batch_id", "supersedes_id", "withdrawn").to_dicts()


def set_override(
    settings: Settings,
    *,
    uscc: str,
    action: str,
    reason: str,
    expires: str | dt.date | None,
    industry: str | None = None,
    tier: str | None = None,
    at: str | dt.datetime | None = None,
) -> dict[str, Any]:
    request = {"uscc": uscc, "override": action, "industry": industry, "tier": tier}

    def work() -> dict[str, Any]:
        moment = parse_moment(at)
        industries = list(load_industries())
        if action in (LIST_ON, LIST_OFF) and industry not in industries:
            raise ObjectionError(f"industry {industry!r}: expected one of {industries}")
        uscc_ = uscc.strip().upper()
        name = _known_firm(settings, uscc_, industry if action in (LIST_ON, LIST_OFF) else None)
        return _with_store(
            settings,
            lambda store: store_ops.set_override(
                store,
                uscc=uscc_,
                firm_name=name,
                industry=industry,
                action=action,
                tier=tier,
                reason=reason,
                expires_on=parse_day(expires, "expiry"),
                policy=policy(),
                operator=settings.operator,
                received_at=moment,
            ),
        )

    return _logged(settings, "override", "set", request, work)


def revoke_override(
    settings: Settings, override_id: str, *, reason: str, at: str | dt.datetime | None = None
) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        moment = parse_moment(at)
        return _with_store(
            settings,
            lambda store: store_ops.revoke_override(
                store, override_id, reason=reason, operator=settings.operator, received_at=moment
            ),
        )

    return _logged(settings, "override", "revoke", {"id": override_id}, work)


def list_overrides(settings: Settings, at: str | None = None) -> list[dict[str, Any]]:
    """Every override with ``in_force`` as of the day ``at`` (default today)."""
    day = parse_day(at, "day") or timeline.park_today()
    if not case_store_exists(settings):
        return []
    frame = _with_store(settings, lambda store: {"f": store_ops.overrides(store)})["f"]
    return (
        frame.with_columns(in_force=in_force(day))
        .drop("id", "batch_id", "supersedes_id", "withdrawn")
        .to_dicts()
    )
