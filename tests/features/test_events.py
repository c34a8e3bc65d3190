"""Event families on tiny hand-built lakes: capital, complaints, registration changes, linked
firms, penalties, courts and adverse events."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from features.penalties import penalty_group
from tests.features.tiny_lake import build, master, rec, value

T = date(2024, 6, 30)


def reduction(day: date, before: float, after: float, **kw) -> object:
    return rec(
        "reg_capital_change", change_date=day, capital_before=before, capital_after=after, **kw
    )


def test_capital_reductions_counted_by_window_and_increases_ignored():
    records = [
        master(registered_capital=600.0),
        reduction(date(2024, 6, 1), 1000.0, 800.0),
        reduction(date(2024, 2, 1), 800.0, 600.0),
        reduction(date(2024, 3, 1), 600.0, 900.0),
    ]
    table = build(records, [T])
    assert value(table, "capital_reduction_count_90d", T) == 1
    assert value(table, "capital_reduction_count_180d", T) == 2
    assert value(table, "capital_reduction_amount_365d", T) == 400.0
    assert value(table, "capital_reduction_share_365d", T) == 400.0 / 1000.0
    assert value(table, "days_since_capital_reduction", T) == 29


def test_capital_reduction_share_null_with_zero_registered_capital_and_no_reduction():
    table = build([master(registered_capital=0.0)], [T])
    assert value(table, "capital_reduction_share_365d", T) is None
    assert value(table, "capital_reduction_count_365d", T) is None  # source absent: unknown


def test_capital_reduction_to_zero_capital_is_a_full_share():
    table = build([master(registered_capital=0.0), reduction(date(2024, 6, 1), 50.0, 0.0)], [T])
    assert value(table, "capital_reduction_share_365d", T) == 1.0


def test_capital_source_present_but_no_rows_for_the_firm_counts_zero():
    table = build([master(), master("F2"), reduction(date(2024, 6, 1), 50.0, 10.0)], [T])
    assert value(table, "capital_reduction_count_365d", T, uscc="F2") == 0
    assert value(table, "days_since_capital_reduction", T, uscc="F2") is None


def test_complaints_by_category_source_and_growth():
    records = [
        master(),
        rec("complaint_12345", received_date=date(2024, 6, 1), category="拖欠工资"),
        rec("complaint_12345", received_date=date(2024, 5, 1), category="预付费退费"),
        rec("complaint_12345", received_date=date(2023, 10, 1), category="其他"),
        rec("complaint_wage_arrears", received_date=date(2024, 6, 10), wages_owed=5000.0),
        rec(
            "complaint_prepaid_refund",
            received_date=date(2024, 6, 2),
            refund_amount=800.0,
            students_affected=3,
        ),
        rec(
            "complaint_financial_dispute",
            received_date=date(2024, 1, 5),
            category="非法集资",
            dispute_amount=1e6,
        ),
    ]
    table = build(records, [T])
    assert value(table, "complaint_count_90d", T) == 4
    assert value(table, "complaint_count_365d", T) == 6
    assert value(table, "complaint_wage_arrears_count_90d", T) == 2
    assert value(table, "complaint_prepaid_refund_count_90d", T) == 2
    assert value(table, "prepaid_refund_students_365d", T) == 3
    assert value(table, "financial_dispute_fundraising_count_365d", T) == 1
    assert value(table, "financial_dispute_amount_365d", T) == 1e6
    assert value(table, "complaint_growth_90d", T) == pytest.approx((4 + 1) / (2 * 90 / 275 + 1))


def test_complaints_against_the_sector_median():
    records = [master("F1"), master("F2"), master("F3"), master("F4", sector="金融")]
    records += [
        rec("complaint_12345", uscc="F1", received_date=date(2024, 6, 1), category="其他")
        for _ in range(3)
    ]
    records += [rec("complaint_12345", uscc="F2", received_date=date(2024, 6, 1), category="其他")]
    table = build(records, [T])
    assert value(table, "complaint_vs_sector_365d", T, uscc="F1") == 2  # median of 3, 1, 0 is 1
    assert value(table, "complaint_vs_sector_365d", T, uscc="F3") == -1
    assert value(table, "complaint_vs_sector_365d", T, uscc="F4") == 0


def test_complaint_delivered_after_t_is_not_counted_at_t():
    late = rec(
        "complaint_12345",
        received_date=date(2024, 6, 1),
        category="其他",
        arrived_at=datetime(2024, 7, 1, 0, 0),
    )
    table = build([master(), late], [T, date(2024, 7, 1)])
    assert value(table, "complaint_count_90d", T) == 0
    assert value(table, "complaint_count_90d", date(2024, 7, 1)) == 1


def test_registration_changes_by_kind():
    records = [
        master(),
        rec("reg_scope_change", change_date=date(2024, 6, 1), scope_direction="缩减"),
        rec("reg_scope_change", change_date=date(2023, 12, 1), scope_direction="扩大"),
        rec("reg_legal_rep_change", change_date=date(2024, 2, 1)),
        rec("reg_address_change", change_date=date(2024, 6, 20), new_district="湖东"),
        rec("reg_equity_change", change_date=date(2024, 5, 1), change_type="股权质押"),
        rec("reg_equity_change", change_date=date(2024, 4, 1), change_type="股权转让"),
    ]
    table = build(records, [T])
    assert value(table, "scope_change_count_365d", T) == 2
    assert value(table, "scope_reduction_count_365d", T) == 1
    assert value(table, "legal_rep_change_count_90d", T) == 0
    assert value(table, "legal_rep_change_count_180d", T) == 1
    assert value(table, "address_change_count_90d", T) == 1
    assert value(table, "equity_pledge_count_365d", T) == 1
    assert value(table, "equity_transfer_count_365d", T) == 1
    assert value(table, "equity_change_count_90d", T) == 1  # 1 April is 90 days back: out


def linked(linked_uscc: str, status: str, day: date) -> object:
    return rec(
        "reg_legal_rep_other_firms",
        linked_uscc=linked_uscc,
        linked_status=status,
        status_date=day,
        link_role="任股东",
    )


def test_linked_firm_status_at_t_is_its_latest_status_row():
    records = [
        master(),
        linked("L1", "存续", date(2020, 1, 1)),
        linked("L1", "注销", date(2024, 3, 1)),
        linked("L2", "存续", date(2019, 1, 1)),
        linked("L3", "吊销", date(2021, 1, 1)),
        linked("L2", "吊销", date(2024, 9, 1)),  # after T
    ]
    table = build(records, [T])
    assert value(table, "linked_firms_count", T) == 3
    assert value(table, "linked_firms_closed_count", T) == 2
    assert value(table, "linked_firms_closed_365d", T) == 1
    assert value(table, "linked_firms_closed_share", T) == pytest.approx(2 / 3)


def test_linked_firms_none_known_gives_zero_count_and_null_share():
    table = build([master(), master("F2"), linked("L1", "存续", date(2020, 1, 1))], [T])
    assert value(table, "linked_firms_count", T, uscc="F2") == 0
    assert value(table, "linked_firms_closed_share", T, uscc="F2") is None


def penalty(
    source_id: str, day: date, severity: str = "一般", kind: str = "罚款", fine: float = 1000.0
) -> object:
    return rec(source_id, decision_date=day, severity=severity, penalty_type=kind, fine_amount=fine)


def test_penalties_by_severity_kind_and_department_group():
    records = [
        master(),
        penalty("penalty_tax", date(2024, 6, 1), severity="严重"),
        penalty("penalty_market_supervision", date(2024, 1, 1), severity="较重"),
        penalty("penalty_ecology_environment", date(2023, 12, 1), kind="责令停产停业", fine=0.0),
        penalty("penalty_statistics", date(2022, 1, 1)),
    ]
    table = build(records, [T])
    assert value(table, "penalty_count_90d", T) == 1
    assert value(table, "penalty_count_365d", T) == 3
    assert value(table, "penalty_fine_amount_365d", T) == 2000.0
    assert value(table, "penalty_serious_count_365d", T) == 1
    assert value(table, "penalty_major_count_365d", T) == 1
    assert value(table, "penalty_suspension_count_365d", T) == 1
    assert value(table, "penalty_finance_tax_count_365d", T) == 1
    assert value(table, "penalty_environment_count_365d", T) == 1
    assert value(table, "penalty_other_count_365d", T) == 0


def test_penalty_department_outside_every_group_is_other():
    assert penalty_group("penalty_statistics") == "other"
    assert penalty_group("penalty_tax") == "finance_tax"


def test_courts_count_only_cases_as_defendant():
    records = [
        master(),
        rec(
            "court_civil_case",
            filing_date=date(2024, 6, 1),
            party_role="被告",
            claim_amount=5e5,
            case_no="c1",
        ),
        rec(
            "court_civil_case",
            filing_date=date(2024, 6, 2),
            party_role="原告",
            claim_amount=9e5,
            case_no="c2",
        ),
        rec("court_enforcement", filing_date=date(2024, 2, 1), enforced_amount=1e5),
        rec("court_dishonest_debtor", listed_date=date(2021, 2, 1)),
        rec("credit_abnormal_operation", listed_date=date(2024, 5, 1)),
    ]
    table = build(records, [T])
    assert value(table, "court_defendant_count_90d", T) == 1
    assert value(table, "court_defendant_claim_amount_365d", T) == 5e5
    assert value(table, "court_enforcement_count_180d", T) == 1
    assert value(table, "dishonest_debtor_count", T) == 1
    assert value(table, "dishonest_debtor_count_365d", T) == 0
    assert value(table, "abnormal_operation_count_365d", T) == 1
    assert value(table, "black_list_count", T) is None


def test_adverse_event_counted_in_its_own_column():
    records = [master(), rec("tax_arrears_notice", notice_date=date(2024, 3, 1))]
    table = build(records, [T])
    assert value(table, "tax_arrears_notice_count_365d", T) == 1
    assert value(table, "court_bankruptcy_count_365d", T) is None


def test_complaint_moved_to_another_firm_by_a_revision_leaves_the_first_firm():
    first = rec("complaint_12345", received_date=date(2024, 6, 1), category="其他", ticket_id="t-1")
    moved = rec(
        "complaint_12345",
        uscc="F9",
        received_date=date(2024, 6, 1),
        category="其他",
        ticket_id="t-1",
        arrived_at=datetime(2024, 6, 20),
    )
    records = [master(), master("F9", status="注销"), first, moved]
    table = build(records, [date(2024, 6, 10), T])
    assert value(table, "complaint_count_90d", date(2024, 6, 10)) == 1
    assert value(table, "complaint_count_90d", T) == 0


@pytest.mark.parametrize("f1_last", [True, False])
def test_versions_arriving_together_are_ordered_by_their_row_in_the_delivery(f1_last):
    # Same ticket, same arrival: the row further down the delivery is the later version, even
    # though the build narrows sources to the scored firms without keeping row order.
    rows = [
        rec(
            "complaint_12345",
            uscc=uscc,
            received_date=date(2024, 6, 1),
            category="其他",
            ticket_id="t-1",
            arrived_at=datetime(2024, 6, 2, 9),
        )
        for uscc in (("F9", "F1") if f1_last else ("F1", "F9"))
    ]
    table = build([master(), master("F9", status="注销"), *rows], [T])
    assert value(table, "complaint_count_90d", T) == (1 if f1_last else 0)
