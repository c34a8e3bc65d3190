"""The latest reported month against the three before it, beyond the activity panels: declared
sales (features.tax), energy use (features.energy, the median over energy sources) and the
students attending a training school (features.prepaid), alone and against the sector's median.
Edge cases: a month not yet arrived, a month missing among the three before, a firm with one
month only, a firm of another sector."""

from __future__ import annotations

from datetime import date

import pytest

from tests.features.tiny_lake import arrival_after, build, master, months, rec, value

T = date(2024, 8, 1)
SCHOOLS = "教育培训"


def vat(period: date, sales: float, **kwargs) -> object:
    return rec(
        "tax_vat_declaration",
        period=period,
        sales_revenue=sales,
        vat_payable=10.0,
        vat_paid=10.0,
        vat_unpaid=0.0,
        **({"arrived_at": arrival_after(period, 50)} | kwargs),
    )


def meter(source_id: str, period: date, consumption: float, **kwargs) -> object:
    return rec(
        source_id,
        period=period,
        consumption=consumption,
        meter_district="湖西",
        overdue_amount=0.0,
        **({"arrived_at": arrival_after(period, 50)} | kwargs),
    )


def lessons(period: date, students: int, **kwargs) -> object:
    return rec(
        "prepaid_fee_consumption",
        period=period,
        lessons_delivered=10,
        consumed_amount=100.0,
        active_students=students,
        **({"arrived_at": arrival_after(period, 50)} | kwargs),
    )


def test_declared_sales_latest_month_against_the_three_before():
    # Jan-Feb: 10 (outside the window); Mar-May: 120, 100, 80 (mean 100); June (latest): 70.
    sales = dict(zip(months(date(2024, 1, 1), 6), (10, 10, 120, 100, 80, 70), strict=True))
    table = build([master(), *[vat(m, s) for m, s in sales.items()]], [T])
    assert value(table, "tax_revenue_latest_1m", T) == pytest.approx(-0.3)


def test_declared_sales_month_arriving_after_t_is_not_the_latest():
    # July's return arrives after T: June (50) is the latest, against Mar-May (100).
    records = [master(), *[vat(m, 100.0) for m in months(date(2024, 3, 1), 3)]]
    records += [
        vat(date(2024, 6, 1), 50.0),
        vat(date(2024, 7, 1), 0.0, arrived_at=arrival_after(T, 8)),
    ]
    table = build(records, [T])
    assert value(table, "tax_revenue_latest_1m", T) == pytest.approx(-0.5)


def test_declared_sales_latest_month_against_the_sector_median():
    # Every manufacturer's June falls; F1 most. F4 is in finance, so it is its own median.
    june = {"F1": 40.0, "F2": 70.0, "F3": 90.0, "F4": 40.0}
    records = [master("F1"), master("F2"), master("F3"), master("F4", sector="金融")]
    for uscc, latest in june.items():
        records += [vat(m, 100.0, uscc=uscc) for m in months(date(2024, 3, 1), 3)]
        records.append(vat(date(2024, 6, 1), latest, uscc=uscc))
    table = build(records, [T])
    gaps = {u: value(table, "tax_revenue_latest_1m_vs_sector", T, uscc=u) for u in june}
    assert gaps == pytest.approx({"F1": -0.3, "F2": 0.0, "F3": 0.2, "F4": 0.0})


def test_energy_latest_month_is_the_median_over_energy_sources():
    # Electricity halves in June, water falls 10%, gas 30%: the median source falls 30%.
    records = [master()]
    for source_id, before, latest in (
        ("energy_electricity", 100.0, 50.0),
        ("energy_water", 10.0, 9.0),
        ("energy_gas", 1.0, 0.7),
    ):
        records += [meter(source_id, m, before) for m in months(date(2024, 3, 1), 3)]
        records.append(meter(source_id, date(2024, 6, 1), latest))
    table = build(records, [T])
    assert value(table, "energy_latest_1m", T) == pytest.approx(-0.3)
    assert value(table, "energy_latest_1m_vs_sector", T) == pytest.approx(0.0)  # its own median


def test_energy_latest_month_against_the_sector_median():
    june = {"F1": 50.0, "F2": 90.0, "F3": 100.0}
    records = [master(u) for u in june]
    for uscc, latest in june.items():
        records += [
            meter("energy_electricity", m, 100.0, uscc=uscc) for m in months(date(2024, 3, 1), 3)
        ]
        records.append(meter("energy_electricity", date(2024, 6, 1), latest, uscc=uscc))
    table = build(records, [T])
    assert value(table, "energy_latest_1m_vs_sector", T, uscc="F1") == pytest.approx(-0.4)
    assert value(table, "energy_latest_1m_vs_sector", T, uscc="F3") == pytest.approx(0.1)


def test_students_latest_month_with_a_month_missing_among_the_three_before():
    # April never arrived: June (30) reads against the mean of March and May (40, 60).
    students = {date(2024, 3, 1): 40, date(2024, 5, 1): 60, date(2024, 6, 1): 30}
    records = [master(sector=SCHOOLS), *[lessons(m, n) for m, n in students.items()]]
    table = build(records, [T])
    assert value(table, "prepaid_students_latest_1m", T) == pytest.approx(-0.4)


def test_students_latest_month_against_the_sector_median():
    june = {"S1": 5, "S2": 8, "S3": 10}
    records = [master(u, sector=SCHOOLS) for u in june]
    for uscc, latest in june.items():
        records += [lessons(m, 10, uscc=uscc) for m in months(date(2024, 3, 1), 3)]
        records.append(lessons(date(2024, 6, 1), latest, uscc=uscc))
    table = build(records, [T])
    assert value(table, "prepaid_students_latest_1m", T, uscc="S1") == pytest.approx(-0.5)
    assert value(table, "prepaid_students_latest_1m_vs_sector", T, uscc="S1") == pytest.approx(-0.3)
    assert value(table, "prepaid_students_latest_1m_vs_sector", T, uscc="S2") == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("record", "names"),
    [
        (vat(date(2024, 6, 1), 50.0), ("tax_revenue_latest_1m", "tax_revenue_latest_1m_vs_sector")),
        (
            meter("energy_electricity", date(2024, 6, 1), 50.0),
            ("energy_latest_1m", "energy_latest_1m_vs_sector"),
        ),
        (
            lessons(date(2024, 6, 1), 5),
            ("prepaid_students_latest_1m", "prepaid_students_latest_1m_vs_sector"),
        ),
    ],
    ids=["declared_sales", "energy", "students"],
)
def test_a_latest_month_without_an_earlier_one_is_unknown(record, names):
    table = build([master(), record], [T])
    for name in names:
        assert value(table, name, T) is None, name


def test_the_three_before_at_zero_leave_the_change_unknown():
    # A school that taught nobody for three months and reopens has no ratio to report.
    records = [master(sector=SCHOOLS), *[lessons(m, 0) for m in months(date(2024, 3, 1), 3)]]
    records.append(lessons(date(2024, 6, 1), 12))
    table = build(records, [T])
    assert value(table, "prepaid_students_latest_1m", T) is None
