"""Complaints: the 12345 hotline by category, financial disputes and prepaid-fee refund cases.

Totals count every ``complaint_*`` source. Growth compares the firm with its own past; the
comparison with sector peers sets the firm's count against the median of the active firms of
its sector at the same date.
"""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    UP,
    Evidence,
    Family,
    Step,
    Unit,
    days,
    event_columns,
    feature,
    is_in,
    names,
    windowed,
)
from features.panel import peer_gap
from features.profile import MASTER
from features.source_set import SourceSet, one, prefixed

FAMILY_NAME = "complaints"
COMPLAINTS = prefixed("complaint_")
HOTLINE = one("complaint_12345")
WAGE_COMPLAINTS = one("complaint_wage_arrears")
FINANCIAL_DISPUTES = one("complaint_financial_dispute")
PREPAID_REFUNDS = one("complaint_prepaid_refund")

WAGE_ARREARS = "拖欠工资"
PREPAID_REFUND = "预付费退费"
FUNDRAISING = ("非法集资", "理财兑付")
# Complaints in the last 90 days against the quarterly average of the 275 days before.
RECENT_DAYS, YEAR_DAYS = 90, 365

BY_CATEGORY = Evidence(COMPLAINTS, mode="summary", group_by="category")
BY_CATEGORY_YEAR = Evidence(COMPLAINTS, mode="summary", group_by="category", window_days=YEAR_DAYS)
DISPUTES = Evidence(FINANCIAL_DISPUTES, ("category", "dispute_amount"))
REFUNDS = Evidence(PREPAID_REFUNDS, ("refund_amount", "students_affected"))


def _hotline(category: str) -> Evidence:
    return Evidence(
        HOTLINE, mode="summary", group_by="category", where=pl.col("category") == category
    )


COUNT = windowed(
    "complaint_count",
    (days(RECENT_DAYS), days(180), days(YEAR_DAYS)),
    FAMILY_NAME,
    [COMPLAINTS],
    Unit.count,
    UP,
    ("近{w}天各类投诉总数", "Complaints of every kind in the last {w} days"),
    ("近{w}天收到投诉 {value} 件", "{value} [complaint|complaints] in the last {w} days"),
    evidence=[BY_CATEGORY],
)
WAGE_ARREARS_COUNT = windowed(
    "complaint_wage_arrears_count",
    (days(90), days(365)),
    FAMILY_NAME,
    [HOTLINE, WAGE_COMPLAINTS],
    Unit.count,
    UP,
    (
        "近{w}天拖欠工资投诉数（12345与欠薪投诉合计）",
        "Wage-arrears complaints in the last {w} days (12345 and wage-arrears cases)",
    ),
    (
        "近{w}天拖欠工资投诉 {value} 件",
        "{value} wage-arrears [complaint|complaints] in the last {w} days",
    ),
    evidence=[
        _hotline(WAGE_ARREARS),
        Evidence(WAGE_COMPLAINTS, ("workers_involved", "wages_owed")),
    ],
)
PREPAID_REFUND_COUNT = windowed(
    "complaint_prepaid_refund_count",
    (days(90), days(365)),
    FAMILY_NAME,
    [HOTLINE, PREPAID_REFUNDS],
    Unit.count,
    UP,
    (
        "近{w}天预付费退费投诉数（12345与退费投诉合计）",
        "Prepaid-fee refund complaints in the last {w} days (12345 and refund cases)",
    ),
    (
        "近{w}天预付费退费投诉 {value} 件",
        "{value} prepaid-fee refund [complaint|complaints] in the last {w} days",
    ),
    evidence=[_hotline(PREPAID_REFUND), REFUNDS],
)
GROWTH = feature(
    f"complaint_growth_{days(RECENT_DAYS)}",
    FAMILY_NAME,
    [COMPLAINTS],
    Unit.multiple,
    UP,
    (
        f"近{RECENT_DAYS}天投诉数与此前{YEAR_DAYS - RECENT_DAYS}天季度均值之比（分子分母各加1）",
        f"Complaints in the last {RECENT_DAYS} days over the quarterly average of the "
        f"{YEAR_DAYS - RECENT_DAYS} days before (both plus one)",
    ),
    (
        f"近{RECENT_DAYS}天投诉量为此前季度均值的 {{value}} 倍",
        f"complaints in the last {RECENT_DAYS} days at {{value}} times the firm's earlier "
        "quarterly average",
    ),
    window=days(RECENT_DAYS),
    evidence=[BY_CATEGORY_YEAR],
)
VS_SECTOR = feature(
    "complaint_vs_sector_365d",
    FAMILY_NAME,
    [COMPLAINTS, MASTER],
    Unit.count_change,
    UP,
    (
        "近365天投诉数减去同行业在营企业的中位数",
        "Complaints in the last 365 days minus the median of active firms in the sector",
    ),
    (
        "近365天投诉比同行业中位数多 {value} 件",
        "{value} more [complaint|complaints] in the last 365 days than the sector median",
    ),
    window=days(YEAR_DAYS),
    evidence=[BY_CATEGORY_YEAR],
)
DISPUTE_COUNT = windowed(
    "financial_dispute_count",
    (days(90), days(365)),
    FAMILY_NAME,
    [FINANCIAL_DISPUTES],
    Unit.count,
    UP,
    ("近{w}天金融纠纷投诉数", "Financial-dispute complaints in the last {w} days"),
    (
        "近{w}天金融纠纷投诉 {value} 件",
        "{value} financial-dispute [complaint|complaints] in the last {w} days",
    ),
    evidence=[DISPUTES],
)
DISPUTE_AMOUNT = feature(
    "financial_dispute_amount_365d",
    FAMILY_NAME,
    [FINANCIAL_DISPUTES],
    Unit.cny,
    UP,
    ("近365天金融纠纷涉及金额", "Amount in financial disputes in the last 365 days"),
    ("近365天金融纠纷涉及金额 {value}", "{value} in financial disputes in the last 365 days"),
    window=days(365),
    evidence=[DISPUTES],
)
FUNDRAISING_COUNT = feature(
    "financial_dispute_fundraising_count_365d",
    FAMILY_NAME,
    [FINANCIAL_DISPUTES],
    Unit.count,
    UP,
    (
        "近365天非法集资、理财兑付类投诉数",
        "Illegal-fundraising and wealth-product redemption complaints in the last 365 days",
    ),
    (
        "近365天非法集资或理财兑付投诉 {value} 件",
        "{value} illegal-fundraising or redemption [complaint|complaints] in the last 365 days",
    ),
    window=days(365),
    evidence=[
        Evidence(FINANCIAL_DISPUTES, ("category", "dispute_amount"), is_in("category", FUNDRAISING))
    ],
)
REFUND_AMOUNT = feature(
    "prepaid_refund_amount_365d",
    FAMILY_NAME,
    [PREPAID_REFUNDS],
    Unit.cny,
    UP,
    (
        "近365天预付费退费投诉涉及金额",
        "Refunds claimed in prepaid-fee complaints in the last 365 days",
    ),
    (
        "近365天预付费退费投诉涉及金额 {value}",
        "{value} claimed in prepaid-fee refund complaints in the last 365 days",
    ),
    window=days(365),
    evidence=[REFUNDS],
)
REFUND_STUDENTS = feature(
    "prepaid_refund_students_365d",
    FAMILY_NAME,
    [PREPAID_REFUNDS],
    Unit.persons,
    UP,
    (
        "近365天预付费退费投诉涉及学员数",
        "Students affected by prepaid-fee refund complaints in the last 365 days",
    ),
    (
        "近365天退费投诉涉及学员 {value} 人",
        "{value} [student|students] affected by refund complaints in the last 365 days",
    ),
    window=days(365),
    evidence=[REFUNDS],
)


def complaints(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Counts and growth; the sector comparison is a peer feature, computed on the whole table
    (``Family.peers``)."""
    category = pl.col("category")
    parts = [
        Measures(COMPLAINTS, {"complaint": pl.lit(1)}),
        Measures(
            HOTLINE,
            {
                "wage_arrears": category == WAGE_ARREARS,
                "prepaid_refund": category == PREPAID_REFUND,
            },
            columns=("category",),
        ),
        Measures(WAGE_COMPLAINTS, {"wage_arrears": pl.lit(1)}),
        Measures(
            PREPAID_REFUNDS,
            {
                "prepaid_refund": pl.lit(1),
                "refund_amount": pl.col("refund_amount"),
                "students": pl.col("students_affected"),
            },
            columns=("refund_amount", "students_affected"),
        ),
        Measures(
            FINANCIAL_DISPUTES,
            {
                "dispute": pl.lit(1),
                "dispute_amount": pl.col("dispute_amount"),
                "fundraising": category.is_in(list(FUNDRAISING)),
            },
            columns=("category", "dispute_amount"),
        ),
    ]
    sums = event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns(COUNT, "complaint"),
            **event_columns(WAGE_ARREARS_COUNT, "wage_arrears"),
            **event_columns(PREPAID_REFUND_COUNT, "prepaid_refund"),
            **event_columns(DISPUTE_COUNT, "dispute"),
            **event_columns([DISPUTE_AMOUNT], "dispute_amount"),
            **event_columns([FUNDRAISING_COUNT], "fundraising"),
            **event_columns([REFUND_AMOUNT], "refund_amount"),
            **event_columns([REFUND_STUDENTS], "students"),
        },
    )
    if sums is None:
        return None
    recent, year = pl.col(COUNT[0].name), pl.col(COUNT[-1].name)
    earlier = year - recent
    # A multiplication by a constant rounds the same way on every code path (a division by
    # one may go through its reciprocal or not).
    quarterly_before = earlier * (RECENT_DAYS / (YEAR_DAYS - RECENT_DAYS))
    return sums.with_columns(((recent + 1.0) / (quarterly_before + 1.0)).alias(GROWTH.name))


SPECS = (
    *COUNT,
    *WAGE_ARREARS_COUNT,
    *PREPAID_REFUND_COUNT,
    GROWTH,
    VS_SECTOR,
    *DISPUTE_COUNT,
    DISPUTE_AMOUNT,
    FUNDRAISING_COUNT,
    REFUND_AMOUNT,
    REFUND_STUDENTS,
)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(Step(complaints, names(tuple(s for s in SPECS if s is not VS_SECTOR))),),
    peers={VS_SECTOR.name: peer_gap(pl.col(COUNT[-1].name))},
)
