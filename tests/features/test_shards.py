"""A feature table built shard by shard of firms and gathered equals the build over every firm:
the peer features (sector medians at each date) are computed over the gathered shards."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from features.build import PEERS, build_feature_table, with_peers
from features.profile import OUTCOMES
from features.registry import SPECS
from features.shards import deal, gather_shards
from tests.features.random_lake import START, random_day, random_lake, to_frames

SOURCES = sorted({s for spec in SPECS for s in spec.sources} | {OUTCOMES})
FIRMS = [f"91320594MA{i:07d}X" for i in range(12)]


def shard_tables(frames, dates, shards):
    return [
        build_feature_table(frames, dates, firms=firms, peers=False).collect()
        for firms in deal(pl.Series(FIRMS), shards)
    ]


@settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), shards=st.integers(2, 5))
def test_gathered_shards_equal_the_build_over_every_firm(seed, shards):
    rng = np.random.default_rng(seed)
    frames = to_frames(random_lake(SOURCES, rng, FIRMS))
    as_of = random_day(rng, START + timedelta(days=200))
    dates = [as_of - timedelta(days=91), as_of]
    parts = shard_tables(frames, dates, shards)
    for part in parts:  # a shard leaves the peer features to the gather
        assert part.select(pl.col(list(PEERS)).is_null().all()).row(0) == (True,) * len(PEERS)
    assert gather_shards(parts).equals(build_feature_table(frames, dates).collect())


def test_a_sector_split_over_shards_is_compared_with_the_whole_sector():
    """Firms of one sector in different shards: a shard alone would compare each with the
    median of its own few; gathered, each is compared with the whole sector's median."""
    rng = np.random.default_rng(5)
    frames = to_frames(random_lake(SOURCES, rng, FIRMS))
    as_of = random_day(rng, START + timedelta(days=200))
    whole = build_feature_table(frames, [as_of]).collect()
    parts = shard_tables(frames, [as_of], 3)
    sectors = [set(p["sector"].drop_nulls()) for p in parts]
    assert any(a & b for i, a in enumerate(sectors) for b in sectors[i + 1 :])
    assert whole["complaint_vs_sector_365d"].drop_nulls().abs().sum() > 0
    alone = pl.concat([with_peers(p.lazy()).collect() for p in parts]).sort("as_of", "uscc")
    assert not alone.equals(whole)  # peers per shard would be wrong
    assert gather_shards(parts).equals(whole)
