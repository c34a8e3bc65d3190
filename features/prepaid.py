"""Prepaid-fee supervision (training schools and the like): escrow shortfall and coverage, how
fast prepaid money comes in, the lessons it delivers against it, the refunds the firm paid and
changes to its escrow account."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    DOWN,
    NONE,
    UP,
    Evidence,
    Family,
    Step,
    Unit,
    days,
    event_columns,
    feature,
    months,
    names,
    windowed,
)
from features.panel import (
    LATEST,
    at,
    change,
    lag_mean,
    lag_sum,
    monthly_panel,
    ratio,
    summarise,
)
from features.source_set import SourceSet, one

FAMILY_NAME = "prepaid_fees"
PREPAID_SUPERVISION = one("prepaid_fee_supervision")
REFUNDS = one("prepaid_fee_refunds")
ESCROW_ACCOUNT = one("prepaid_fee_escrow_account")
CONSUMPTION = one("prepaid_fee_consumption")
YEAR = days(365)
# Refunds the firm could not choose: its classes stopped, or a complaint forced them.
FORCED_REFUND_REASONS = ("机构停课", "投诉后退费")
FROM_ESCROW = "监管账户"
ACCOUNT_MOVED = ("变更监管银行", "销户")
REFUND_SHOWN = ("refund_amount", "students_refunded", "refund_reason", "refund_source")
WINDOW = months(3)
RECENT = range(WINDOW.length)
BEFORE = range(WINDOW.length, 2 * WINDOW.length)
REPORTED = ("prepaid_received", "escrow_required", "escrow_deposited", "escrow_shortfall")
RECENT_MONTHS = Evidence(PREPAID_SUPERVISION, REPORTED, mode="panel", lags=(*RECENT, *BEFORE))
DELIVERED = ("lessons_delivered", "consumed_amount", "active_students")
RECENT_DELIVERY = Evidence(CONSUMPTION, DELIVERED, mode="panel", lags=(*RECENT, *BEFORE))

SHORTFALL = feature(
    "prepaid_escrow_shortfall",
    FAMILY_NAME,
    [PREPAID_SUPERVISION],
    Unit.cny,
    UP,
    ("最近申报月预收费资金存管缺口", "Prepaid-fee escrow shortfall in the latest reported month"),
    ("预收费资金存管缺口 {value}", "prepaid-fee escrow short by {value}"),
    evidence=[RECENT_MONTHS],
)
COVERAGE = feature(
    "prepaid_escrow_coverage_3m",
    FAMILY_NAME,
    [PREPAID_SUPERVISION],
    Unit.ratio,
    DOWN,
    ("最近3个月预收费实存/应存", "Prepaid-fee escrow deposited / required over the last 3 months"),
    (
        "近3个月预收费仅存管应存的 {value}",
        "only {value} of required prepaid-fee escrow deposited in the last 3 months",
    ),
    window=WINDOW,
    evidence=[RECENT_MONTHS],
)
RECEIVED_TREND = feature(
    "prepaid_received_trend_3m",
    FAMILY_NAME,
    [PREPAID_SUPERVISION],
    Unit.signed_ratio,
    NONE,
    (
        "最近3个月预收费较此前3个月的变化",
        "Prepaid fees received over the last 3 months vs the 3 before",
    ),
    (
        "近3个月预收费较前3个月变化 {value}",
        "prepaid fees received {value} vs the previous 3 months",
    ),
    window=WINDOW,
    evidence=[RECENT_MONTHS],
)

# Means over the months reported, as for declared sales (features/tax.py): a month missing from
# one window reads as neither a drop nor a rise.
CONSUMED_TREND = feature(
    "prepaid_consumed_trend_3m",
    FAMILY_NAME,
    [CONSUMPTION],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均消课金额较此前3个月的变化",
        "Average monthly value of lessons delivered over the last 3 months vs the 3 before",
    ),
    (
        "近3个月消课金额较前3个月变化 {value}",
        "lessons delivered (by value) {value} vs the previous 3 months",
    ),
    window=WINDOW,
    evidence=[RECENT_DELIVERY],
)
STUDENTS_TREND = feature(
    "prepaid_students_trend_3m",
    FAMILY_NAME,
    [CONSUMPTION],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均上课学员数较此前3个月的变化",
        "Average monthly students attending over the last 3 months vs the 3 before",
    ),
    (
        "近3个月上课学员数较前3个月变化 {value}",
        "students attending {value} vs the previous 3 months",
    ),
    window=WINDOW,
    evidence=[RECENT_DELIVERY],
)


REFUND_COUNT = windowed(
    "prepaid_refunds_paid_count",
    (days(90), YEAR),
    FAMILY_NAME,
    [REFUNDS],
    Unit.count,
    UP,
    ("近{w}天预收费退费笔数", "Prepaid-fee refunds paid in the last {w} days"),
    (
        "近{w}天预收费退费 {value} 笔",
        "{value} prepaid-fee [refund|refunds] paid in the last {w} days",
    ),
    evidence=[Evidence(REFUNDS, REFUND_SHOWN)],
)
REFUND_AMOUNT = feature(
    f"prepaid_refunds_paid_amount_{YEAR}",
    FAMILY_NAME,
    [REFUNDS],
    Unit.cny,
    UP,
    ("近365天预收费退费金额", "Prepaid fees refunded in the last 365 days"),
    ("近365天预收费退费 {value}", "{value} of prepaid fees refunded in the last 365 days"),
    window=YEAR,
    evidence=[Evidence(REFUNDS, REFUND_SHOWN)],
)
FORCED_REFUNDS = feature(
    f"prepaid_refunds_forced_count_{YEAR}",
    FAMILY_NAME,
    [REFUNDS],
    Unit.count,
    UP,
    (
        "近365天因停课或投诉发生的预收费退费笔数",
        "Prepaid-fee refunds for stopped classes or after a complaint in the last 365 days",
    ),
    (
        "近365天因停课或投诉退费 {value} 笔",
        "{value} [refund|refunds] for stopped classes or after a complaint in the last 365 days",
    ),
    window=YEAR,
    evidence=[
        Evidence(REFUNDS, REFUND_SHOWN, pl.col("refund_reason").is_in(list(FORCED_REFUND_REASONS)))
    ],
)
ESCROW_REFUNDS = feature(
    f"prepaid_refunds_from_escrow_count_{YEAR}",
    FAMILY_NAME,
    [REFUNDS],
    Unit.count,
    UP,
    (
        "近365天从监管账户支付的预收费退费笔数",
        "Prepaid-fee refunds paid from the escrow account in the last 365 days",
    ),
    (
        "近365天从监管账户退费 {value} 笔",
        "{value} [refund|refunds] paid from the escrow account in the last 365 days",
    ),
    window=YEAR,
    evidence=[Evidence(REFUNDS, REFUND_SHOWN, pl.col("refund_source") == FROM_ESCROW)],
)
ACCOUNT_CHANGES = feature(
    f"prepaid_escrow_account_moved_count_{YEAR}",
    FAMILY_NAME,
    [ESCROW_ACCOUNT],
    Unit.count,
    UP,
    (
        "近365天预收费监管账户变更银行或销户次数",
        "Prepaid-fee escrow accounts moved to another bank or closed in the last 365 days",
    ),
    (
        "近365天预收费监管账户变更或销户 {value} 次",
        "escrow account moved or closed {value} [time|times] in the last 365 days",
    ),
    window=YEAR,
    evidence=[
        Evidence(
            ESCROW_ACCOUNT,
            ("account_event", "custodian_bank"),
            pl.col("account_event").is_in(list(ACCOUNT_MOVED)),
        )
    ],
)


def prepaid_events(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(
            REFUNDS,
            {
                "refund": pl.lit(1),
                "refund_amount": pl.col("refund_amount"),
                "forced": pl.col("refund_reason").is_in(list(FORCED_REFUND_REASONS)),
                "from_escrow": pl.col("refund_source") == FROM_ESCROW,
            },
            columns=("refund_amount", "refund_reason", "refund_source"),
        ),
        Measures(
            ESCROW_ACCOUNT,
            {"account_moved": pl.col("account_event").is_in(list(ACCOUNT_MOVED))},
            columns=("account_event",),
        ),
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns(REFUND_COUNT, "refund"),
            **event_columns([REFUND_AMOUNT], "refund_amount"),
            **event_columns([FORCED_REFUNDS], "forced"),
            **event_columns([ESCROW_REFUNDS], "from_escrow"),
            **event_columns([ACCOUNT_CHANGES], "account_moved"),
        },
    )


def prepaid(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PREPAID_SUPERVISION)
    if not members:
        return None
    long = monthly_panel(sources, members, grid, list(REPORTED), (*RECENT, *BEFORE))
    return summarise(
        long,
        at("escrow_shortfall", 0).cast(pl.Float64).alias(SHORTFALL.name),
        ratio(lag_sum("escrow_deposited", RECENT), lag_sum("escrow_required", RECENT)).alias(
            COVERAGE.name
        ),
        change(lag_sum("prepaid_received", RECENT), lag_sum("prepaid_received", BEFORE)).alias(
            RECEIVED_TREND.name
        ),
    ).drop(LATEST)


def prepaid_consumption(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(CONSUMPTION)
    if not members:
        return None
    long = monthly_panel(
        sources, members, grid, ["consumed_amount", "active_students"], (*RECENT, *BEFORE)
    )
    return summarise(
        long,
        change(lag_mean("consumed_amount", RECENT), lag_mean("consumed_amount", BEFORE)).alias(
            CONSUMED_TREND.name
        ),
        change(lag_mean("active_students", RECENT), lag_mean("active_students", BEFORE)).alias(
            STUDENTS_TREND.name
        ),
    ).drop(LATEST)


SUPERVISION_SPECS = (SHORTFALL, COVERAGE, RECEIVED_TREND)
EVENT_SPECS = (*REFUND_COUNT, REFUND_AMOUNT, FORCED_REFUNDS, ESCROW_REFUNDS, ACCOUNT_CHANGES)
CONSUMPTION_SPECS = (CONSUMED_TREND, STUDENTS_TREND)
SPECS = (*SUPERVISION_SPECS, *CONSUMPTION_SPECS, *EVENT_SPECS)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(
        Step(prepaid, names(SUPERVISION_SPECS)),
        Step(prepaid_consumption, names(CONSUMPTION_SPECS)),
        Step(prepaid_events, names(EVENT_SPECS)),
    ),
)
