"""Licences lost: the firm's administrative licences (school running, food business, hazardous
chemicals, ...) that expired, were cancelled or were revoked, counted when the news arrived.

Every licence source delivers one row per licence and re-delivers it with its new status when
the status changes; the new row keeps the licence's issue date as its event time, so these
counts are dated by arrival (``Measures.dated_by_arrival``): a licence issued four years ago and
revoked last month counts for last month. A firm holding no licence gets zeros once any licence
source is present (no licence, nothing lost); with none present, unknown.
"""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import UP, Evidence, Family, Step, Unit, days, event_columns, feature, names
from features.rules.states import ENDED, EXPIRED
from features.source_set import SourceSet, prefixed

FAMILY_NAME = "licences"
LICENCES = prefixed("licence_")
REVOKED = "吊销"
LOST = (EXPIRED, *ENDED)
YEAR = days(365)
TWO_YEARS = days(730)
SHOWN = ("licence_no", "status", "valid_to")


def _lost_evidence(statuses: tuple[str, ...]) -> Evidence:
    return Evidence(LICENCES, SHOWN, pl.col("status").is_in(list(statuses)), dated_by_arrival=True)


LOST_COUNT = feature(
    f"licences_lost_count_{YEAR}",
    FAMILY_NAME,
    [LICENCES],
    Unit.count,
    UP,
    (
        "近365天许可证过期、注销或吊销的记录数",
        "Licences expired, cancelled or revoked, as reported in the last 365 days",
    ),
    (
        "近365天有 {value} 张许可证过期、注销或吊销",
        "{value} [licence|licences] expired, cancelled or revoked in the last 365 days",
    ),
    window=YEAR,
    evidence=[_lost_evidence(LOST)],
)
REVOKED_COUNT = feature(
    f"licences_revoked_count_{TWO_YEARS}",
    FAMILY_NAME,
    [LICENCES],
    Unit.count,
    UP,
    ("近730天被吊销的许可证数", "Licences revoked, as reported in the last 730 days"),
    (
        "近730天有 {value} 张许可证被吊销",
        "{value} [licence|licences] revoked in the last 730 days",
    ),
    window=TWO_YEARS,
    evidence=[_lost_evidence((REVOKED,))],
)


def licences_lost(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    status = pl.col("status")
    part = Measures(
        LICENCES,
        {"lost": status.is_in(list(LOST)), "revoked": status == REVOKED},
        columns=("status",),
        dated_by_arrival=True,
    )
    return event_window_sums(
        grid,
        sources,
        [part],
        {**event_columns([LOST_COUNT], "lost"), **event_columns([REVOKED_COUNT], "revoked")},
    )


SPECS = (LOST_COUNT, REVOKED_COUNT)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(licences_lost, names(SPECS)),))
