"""models/objections.py: the workflow's rules and what decisions do to a list, on tiny frames."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from models.objections import (
    BY_MODEL,
    OBJECTION_UPHELD,
    PINNED_OFF,
    PINNED_ON,
    ObjectionError,
    ObjectionPolicy,
    apply_to_list,
    check_decision,
    check_filing,
    check_override,
    check_review,
    deadlines,
    flag_overdue,
    list_effects,
    load_objection_policy,
    oversight_counts,
    parse_objection_policy,
    tier_settings,
    withdrawn_facts,
)

POLICY = ObjectionPolicy(
    days_to_acknowledge=3, days_to_decide=15, max_override_days=180, listing_removal_days=91
)
MONDAY = dt.date(2026, 11, 23)


def objection(oid: str, uscc: str, **values) -> dict:
    row = {
        "objection_id": oid,
        "uscc": uscc,
        "industry": "finance",
        "subject": "listing",
        "status": "upheld",
        "remedy": "remove",
        "tier": None,
        "reason": "data error",
        "decided_on": dt.date(2026, 11, 18),
        "fact_text": None,
    }
    return {**row, **values}


def override(oid: str, uscc: str, action: str, **values) -> dict:
    row = {
        "override_id": oid,
        "uscc": uscc,
        "industry": "finance" if action != "tier" else None,
        "action": action,
        "tier": None,
        "reason": "site visit",
        "status": "active",
        "set_on": dt.date(2026, 11, 1),
        "expires_on": dt.date(2026, 12, 31),
    }
    return {**row, **values}


def ranked(n: int = 6, k: int = 3, unscored: tuple[str, ...] = ()) -> pl.DataFrame:
    rows = [
        {"uscc": f"F{i}", "probability": 1 - i / 10, "rank": i, "tier": "D", "listed": i <= k}
        for i in range(1, n + 1)
    ]
    rows += [
        {"uscc": u, "probability": None, "rank": None, "tier": None, "listed": False}
        for u in unscored
    ]
    return pl.DataFrame(
        rows,
        schema={
            "uscc": pl.String,
            "probability": pl.Float64,
            "rank": pl.UInt32,
            "tier": pl.String,
            "listed": pl.Boolean,
        },
    )


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows)


def empty_overrides() -> pl.DataFrame:
    return frame([override("OVR-0", "X", "list_on")]).clear()


def empty_objections() -> pl.DataFrame:
    return frame([objection("OBJ-0", "X")]).clear()


def test_the_shipped_policy_loads_and_a_bad_one_says_which_key() -> None:
    assert load_objection_policy().days_to_acknowledge <= load_objection_policy().days_to_decide
    with pytest.raises(ObjectionError, match="days_to_decide"):
        parse_objection_policy({"days_to_acknowledge": 3, "max_override_days": 1})
    with pytest.raises(ObjectionError, match="exceeds"):
        parse_objection_policy(
            {
                "days_to_acknowledge": 9,
                "days_to_decide": 5,
                "max_override_days": 30,
                "listing_removal_days": 30,
            }
        )


def test_deadlines_count_calendar_days_from_the_filing_day() -> None:
    assert deadlines(dt.date(2026, 11, 30), POLICY) == (dt.date(2026, 12, 3), dt.date(2026, 12, 15))


@pytest.mark.parametrize(
    ("subject", "filed_by", "claim", "fact", "message"),
    [
        ("price", "firm", "x", None, "subject"),
        ("listing", "neighbour", "x", None, "filed by"),
        ("listing", "firm", "  ", None, "claim"),
        ("fact", "firm", "wrong", None, "names the fact"),
        ("listing", "firm", "wrong", "2026-01 penalty", "only by an objection to a fact"),
    ],
)
def test_a_filing_without_what_it_needs_is_refused(subject, filed_by, claim, fact, message) -> None:
    with pytest.raises(ObjectionError, match=message):
        check_filing(subject, filed_by, claim, fact)


def test_review_takes_up_only_a_received_case_and_names_the_reviewer() -> None:
    check_review("OBJ-1", "received", "reviewer-li")
    with pytest.raises(ObjectionError, match="closed"):
        check_review("OBJ-1", "rejected", "reviewer-li")
    with pytest.raises(ObjectionError, match="already under_review"):
        check_review("OBJ-1", "under_review", "reviewer-li")
    with pytest.raises(ObjectionError, match="reviewer"):
        check_review("OBJ-1", "received", " ")


def test_a_decision_needs_a_case_under_review_and_a_reason_and_a_closed_case_stays_closed() -> None:
    with pytest.raises(ObjectionError, match="closed"):
        check_decision("OBJ-1", "listing", "upheld", "rejected", "second thoughts", None)
    with pytest.raises(ObjectionError, match="review before deciding"):
        check_decision("OBJ-1", "listing", "received", "upheld", "checked", None)
    with pytest.raises(ObjectionError, match="reason"):
        check_decision("OBJ-1", "listing", "under_review", "upheld", "", None)
    with pytest.raises(ObjectionError, match="decision 'maybe'"):
        check_decision("OBJ-1", "listing", "under_review", "maybe", "checked", None)


@pytest.mark.parametrize(
    ("subject", "decision", "tier", "remedy"),
    [
        ("listing", "upheld", None, "remove"),
        ("listing", "partly_upheld", "C", "retier"),
        ("tier", "upheld", "B", "retier"),
        ("fact", "upheld", None, "withdraw_fact"),
        ("fact", "rejected", None, None),
    ],
)
def test_what_a_decision_does(subject, decision, tier, remedy) -> None:
    assert check_decision("OBJ-1", subject, "under_review", decision, "checked", tier) == remedy


def test_a_class_objection_upheld_says_which_class() -> None:
    with pytest.raises(ObjectionError, match="which class"):
        check_decision("OBJ-1", "tier", "under_review", "upheld", "checked", None)
    with pytest.raises(ObjectionError, match="tier 'E'"):
        check_decision("OBJ-1", "tier", "under_review", "upheld", "checked", "E")


@pytest.mark.parametrize(
    ("action", "reason", "expires", "tier", "industry", "message"),
    [
        ("list_on", "", dt.date(2026, 12, 1), None, "finance", "reason"),
        ("list_on", "visit", None, None, "finance", "expiry date"),
        ("list_on", "visit", dt.date(2026, 11, 29), None, "finance", "in the past"),
        ("list_on", "visit", dt.date(2027, 12, 1), None, "finance", "never permanent"),
        ("tier", "visit", dt.date(2026, 12, 1), None, None, "tier None"),
        ("tier", "visit", dt.date(2026, 12, 1), "C", "finance", "no industry"),
        ("list_off", "visit", dt.date(2026, 12, 1), None, None, "industry"),
        ("pin", "visit", dt.date(2026, 12, 1), None, "finance", "override 'pin'"),
    ],
)
def test_an_override_without_reason_or_a_future_expiry_is_refused(
    action, reason, expires, tier, industry, message
) -> None:
    with pytest.raises(ObjectionError, match=message):
        check_override(
            action, reason, expires, dt.date(2026, 11, 30), POLICY, tier=tier, industry=industry
        )


def test_an_override_may_expire_today() -> None:
    check_override("list_off", "visit", MONDAY, MONDAY, POLICY, industry="finance")


def test_overdue_flags_follow_the_status_and_the_deadlines() -> None:
    cases = frame(
        [
            {
                "status": s,
                "acknowledge_by": dt.date(2026, 11, 3),
                "decide_by": dt.date(2026, 11, 15),
            }
            for s in ("received", "under_review", "upheld")
        ]
    )
    on_time = flag_overdue(cases, dt.date(2026, 11, 3))
    assert not on_time["acknowledgement_overdue"].any() and not on_time["decision_overdue"].any()
    late = flag_overdue(cases, dt.date(2026, 11, 16))
    assert late["acknowledgement_overdue"].to_list() == [True, False, False]
    assert late["decision_overdue"].to_list() == [True, True, False]


def test_a_firm_taken_off_gives_its_place_to_the_next_by_the_models_rank() -> None:
    effects = list_effects(
        frame([objection("OBJ-1", "F2")]), empty_overrides(), "finance", MONDAY, POLICY
    )
    out, report = apply_to_list(ranked(), effects, 3)
    assert out.filter("listed")["uscc"].to_list() == ["F1", "F3", "F4"]
    assert out.filter("model_listed")["uscc"].to_list() == ["F1", "F2", "F3"]
    f2 = out.filter(pl.col("uscc") == "F2").row(0, named=True)
    assert (f2["list_basis"], f2["decision_id"], f2["rank"]) == (OBJECTION_UPHELD, "OBJ-1", 2)
    assert report["applied"].to_list() == [True]


def test_a_firm_pinned_on_takes_a_place_and_the_list_keeps_its_length() -> None:
    pins = frame([override("OVR-1", "F5", "list_on"), override("OVR-2", "F1", "list_off")])
    effects = list_effects(empty_objections(), pins, "finance", MONDAY, POLICY)
    out, _ = apply_to_list(ranked(), effects, 3)
    listed = out.filter("listed")
    assert listed["uscc"].to_list() == ["F2", "F3", "F5"]
    assert dict(zip(out["uscc"], out["list_basis"], strict=True))["F5"] == PINNED_ON
    assert dict(zip(out["uscc"], out["list_basis"], strict=True))["F1"] == PINNED_OFF
    assert out.filter(pl.col("list_basis") == BY_MODEL)["decision_id"].null_count() == 4


def test_a_firm_without_a_score_cannot_be_pinned_on_and_the_report_says_so() -> None:
    pins = frame([override("OVR-1", "U1", "list_on")])
    effects = list_effects(empty_objections(), pins, "finance", MONDAY, POLICY)
    out, report = apply_to_list(ranked(unscored=("U1",)), effects, 3)
    assert out.filter("listed")["uscc"].to_list() == ["F1", "F2", "F3"]
    assert report.row(0, named=True)["applied"] is False


def test_expired_revoked_and_other_lists_overrides_do_nothing() -> None:
    pins = frame(
        [
            override("OVR-1", "F1", "list_off", expires_on=MONDAY - dt.timedelta(days=1)),
            override("OVR-2", "F2", "list_off", status="revoked"),
            override("OVR-3", "F3", "list_off", industry="education"),
            override("OVR-4", "F3", "list_off", set_on=MONDAY + dt.timedelta(days=1)),
        ]
    )
    assert list_effects(empty_objections(), pins, "finance", MONDAY, POLICY).height == 0


def test_an_upheld_listing_objection_removes_for_its_window_only_and_an_override_wins() -> None:
    upheld = frame(
        [
            objection("OBJ-1", "F1"),
            objection("OBJ-2", "F2", decided_on=MONDAY - dt.timedelta(days=91)),
            objection("OBJ-3", "F3", status="rejected", remedy=None),
            objection("OBJ-4", "F4", decided_on=MONDAY + dt.timedelta(days=1)),
            objection("OBJ-5", "F5"),
        ]
    )
    pins = frame([override("OVR-1", "F5", "list_on")])
    effects = list_effects(upheld, pins, "finance", MONDAY, POLICY)
    assert dict(zip(effects["uscc"], effects["decision_id"], strict=True)) == {
        "F1": "OBJ-1",
        "F5": "OVR-1",
    }


def test_classes_set_by_an_override_win_over_an_upheld_objection() -> None:
    upheld = frame(
        [
            objection("OBJ-1", "F1", subject="tier", remedy="retier", tier="B"),
            objection("OBJ-2", "F2", remedy="retier", tier="C"),
            objection("OBJ-3", "F3", subject="tier", remedy="retier", tier="A"),
        ]
    )
    pins = frame([override("OVR-1", "F3", "tier", tier="D")])
    settings = tier_settings(upheld, pins, MONDAY)
    assert settings.select("uscc", "tier").rows() == [("F1", "B"), ("F2", "C"), ("F3", "D")]
    assert settings["reason"][2].startswith("OVR-1: ")


def test_a_fact_is_withdrawn_from_its_decision_day() -> None:
    upheld = frame(
        [
            objection("OBJ-1", "F1", subject="fact", remedy="withdraw_fact", fact_text="罚款"),
            objection(
                "OBJ-2",
                "F2",
                subject="fact",
                remedy="withdraw_fact",
                fact_text="x",
                decided_on=MONDAY + dt.timedelta(days=2),
            ),
        ]
    )
    assert withdrawn_facts(upheld, MONDAY)["objection_id"].to_list() == ["OBJ-1"]


def test_the_model_card_counts_listings_overridden_objected_and_objections_upheld() -> None:
    cases = frame(
        [
            objection("OBJ-1", "F1", week="2026-W46"),
            objection("OBJ-2", "F1", week="2026-W46", status="rejected", remedy=None),
            objection("OBJ-3", "F2", week="2026-W47", subject="fact", status="partly_upheld"),
            objection("OBJ-4", "F3", week="2026-W47", status="received", remedy=None),
        ]
    )
    bases = frame(
        [
            {"week": "2026-W47", "uscc": "F1", "list_basis": "objection_upheld"},
            {"week": "2026-W47", "uscc": "F5", "list_basis": "override_on"},
            {"week": "2026-W48", "uscc": "F5", "list_basis": "override_on"},
            {"week": "2026-W47", "uscc": "F6", "list_basis": "model"},
        ]
    )
    assert oversight_counts(cases, bases) == {
        "listings_overridden": 2,
        "listings_removed_by_objection": 1,
        "listings_objected_to": 2,
        "objections": 4,
        "upheld": 1,
        "partly_upheld": 1,
        "rejected": 1,
        "open": 1,
    }
