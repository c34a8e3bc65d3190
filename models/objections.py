"""Objections and overrides: the workflow's rules and what a decision does to a list (pure).

An **objection** (异议) is a firm's (or the regulator's on its behalf) claim that a listing, a
credit risk class or a fact shown on its page is wrong. It moves received -> under review ->
upheld / partly upheld / rejected, with deadlines from ``models/objections.yaml``. A decided
objection is closed: nothing decides it again.

An **override** is an analyst's judgement: pin a firm on or off an industry's list, or set its
credit risk class, always with a reason and an expiry date; it lapses by itself after that date.

What they do to a week's publication: ``list_effects`` (who is pinned on, who is taken off and
why), ``apply_to_list`` (the listed firms after them, the model's rank, score and tier kept) and
``tier_settings`` (classes set by an override or an upheld objection). The case store
(``pipelines.cases.objections``) keeps their history; this module never reads it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from typing import Any

import polars as pl
import yaml

from models.config import TIER_ORDER

# What an objection is about.
LISTING, TIER, FACT = "listing", "tier", "fact"
SUBJECTS = (LISTING, TIER, FACT)
FILERS = ("firm", "regulator")

# The workflow.
RECEIVED, UNDER_REVIEW = "received", "under_review"
UPHELD, PARTLY_UPHELD, REJECTED = "upheld", "partly_upheld", "rejected"
OPEN = (RECEIVED, UNDER_REVIEW)
DECISIONS = (UPHELD, PARTLY_UPHELD, REJECTED)
STATUSES = (*OPEN, *DECISIONS)
STATUS_ZH = {
    RECEIVED: "已受理",
    UNDER_REVIEW: "核实中",
    UPHELD: "异议成立",
    PARTLY_UPHELD: "部分成立",
    REJECTED: "异议不成立",
}
SUBJECT_ZH = {LISTING: "风险名单", TIER: "信用风险分类", FACT: "事实信息"}

# What an upheld (or partly upheld) decision does.
REMOVE, RETIER, WITHDRAW_FACT = "remove", "retier", "withdraw_fact"

# Overrides.
LIST_ON, LIST_OFF, SET_TIER = "list_on", "list_off", "tier"
OVERRIDE_ACTIONS = (LIST_ON, LIST_OFF, SET_TIER)
ACTIVE, REVOKED = "active", "revoked"
ACTION_ZH = {LIST_ON: "人工列入名单", LIST_OFF: "人工移出名单", SET_TIER: "人工设定分类"}

# Why a firm's place on a list differs from the model's (``apply_to_list``'s ``list_basis``).
BY_MODEL = "model"
PINNED_ON, PINNED_OFF, OBJECTION_UPHELD = "override_on", "override_off", "objection_upheld"
# How each basis reads on the list, the workbook and the site (zh, en).
LIST_BASIS_TEXT = {
    BY_MODEL: ("模型排名", "the model's rank"),
    PINNED_ON: ("人工列入", "pinned on by an analyst"),
    PINNED_OFF: ("人工移出", "taken off by an analyst"),
    OBJECTION_UPHELD: ("异议成立移出", "taken off: objection upheld"),
}

EFFECT_SCHEMA = {
    "uscc": pl.String,
    "effect": pl.String,  # PINNED_ON, PINNED_OFF or OBJECTION_UPHELD
    "decision_id": pl.String,  # the override's or the objection's id
    "reason": pl.String,
}
TIER_SETTING_SCHEMA = {
    "uscc": pl.String,
    "tier": pl.String,
    "reason": pl.String,
    "decision_id": pl.String,
}


class ObjectionError(ValueError):
    """An objection, a decision or an override that cannot be recorded (the message says what
    is wrong and what would be accepted)."""


@dataclass(frozen=True)
class ObjectionPolicy:
    days_to_acknowledge: int
    days_to_decide: int
    max_override_days: int
    listing_removal_days: int


def parse_objection_policy(raw: dict[str, Any]) -> ObjectionPolicy:
    fields = ObjectionPolicy.__dataclass_fields__
    missing = [name for name in fields if name not in raw]
    if missing:
        raise ObjectionError(f"objections.yaml lacks {missing}")
    values = {}
    for name in fields:
        value = raw[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ObjectionError(f"objections.yaml: {name} is {value!r}, expected whole days >= 1")
        values[name] = value
    policy = ObjectionPolicy(**values)
    if policy.days_to_acknowledge > policy.days_to_decide:
        raise ObjectionError(
            "objections.yaml: days_to_acknowledge exceeds days_to_decide "
            f"({policy.days_to_acknowledge} > {policy.days_to_decide})"
        )
    return policy


def load_objection_policy() -> ObjectionPolicy:
    text = (resources.files("models") / "objections.yaml").read_text(encoding="utf-8")
    return parse_objection_policy(yaml.safe_load(text))


# ---------------------------------------------------------------- the workflow


def deadlines(filed_on: dt.date, policy: ObjectionPolicy) -> tuple[dt.date, dt.date]:
    """(acknowledge by, decide by): calendar days after the filing day."""
    return (
        filed_on + dt.timedelta(days=policy.days_to_acknowledge),
        filed_on + dt.timedelta(days=policy.days_to_decide),
    )


def _text(value: str | None) -> str:
    return (value or "").strip()


def check_filing(
    subject: str, filed_by: str, claim: str | None, fact_text: str | None = None
) -> None:
    if subject not in SUBJECTS:
        raise ObjectionError(f"subject {subject!r}: expected one of {list(SUBJECTS)}")
    if filed_by not in FILERS:
        raise ObjectionError(f"filed by {filed_by!r}: expected one of {list(FILERS)}")
    if not _text(claim):
        raise ObjectionError("an objection needs the firm's claim (what is wrong and why)")
    if subject == FACT and not _text(fact_text):
        raise ObjectionError("an objection to a fact names the fact, as its page shows it")
    if subject != FACT and _text(fact_text):
        raise ObjectionError(f"a fact is named only by an objection to a fact, not a {subject}")


def check_review(objection_id: str, status: str, reviewer: str | None) -> None:
    """Taking a case up: only a received one, and someone must be named."""
    if status in DECISIONS:
        raise ObjectionError(
            f"objection {objection_id} is closed ({status}): it cannot be reviewed"
        )
    if status != RECEIVED:
        raise ObjectionError(f"objection {objection_id} is already {status}")
    if not _text(reviewer):
        raise ObjectionError(f"objection {objection_id}: name the reviewer")


def check_decision(
    objection_id: str,
    subject: str,
    status: str,
    decision: str,
    reason: str | None,
    tier: str | None,
) -> str | None:
    """Validate a decision on an objection; returns its remedy (None for a rejection).

    Upheld or partly upheld: a listing is removed from its list (``remove``), or, with a class
    given, the firm stays listed and its credit risk class is set (``retier``); a class objection
    needs the class it is set to; a fact is withdrawn.
    """
    if status in DECISIONS:
        raise ObjectionError(
            f"objection {objection_id} is closed ({status}): a decided case is not decided again"
        )
    if status != UNDER_REVIEW:
        raise ObjectionError(
            f"objection {objection_id} is {status}: take it up for review before deciding it"
        )
    if decision not in DECISIONS:
        raise ObjectionError(f"decision {decision!r}: expected one of {list(DECISIONS)}")
    if not _text(reason):
        raise ObjectionError(f"objection {objection_id}: a decision needs its reason")
    if tier is not None and tier not in TIER_ORDER:
        raise ObjectionError(f"tier {tier!r}: expected one of {list(TIER_ORDER)}")
    if decision == REJECTED:
        if tier is not None:
            raise ObjectionError(f"objection {objection_id}: a rejection sets no class")
        return None
    if subject == LISTING:
        return REMOVE if tier is None else RETIER
    if subject == TIER:
        if tier is None:
            raise ObjectionError(
                f"objection {objection_id}: say which class the firm is set to (--tier A..D)"
            )
        return RETIER
    if tier is not None:
        raise ObjectionError(f"objection {objection_id}: a fact's correction sets no class")
    return WITHDRAW_FACT


def check_override(
    action: str,
    reason: str | None,
    expires_on: dt.date | None,
    today: dt.date,
    policy: ObjectionPolicy,
    *,
    tier: str | None = None,
    industry: str | None = None,
) -> None:
    if action not in OVERRIDE_ACTIONS:
        raise ObjectionError(f"override {action!r}: expected one of {list(OVERRIDE_ACTIONS)}")
    if not _text(reason):
        raise ObjectionError("an override needs its reason (why the model is overruled)")
    if expires_on is None:
        raise ObjectionError("an override needs an expiry date")
    if expires_on < today:
        raise ObjectionError(
            f"expiry {expires_on.isoformat()} is in the past (today is {today.isoformat()})"
        )
    longest = today + dt.timedelta(days=policy.max_override_days)
    if expires_on > longest:
        raise ObjectionError(
            f"expiry {expires_on.isoformat()} is more than {policy.max_override_days} days away "
            f"(at most {longest.isoformat()}): an override is re-examined, never permanent"
        )
    if action == SET_TIER:
        if tier not in TIER_ORDER:
            raise ObjectionError(f"tier {tier!r}: expected one of {list(TIER_ORDER)}")
        if industry is not None:
            raise ObjectionError("a class override is the firm's, not one list's: no industry")
    else:
        if tier is not None:
            raise ObjectionError(f"override {action}: pins a listing and sets no class")
        if not industry:
            raise ObjectionError(f"override {action}: name the list's industry")


def check_revoke(override_id: str, status: str, reason: str | None) -> None:
    if status == REVOKED:
        raise ObjectionError(f"override {override_id} is already revoked")
    if not _text(reason):
        raise ObjectionError(f"override {override_id}: revoking it needs a reason")


def flag_overdue(objections: pl.DataFrame, at: dt.date) -> pl.DataFrame:
    """Add ``acknowledgement_overdue`` (still received after its acknowledge-by day) and
    ``decision_overdue`` (still open after its decide-by day) as of the day ``at``."""
    day = pl.lit(at, dtype=pl.Date)
    return objections.with_columns(
        acknowledgement_overdue=(pl.col("status") == RECEIVED) & (day > pl.col("acknowledge_by")),
        decision_overdue=pl.col("status").is_in(OPEN) & (day > pl.col("decide_by")),
    )


# ---------------------------------------------------------------- effects on a publication


def in_force(day: dt.date) -> pl.Expr:
    """True for an active override whose window (set on .. expires on, both included) holds
    ``day``: an expired one lapses by itself."""
    return (pl.col("status") == ACTIVE) & (pl.col("set_on") <= day) & (pl.col("expires_on") >= day)


def overrides_in_force(overrides: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    return overrides.filter(in_force(day)).sort("override_id")


def upheld(objections: pl.DataFrame) -> pl.DataFrame:
    return objections.filter(pl.col("status").is_in((UPHELD, PARTLY_UPHELD))).sort("objection_id")


def list_effects(
    objections: pl.DataFrame,
    overrides: pl.DataFrame,
    industry: str,
    day: dt.date,
    policy: ObjectionPolicy,
) -> pl.DataFrame:
    """Who is pinned on or taken off ``industry``'s list published on ``day``, and why.

    ``objections`` and ``overrides`` are the store's current rows as the publication may see
    them. An override wins over an objection for the same firm (it is the analyst's explicit
    judgement of the list); two overrides of one firm and list cannot both be active (the store
    refuses the second).
    """
    pins = overrides_in_force(overrides, day).filter(
        (pl.col("industry") == industry) & pl.col("action").is_in((LIST_ON, LIST_OFF))
    )
    pinned = pins.select(
        "uscc",
        effect=pl.when(pl.col("action") == LIST_ON)
        .then(pl.lit(PINNED_ON))
        .otherwise(pl.lit(PINNED_OFF)),
        decision_id=pl.col("override_id"),
        reason=pl.col("reason"),
    )
    removal = dt.timedelta(days=policy.listing_removal_days)
    removed = (
        upheld(objections)
        .filter(
            (pl.col("subject") == LISTING)
            & (pl.col("industry") == industry)
            & (pl.col("remedy") == REMOVE)
            & (pl.col("decided_on") <= day)
            & (pl.col("decided_on") + removal > day)
        )
        .filter(~pl.col("uscc").is_in(pinned["uscc"].implode()))
        .unique("uscc", keep="first", maintain_order=True)
        .select(
            "uscc",
            effect=pl.lit(OBJECTION_UPHELD),
            decision_id=pl.col("objection_id"),
            reason=pl.col("reason"),
        )
    )
    return pl.concat([pinned.cast(EFFECT_SCHEMA), removed.cast(EFFECT_SCHEMA)]).sort("uscc")


def apply_to_list(
    ranked: pl.DataFrame, effects: pl.DataFrame, capacity_k: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The list after overrides and upheld objections, the model's judgement kept beside it.

    ``ranked`` is ``models.rank.rank_firms``'s frame. The list keeps its length (the regulator's
    capacity): a firm pinned on takes a place, a firm taken off gives its place to the next firm
    by the model's rank. A firm without a score (insufficient data) cannot be pinned on: it has
    no rank to list it by, and its effect is reported as not applied (``applied`` false).

    Adds ``model_listed`` (the model's own cut), ``list_basis`` (``model`` or the effect),
    ``decision_id`` and ``decision_reason``; ``rank``, ``probability`` and ``tier`` stay the
    model's. Returns (the list, the effects with ``applied``).
    """
    joined = ranked.join(
        effects.select(
            "uscc",
            _effect="effect",
            decision_id="decision_id",
            decision_reason="reason",
        ),
        on="uscc",
        how="left",
        maintain_order="left",
    )
    scored = pl.col("rank").is_not_null()
    effect = pl.col("_effect").fill_null("")
    on = (effect == PINNED_ON) & scored
    off = effect.is_in((PINNED_OFF, OBJECTION_UPHELD))
    applied_here = (effect != "") & ~((effect == PINNED_ON) & ~scored)
    free = max(capacity_k - joined.filter(on).height, 0)
    eligible = scored & ~on & ~off
    place = pl.when(eligible).then(pl.col("rank")).rank("ordinal")
    out = joined.with_columns(
        model_listed=pl.col("listed"),
        listed=on | (eligible & (place <= free)).fill_null(False),
        list_basis=pl.when(applied_here).then(pl.col("_effect")).otherwise(pl.lit(BY_MODEL)),
        decision_id=pl.when(applied_here).then(pl.col("decision_id")),
        decision_reason=pl.when(applied_here).then(pl.col("decision_reason")),
    ).drop("_effect")
    present = joined.filter(effect != "").select("uscc", applied=applied_here)
    report = effects.join(present, on="uscc", how="left").with_columns(
        pl.col("applied").fill_null(False)
    )
    return out, report


def tier_settings(objections: pl.DataFrame, overrides: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Credit risk classes set by people for the week published on ``day``: an active class
    override, else the latest upheld objection that set a class (a class objection, or a listing
    objection decided with a class). uscc, tier, reason (naming the decision), by uscc."""
    pinned = overrides_in_force(overrides, day).filter(pl.col("action") == SET_TIER)
    by_override = pinned.select(
        "uscc",
        "tier",
        reason=pl.format("{}: {}", pl.col("override_id"), pl.col("reason")),
        decision_id="override_id",
    )
    by_objection = (
        upheld(objections)
        .filter((pl.col("remedy") == RETIER) & (pl.col("decided_on") <= day))
        .filter(~pl.col("uscc").is_in(by_override["uscc"].implode()))
        .sort("decided_on", "objection_id")
        .unique("uscc", keep="last", maintain_order=True)
        .select(
            "uscc",
            "tier",
            reason=pl.format("{}: {}", pl.col("objection_id"), pl.col("reason")),
            decision_id="objection_id",
        )
    )
    return pl.concat(
        [by_override.cast(TIER_SETTING_SCHEMA), by_objection.cast(TIER_SETTING_SCHEMA)]
    ).sort("uscc")


def withdrawn_facts(objections: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """Facts withdrawn by an upheld objection decided on or before ``day``: uscc, fact_text,
    objection_id, decided_on (by uscc and id)."""
    return (
        upheld(objections)
        .filter((pl.col("remedy") == WITHDRAW_FACT) & (pl.col("decided_on") <= day))
        .select("uscc", "fact_text", "objection_id", "decided_on")
        .sort("uscc", "objection_id")
    )


@dataclass(frozen=True)
class Decisions:
    """People's decisions a publication applies: the store's current objections and overrides
    as the week could see them (``pipelines.cases.objections.publication_decisions``)."""

    objections: pl.DataFrame
    overrides: pl.DataFrame
    policy: ObjectionPolicy


def withdraw_facts(reasons: pl.DataFrame, withdrawn: pl.DataFrame) -> pl.DataFrame:
    """Reasons without the withdrawn facts (matched on the firm and the fact's text in either
    language; the zh and en lists stay aligned). Adds ``facts_withdrawn``: the objections whose
    facts were taken out of that reason (empty when none)."""
    texts: dict[str, dict[str, str]] = {}
    for row in withdrawn.iter_rows(named=True):
        texts.setdefault(row["uscc"], {})[row["fact_text"].strip()] = row["objection_id"]
    out_zh, out_en, out_ids = [], [], []
    for uscc, facts_zh, facts_en in reasons.select("uscc", "facts_zh", "facts_en").iter_rows():
        mine = texts.get(uscc, {})
        kept_zh, kept_en, ids = [], [], []
        for zh, en in zip(facts_zh or [], facts_en or [], strict=True):
            hit = mine.get(zh.strip()) or mine.get(en.strip())
            if hit is None:
                kept_zh.append(zh)
                kept_en.append(en)
            elif hit not in ids:
                ids.append(hit)
        out_zh.append(kept_zh)
        out_en.append(kept_en)
        out_ids.append(ids)
    text_list = pl.List(pl.String)
    return reasons.with_columns(
        pl.Series("facts_zh", out_zh, text_list),
        pl.Series("facts_en", out_en, text_list),
        pl.Series("facts_withdrawn", out_ids, text_list),
    )


def oversight_counts(objections: pl.DataFrame, list_bases: pl.DataFrame) -> dict[str, int]:
    """How people weighed in on one industry's lists, for its model card: ``objections`` are the
    industry's current objections, ``list_bases`` the published lists' ``week``, ``uscc`` and
    ``list_basis`` (scores.parquet)."""

    def listings(frame: pl.DataFrame) -> int:
        return frame.select("week", "uscc").unique().height

    status = pl.col("status")
    return {
        "listings_overridden": listings(
            list_bases.filter(pl.col("list_basis").is_in((PINNED_ON, PINNED_OFF)))
        ),
        "listings_removed_by_objection": listings(
            list_bases.filter(pl.col("list_basis") == OBJECTION_UPHELD)
        ),
        "listings_objected_to": listings(objections.filter(pl.col("subject") == LISTING)),
        "objections": objections.height,
        "upheld": objections.filter(status == UPHELD).height,
        "partly_upheld": objections.filter(status == PARTLY_UPHELD).height,
        "rejected": objections.filter(status == REJECTED).height,
        "open": objections.filter(status.is_in(OPEN)).height,
    }
