"""Objections and overrides in the case store, on SQLite and PostgreSQL: each step a row, the
state at any earlier point a query, a refused step writing nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from models.objections import ObjectionError, ObjectionPolicy
from pipelines.cases import AsOf, CaseStore
from pipelines.cases import objections as ops

POLICY = ObjectionPolicy(
    days_to_acknowledge=3, days_to_decide=15, max_override_days=180, listing_removal_days=91
)
FILED = dt.datetime(2026, 11, 17, 2, 0, tzinfo=dt.UTC)  # 10:00 in the park
UNDER_REVIEW = FILED + dt.timedelta(days=1)
DECIDED = FILED + dt.timedelta(days=5)
FIRM = "91320594MA1XXXXXX1"


def file(store: CaseStore, uscc: str = FIRM, subject: str = "listing", **extra) -> dict:
    values = {
        "uscc": uscc,
        "firm_name": "某某科技有限公司",
        "industry": "finance",
        "week": "2026-W47",
        "subject": subject,
        "claim": "欠税已于上月补缴",
        "filed_by": "firm",
        "fact_text": None,
        "policy": POLICY,
        "operator": "clerk-wang",
        "received_at": FILED,
    }
    return ops.file_objection(store, **{**values, **extra})


def review(store: CaseStore, oid: str, at: dt.datetime = UNDER_REVIEW) -> dict:
    return ops.review_objection(
        store, oid, reviewer="reviewer-li", operator="clerk-wang", received_at=at
    )


def decide(store: CaseStore, oid: str, decision: str = "upheld", **extra) -> dict:
    values = {"reason": "税务局确认已补缴", "tier": None, "operator": "clerk-wang"}
    values["received_at"] = DECIDED
    return ops.decide_objection(store, oid, decision=decision, **{**values, **extra})


def pin(store: CaseStore, uscc: str = FIRM, action: str = "list_off", **extra) -> dict:
    values = {
        "uscc": uscc,
        "firm_name": None,
        "industry": "finance",
        "tier": None,
        "reason": "现场核查无风险",
        "expires_on": dt.date(2026, 12, 31),
        "policy": POLICY,
        "operator": "analyst-zhao",
        "received_at": FILED,
    }
    return ops.set_override(store, action=action, **{**values, **extra})


def test_an_objection_goes_received_under_review_decided_and_keeps_every_step(
    store: CaseStore,
) -> None:
    filed = file(store)
    assert (filed["objection_id"], filed["status"]) == ("OBJ-000001", "received")
    assert (filed["filed_on"], filed["acknowledge_by"], filed["decide_by"]) == (
        dt.date(2026, 11, 17),
        dt.date(2026, 11, 20),
        dt.date(2026, 12, 2),
    )
    assert review(store, "OBJ-000001")["status"] == "under_review"
    decided = decide(store, "OBJ-000001")
    assert (decided["status"], decided["remedy"], decided["decided_on"]) == (
        "upheld",
        "remove",
        dt.date(2026, 11, 22),
    )
    steps = ops.objection_history(store, "OBJ-000001")
    assert steps["status"].to_list() == ["received", "under_review", "upheld"]
    assert steps["supersedes_id"].to_list()[1:] == steps["id"].to_list()[:2]
    assert [b.kind for b in store.batches()] == ["objection"] * 3
    assert store.batches()[0].operator == "clerk-wang"


def test_a_past_week_reads_the_case_as_it_stood_then(store: CaseStore) -> None:
    file(store)
    review(store, "OBJ-000001")
    before_decision = AsOf(version=store.version(), before=DECIDED)
    decide(store, "OBJ-000001")
    then = ops.objections(store, before_decision, at=dt.date(2026, 11, 21))
    assert then["status"].to_list() == ["under_review"]
    assert ops.objections(store)["status"].to_list() == ["upheld"]
    # Only the filing had arrived by the day after it.
    early = AsOf(before=FILED + dt.timedelta(hours=1))
    assert ops.objections(store, early)["status"].to_list() == ["received"]


def test_overdue_cases_are_flagged(store: CaseStore) -> None:
    file(store)
    file(store, uscc="91320594MA1XXXXXX2")
    review(store, "OBJ-000002")
    late = ops.objections(store, at=dt.date(2026, 12, 3))
    assert late["objection_id"].to_list() == ["OBJ-000001", "OBJ-000002"]
    assert late["acknowledgement_overdue"].to_list() == [True, False]
    assert late["decision_overdue"].to_list() == [True, True]


def test_a_decision_on_a_closed_case_is_refused_and_writes_nothing(store: CaseStore) -> None:
    file(store)
    review(store, "OBJ-000001")
    decide(store, "OBJ-000001", decision="rejected")
    batches = len(store.batches())
    with pytest.raises(ObjectionError, match="closed"):
        decide(store, "OBJ-000001", decision="upheld")
    with pytest.raises(ObjectionError, match="closed"):
        review(store, "OBJ-000001")
    assert len(store.batches()) == batches
    assert ops.objections(store)["status"].to_list() == ["rejected"]


def test_steps_on_an_unknown_case_or_out_of_order_write_nothing(store: CaseStore) -> None:
    with pytest.raises(ObjectionError, match="no objection OBJ-000009"):
        review(store, "OBJ-000009")
    file(store)
    with pytest.raises(ObjectionError, match="review before deciding"):
        decide(store, "OBJ-000001")
    with pytest.raises(ObjectionError, match="claim"):
        file(store, claim="  ")
    assert len(store.batches()) == 1


def test_overrides_are_set_revoked_and_lapse_and_a_second_one_is_refused(
    store: CaseStore,
) -> None:
    first = pin(store)
    assert (first["override_id"], first["status"], first["set_on"]) == (
        "OVR-000001",
        "active",
        dt.date(2026, 11, 17),
    )
    with pytest.raises(ObjectionError, match="already has override OVR-000001"):
        pin(store, action="list_on")
    pin(store, action="tier", industry=None, tier="B")  # a class is not a list
    revoked = ops.revoke_override(
        store, "OVR-000001", reason="企业新增欠税", operator="analyst-zhao", received_at=DECIDED
    )
    assert (revoked["status"], revoked["revoked_on"]) == ("revoked", dt.date(2026, 11, 22))
    with pytest.raises(ObjectionError, match="already revoked"):
        ops.revoke_override(
            store, "OVR-000001", reason="again", operator="analyst-zhao", received_at=DECIDED
        )
    assert pin(store, action="list_on", received_at=DECIDED)["override_id"] == "OVR-000003"
    frame = ops.overrides(store)
    assert frame["status"].to_list() == ["revoked", "active", "active"]
    # The first override as the store stood before it was revoked.
    then = ops.overrides(store, AsOf(before=DECIDED))
    assert then["status"].to_list() == ["active", "active"]


def test_an_override_without_reason_or_with_a_past_expiry_writes_nothing(store: CaseStore) -> None:
    with pytest.raises(ObjectionError, match="reason"):
        pin(store, reason=" ")
    with pytest.raises(ObjectionError, match="in the past"):
        pin(store, expires_on=dt.date(2026, 11, 16))
    with pytest.raises(ObjectionError, match="expiry date"):
        pin(store, expires_on=None)
    assert store.batches() == []
    assert ops.overrides(store).height == 0


def test_a_manifest_cites_each_record_by_id_and_the_hash_of_its_state(store: CaseStore) -> None:
    file(store)
    before = ops.cited(ops.objections(store), "objection_id")
    review(store, "OBJ-000001")
    after = ops.cited(ops.objections(store), "objection_id")
    assert [c["id"] for c in before] == [c["id"] for c in after] == ["OBJ-000001"]
    assert before[0]["sha256"] != after[0]["sha256"]
    again = ops.cited(ops.objections(store, at=dt.date(2030, 1, 1)), "objection_id")
    assert again == after  # the overdue flags depend on the day, not the record
