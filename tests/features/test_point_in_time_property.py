"""The point-in-time property: rows an as-of date T cannot see never change a feature at T.

For a random lake over every source the registry reads, replacing every row whose event time or
arrival is after T (and adding revisions of visible rows that arrive after T) leaves the feature
table at T and at a date before T unchanged, value for value.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.build import build_feature_table
from features.profile import OUTCOMES
from features.registry import SPECS
from tests.features.random_lake import (
    START,
    future_rows,
    is_usable,
    random_day,
    random_lake,
    to_frames,
)

SOURCES = sorted({s for spec in SPECS for s in spec.sources} | {OUTCOMES})
FIRMS = [f"91320594MA{i:07d}X" for i in range(4)]


# The data come from a seed, so shrinking has nothing meaningful to shrink: report the seed.
@settings(
    max_examples=10,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@pytest.mark.slow
@given(seed=st.integers(0, 2**32 - 1), changed_share=st.floats(0.2, 1.0))
def test_rows_not_usable_at_t_never_change_features_at_t(seed, changed_share):
    rng = np.random.default_rng(seed)
    lake = random_lake(SOURCES, rng, FIRMS)
    as_of = random_day(rng, START + timedelta(days=200))
    dates = [as_of - timedelta(days=45), as_of]
    changed = {}
    for source_id, rows in lake.items():
        past = [r for r in rows if is_usable(source_id, r, as_of)]
        if rng.random() < changed_share:
            changed[source_id] = past + future_rows(
                source_id, rng, FIRMS, as_of, past, int(rng.integers(1, 5))
            )
        else:
            changed[source_id] = rows
    before = build_feature_table(to_frames(lake), dates).collect()
    # Every firm may have failed (a distress event) before T: nothing to compare, draw again.
    assume(before.height > 0)
    after = build_feature_table(to_frames(changed), dates).collect()
    assert_frame_equal(before, after, check_exact=True)


@pytest.mark.slow
@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_table_of_some_sectors_is_the_full_table_cut_to_them(seed):
    """Building for a few sectors (the training history) narrows the sources to their firms;
    every value must stay what the full table says, peers included (they are per sector)."""
    rng = np.random.default_rng(seed)
    lake = to_frames(random_lake(SOURCES, rng, FIRMS))
    as_of = random_day(rng, START + timedelta(days=200))
    sectors = ["制造业", "金融"]
    full = build_feature_table(lake, [as_of]).collect()
    some = build_feature_table(lake, [as_of], sectors=sectors).collect()
    assert_frame_equal(some, full.filter(pl.col("sector").is_in(sectors)), check_exact=True)
