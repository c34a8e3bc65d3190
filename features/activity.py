"""Monthly activity the tax bureau and the statistics office see first: output invoices issued,
industrial output, services revenue, taxes collected and the payroll's income-tax withholding,
each as its last three reported months against the three before and against the same three
months a year earlier (which cancels the season), and its latest reported month against the
three before it, alone and against the sector's median (the freshest month, a month sooner
than the three-month mean; the sector's median takes out what every firm shares that month,
such as the Spring Festival dip).

These panels report a month about 30-45 days after it ends, sooner than most sources, and the
invoice and payroll counts move with the firm's activity without the noise of amounts. They fed
no feature of their own before (only the consistency rules read some), while a generic model on
the same rows ranked the invoice count's trend first (BENCHMARKS.md, "The generic benchmark").
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from features.family import (
    DOWN,
    Evidence,
    Family,
    FeatureSpec,
    Step,
    Unit,
    Window,
    feature,
    months,
)
from features.panel import LATEST, at, change, lag_mean, monthly_panel, peer_gap, summarise
from features.profile import MASTER
from features.source_set import SourceFamily, SourceSet, one

FAMILY_NAME = "activity"
QUARTER = months(3)
RECENT = range(QUARTER.length)
BEFORE = range(QUARTER.length, 2 * QUARTER.length)
YEAR_AGO = range(12, 12 + QUARTER.length)
MONTH = months(1)
LAST = 0
BEFORE_LAST = range(1, 1 + QUARTER.length)


@dataclass(frozen=True)
class Measure:
    """One source's measure of activity, its two features and their texts."""

    source: SourceFamily
    column: str
    stem: str
    what: tuple[str, str]  # zh, en: what is measured, for labels and reasons

    def evidence(self) -> Evidence:
        lags = (*RECENT, *BEFORE, *YEAR_AGO)
        return Evidence(self.source, (self.column,), mode="panel", lags=lags)

    def trend(self) -> FeatureSpec:
        zh, en = self.what
        return self._spec(
            "trend_3m",
            (f"最近3个月月均{zh}较此前3个月的变化", f"Monthly {en}, last 3 months vs the 3 before"),
            (f"近3个月{zh}较前3个月变化 {{value}}", f"{en} {{value}} vs the previous 3 months"),
        )

    def year_on_year(self) -> FeatureSpec:
        zh, en = self.what
        return self._spec(
            "yoy_3m",
            (f"最近3个月月均{zh}同比变化", f"Monthly {en}, last 3 months year on year"),
            (f"近3个月{zh}同比变化 {{value}}", f"{en} {{value}} year on year"),
        )

    def latest_month(self) -> FeatureSpec:
        zh, en = self.what
        return self._spec(
            "latest_1m",
            (
                f"最近1个已报送月份的{zh}较此前3个月月均的变化",
                f"{en} in the latest reported month vs the monthly mean of the 3 before",
            ),
            (
                f"最近1个月{zh}较此前3个月月均变化 {{value}}",
                f"{en} {{value}} in the latest month vs the 3 before",
            ),
            window=MONTH,
        )

    def latest_month_vs_sector(self) -> FeatureSpec:
        zh, en = self.what
        return self._spec(
            "latest_1m_vs_sector",
            (
                f"最近1个月{zh}的变化减去同行业在营企业的中位数",
                f"{en}, latest month's change minus the sector median of active firms",
            ),
            (
                f"最近1个月{zh}变化与同行业中位数相差 {{value}}",
                f"{en}: latest month's change {{value}} against the sector median",
            ),
            window=MONTH,
            sector=True,
        )

    def _spec(
        self,
        suffix: str,
        description: tuple[str, str],
        template: tuple[str, str],
        *,
        window: Window = QUARTER,
        sector: bool = False,
    ) -> FeatureSpec:
        return feature(
            f"{self.stem}_{suffix}",
            FAMILY_NAME,
            [self.source, MASTER] if sector else [self.source],
            Unit.signed_ratio,
            DOWN,
            description,
            template,
            window=window,
            evidence=[self.evidence()],
        )


MEASURES = (
    Measure(
        one("tax_invoice_issuance"),
        "invoices_issued",
        "invoices_issued",
        ("开具发票份数", "invoices issued"),
    ),
    Measure(
        one("tax_stats_industrial_output"),
        "gross_output",
        "industrial_output",
        ("工业总产值", "gross industrial output"),
    ),
    Measure(
        one("tax_stats_services_revenue"),
        "operating_revenue",
        "services_revenue",
        ("服务业营业收入", "services revenue"),
    ),
    Measure(
        one("tax_revenue_collected"),
        "tax_collected",
        "tax_collected",
        ("入库税款", "taxes collected"),
    ),
    Measure(
        one("tax_individual_income_withholding"),
        "employees_declared",
        "payroll_employees",
        ("个税扣缴申报人数", "employees on the payroll tax return"),
    ),
)
TRENDS = {m.stem: (m.trend(), m.year_on_year()) for m in MEASURES}
LATEST_MONTH = {m.stem: m.latest_month() for m in MEASURES}
VS_SECTOR = {m.stem: m.latest_month_vs_sector() for m in MEASURES}
SPECS = tuple(
    spec for m in MEASURES for spec in (*TRENDS[m.stem], LATEST_MONTH[m.stem], VS_SECTOR[m.stem])
)


def measure_step(measure: Measure):
    trend, year_on_year = TRENDS[measure.stem]
    latest_month = LATEST_MONTH[measure.stem]

    def compute(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
        members = sources.family(measure.source)
        if not members:
            return None
        lags = sorted({*RECENT, *BEFORE, *YEAR_AGO})
        long = monthly_panel(sources, members, grid, [measure.column], lags)
        recent = lag_mean(measure.column, RECENT)
        return summarise(
            long,
            change(recent, lag_mean(measure.column, BEFORE)).alias(trend.name),
            change(recent, lag_mean(measure.column, YEAR_AGO)).alias(year_on_year.name),
            change(at(measure.column, LAST), lag_mean(measure.column, BEFORE_LAST)).alias(
                latest_month.name
            ),
        ).drop(LATEST)

    compute.__name__ = f"{measure.stem}_trends"
    return Step(compute, (trend.name, year_on_year.name, latest_month.name))


FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=tuple(measure_step(m) for m in MEASURES),
    peers={VS_SECTOR[m.stem].name: peer_gap(pl.col(LATEST_MONTH[m.stem].name)) for m in MEASURES},
)
__all__ = ["FAMILY", "MEASURES", "SPECS"]
