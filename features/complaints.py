"""Complaints: the 12345 hotline by category, financial disputes and prepaid-fee refund cases.

Totals count every ``complaint_*`` source. Growth compares the firm with its own past; the
comparison with sector peers is made once the whole table is assembled (see ``peers``).
"""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums, windows
from features.registry import (
    COMPLAINTS,
    FINANCIAL_DISPUTES,
    HOTLINE,
    PREPAID_REFUNDS,
    WAGE_COMPLAINTS,
)
from features.source_set import SourceSet

WAGE_ARREARS = "拖欠工资"
PREPAID_REFUND = "预付费退费"
FUNDRAISING = ("非法集资", "理财兑付")
# Complaints in the last 90 days against the quarterly average of the 275 days before.
RECENT_DAYS, YEAR_DAYS = 90, 365


def complaints(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
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
            **windows("complaint_count", "complaint", (90, 180, 365)),
            **windows("complaint_wage_arrears_count", "wage_arrears", (90, 365)),
            **windows("complaint_prepaid_refund_count", "prepaid_refund", (90, 365)),
            **windows("financial_dispute_count", "dispute", (90, 365)),
            **windows("financial_dispute_amount", "dispute_amount", (365,)),
            **windows("financial_dispute_fundraising_count", "fundraising", (365,)),
            **windows("prepaid_refund_amount", "refund_amount", (365,)),
            **windows("prepaid_refund_students", "students", (365,)),
        },
    )
    if sums is None:
        return None
    recent = pl.col(f"complaint_count_{RECENT_DAYS}d")
    earlier = pl.col(f"complaint_count_{YEAR_DAYS}d") - recent
    # A multiplication by a constant rounds the same way on every code path (a division by
    # one may go through its reciprocal or not).
    quarterly_before = earlier * (RECENT_DAYS / (YEAR_DAYS - RECENT_DAYS))
    return sums.with_columns(
        ((recent + 1.0) / (quarterly_before + 1.0)).alias("complaint_growth_90d")
    )
