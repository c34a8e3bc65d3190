"""Firms dealt into shards by a hash of their code, and a sharded feature table put together.

A firm's shard is the CRC-32 of its uscc (UTF-8) modulo the shard count: stable across
processes, machines and library versions (polars' own hash is not), so a firm stays in its
shard from week to week and any worker computes the same split.

Each shard's table is built with ``build_feature_table(..., firms=shard, peers=False)``;
``gather_shards`` stacks them in the single build's order (as_of, then uscc) and computes the
peer features over every firm, so the result equals the build over every firm, byte for byte.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import polars as pl

from features.build import with_peers
from features.point_in_time import AS_OF, USCC

SHARD = "_shard"


def shard_numbers(uscc: pl.Series, shards: int) -> pl.Series:
    """Each code's shard, 0..shards-1."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, not {shards}")
    numbers = [zlib.crc32(code.encode("utf-8")) % shards for code in uscc.to_list()]
    return pl.Series(SHARD, numbers, dtype=pl.UInt32)


def deal(firms: pl.Series, shards: int) -> list[pl.DataFrame]:
    """The distinct codes of ``firms`` by shard: one ``uscc`` frame per shard, sorted."""
    codes = firms.drop_nulls().unique().sort().rename(USCC)
    dealt = codes.to_frame().with_columns(shard_numbers(codes, shards))
    return [dealt.filter(pl.col(SHARD) == number).select(USCC) for number in range(shards)]


def gather_shards(parts: Sequence[pl.DataFrame | pl.LazyFrame]) -> pl.DataFrame:
    """The shards' tables (built with ``peers=False``) as one table: rows in the order of a
    build over every firm, the peer features computed over all of them."""
    if not parts:
        raise ValueError("no shard to gather")
    stacked = pl.concat([part.lazy() for part in parts], how="vertical")
    return with_peers(stacked.sort(AS_OF, USCC)).collect().rechunk()
