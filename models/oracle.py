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
# The late oracles every evaluation reports beside the oracle (months before the as-of month):
# 90% of the oracle's precision at K needs the stress at most a month late on the demo park
# (BENCHMARKS.md, "The ceiling the sources allow").
LATE_MONTHS = (1, 3)
# Columns of the simulator's monthly stress (sim_truth/monthly_stress.parquet) this module reads.
STRESS_COLUMNS = ("uscc", "month", "stress")


def oracle_scores(test: pl.DataFrame, stress: pl.DataFrame) -> pl.Series:
    """Each test row's latent stress in the month of its as-of date, in the rows' order.

    ``test`` has ``uscc`` and ``as_of``; ``stress`` one row per firm and month (the month's first
    day). Raises when a test row's firm or month is not in the simulator's truth: an oracle with
    gaps would be measured on other rows than the model.
    """
    joined = _stress_in_month(test, stress, months_before=0)
    gaps = joined.filter(pl.col("stress").is_null() | pl.col("stress").is_nan())
    if gaps.height:
        first = gaps.row(0, named=True)
        raise ValueError(
            f"the simulator's stress has no value for {gaps.height} of {test.height} test rows "
            f"(first: uscc {first['uscc']}, month {first['month']}): not a simulated park's rows?"
        )
    return joined.get_column("stress").alias(ORACLE)


def late_oracle_name(months: int) -> str:
    return f"{ORACLE}_{months}m_late"


def late_oracle_scores(test: pl.DataFrame, stress: pl.DataFrame, months: int) -> pl.Series | None:
    """Each test row's latent stress ``months`` before the month of its as-of date: the oracle
    seen as late as data arrives (most simulated sources respond to the stress of 1-6 months
    earlier, ``simulation.lag_days`` in their contracts), a ceiling a model on those sources can
    approach. ``None`` when the simulator's months do not reach back that far for every row."""
    if months < 1:
        raise ValueError(f"a late oracle is at least a month late, got {months}")
    joined = _stress_in_month(test, stress, months_before=months)
    if joined.filter(pl.col("stress").is_null() | pl.col("stress").is_nan()).height:
        return None
    return joined.get_column("stress").alias(late_oracle_name(months))


def _stress_in_month(test: pl.DataFrame, stress: pl.DataFrame, months_before: int) -> pl.DataFrame:
    """``test``'s rows (in order) with the stress of the month ``months_before`` their as-of
    month; null where the simulator has none."""
    missing = [c for c in STRESS_COLUMNS if c not in stress.columns]
    if missing:
        raise ValueError(f"the simulator's stress lacks columns {missing}")
    month = pl.col("as_of").dt.month_start()
    if months_before:
        month = month.dt.offset_by(f"-{months_before}mo")
    keyed = test.select("uscc", month=month).with_row_index("_row")
    return keyed.join(
        stress.select(
            pl.col("uscc"), pl.col("month").cast(pl.Date), pl.col("stress").cast(pl.Float64)
        ),
        on=["uscc", "month"],
        how="left",
    ).sort("_row")
