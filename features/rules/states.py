"""States at the as-of date that lapse and scope rules read: licences held or lapsed, and the
registration status.

A licence's status at T is its row with the latest arrival among the rows usable at T (a status
change is delivered as a new row of the same licence). It is *held* while that status is 有效 and
its validity has not ended; it has *lapsed* when its validity ended (``valid_to`` before T) or it
is marked 过期, unless the authority ended it (注销/吊销: a formal end, not a lapse). A lapse counts
only while no licence of the same source is held (a renewal cures it). It began the day after
``valid_to``, or the day the 过期 row arrived if that is earlier.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from data_contracts.rules import MASTER
from features.point_in_time import AS_OF, GRID_ROW, USCC, valid_rows
from features.rules.examined import PERIOD_KEY
from features.source_set import SourceFamily, SourceSet

VALID = "有效"
EXPIRED = "过期"
ENDED = ("注销", "吊销")
SOURCE = "_licence_source"
SINCE = "_since"
HELD = "_held"
LAPSED = "_lapsed"
STATUS = "_status"
VALID_TO = "_valid_to_day"
STATE_ARRIVED = "_state_arrived"
STATE_TEXT = "_state_text"


def licence_key(source: pl.Expr, licence_no: pl.Expr) -> pl.Expr:
    """A licence as an anomaly's period key: ``<source>/<licence no>``."""
    return pl.concat_str(source, pl.lit("/"), licence_no)


def licence_states(
    licences: Sequence[str], grid: pl.LazyFrame, sources: SourceSet
) -> pl.LazyFrame | None:
    """Every licence of ``licences`` known at each grid row's T: GRID_ROW, USCC, AS_OF,
    ``_licence_source``, licence_no, ``_status``, ``_valid_to_day``, ``_held``, ``_lapsed``
    (lapsed and no licence of its source held), ``_since`` (when the lapse began) and
    ``_state_arrived`` (arrival of the winning row); None when no source is present."""
    family = SourceFamily(ids=tuple(licences))
    members = sources.family(family)
    if not members:
        return None
    arrival = sources.timing(members[0]).arrival_time
    rows = sources.family_versions(
        family, ["licence_no", "valid_to", "status", arrival], source_column=SOURCE
    )
    assert rows is not None
    by_arrival = [arrival, "status"]
    at_t = (
        valid_rows(rows, grid.select(GRID_ROW, USCC, AS_OF))
        .group_by(GRID_ROW, USCC, AS_OF, SOURCE, "licence_no")
        .agg(
            pl.col("status").sort_by(by_arrival).last().alias(STATUS),
            pl.col("valid_to").sort_by(by_arrival).last().cast(pl.Date).alias(VALID_TO),
            pl.col(arrival).sort_by(by_arrival).last().alias(STATE_ARRIVED),
        )
    )
    status, valid_to, as_of = pl.col(STATUS), pl.col(VALID_TO), pl.col(AS_OF)
    held = (status == VALID) & (valid_to >= as_of)
    ran_out = ((valid_to < as_of) | (status == EXPIRED)) & ~status.is_in(list(ENDED))
    expiry = valid_to + pl.duration(days=1)
    marked = pl.when(status == EXPIRED).then(pl.col(STATE_ARRIVED).cast(pl.Date))
    return at_t.with_columns(
        held.fill_null(False).alias(HELD),
        ran_out.fill_null(False).alias("_ran_out"),
        pl.min_horizontal(pl.when(valid_to < as_of).then(expiry), marked).alias(SINCE),
    ).with_columns((pl.col("_ran_out") & ~pl.col(HELD).any().over(GRID_ROW, SOURCE)).alias(LAPSED))


def registration_states(
    statuses: Sequence[str], grid: pl.LazyFrame, sources: SourceSet
) -> pl.LazyFrame:
    """Grid rows whose registration status at T is one of ``statuses``: GRID_ROW, ``_status``,
    ``_since`` (the first snapshot usable at T showing one of them) and ``_state_arrived``."""
    snapshot = sources.timing(MASTER).event_time
    arrival = sources.timing(MASTER).arrival_time
    ended = sources.versions(MASTER, [snapshot, "status", arrival]).filter(
        pl.col("status").is_in(list(statuses))
    )
    in_state = grid.filter(pl.col("status").is_in(list(statuses))).select(GRID_ROW, USCC, AS_OF)
    return (
        valid_rows(ended, in_state)
        .group_by(GRID_ROW)
        .agg(
            pl.col(snapshot).min().cast(pl.Date).alias(SINCE),
            pl.col(arrival).min().alias(STATE_ARRIVED),
        )
        .join(grid.select(GRID_ROW, pl.col("status").alias(STATUS)), on=GRID_ROW)
        .with_columns(pl.concat_str(pl.lit("status/"), pl.col(STATUS)).alias(PERIOD_KEY))
    )
