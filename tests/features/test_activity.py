"""Monthly activity trends (features.activity) on tiny hand-built lakes: the last three reported
months against the three before and against a year earlier, the latest month against the three
before it and against the sector, a month not yet arrived, a source the firm is absent from."""

from __future__ import annotations

from datetime import date

import pytest

from features.activity import MEASURES
from tests.features.tiny_lake import arrival_after, build, master, months, rec, value

T = date(2024, 6, 30)
YEAR = months(date(2023, 3, 1), 15)  # 2023-03 .. 2024-05: a year ago, the 3 before, the last 3


def invoices(month: date, issued: int, **kwargs) -> object:
    return rec(
        "tax_invoice_issuance",
        period=month,
        invoices_issued=issued,
        invoice_amount=1_000.0,
        invoices_voided=0,
        **kwargs,
    )


def test_the_last_three_months_against_the_three_before_and_a_year_earlier():
    # 2023-03..05 (a year before the last three): 40 a month; 2023-12..2024-02: 100; last three
    # (2024-03..05): 50. The months between are 80 and read by neither window.
    issued = {m: 40 if m < date(2023, 6, 1) else 80 for m in YEAR[:9]}
    issued |= {m: 100 for m in YEAR[9:12]} | {m: 50 for m in YEAR[12:]}
    table = build([master(), *[invoices(m, n) for m, n in issued.items()]], [T])
    assert value(table, "invoices_issued_trend_3m", T) == -0.5
    assert value(table, "invoices_issued_yoy_3m", T) == 0.25


def test_a_month_that_has_not_arrived_is_not_read():
    # May's return arrives after the as-of date: the last three reported months are Feb-Apr.
    records = [master()]
    for month in months(date(2023, 11, 1), 6):  # 2023-11 .. 2024-04
        records.append(invoices(month, 100 if month < date(2024, 2, 1) else 60))
    late = date(2024, 5, 1)
    records.append(invoices(late, 0, arrived_at=arrival_after(T, 3)))
    table = build(records, [T])
    assert value(table, "invoices_issued_trend_3m", T) == -0.4


def test_the_latest_month_against_the_three_before_it():
    # 2023-12..2024-01: 10 (outside the window); 2024-02..04: 100, 80, 60 (mean 80); May: 40.
    issued = dict(zip(months(date(2023, 12, 1), 6), (10, 10, 100, 80, 60, 40), strict=True))
    table = build([master(), *[invoices(m, n) for m, n in issued.items()]], [T])
    assert value(table, "invoices_issued_latest_1m", T) == pytest.approx(-0.5)
    assert value(table, "invoices_issued_trend_3m", T) == pytest.approx(60 / 40 - 1)


def test_the_latest_month_is_the_latest_arrived_not_the_calendar_month():
    # May's return arrives after T, so April (60) is the latest against Jan-Mar (100).
    records = [master()]
    for month in months(date(2024, 1, 1), 4):  # 2024-01 .. 2024-04
        records.append(invoices(month, 60 if month == date(2024, 4, 1) else 100))
    records.append(invoices(date(2024, 5, 1), 0, arrived_at=arrival_after(T, 3)))
    table = build(records, [T])
    assert value(table, "invoices_issued_latest_1m", T) == pytest.approx(-0.4)


def test_a_latest_month_without_an_earlier_one_is_unknown():
    table = build([master(), invoices(date(2024, 5, 1), 50)], [T])
    assert value(table, "invoices_issued_latest_1m", T) is None
    assert value(table, "invoices_issued_latest_1m_vs_sector", T) is None


def test_the_latest_month_against_the_sector_median():
    # Every manufacturer's May falls (a month every firm shares); F1 falls most. F4 is in
    # another sector, so it is its own median.
    latest = {"F1": 50, "F2": 80, "F3": 90, "F4": 50}
    records = [master("F1"), master("F2"), master("F3"), master("F4", sector="金融")]
    for uscc, may in latest.items():
        for month in months(date(2024, 2, 1), 3):
            records.append(invoices(month, 100, uscc=uscc))
        records.append(invoices(date(2024, 5, 1), may, uscc=uscc))
    table = build(records, [T])
    assert value(table, "invoices_issued_latest_1m", T, uscc="F1") == pytest.approx(-0.5)
    # the manufacturers' median change is -0.2 (F2)
    assert value(table, "invoices_issued_latest_1m_vs_sector", T, uscc="F1") == pytest.approx(-0.3)
    assert value(table, "invoices_issued_latest_1m_vs_sector", T, uscc="F2") == pytest.approx(0.0)
    assert value(table, "invoices_issued_latest_1m_vs_sector", T, uscc="F3") == pytest.approx(0.1)
    assert value(table, "invoices_issued_latest_1m_vs_sector", T, uscc="F4") == pytest.approx(0.0)


def test_a_source_without_the_firm_leaves_its_trends_unknown():
    records = [master(), *[invoices(m, 10) for m in months(date(2023, 12, 1), 6)]]
    table = build(records, [T])
    assert value(table, "invoices_issued_trend_3m", T) == 0.0
    for measure in MEASURES[1:]:
        assert value(table, f"{measure.stem}_trend_3m", T) is None
        assert value(table, f"{measure.stem}_yoy_3m", T) is None
        assert value(table, f"{measure.stem}_latest_1m", T) is None


def test_every_measure_reads_its_own_source_and_column():
    records = [master()]
    for i, month in enumerate(months(date(2023, 12, 1), 6)):
        level = 2.0 if i >= 3 else 1.0  # doubled in the last three months
        records += [
            rec(
                "tax_stats_industrial_output",
                period=month,
                gross_output=100 * level,
                sales_output=1.0,
                export_delivery=1.0,
            ),
            rec(
                "tax_stats_services_revenue",
                period=month,
                operating_revenue=50 * level,
                staff_pay=1.0,
            ),
            rec(
                "tax_revenue_collected", period=month, tax_collected=30 * level, fees_collected=1.0
            ),
            rec(
                "tax_individual_income_withholding",
                period=month,
                employees_declared=int(20 * level),
                wages_total=1.0,
                tax_withheld=1.0,
            ),
        ]
    table = build(records, [T])
    for stem in ("industrial_output", "services_revenue", "tax_collected", "payroll_employees"):
        assert value(table, f"{stem}_trend_3m", T) == 1.0, stem
        # the latest month (doubled) against the three before it (two doubled, one not)
        assert value(table, f"{stem}_latest_1m", T) == pytest.approx(2 / (5 / 3) - 1), stem
        assert value(table, f"{stem}_yoy_3m", T) is None, stem  # no month a year back
