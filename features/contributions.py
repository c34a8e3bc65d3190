"""Social insurance and housing fund contributions: arrears, payment and reporting.

Two families built the same way: social insurance (every ``si_*`` source) and the housing fund.
The social-insurance family counts a month as in arrears when any of its insurances has an
unpaid amount that month; amounts add up across insurances. Windows are the last N reported
months up to the latest month usable at T.
"""

from __future__ import annotations

import polars as pl

from features.family import (
    DOWN,
    UP,
    Evidence,
    Family,
    FeatureSpec,
    Step,
    Unit,
    feature,
    months,
    names,
    windowed,
)
from features.panel import (
    LATEST,
    lag_sum,
    leading_run,
    monthly_panel,
    months_since,
    periods_where,
    ratio,
    summarise,
)
from features.source_set import SourceFamily, SourceSet, one, prefixed

SOCIAL_INSURANCE = prefixed("si_")
HOUSING_FUND = one("hf_contribution")
STREAK_CAP = 12
# Paid in the last 3 months: a sign the firm still operates (read by the licence check).
ARREARS_SHOWN = ("arrears_amount", "amount_due", "amount_paid")


def _arrears(
    family: SourceFamily, lags: tuple[int, ...] | None = None, *, only_arrears: bool = True
) -> Evidence:
    """The months behind a contribution feature: those in arrears, or every month with the
    ones in arrears first."""
    in_arrears = pl.col("arrears_amount") > 0
    if only_arrears:
        return Evidence(family, ARREARS_SHOWN, in_arrears, mode="panel", lags=lags)
    return Evidence(family, ARREARS_SHOWN, mode="panel", lags=lags, first=in_arrears)


class Contributions:
    """The specs and computation of one contribution family (``prefix``: si or hf)."""

    def __init__(self, prefix: str, family: str, source: SourceFamily, zh: str, en: str) -> None:
        self.prefix, self.source = prefix, source
        self.arrears_months = windowed(
            f"{prefix}_arrears_months",
            (months(3), months(6), months(12)),
            family,
            [source],
            Unit.months,
            UP,
            (
                f"最近{{w}}个月中{zh}欠缴的月数",
                f"Months with {en} arrears in the last {{w}} reported months",
            ),
            (
                f"近{{w}}个月中有 {{value}} 个月{zh}欠缴",
                f"{en} in arrears in {{value}} of the last {{w}} months",
            ),
            evidence=[_arrears(source)],
        )
        self.consecutive = feature(
            f"{prefix}_arrears_consecutive_months",
            family,
            [source],
            Unit.months,
            UP,
            (
                f"截至最近申报月{zh}连续欠缴月数（最多{STREAK_CAP}）",
                f"Consecutive months of {en} arrears up to the latest reported month "
                f"(max {STREAK_CAP})",
            ),
            (
                f"{zh}已连续欠缴 {{value}} 个月",
                f"{en} unpaid for {{value}} consecutive [month|months]",
            ),
            evidence=[_arrears(source, tuple(range(STREAK_CAP)))],
        )
        self.arrears_amount = windowed(
            f"{prefix}_arrears_amount",
            (months(3), months(12)),
            family,
            [source],
            Unit.cny,
            UP,
            (f"最近{{w}}个月{zh}欠缴金额", f"{en} arrears over the last {{w}} months"),
            (
                f"近{{w}}个月{zh}欠缴 {{value}}",
                f"{en} arrears of {{value}} over the last {{w}} months",
            ),
            evidence=[_arrears(source)],
        )
        self.amount_trend = feature(
            f"{prefix}_arrears_amount_trend_3m",
            family,
            [source],
            Unit.cny_change,
            UP,
            (
                f"最近3个月{zh}欠缴额减去此前3个月",
                f"{en} arrears, last 3 months minus the 3 before",
            ),
            (
                f"{zh}欠缴额较前3个月变化 {{value}}",
                f"{en} arrears changed by {{value}} vs the previous 3 months",
            ),
            window=months(3),
            evidence=[_arrears(source, tuple(range(6)))],
        )
        self.paid_ratio = feature(
            f"{prefix}_paid_ratio_3m",
            family,
            [source],
            Unit.ratio,
            DOWN,
            (f"最近3个月{zh}实缴额/应缴额", f"{en} paid / due over the last 3 months"),
            (
                f"近3个月{zh}仅缴纳应缴的 {{value}}",
                f"only {{value}} of {en} due was paid in the last 3 months",
            ),
            window=months(3),
            evidence=[_arrears(source, only_arrears=False)],
        )
        self.months_since_report = feature(
            f"{prefix}_months_since_report",
            family,
            [source],
            Unit.months,
            UP,
            (
                f"评估月与最近一次{zh}申报月相隔月数",
                f"Months between the date and the latest reported {en} month",
            ),
            (f"{zh}记录已 {{value}} 个月未更新", f"no {en} record for {{value}} [month|months]"),
            evidence=[_arrears(source, (0,), only_arrears=False)],
        )
        self.specs: tuple[FeatureSpec, ...] = (
            *self.arrears_months,
            self.consecutive,
            *self.arrears_amount,
            self.amount_trend,
            self.paid_ratio,
            self.months_since_report,
        )
        self.family = Family(family, self.specs, steps=(Step(self.compute, names(self.specs)),))

    def compute(self, grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
        members = sources.family(self.source)
        if not members:
            return None
        long = monthly_panel(
            sources,
            members,
            grid,
            ["amount_due", "amount_paid", "arrears_amount"],
            range(max(STREAK_CAP, 6)),
        )
        # A month is in arrears when any member insurance has an unpaid amount that month.
        in_arrears = pl.col("arrears_amount") > 0
        recent, before = range(3), range(3, 6)
        return (
            summarise(
                long,
                *[
                    periods_where(in_arrears, range(s.window.length)).cast(pl.Float64).alias(s.name)
                    for s in self.arrears_months
                ],
                leading_run(in_arrears, STREAK_CAP).cast(pl.Float64).alias(self.consecutive.name),
                *[
                    lag_sum("arrears_amount", range(s.window.length)).alias(s.name)
                    for s in self.arrears_amount
                ],
                (
                    lag_sum("arrears_amount", recent)
                    - lag_sum("arrears_amount", before).fill_null(0)
                ).alias(self.amount_trend.name),
                ratio(lag_sum("amount_paid", recent), lag_sum("amount_due", recent)).alias(
                    self.paid_ratio.name
                ),
            )
            .with_columns(months_since(pl.col(LATEST)).alias(self.months_since_report.name))
            .drop(LATEST)
        )


SOCIAL_INSURANCE_FAMILY = Contributions(
    "si", "social_insurance", SOCIAL_INSURANCE, "社保", "social insurance"
).family
HOUSING_FUND_FAMILY = Contributions(
    "hf", "housing_fund", HOUSING_FUND, "公积金", "housing fund"
).family
