"""The oracle: the simulator's latent stress, scored on a candidate's own test rows.

Simulator-only. A simulated park knows each firm's latent stress month by month; the firm's stress
in the month of an as-of date is the best score any model could hope to approach from the data,
so scoring the same test rows with it gives the ceiling the model is measured against
(model/oracle) next to the floor (model/baseline). The stress never becomes a feature: this module
joins it to test predictions only, after training, and a real park has no oracle at all.
"""

from __future__ import annotations

import polars as pl

ORACLE = "oracle"
# Columns of the simulator's monthly stress (sim_truth/monthly_stress.parquet) this module reads.
STRESS_COLUMNS = ("uscc", "month", "stress")


def oracle_scores(test: pl.DataFrame, stress: pl.DataFrame) -> pl.Series:
    """Each test row's latent stress in the month of its as-of date, in the rows' order.

    ``test`` has ``uscc`` and ``as_of``; ``stress`` one row per firm and month (the month's first
    day). Raises when a test row's firm or month is not in the simulator's truth: an oracle with
    gaps would be measured on other rows than the model.
    """
    missing = [c for c in STRESS_COLUMNS if c not in stress.columns]
    if missing:
        raise ValueError(f"the simulator's stress lacks columns {missing}")
    keyed = test.select("uscc", month=pl.col("as_of").dt.month_start()).with_row_index("_row")
    joined = keyed.join(
        stress.select(
            pl.col("uscc"), pl.col("month").cast(pl.Date), pl.col("stress").cast(pl.Float64)
        ),
        on=["uscc", "month"],
        how="left",
    ).sort("_row")
    gaps = joined.filter(pl.col("stress").is_null() | pl.col("stress").is_nan())
    if gaps.height:
        first = gaps.row(0, named=True)
        raise ValueError(
            f"the simulator's stress has no value for {gaps.height} of {test.height} test rows "
            f"(first: uscc {first['uscc']}, month {first['month']}): not a simulated park's rows?"
        )
    return joined.get_column("stress").alias(ORACLE)
