"""The second set of stress-carrying sources that fed nothing (issue 22), on tiny hand-built lakes:
registration changes (branches, enterprise type, name, relocation out, subscribed contributions),
economic-crime cases, lessons delivered, annual-report corrections, guarantees and equity
transfers, and the tax department's settlement, R&D, customs, invoice and support sources. Each
test names its edge case (window edge, late arrival, the latest report only, a source absent)."""

from __future__ import annotations

from datetime import date

from features import activity, annual_report, registration
from features.registry import feature_names
from tests.features.tiny_lake import arrival_after, build, master, months, rec, value

T = date(2024, 6, 30)


def test_no_new_feature_reads_the_deregistration_the_general_model_is_labelled_with():
    reading = {
        name
        for family in (registration.MORE_SPECS, annual_report.MORE_SPECS, activity.SPECS)
        for spec in family
        for name in spec.sources
    }
    assert "reg_deregistration" not in reading
    assert "outcome_distress_event" not in reading
    assert len(feature_names()) == 227


def test_branch_closures_and_contribution_reductions_counted_apart_from_the_rest():
    records = [
        master(),
        rec("reg_branch_registration", branch_date=date(2024, 5, 1), branch_action="注销"),
        rec("reg_branch_registration", branch_date=date(2024, 2, 1), branch_action="设立"),
        rec(
            "reg_shareholder_contribution_change",
            change_date=date(2024, 4, 1),
            subscribed_before=500.0,
            subscribed_after=100.0,
        ),
        rec(
            "reg_shareholder_contribution_change",
            change_date=date(2024, 3, 1),
            subscribed_before=100.0,
            subscribed_after=300.0,
        ),
        rec("reg_enterprise_type_change", change_date=date(2024, 1, 5)),
        rec("reg_name_change", change_date=date(2023, 12, 1)),
        rec("reg_relocation_out", relocated_date=date(2024, 6, 1), destination_scope="省外"),
    ]
    table = build(records, [T])
    assert value(table, "branch_registration_count_365d", T) == 2
    assert value(table, "branch_closed_count_365d", T) == 1
    assert value(table, "contribution_change_count_365d", T) == 2
    assert value(table, "contribution_reduction_count_365d", T) == 1
    assert value(table, "enterprise_type_change_count_365d", T) == 1
    assert value(table, "name_change_count_365d", T) == 1
    assert value(table, "relocation_out_count_365d", T) == 1


def test_registration_change_arriving_after_t_counts_only_from_its_arrival():
    records = [
        master(),
        rec(
            "reg_name_change",
            change_date=date(2024, 6, 20),
            arrived_at=arrival_after(date(2024, 7, 1)),
        ),
        # 365 days before T: outside the window
        rec("reg_relocation_out", relocated_date=date(2023, 7, 1)),
    ]
    later = date(2024, 7, 5)
    table = build(records, [T, later])
    assert value(table, "name_change_count_365d", T) == 0
    assert value(table, "name_change_count_365d", later) == 1
    assert value(table, "relocation_out_count_365d", T) == 0
    # no branch source in this lake: unknown, not zero
    assert value(table, "branch_closed_count_365d", T) is None


def test_criminal_cases_count_and_amount_over_the_year():
    records = [
        master(),
        rec(
            "court_criminal_case",
            filing_date=date(2024, 3, 1),
            offence="拒不支付劳动报酬",
            amount_involved=80_000.0,
        ),
        rec("court_criminal_case", filing_date=date(2023, 7, 2), offence="合同诈骗"),
        rec(
            "court_criminal_case",
            filing_date=date(2023, 6, 30),  # 366 days before T
            offence="集资诈骗",
            amount_involved=1.0,
        ),
    ]
    table = build(records, [T])
    assert value(table, "criminal_case_count_365d", T) == 2
    assert value(table, "criminal_case_amount_365d", T) == 80_000.0  # a null amount adds nothing


def lessons(period: date, amount: float, students: int) -> object:
    return rec(
        "prepaid_fee_consumption",
        period=period,
        lessons_delivered=10,
        consumed_amount=amount,
        active_students=students,
        arrived_at=arrival_after(period, 40),
    )


def test_lessons_delivered_compared_by_monthly_means_when_a_month_is_missing():
    # Reported months Dec..May (usable at T: May's row arrives 10 June); February never arrived.
    amounts = {1: 100.0, 3: 100.0, 4: 60.0, 5: 60.0, 12: 100.0}
    records = [master(sector="教育培训")]
    for month in months(date(2023, 12, 1), 6):
        if month.month in amounts:
            records.append(lessons(month, amounts[month.month], int(amounts[month.month] // 10)))
    table = build(records, [T])
    # last 3 reported months Mar-May: mean (100 + 60 + 60) / 3; before: Dec, Jan (Feb missing)
    assert abs(value(table, "prepaid_consumed_trend_3m", T) - (220 / 3 / 100 - 1)) < 1e-9
    assert abs(value(table, "prepaid_students_trend_3m", T) - (22 / 3 / 10 - 1)) < 1e-9


def guarantee(year: int, seq: int, principal: float, arrived: date) -> object:
    return rec(
        "annual_report_guarantees",
        report_year=date(year, 1, 1),
        guarantee_seq=seq,
        principal_amount=principal,
        guarantee_type="连带保证",
        arrived_at=arrival_after(arrived),
    )


def test_guarantees_from_the_latest_report_usable_at_t_only():
    records = [
        master(),
        master("F2"),
        guarantee(2022, 1, 900.0, date(2023, 6, 1)),
        guarantee(2023, 1, 100.0, date(2024, 6, 1)),
        guarantee(2023, 2, 50.0, date(2024, 6, 1)),
        # the 2024 report arrives after T
        guarantee(2024, 1, 7.0, date(2025, 6, 1)),
        rec(
            "annual_report_equity_transfer",
            report_year=date(2023, 1, 1),
            pct_before=60.0,
            pct_after=20.0,
        ),
        rec("annual_report_corrections", report_year=date(2022, 1, 1), corrections=1),
        rec("annual_report_corrections", report_year=date(2023, 1, 1), corrections=3),
    ]
    table = build(records, [T, date(2025, 7, 1)])
    assert value(table, "report_guarantee_count", T) == 2
    assert value(table, "report_guarantee_principal", T) == 1_500_000.0  # 150 x 10,000 yuan
    assert value(table, "report_guarantee_count", date(2025, 7, 1)) == 1
    assert value(table, "report_equity_transfer_count", T) == 1
    assert value(table, "report_corrections", T) == 3
    # the source is present, the firm declared no guarantee: zero
    assert value(table, "report_guarantee_count", T, uscc="F2") == 0


def test_a_report_older_than_two_years_before_t_says_nothing_now():
    records = [master(), guarantee(2021, 1, 100.0, date(2022, 6, 1))]
    assert (
        value(build(records, [date(2023, 12, 31)]), "report_guarantee_count", date(2023, 12, 31))
        == 1
    )
    assert (
        value(build(records, [date(2024, 1, 2)]), "report_guarantee_count", date(2024, 1, 2)) == 0
    )


def test_settlement_r_and_d_and_customs_rating_from_the_latest_year_usable():
    records = [
        master(),
        rec(
            "tax_cit_annual_settlement",
            tax_year=date(2022, 1, 1),
            taxable_income=200.0,
            annual_tax_payable=50.0,
            loss_carried_forward=0.0,
            preferential_rate="25%",
            arrived_at=arrival_after(date(2023, 5, 1)),
        ),
        rec(
            "tax_cit_annual_settlement",
            tax_year=date(2023, 1, 1),
            taxable_income=-100.0,
            annual_tax_payable=0.0,
            loss_carried_forward=30_000.0,
            preferential_rate="25%",
            arrived_at=arrival_after(date(2024, 5, 1)),
        ),
        rec("tax_rd_super_deduction", tax_year=date(2022, 1, 1), rd_expense=400.0),
        rec("tax_rd_super_deduction", tax_year=date(2023, 1, 1), rd_expense=100.0),
        rec(
            "tax_customs_credit_rating", rating_year=date(2022, 1, 1), customs_rating="高级认证企业"
        ),
        rec(
            "tax_customs_credit_rating",
            rating_year=date(2023, 1, 1),
            customs_rating="失信企业",
            arrived_at=arrival_after(date(2024, 7, 1)),
        ),
    ]
    later = date(2024, 7, 10)
    table = build(records, [T, later])
    assert value(table, "tax_cit_taxable_income_change", T) == -1.5  # -100 against 200
    assert value(table, "tax_cit_loss_carried_forward", T) == 30_000.0
    assert value(table, "tax_rd_expense_change", T) == -0.75
    assert value(table, "customs_rated_advanced", T) == 1.0
    assert value(table, "customs_rated_dishonest", T) == 0.0
    assert value(table, "customs_rated_dishonest", later) == 1.0
    assert value(table, "customs_rated_advanced", later) == 0.0


def test_trade_and_input_invoices_trends_over_reported_months():
    records = [master()]
    for i, month in enumerate(months(date(2023, 12, 1), 6)):
        recent = i >= 3
        records.append(
            rec(
                "tax_customs_declaration",
                period=month,
                import_value=50.0 if recent else 100.0,
                export_value=100.0,
                declarations=2,
            )
        )
        records.append(
            rec(
                "tax_invoice_receipt",
                period=month,
                invoices_received=3,
                input_amount=200.0 if recent else 100.0,
                input_tax=13.0,
            )
        )
    table = build(records, [T])
    assert value(table, "customs_trade_trend_3m", T) == -0.25  # 150 a month against 200
    assert value(table, "tax_input_invoices_trend_3m", T) == 1.0


def test_subsidies_over_a_year_and_high_tech_certificates_over_their_three_year_validity():
    records = [
        master(),
        master("F2"),
        rec("tax_government_subsidy", paid_date=date(2024, 1, 1), subsidy_amount=5_000.0),
        rec("tax_government_subsidy", paid_date=date(2023, 6, 1), subsidy_amount=9_000.0),
        rec("tax_high_tech_certification", certified_date=date(2021, 7, 2)),  # 1,094 days back
        rec("tax_high_tech_certification", certified_date=date(2021, 7, 1)),  # 1,095 days back
    ]
    table = build(records, [T])
    assert value(table, "subsidy_count_365d", T) == 1
    assert value(table, "subsidy_amount_365d", T) == 5_000.0
    assert value(table, "high_tech_certification_count_1095d", T) == 1
    assert value(table, "subsidy_count_365d", T, uscc="F2") == 0
