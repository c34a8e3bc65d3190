"""Linked firms: how many, and how many were deregistered or revoked.

Two groups of links are counted apart: the legal representative's other firms
(``reg_legal_rep_other_firms``), and the firms related through an actual controller, a common
shareholder or a guarantee (every ``related_*`` source; a firm linked in several ways counts
once). Each source has one row per linked firm and status (a status change is a new row with the
date it took effect), so a linked firm's status at T is that of its row with the latest status
date among the rows usable at T.
"""

from __future__ import annotations

import polars as pl

from features.family import NONE, UP, Evidence, Family, Step, Unit, days, feature, is_in, names
from features.panel import ratio
from features.point_in_time import AS_OF, EVENT_DATE, GRID_ROW, valid_rows
from features.source_set import SourceFamily, SourceSet, one, prefixed

FAMILY_NAME = "linked_firms"
LINKED_FIRMS = one("reg_legal_rep_other_firms")
RELATED_FIRMS = prefixed("related_")
CLOSED = ("注销", "吊销")
RECENT_DAYS = 365
CLOSED_FIRMS = Evidence(
    LINKED_FIRMS, ("linked_name", "linked_uscc", "linked_status"), is_in("linked_status", CLOSED)
)

COUNT = feature(
    "linked_firms_count",
    FAMILY_NAME,
    [LINKED_FIRMS],
    Unit.count,
    NONE,
    ("法定代表人担任法定代表人的其他企业数", "Other firms of the legal representative"),
    ("法定代表人另有 {value} 家关联企业", "legal representative heads {value} other [firm|firms]"),
    evidence=[Evidence(LINKED_FIRMS, ("linked_name", "link_role", "linked_status"))],
)
CLOSED_COUNT = feature(
    "linked_firms_closed_count",
    FAMILY_NAME,
    [LINKED_FIRMS],
    Unit.count,
    UP,
    (
        "法定代表人关联企业中已注销或吊销的数量",
        "Legal representative's other firms deregistered or revoked",
    ),
    (
        "法定代表人关联企业中 {value} 家已注销或吊销",
        "{value} of the legal representative's other firms deregistered or revoked",
    ),
    evidence=[CLOSED_FIRMS],
)
CLOSED_SHARE = feature(
    "linked_firms_closed_share",
    FAMILY_NAME,
    [LINKED_FIRMS],
    Unit.ratio,
    UP,
    (
        "法定代表人关联企业中已注销或吊销的比例",
        "Share of the legal representative's other firms deregistered or revoked",
    ),
    (
        "法定代表人关联企业中 {value} 已注销或吊销",
        "{value} of the legal representative's other firms deregistered or revoked",
    ),
    evidence=[CLOSED_FIRMS],
)
CLOSED_RECENTLY = feature(
    f"linked_firms_closed_{days(RECENT_DAYS)}",
    FAMILY_NAME,
    [LINKED_FIRMS],
    Unit.count,
    UP,
    (
        f"近{RECENT_DAYS}天注销或吊销的法定代表人关联企业数",
        f"Legal representative's other firms deregistered or revoked in the last {RECENT_DAYS} "
        "days",
    ),
    (
        f"法定代表人关联企业近{RECENT_DAYS}天有 {{value}} 家注销或吊销",
        f"{{value}} of the legal representative's other firms closed in the last {RECENT_DAYS} "
        "days",
    ),
    window=days(RECENT_DAYS),
    evidence=[CLOSED_FIRMS],
)


RELATED_SHOWN = ("linked_name", "link_role", "linked_status")
RELATED_COUNT = feature(
    "related_firms_count",
    FAMILY_NAME,
    [RELATED_FIRMS],
    Unit.count,
    NONE,
    (
        "通过实际控制人、共同股东或担保关联的企业数",
        "Firms related through an actual controller, a common shareholder or a guarantee",
    ),
    (
        "通过控制人、股东或担保关联 {value} 家企业",
        "{value} [firm|firms] related through a controller, shareholder or guarantee",
    ),
    evidence=[Evidence(RELATED_FIRMS, RELATED_SHOWN)],
)
RELATED_CLOSED_RECENTLY = feature(
    f"related_firms_closed_{days(RECENT_DAYS)}",
    FAMILY_NAME,
    [RELATED_FIRMS],
    Unit.count,
    UP,
    (
        f"近{RECENT_DAYS}天注销或吊销的控制人、股东或担保关联企业数",
        f"Firms related through a controller, shareholder or guarantee closed in the last "
        f"{RECENT_DAYS} days",
    ),
    (
        f"控制人、股东或担保关联企业近{RECENT_DAYS}天有 {{value}} 家注销或吊销",
        f"{{value}} [firm|firms] related through a controller, shareholder or guarantee closed "
        f"in the last {RECENT_DAYS} days",
    ),
    window=days(RECENT_DAYS),
    evidence=[Evidence(RELATED_FIRMS, RELATED_SHOWN, is_in("linked_status", CLOSED))],
)
RELATED_CLOSED_SHARE = feature(
    "related_firms_closed_share",
    FAMILY_NAME,
    [RELATED_FIRMS],
    Unit.ratio,
    UP,
    (
        "控制人、股东或担保关联企业中已注销或吊销的比例",
        "Share of the firms related through a controller, shareholder or guarantee that closed",
    ),
    (
        "控制人、股东或担保关联企业中 {value} 已注销或吊销",
        "{value} of the firms related through a controller, shareholder or guarantee closed",
    ),
    evidence=[Evidence(RELATED_FIRMS, RELATED_SHOWN, is_in("linked_status", CLOSED))],
)


def _status_counts(
    grid: pl.LazyFrame, sources: SourceSet, family: SourceFamily
) -> pl.LazyFrame | None:
    """Per grid row: linked firms known at T (``_count``), closed (``_closed``) and closed in
    the last year (``_closed_recently``); a firm linked through several sources counts once."""
    held = sources.family_versions(family, ["linked_uscc", "linked_status"])
    if held is None:
        return None
    status_at_t = (
        valid_rows(held, grid)
        .group_by(GRID_ROW, AS_OF, "linked_uscc")
        .agg(
            pl.col("linked_status").sort_by(EVENT_DATE, "linked_status").last(),
            pl.col(EVENT_DATE).max(),
        )
    )
    closed = pl.col("linked_status").is_in(list(CLOSED))
    recent = pl.col(AS_OF) - pl.col(EVENT_DATE) < pl.duration(days=RECENT_DAYS)
    counts = status_at_t.group_by(GRID_ROW).agg(
        pl.len().cast(pl.Float64).alias("_count"),
        closed.sum().cast(pl.Float64).alias("_closed"),
        (closed & recent).sum().cast(pl.Float64).alias("_closed_recently"),
    )
    return (
        grid.select(GRID_ROW)
        .join(counts, on=GRID_ROW, how="left")
        .with_columns(pl.col("_count", "_closed", "_closed_recently").fill_null(0.0))
        .with_columns(ratio(pl.col("_closed"), pl.col("_count")).alias("_closed_share"))
    )


def linked_firms(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    counts = _status_counts(grid, sources, LINKED_FIRMS)
    if counts is None:
        return None
    return counts.select(
        GRID_ROW,
        pl.col("_count").alias(COUNT.name),
        pl.col("_closed").alias(CLOSED_COUNT.name),
        pl.col("_closed_share").alias(CLOSED_SHARE.name),
        pl.col("_closed_recently").alias(CLOSED_RECENTLY.name),
    )


def related_firms(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    counts = _status_counts(grid, sources, RELATED_FIRMS)
    if counts is None:
        return None
    return counts.select(
        GRID_ROW,
        pl.col("_count").alias(RELATED_COUNT.name),
        pl.col("_closed_recently").alias(RELATED_CLOSED_RECENTLY.name),
        pl.col("_closed_share").alias(RELATED_CLOSED_SHARE.name),
    )


LEGAL_REP_SPECS = (COUNT, CLOSED_COUNT, CLOSED_SHARE, CLOSED_RECENTLY)
RELATED_SPECS = (RELATED_COUNT, RELATED_CLOSED_RECENTLY, RELATED_CLOSED_SHARE)
SPECS = (*LEGAL_REP_SPECS, *RELATED_SPECS)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(
        Step(linked_firms, names(LEGAL_REP_SPECS)),
        Step(related_firms, names(RELATED_SPECS)),
    ),
)
