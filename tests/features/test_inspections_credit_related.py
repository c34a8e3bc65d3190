"""Inspections, credit records and related firms on tiny hand-built lakes: the edge cases of each
count (window edges, late arrival, a source absent, a value outside the findings, a firm linked
twice)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from data_contracts import catalog
from features.inspections import (
    INSPECTIONS,
    NOT_ABOUT_FIRMS,
    SOURCE_FINDINGS,
    result_outcomes,
)
from tests.features.tiny_lake import arrival_after, build, master, rec, value

T = date(2024, 6, 30)
ORDERED, REFERRED, MISSING, CLEAN = (
    "发现问题已责令整改",
    "发现问题移送立案",
    "未发现经营场所",
    "未发现问题",
)


def inspection(source_id: str, day: date, result: str = CLEAN, **values) -> object:
    return rec(source_id, inspection_date=day, result=result, issues_found=0, **values)


def test_every_inspection_source_about_firms_has_a_result_the_feedback_mapping_reads():
    contracts = catalog.load_all()
    members = INSPECTIONS.members(contracts)
    assert members and not set(NOT_ABOUT_FIRMS) & set(members)
    mapped = set(result_outcomes())
    for source_id in members:
        assert set(contracts[source_id].column("result").allowed or []) <= mapped, source_id


def test_every_source_finding_names_a_value_its_sources_allow():
    contracts = catalog.load_all()
    for finding in SOURCE_FINDINGS:
        for source_id in finding.sources:
            allowed = contracts[source_id].column(finding.column).allowed or []
            assert set(finding.values) <= set(allowed), (finding.name, source_id)


def test_inspection_results_counted_by_outcome_and_window_across_sources():
    records = [
        master(),
        inspection("inspection_work_safety", date(2024, 6, 1), ORDERED, hazard_level="重大隐患"),
        inspection("inspection_environment", date(2023, 11, 1), REFERRED, monitoring="异常"),
        inspection("inspection_fire_safety", date(2023, 9, 1), MISSING),
        inspection("inspection_fire_safety", date(2023, 8, 1), CLEAN),
        # 366 days before T: outside every window
        inspection("inspection_fire_safety", date(2023, 6, 29), ORDERED),
    ]
    table = build(records, [T])
    assert value(table, "inspection_count_365d", T) == 4
    assert value(table, "inspection_finding_count_180d", T) == 1  # 2023-11-01: 242 days back
    assert value(table, "inspection_finding_count_365d", T) == 2
    assert value(table, "inspection_referral_count_365d", T) == 1
    assert value(table, "inspection_premises_missing_count_365d", T) == 1
    assert value(table, "inspection_major_hazard_count_365d", T) == 1
    assert value(table, "inspection_monitoring_abnormal_count_365d", T) == 1


def test_finding_180d_window_edge():
    records = [
        master(),
        # a window of 180 days holds events less than 180 days before T
        inspection("inspection_fire_safety", date(2024, 1, 3), ORDERED),  # 179 days before T
        inspection("inspection_fire_safety", date(2024, 1, 2), ORDERED),  # 180 days before T
    ]
    table = build(records, [T])
    assert value(table, "inspection_finding_count_180d", T) == 1
    assert value(table, "inspection_finding_count_365d", T) == 2


def test_inspection_reported_after_t_is_not_counted_at_t():
    records = [
        master(),
        rec(
            "inspection_training_school",
            inspection_date=date(2024, 6, 20),
            result=REFERRED,
            issues_found=1,
            operating_found="人去楼空",
            arrived_at=datetime(2024, 7, 2, 9, 0),
        ),
    ]
    later = date(2024, 7, 5)
    table = build(records, [T, later])
    assert value(table, "inspection_referral_count_365d", T) == 0
    assert value(table, "inspection_classes_suspended_count_365d", T) == 0
    assert value(table, "inspection_referral_count_365d", later) == 1
    assert value(table, "inspection_classes_suspended_count_365d", later) == 1


def test_source_finding_unknown_when_its_source_is_absent_and_zero_when_present():
    records = [
        master(),
        master("F2"),
        inspection(
            "inspection_financial_onsite", date(2024, 5, 1), rating="C", check_type="风险排查"
        ),
        inspection(
            "inspection_financial_onsite", date(2024, 4, 1), rating="B", check_type="年度检查"
        ),
    ]
    table = build(records, [T])
    assert value(table, "inspection_low_supervisory_rating_count_365d", T) == 1
    assert value(table, "inspection_risk_screening_count_365d", T) == 1
    assert value(table, "inspection_low_supervisory_rating_count_365d", T, uscc="F2") == 0
    # no training-school inspection source in this lake: unknown, not zero
    assert value(table, "inspection_classes_suspended_count_365d", T) is None
    assert value(table, "inspection_count_365d", T, uscc="F2") == 0


def test_failed_samples_counted_from_both_sampling_sources_and_passes_ignored():
    records = [
        master(),
        inspection("inspection_food_sampling", date(2024, 3, 1), sample_verdict="不合格"),
        inspection(
            "inspection_product_quality_sampling", date(2024, 4, 1), sample_verdict="不合格"
        ),
        inspection("inspection_product_quality_sampling", date(2024, 5, 1), sample_verdict="合格"),
    ]
    table = build(records, [T])
    assert value(table, "inspection_failed_sample_count_365d", T) == 2
    assert value(table, "inspection_finding_count_365d", T) == 0  # results were clean


def test_credit_good_standing_counted_over_two_years():
    records = [
        master(),
        rec("credit_red_list", listed_date=date(2022, 8, 1), list_type="诚信示范企业"),
        rec("credit_red_list", listed_date=date(2022, 6, 29), list_type="其他"),  # 732 days
        rec("credit_honours", award_date=date(2024, 1, 15), award_type="其他"),
        rec("credit_contract_honouring", award_year=date(2023, 1, 1), award_level="市级"),
    ]
    table = build(records, [T])
    assert value(table, "credit_red_list_count_730d", T) == 1
    assert value(table, "credit_honours_count_730d", T) == 1
    assert value(table, "credit_contract_honouring_count_730d", T) == 1


def test_credit_commitments_removals_and_repairs():
    records = [
        master(),
        rec(
            "credit_commitment",
            signed_date=date(2024, 3, 1),
            commitment_type="信用修复型",
            fulfilment="未履约",
        ),
        rec(
            "credit_commitment",
            signed_date=date(2024, 4, 1),
            commitment_type="主动型",
            fulfilment="履约",
        ),
        rec(
            "credit_abnormal_operation_removal",
            removed_date=date(2024, 2, 1),
            reason="补报年度报告",
        ),
        rec(
            "credit_abnormal_operation_removal",
            removed_date=date(2024, 5, 1),
            reason="期满未移出转严重失信",
        ),
        rec("credit_repair", repaired_date=date(2024, 6, 1), repaired_record="其他"),
    ]
    table = build(records, [T])
    assert value(table, "credit_commitment_unfulfilled_count_365d", T) == 1
    assert value(table, "credit_repair_commitment_count_365d", T) == 1
    assert value(table, "credit_abnormal_removal_count_365d", T) == 2
    assert value(table, "credit_abnormal_escalated_count_365d", T) == 1
    assert value(table, "credit_repair_count_365d", T) == 1


def test_public_evaluation_grade_is_the_latest_usable_on_the_tax_scale():
    records = [
        master(),
        master("F2"),
        rec("credit_public_evaluation", evaluation_year=date(2022, 1, 1), grade="A"),
        rec("credit_public_evaluation", evaluation_year=date(2023, 1, 1), grade="D"),
        # the 2024 evaluation arrives after T
        rec(
            "credit_public_evaluation",
            evaluation_year=date(2024, 1, 1),
            grade="B",
            arrived_at=arrival_after(date(2024, 7, 1)),
        ),
        rec("credit_public_evaluation", uscc="F2", evaluation_year=date(2023, 1, 1), grade="C"),
    ]
    table = build(records, [T, date(2024, 7, 10)])
    assert value(table, "credit_public_evaluation_grade", T) == 4.0  # D
    assert value(table, "credit_public_evaluation_grade", date(2024, 7, 10)) == 1.0  # B
    assert value(table, "credit_public_evaluation_grade", T, uscc="F2") == 3.0  # C


def related(source_id: str, linked_uscc: str, status: str, day: date, role: str) -> object:
    return rec(
        source_id,
        linked_uscc=linked_uscc,
        linked_status=status,
        status_date=day,
        link_role=role,
    )


def test_related_firm_linked_through_two_sources_counts_once_with_its_latest_status():
    records = [
        master(),
        related("related_shareholder_firms", "R1", "存续", date(2020, 1, 1), "共同自然人股东"),
        related("related_guarantee_links", "R1", "存续", date(2021, 1, 1), "互相担保"),
        related("related_guarantee_links", "R1", "吊销", date(2024, 4, 1), "互相担保"),
        related("related_controller_firms", "R2", "存续", date(2019, 1, 1), "实际控制人控制"),
        related("related_controller_firms", "R3", "注销", date(2022, 1, 1), "实际控制人控制"),
        related("related_controller_firms", "R2", "注销", date(2024, 8, 1), "实际控制人控制"),
    ]
    table = build(records, [T])
    assert value(table, "related_firms_count", T) == 3
    assert value(table, "related_firms_closed_365d", T) == 1  # R1; R3 closed 2022, R2 after T
    assert value(table, "related_firms_closed_share", T) == pytest.approx(2 / 3)
    # the legal representative's links are a separate source: unknown here
    assert value(table, "linked_firms_count", T) is None


def test_related_firms_none_known_gives_zero_count_and_null_share():
    records = [
        master(),
        master("F2"),
        related("related_shareholder_firms", "R1", "存续", date(2020, 1, 1), "共同法人股东"),
    ]
    table = build(records, [T])
    assert value(table, "related_firms_count", T, uscc="F2") == 0
    assert value(table, "related_firms_closed_share", T, uscc="F2") is None


def judgment(day: date, role: str, result: str, amount: float) -> object:
    return rec(
        "court_judgment_document",
        judgment_date=day,
        party_role=role,
        result=result,
        judgment_amount=amount,
        document_type="判决书",
    )


def test_judgments_count_only_those_lost_as_defendant():
    records = [
        master(),
        judgment(date(2024, 5, 1), "被告", "败诉", 30_000.0),
        judgment(date(2024, 4, 1), "原告", "败诉", 50_000.0),  # lost as plaintiff
        judgment(date(2024, 3, 1), "被告", "胜诉", 70_000.0),  # won as defendant
        rec(
            "court_commercial_arbitration",
            filing_date=date(2024, 2, 1),
            party_role="被申请人",
            claim_amount=1.0,
        ),
        rec(
            "court_commercial_arbitration",
            filing_date=date(2024, 2, 2),
            party_role="申请人",
            claim_amount=1.0,
        ),
    ]
    table = build(records, [T])
    assert value(table, "court_judgment_lost_count_365d", T) == 1
    assert value(table, "court_judgment_lost_amount_365d", T) == 30_000.0
    assert value(table, "arbitration_respondent_count_365d", T) == 1


def refund(day: date, amount: float, reason: str, source: str = "机构自有资金") -> object:
    return rec(
        "prepaid_fee_refunds",
        refund_date=day,
        refund_amount=amount,
        students_refunded=1,
        refund_reason=reason,
        refund_source=source,
    )


def test_prepaid_refunds_by_window_reason_and_source():
    records = [
        master(sector="教育培训"),
        refund(date(2024, 6, 10), 2_000.0, "机构停课", "监管账户"),
        refund(date(2024, 5, 1), 1_000.0, "学员个人原因"),
        refund(date(2024, 1, 10), 3_000.0, "投诉后退费"),
        rec("prepaid_fee_escrow_account", event_date=date(2024, 3, 1), account_event="销户"),
        rec("prepaid_fee_escrow_account", event_date=date(2023, 3, 1), account_event="开户"),
    ]
    table = build(records, [T])
    assert value(table, "prepaid_refunds_paid_count_90d", T) == 2
    assert value(table, "prepaid_refunds_paid_count_365d", T) == 3
    assert value(table, "prepaid_refunds_paid_amount_365d", T) == 6_000.0
    assert value(table, "prepaid_refunds_forced_count_365d", T) == 2
    assert value(table, "prepaid_refunds_from_escrow_count_365d", T) == 1
    assert value(table, "prepaid_escrow_account_moved_count_365d", T) == 1
    # no supervision panel in this lake: its features stay unknown
    assert value(table, "prepaid_escrow_shortfall", T) is None
