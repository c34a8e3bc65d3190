"""Lapse and scope rules on tiny hand-built rows: a lapsed licence or a cancelled registration
with activity after it (past and within the grace), a renewal, a cancellation, a status row that
arrives late; a licence held outside its sector, cancelled, or run out."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from data_contracts.catalog import get
from data_contracts.rules import LapseRule, LicenceState, ScopeRule, load_rules
from features.rules.examined import PERIOD_KEY, PERIOD_START, RULE_ID, VIOLATED
from tests.features.rule_cases import examine_records
from tests.features.tiny_lake import FIRM, master, months, rec

RULES = load_rules()
LICENCE_LAPSES = sorted(
    r
    for r, rule in RULES.items()
    if isinstance(rule, LapseRule) and isinstance(rule.state, LicenceState)
)
STATUS_LAPSES = sorted(
    r
    for r, rule in RULES.items()
    if isinstance(rule, LapseRule) and not isinstance(rule.state, LicenceState)
)
SCOPES = sorted(r for r, rule in RULES.items() if isinstance(rule, ScopeRule))
AS_OF = date(2025, 12, 20)


def licence(source: str, number: str, valid_to: date, status: str = "有效", arrived=None, **kw):
    issued = date(2022, 1, 10)
    return rec(
        source,
        licence_no=number,
        issue_date=issued,
        valid_to=valid_to,
        status=status,
        arrived_at=arrived or datetime(2022, 1, 12, 9),
        **kw,
    )


def activity(rule: LapseRule, first: date, count: int, value: float = 5000.0):
    """``count`` consecutive months of activity from ``first``, each arriving the next month."""
    a = rule.activity
    contract = get(a.source)
    raw = value if contract.column(a.column).type.value == "float" else round(value)
    return [
        rec(
            a.source,
            **{
                contract.event_time: m,
                a.column: raw,
                contract.arrival_time: datetime(m.year + (m.month == 12), m.month % 12 + 1, 15, 9),
            },
        )
        for m in months(first, count)
    ]


def lapse_case(rule_id: str, first_active: date, count: int, *extra):
    rule = RULES[rule_id]
    source = rule.state.licences[0]
    lapsed = licence(source, "L-1", valid_to=date(2025, 3, 31))  # lapsed on 1 April
    return rule, [lapsed, *activity(rule, first_active, count), *extra]


@pytest.mark.parametrize("rule_id", LICENCE_LAPSES)
def test_activity_months_after_a_lapse_and_its_grace_make_an_anomaly(rule_id):
    rule, rows = lapse_case(rule_id, date(2025, 6, 1), 4)
    [row] = examine_records(rule, rows, AS_OF).iter_rows(named=True)
    assert row[VIOLATED] is True
    assert row["measure"] == 4.0
    assert (row["left_text"], row["left_date"]) == ("L-1", date(2025, 4, 1))
    assert row[PERIOD_KEY] == f"{rule.state.licences[0]}/L-1"
    assert row["right_date"] == date(2025, 9, 1)


@pytest.mark.parametrize("rule_id", LICENCE_LAPSES)
def test_activity_only_within_the_grace_month_is_not_an_anomaly(rule_id):
    rule = RULES[rule_id]
    _, rows = lapse_case(rule_id, date(2025, 3, 1), 2)  # March (before), April (the grace)
    [row] = examine_records(rule, rows, AS_OF).iter_rows(named=True)
    assert (row[VIOLATED], row["measure"]) == (False, 0.0)


@pytest.mark.parametrize("rule_id", LICENCE_LAPSES)
def test_a_renewed_licence_cures_the_lapse(rule_id):
    rule = RULES[rule_id]
    source = rule.state.licences[0]
    _, rows = lapse_case(rule_id, date(2025, 6, 1), 4, licence(source, "L-2", date(2028, 3, 31)))
    assert examine_records(rule, rows, AS_OF).is_empty()


@pytest.mark.parametrize("rule_id", LICENCE_LAPSES)
def test_a_licence_cancelled_by_the_authority_has_not_lapsed(rule_id):
    rule = RULES[rule_id]
    source = rule.state.licences[0]
    cancelled = licence(
        source, "L-1", date(2025, 3, 31), status="注销", arrived=datetime(2025, 2, 1, 9)
    )
    _, rows = lapse_case(rule_id, date(2025, 6, 1), 4, cancelled)
    assert examine_records(rule, rows, AS_OF).is_empty()


def test_an_expired_status_counts_from_the_day_its_row_arrived():
    rule = RULES["lic_lapsed_paying_si"]
    source = rule.state.licences[0]
    valid = licence(source, "L-9", date(2027, 1, 1))
    marked = licence(
        source, "L-9", date(2027, 1, 1), status="过期", arrived=datetime(2025, 5, 3, 9)
    )
    rows = [valid, marked, *activity(rule, date(2025, 1, 1), 10)]
    assert examine_records(rule, rows, date(2025, 5, 1)).is_empty(), "not yet arrived"
    [row] = examine_records(rule, rows, AS_OF).iter_rows(named=True)
    assert (row[VIOLATED], row["left_date"], row["measure"]) == (True, date(2025, 5, 3), 4.0)


def test_a_revisited_lapse_that_was_cured_is_examined_as_not_violated():
    rule = RULES["lic_lapsed_paying_si"]
    source = rule.state.licences[0]
    _, rows = lapse_case(rule.id, date(2025, 6, 1), 4, licence(source, "L-2", date(2028, 1, 1)))
    revisit = pl.DataFrame(
        {
            RULE_ID: [rule.id],
            "uscc": [FIRM],
            PERIOD_KEY: [f"{source}/L-1"],
            PERIOD_START: [date(2025, 4, 1)],
        }
    )
    [row] = examine_records(rule, rows, AS_OF, revisit=revisit).iter_rows(named=True)
    assert (row[PERIOD_KEY], row[VIOLATED], row["left_text"]) == (f"{source}/L-1", False, None)


def closed(status: str = "注销"):
    return master(snapshot=date(2025, 3, 31), status=status)


@pytest.mark.parametrize("rule_id", STATUS_LAPSES)
def test_activity_after_a_cancellation_and_its_grace_is_an_anomaly(rule_id):
    rule = RULES[rule_id]
    rows = [closed(), *activity(rule, date(2025, 1, 1), 7)]  # January to July
    [row] = examine_records(rule, rows, AS_OF).iter_rows(named=True)
    assert row[VIOLATED] is True
    assert (row[PERIOD_KEY], row["left_text"], row["left_date"]) == (
        "status/注销",
        "注销",
        date(2025, 3, 31),
    )
    assert row["measure"] == 3.0  # May, June, July: April is the grace


@pytest.mark.parametrize("rule_id", STATUS_LAPSES)
def test_activity_up_to_the_month_after_a_revocation_is_not_an_anomaly(rule_id):
    rule = RULES[rule_id]
    rows = [closed("吊销"), *activity(rule, date(2025, 1, 1), 4)]  # up to April
    [row] = examine_records(rule, rows, AS_OF).iter_rows(named=True)
    assert (row[VIOLATED], row["measure"]) == (False, 0.0)


@pytest.mark.parametrize("rule_id", STATUS_LAPSES)
def test_an_active_firm_is_not_examined_unless_revisited(rule_id):
    rule = RULES[rule_id]
    rows = activity(rule, date(2025, 1, 1), 7)
    assert examine_records(rule, rows, AS_OF).is_empty()
    revisit = pl.DataFrame(
        {
            RULE_ID: [rule.id],
            "uscc": [FIRM],
            PERIOD_KEY: ["status/注销"],
            PERIOD_START: [date(2025, 3, 31)],
        }
    )
    [row] = examine_records(rule, rows, AS_OF, revisit=revisit).iter_rows(named=True)
    assert row[VIOLATED] is False


@pytest.mark.parametrize("rule_id", SCOPES)
def test_a_licence_held_outside_its_sectors_is_an_anomaly(rule_id):
    rule = RULES[rule_id]
    outside = next(s for s in ("金融", "教育培训", "制造业", "其他") if s not in rule.allowed)
    source = rule.state.licences[0]
    rows = [licence(source, "S-1", date(2027, 1, 1))]
    [row] = examine_records(rule, rows, AS_OF, firms=[(FIRM, outside)]).iter_rows(named=True)
    assert row[VIOLATED] is True
    assert (row["left_text"], row["right_text"], row[PERIOD_KEY]) == (
        "S-1",
        outside,
        f"{source}/S-1",
    )


@pytest.mark.parametrize("rule_id", SCOPES)
def test_a_licence_in_an_allowed_sector_is_examined_and_fine(rule_id):
    rule = RULES[rule_id]
    source = rule.state.licences[0]
    rows = [licence(source, "S-1", date(2027, 1, 1))]
    [row] = examine_records(rule, rows, AS_OF, firms=[(FIRM, rule.allowed[0])]).iter_rows(
        named=True
    )
    assert row[VIOLATED] is False


@pytest.mark.parametrize("rule_id", SCOPES)
@pytest.mark.parametrize("ended", ["cancelled", "run out"])
def test_a_licence_no_longer_held_is_not_examined(rule_id, ended):
    rule = RULES[rule_id]
    outside = next(s for s in ("金融", "教育培训", "制造业", "其他") if s not in rule.allowed)
    source = rule.state.licences[0]
    if ended == "cancelled":
        rows = [
            licence(source, "S-1", date(2027, 1, 1)),
            licence(
                source, "S-1", date(2027, 1, 1), status="注销", arrived=datetime(2025, 6, 1, 9)
            ),
        ]
    else:
        rows = [licence(source, "S-1", date(2025, 6, 30))]
    assert examine_records(rule, rows, AS_OF, firms=[(FIRM, outside)]).is_empty()


def test_the_evidence_of_a_lapse_is_its_licence_and_the_latest_activity():
    from data_contracts.catalog import load_all
    from data_contracts.rules import load_topics
    from features.rules.evidence import evidence
    from features.rules.render import anomaly_list
    from tests.features.rule_cases import lake_of

    rule = RULES["lic_safety_lapsed_operating"]
    source = rule.state.licences[0]
    other = licence(
        source, "L-0", date(2024, 1, 31), status="注销", arrived=datetime(2023, 6, 1, 9)
    )
    _, rows = lapse_case(rule.id, date(2025, 6, 1), 4, other)
    lake = lake_of(rule, rows)
    examined = examine_records(rule, rows, AS_OF)
    anomalies = anomaly_list(examined, RULES, load_topics(), load_all())
    facts = evidence(anomalies, RULES, lake, AS_OF, contracts=load_all())
    licence_rows = facts.filter(pl.col("source") == source)
    assert set(licence_rows["value"]) >= {"L-1", "2025-03-31", "有效"}
    assert "L-0" not in licence_rows["value"].to_list(), "only the licence in question"
    paid = facts.filter((pl.col("source") == "si_pension") & (pl.col("column") == "amount_paid"))
    assert paid["date"].to_list() == [date(2025, m, 1) for m in (9, 8, 7, 6)], "newest first"
    assert paid["value"].to_list() == ["5,000"] * 4
    assert facts["column_zh"].null_count() == 0
