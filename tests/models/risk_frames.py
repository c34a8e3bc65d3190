"""Small labelled frames for the risk-model tests: two monotone signals, one non-monotone."""

from __future__ import annotations

import numpy as np
import polars as pl

from models.train import TrainConfig

FEATURES = ("x_up", "x_down", "x_free")
# One thread: these fits are tiny, and a second thread only adds synchronisation.
FAST = TrainConfig(max_rounds=60, early_stopping_rounds=10, learning_rate=0.2, nthread=1)


def frame(seed: int, n: int = 600) -> pl.DataFrame:
    """``n`` rows: risk rises with x_up, falls with x_down, wiggles with x_free; 10 % missing."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    logit = -2.0 + 1.5 * x[:, 0] - 1.0 * x[:, 1] + 0.5 * np.sin(3 * x[:, 2])
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    x[rng.random((n, 3)) < 0.1] = np.nan
    return pl.DataFrame({**dict(zip(FEATURES, x.T, strict=True)), "label": label}).with_columns(
        pl.col(FEATURES).fill_nan(None)
    )
