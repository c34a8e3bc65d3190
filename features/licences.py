"""Licences (every ``licence_*`` source): licence types that lapsed while the firm still
operates.

A licence's status at T is its row with the latest arrival among the rows usable at T (the
source delivers a new row when the status changes). A type counts when the firm holds a licence
of it that ran out (``valid_to`` before T, or marked 过期) and no licence of that type still
valid at T. Licences cancelled or revoked by the authority (注销/吊销) are formal ends, not lapses.
"""

from __future__ import annotations

import polars as pl

from features.point_in_time import AS_OF, GRID_ROW, valid_rows
from features.registry import LICENCES
from features.source_set import SourceSet

VALID = "有效"
EXPIRED = "过期"
ENDED = ("注销", "吊销")


def licences(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(LICENCES)
    if not members:
        return None
    arrival = sources.timing(members[0]).arrival_time
    held = sources.family_versions(
        LICENCES, ["licence_no", "valid_to", "status", arrival], source_column="_type"
    )
    if held is None:
        return None
    status_at_t = (
        valid_rows(held, grid)
        .group_by(GRID_ROW, AS_OF, "_type", "licence_no")
        .agg(
            pl.col("status").sort_by(arrival, "status").last(),
            pl.col("valid_to").sort_by(arrival, "status").last().cast(pl.Date),
        )
    )
    current = (pl.col("status") == VALID) & (pl.col("valid_to") >= pl.col(AS_OF))
    lapsed = ((pl.col("valid_to") < pl.col(AS_OF)) | (pl.col("status") == EXPIRED)) & ~pl.col(
        "status"
    ).is_in(list(ENDED))
    per_type = status_at_t.group_by(GRID_ROW, "_type").agg(
        current.any().alias("_current"), lapsed.any().alias("_lapsed")
    )
    expired_types = per_type.group_by(GRID_ROW).agg(
        (pl.col("_lapsed") & ~pl.col("_current"))
        .sum()
        .cast(pl.Float64)
        .alias("licence_expired_count")
    )
    return (
        grid.select(GRID_ROW)
        .join(expired_types, on=GRID_ROW, how="left")
        .with_columns(pl.col("licence_expired_count").fill_null(0.0))
    )
