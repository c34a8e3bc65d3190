"""Social insurance, housing fund and headcount on tiny hand-built panels."""

from __future__ import annotations

from datetime import date, datetime

from tests.features.tiny_lake import arrival_after, build, master, months, rec, value

T = date(2024, 8, 1)


def pension(period: date, arrears: float = 0.0, insured: int = 50, **kw) -> object:
    kw.setdefault("arrived_at", arrival_after(period, 40))
    return rec(
        "si_pension",
        period=period,
        insured_count=insured,
        amount_due=1000.0,
        amount_paid=1000.0 - arrears,
        arrears_amount=arrears,
        **kw,
    )


def test_consecutive_arrears_counts_back_from_the_latest_usable_month():
    periods = months(date(2024, 1, 1), 6)  # Jan..Jun; Jun arrives 10 Jul, usable at T
    arrears = [100.0, 0.0, 100.0, 100.0, 100.0, 100.0]
    table = build([master(), *[pension(p, a) for p, a in zip(periods, arrears, strict=True)]], [T])
    assert value(table, "si_arrears_consecutive_months", T) == 4
    assert value(table, "si_arrears_months_3m", T) == 3
    assert value(table, "si_arrears_months_6m", T) == 5
    assert value(table, "si_arrears_amount_3m", T) == 300.0
    assert value(table, "si_arrears_amount_trend_3m", T) == 300.0 - 200.0


def test_consecutive_arrears_broken_by_a_missing_month():
    periods = [p for p in months(date(2024, 1, 1), 6) if p != date(2024, 4, 1)]
    table = build([master(), *[pension(p, 100.0) for p in periods]], [T])
    assert value(table, "si_arrears_consecutive_months", T) == 2
    assert value(table, "si_arrears_months_6m", T) == 5


def test_consecutive_arrears_zero_when_the_latest_month_is_paid():
    periods = months(date(2024, 1, 1), 6)
    records = [pension(p, 100.0) for p in periods[:-1]] + [pension(periods[-1], 0.0)]
    table = build([master(), *records], [T])
    assert value(table, "si_arrears_consecutive_months", T) == 0


def test_consecutive_arrears_capped_at_twelve_months():
    periods = months(date(2023, 1, 1), 18)
    table = build([master(), *[pension(p, 10.0) for p in periods]], [T])
    assert value(table, "si_arrears_consecutive_months", T) == 12


def test_arrears_of_every_insurance_add_up_and_any_makes_the_month_in_arrears():
    period = date(2024, 6, 1)
    records = [
        master(),
        pension(period, 0.0),
        rec(
            "si_medical",
            period=period,
            insured_count=50,
            amount_due=500.0,
            amount_paid=300.0,
            arrears_amount=200.0,
            arrived_at=arrival_after(period, 40),
        ),
    ]
    table = build(records, [T])
    assert value(table, "si_arrears_months_3m", T) == 1
    assert value(table, "si_arrears_amount_3m", T) == 200.0
    assert value(table, "si_paid_ratio_3m", T) == (1000.0 + 300.0) / 1500.0


def test_revision_arriving_late_changes_arrears_only_from_its_arrival():
    june = date(2024, 6, 1)
    late = datetime(2024, 9, 1, 10)
    records = [master(), pension(june, 0.0), pension(june, 400.0, arrived_at=late)]
    table = build(records, [T, late.date()])
    assert value(table, "si_arrears_amount_3m", T) == 0.0
    assert value(table, "si_arrears_amount_3m", late.date()) == 400.0


def test_month_that_has_not_arrived_is_not_used():
    july = date(2024, 7, 1)  # arrives 10 Aug, after T
    records = [master(), pension(date(2024, 6, 1), 0.0), pension(july, 999.0)]
    table = build(records, [T])
    assert value(table, "si_arrears_amount_3m", T) == 0.0
    assert value(table, "si_months_since_report", T) == 2


def test_firm_without_contribution_rows_has_null_arrears():
    table = build([master(), master("F2"), pension(date(2024, 6, 1), 5.0)], [T])
    assert value(table, "si_arrears_months_3m", T, uscc="F2") is None
    assert value(table, "hf_arrears_months_3m", T) is None


def test_housing_fund_consecutive_arrears_from_its_own_source():
    periods = months(date(2024, 3, 1), 4)
    records = [master()] + [
        rec(
            "hf_contribution",
            period=p,
            contributors=10,
            amount_due=100.0,
            amount_paid=0.0,
            arrears_amount=100.0,
            arrived_at=arrival_after(p, 40),
        )
        for p in periods
    ]
    table = build(records, [T])
    assert value(table, "hf_arrears_consecutive_months", T) == 4


def test_headcount_change_against_three_six_and_twelve_months_before():
    periods = months(date(2023, 6, 1), 13)  # Jun 2023 .. Jun 2024
    counts = [100 - i for i in range(13)]  # 100 .. 88
    table = build(
        [master(), *[pension(p, insured=c) for p, c in zip(periods, counts, strict=True)]], [T]
    )
    assert value(table, "headcount_latest", T) == 88
    assert value(table, "headcount_change_3m", T) == -3
    assert value(table, "headcount_change_12m", T) == -12
    assert value(table, "headcount_change_rel_12m", T) == 88 / 100 - 1
    assert value(table, "size_band", T) == "小型"


def test_headcount_change_null_when_the_earlier_month_is_missing():
    table = build([master(), pension(date(2024, 6, 1), insured=5)], [T])
    assert value(table, "headcount_change_3m", T) is None
    assert value(table, "size_band", T) == "微型"
