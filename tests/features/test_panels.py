"""Energy, tax, annual report, prepaid fees and licences on tiny hand-built panels."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.features.tiny_lake import arrival_after, build, master, months, rec, value

T = date(2024, 8, 1)


def meter(
    source_id: str, period: date, consumption: float, district: str = "湖西", overdue: float = 0.0
) -> object:
    return rec(
        source_id,
        period=period,
        consumption=consumption,
        meter_district=district,
        overdue_amount=overdue,
        arrived_at=arrival_after(period, 35),
    )


def test_energy_drop_year_on_year_is_the_median_over_energy_sources():
    periods = months(date(2023, 4, 1), 15)  # Apr 2023 .. Jun 2024
    records = [master()]
    for i, p in enumerate(periods):
        records.append(meter("energy_electricity", p, 100.0 if i < 12 else 50.0))
        records.append(meter("energy_water", p, 10.0 if i < 12 else 9.0))
        records.append(meter("energy_gas", p, 1.0 if i < 12 else 0.7, overdue=5.0))
    table = build(records, [T])
    assert value(table, "energy_yoy_change_3m", T) == pytest.approx(-0.3)
    assert value(table, "energy_trend_3m", T) == pytest.approx(-0.3)
    assert value(table, "energy_overdue_amount_3m", T) == 15.0


def test_energy_against_sector_peers():
    records = [master("F1"), master("F2"), master("F3")]
    for uscc, now in (("F1", 50.0), ("F2", 100.0), ("F3", 90.0)):
        for p in months(date(2023, 4, 1), 15):
            records.append(
                rec(
                    "energy_electricity",
                    uscc=uscc,
                    period=p,
                    meter_district="湖西",
                    consumption=100.0 if p.year == 2023 else now,
                    arrived_at=arrival_after(p, 35),
                )
            )
    table = build(records, [T])
    assert value(table, "energy_yoy_vs_sector", T, uscc="F1") == pytest.approx(-0.4)


def vat(period: date, sales: float, payable: float = 100.0, paid: float = 100.0) -> object:
    return rec(
        "tax_vat_declaration",
        period=period,
        sales_revenue=sales,
        vat_payable=payable,
        vat_paid=paid,
        vat_unpaid=payable - paid,
        arrived_at=arrival_after(period, 20),
    )


def test_vat_sales_trend_year_on_year_and_paid_share():
    periods = months(date(2023, 5, 1), 15)  # May 2023 .. Jul 2024 (Jul arrives 20 Jul)
    sales = [100.0] * 12 + [80.0, 60.0, 40.0]
    records = [master()] + [vat(p, s) for p, s in zip(periods, sales, strict=True)]
    records[-1] = vat(periods[-1], 40.0, payable=100.0, paid=0.0)
    table = build(records, [T])
    assert value(table, "tax_revenue_yoy_3m", T) == pytest.approx(180 / 300 - 1)
    assert value(table, "tax_revenue_trend_3m", T) == pytest.approx(180 / 300 - 1)
    assert value(table, "tax_vat_paid_ratio_12m", T) == pytest.approx(1100 / 1200)
    assert value(table, "tax_vat_unpaid_12m", T) == 100.0


def test_vat_panel_starting_inside_the_year_ago_window_compares_monthly_means():
    # Declarations start Jul 2023: the year-ago window (May-Jul 2023) holds one month of three.
    # Flat sales must read as no change, not as a tripling.
    periods = months(date(2023, 7, 1), 13)  # Jul 2023 .. Jul 2024
    table = build([master()] + [vat(p, 100.0) for p in periods], [T])
    assert value(table, "tax_revenue_yoy_3m", T) == pytest.approx(0.0)
    assert value(table, "tax_revenue_trend_3m", T) == pytest.approx(0.0)


def test_vat_month_missing_from_the_recent_window_is_not_a_drop():
    periods = [p for p in months(date(2023, 5, 1), 15) if p != date(2024, 6, 1)]
    table = build([master()] + [vat(p, 100.0) for p in periods], [T])
    assert value(table, "tax_revenue_yoy_3m", T) == pytest.approx(0.0)
    assert value(table, "tax_revenue_trend_3m", T) == pytest.approx(0.0)


def test_energy_meter_first_read_inside_the_year_ago_window_compares_monthly_means():
    periods = months(date(2023, 6, 1), 13)  # Jun 2023 .. Jun 2024: one year-ago month of three
    records = [master()] + [
        meter("energy_electricity", p, 100.0 if p.year == 2023 else 80.0) for p in periods
    ]
    table = build(records, [T])
    assert value(table, "energy_yoy_change_3m", T) == pytest.approx(-0.2)


def test_tax_rating_of_the_latest_year_known_at_t():
    records = [
        master(),
        rec(
            "tax_credit_rating",
            rating_year=date(2022, 1, 1),
            rating="A",
            arrived_at=datetime(2023, 4, 1),
        ),
        rec(
            "tax_credit_rating",
            rating_year=date(2023, 1, 1),
            rating="C",
            arrived_at=datetime(2024, 9, 1),
        ),
    ]
    table = build(records, [T])
    assert value(table, "tax_credit_rating", T) == 0.0


def report(year: int, revenue: float, arrived: datetime, **kw) -> object:
    return rec(
        "annual_report_basic",
        report_year=date(year, 1, 1),
        revenue=revenue,
        arrived_at=arrived,
        **kw,
    )


def test_annual_report_ratios_and_growth_from_the_latest_report():
    records = [
        master(),
        report(
            2022,
            1000.0,
            datetime(2023, 5, 1),
            total_assets=500.0,
            total_liabilities=100.0,
            net_profit=10.0,
            employees=40,
        ),
        report(
            2023,
            800.0,
            datetime(2024, 5, 1),
            total_assets=500.0,
            total_liabilities=400.0,
            net_profit=-80.0,
            employees=40,
        ),
    ]
    table = build(records, [T])
    assert value(table, "report_liability_ratio", T) == 0.8
    assert value(table, "report_profit_margin", T) == -0.1
    assert value(table, "report_revenue_growth", T) == pytest.approx(-0.2)


def test_prepaid_escrow_shortfall_and_coverage():
    records = [master(sector="教育培训")] + [
        rec(
            "prepaid_fee_supervision",
            period=p,
            prepaid_received=1000.0,
            escrow_required=200.0,
            escrow_deposited=dep,
            escrow_shortfall=200.0 - dep,
            arrived_at=arrival_after(p, 15),
        )
        for p, dep in zip(
            months(date(2024, 2, 1), 5), (200.0, 200.0, 150.0, 100.0, 50.0), strict=True
        )
    ]
    table = build(records, [T])
    assert value(table, "prepaid_escrow_shortfall", T) == 150.0
    assert value(table, "prepaid_escrow_coverage_3m", T) == pytest.approx(300 / 600)
