"""The third set of stress-carrying sources that fed nothing (issue 22), on tiny hand-built lakes:
the annual-report filing status, the reports' social-insurance and assets sections, and the
statistics bureau's labour and wage statistics. Each test names its edge case (a status revised
after T, a lapse older than three report years, a report arriving after T, a zero denominator,
a year missing, a source absent)."""

from __future__ import annotations

from datetime import date

from features import annual_report, headcount
from features.facts import facts_for
from tests.features.tiny_lake import arrival_after, build, frames, master, rec, value

T = date(2024, 6, 30)


def filing(year: int, status: str, arrived: date | None = None) -> object:
    return rec(
        "annual_report_filing_status",
        report_year=date(year, 1, 1),
        filing_status=status,
        arrived_at=arrival_after(arrived or date(year + 1, 7, 1)),
    )


def test_a_lapse_in_the_latest_three_report_years_counts_and_an_older_one_does_not():
    records = [
        master(),
        filing(2019, "未报送"),  # four report years before the latest: not counted
        filing(2020, "按时报送"),
        filing(2021, "逾期补报"),
        filing(2022, "按时报送"),
    ]
    table = build(records, [T])
    assert value(table, annual_report.FILING_LAPSES.name, T) == 1
    assert value(table, annual_report.LATEST_NOT_FILED.name, T) == 0


def test_the_latest_status_is_the_one_known_at_t_and_a_later_late_filing_revises_it():
    records = [
        master(),
        filing(2021, "按时报送"),
        filing(2022, "未报送", arrived=date(2023, 7, 1)),
        # the firm files late after T: the regulator's row for 2022 is re-delivered
        filing(2022, "逾期补报", arrived=date(2024, 8, 1)),
        # the 2023 report's status arrives after T
        filing(2023, "未报送", arrived=date(2024, 7, 5)),
    ]
    later = date(2024, 8, 2)
    table = build(records, [T, later])
    assert value(table, annual_report.LATEST_NOT_FILED.name, T) == 1
    assert value(table, annual_report.FILING_LAPSES.name, T) == 1
    # at the later date 2023 is the latest (not filed), 2022 now reads "filed late"
    assert value(table, annual_report.LATEST_NOT_FILED.name, later) == 1
    assert value(table, annual_report.FILING_LAPSES.name, later) == 2


def insurance(year: int, paid: float, arrears: float, uscc: str = "F1") -> object:
    return rec(
        "annual_report_social_insurance",
        uscc=uscc,
        report_year=date(year, 1, 1),
        pension_paid=paid,
        accumulated_arrears=arrears,
    )


def test_the_filing_facts_show_each_report_year_known_at_t_newest_first():
    records = [
        master(),
        filing(2021, "按时报送"),
        filing(2022, "未报送", arrived=date(2023, 7, 1)),
        filing(2023, "逾期补报", arrived=date(2024, 7, 5)),  # after T: not shown
    ]
    facts = facts_for(frames(records), ["F1"], T, [annual_report.FILING_LAPSES.name])
    assert [fact[:4] for fact in facts["fact_zh"]] == ["2022", "2021"]
    assert "年报报送状态 未报送" in facts["fact_zh"][0]
    assert facts["fact_en"][0].startswith("2022 Annual report filing status: Filing status 未报送")


def test_pension_arrears_in_yuan_and_contributions_against_the_year_before():
    records = [
        master(),
        master("F2"),
        insurance(2022, 40.0, 0.0),
        insurance(2023, 30.0, 12.5),
        insurance(2023, 5.0, 0.0, uscc="F2"),  # one year only: nothing to compare with
    ]
    table = build(records, [T])
    assert value(table, annual_report.PENSION_ARREARS.name, T) == 125_000.0  # 12.5 x 10,000 yuan
    assert value(table, annual_report.PENSION_PAID_GROWTH.name, T) == -0.25
    assert value(table, annual_report.PENSION_ARREARS.name, T, uscc="F2") == 0.0
    assert value(table, annual_report.PENSION_PAID_GROWTH.name, T, uscc="F2") is None


def test_bank_loans_against_revenue_and_null_without_revenue():
    records = [
        master(),
        master("F2"),
        rec(
            "annual_report_assets",
            report_year=date(2023, 1, 1),
            bank_loans=300.0,
            main_business_revenue=200.0,
        ),
        rec(
            "annual_report_assets",
            uscc="F2",
            report_year=date(2023, 1, 1),
            bank_loans=300.0,
            main_business_revenue=0.0,
        ),
    ]
    table = build(records, [T])
    assert value(table, annual_report.BANK_LOANS_TO_REVENUE.name, T) == 1.5
    assert value(table, annual_report.BANK_LOANS_TO_REVENUE.name, T, uscc="F2") is None


def wages(year: int, employees: int, total: float) -> object:
    return rec(
        "tax_stats_labour_wages",
        stat_year=date(year, 1, 1),
        avg_employees=employees,
        total_wages=total,
        new_hires=0,
        departures=0,
        arrived_at=arrival_after(date(year + 1, 3, 1)),
    )


def test_employees_and_wages_against_the_year_before_from_the_statistics_known_at_t():
    records = [
        master(),
        wages(2022, 80, 8_000.0),
        wages(2023, 60, 7_000.0),
        wages(2024, 10, 1_000.0),  # arrives in March 2025: after T
    ]
    table = build(records, [T])
    assert value(table, headcount.EMPLOYEE_GROWTH.name, T) == -0.25
    assert value(table, headcount.WAGE_GROWTH.name, T) == -0.125


def test_a_source_absent_from_the_lake_gives_unknown_not_zero():
    table = build([master(), wages(2022, 80, 8_000.0)], [T])
    for spec in annual_report.THIRD_SPECS:
        assert value(table, spec.name, T) is None, spec.name
    # one statistics year only: nothing to compare with
    assert value(table, headcount.EMPLOYEE_GROWTH.name, T) is None
