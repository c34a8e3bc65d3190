"""Licences (every ``licence_*`` source): licence types that lapsed while the firm still
operates. A type counts when the firm holds a licence of it that ran out (``valid_to`` before T,
or marked 过期) and no licence of that type still valid at T; licences cancelled or revoked by
the authority (注销/吊销) are formal ends, not lapses."""

from __future__ import annotations

import polars as pl

from features.point_in_time import AS_OF, USCC, valid_rows
from features.registry import LICENCES
from features.source_set import SourceSet

VALID = "有效"
EXPIRED = "过期"
ENDED = ("注销", "吊销")


def licences(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    held = sources.family_versions(LICENCES, ["valid_to", "status"], source_column="_type")
    if held is None:
        return None
    valid_to = pl.col("valid_to").cast(pl.Date)
    current = (pl.col("status") == VALID) & (valid_to >= pl.col(AS_OF))
    lapsed = ((valid_to < pl.col(AS_OF)) | (pl.col("status") == EXPIRED)) & ~pl.col("status").is_in(
        list(ENDED)
    )
    per_type = (
        valid_rows(held, grid)
        .group_by(USCC, AS_OF, "_type")
        .agg(current.any().alias("_current"), lapsed.any().alias("_lapsed"))
    )
    expired_types = per_type.group_by(USCC, AS_OF).agg(
        (pl.col("_lapsed") & ~pl.col("_current"))
        .sum()
        .cast(pl.Float64)
        .alias("licence_expired_count")
    )
    return (
        grid.select(USCC, AS_OF)
        .join(expired_types, on=[USCC, AS_OF], how="left")
        .with_columns(pl.col("licence_expired_count").fill_null(0.0))
    )
