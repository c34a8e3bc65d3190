"""Energy use (every ``energy_*`` source): the drop year on year and against the months before,
and whether a meter sits in another district than the registered one.

Sources measure in different units (kWh, m³, t), so each change is computed per source and the
firm's value is the median over its sources.
"""

from __future__ import annotations

import polars as pl

from features.panel import (
    LATEST,
    change,
    label_at,
    lag_mean,
    lag_total,
    monthly_panel,
    summarise,
)
from features.point_in_time import FIXED_POINT, GRID_ROW
from features.registry import ENERGY
from features.source_set import SourceSet

RECENT = range(3)
BEFORE = range(3, 6)
YEAR_AGO = range(12, 15)


def energy(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Needs ``district`` on the grid (the master's registered district at T)."""
    members = sources.family(ENERGY)
    if not members:
        return None
    per_source = [
        summarise(
            monthly_panel(
                sources,
                [s],
                grid,
                ["consumption", "overdue_amount"],
                (*RECENT, *BEFORE, *YEAR_AGO),
                labels=("meter_district",),
            ),
            change(lag_mean("consumption", RECENT), lag_mean("consumption", YEAR_AGO)).alias("yoy"),
            change(lag_mean("consumption", RECENT), lag_mean("consumption", BEFORE)).alias("trend"),
            label_at("meter_district", 0).alias("meter_district"),
            lag_total("overdue_amount", RECENT).alias("overdue"),
        ).drop(LATEST)
        for s in members
    ]
    return (
        pl.concat(per_source, how="vertical")
        .join(grid.select(GRID_ROW, "district"), on=GRID_ROW, how="inner")
        .group_by(GRID_ROW)
        .agg(
            pl.col("yoy").median().alias("energy_yoy_change_3m"),
            pl.col("trend").median().alias("energy_trend_3m"),
            (pl.col("overdue").sum() / FIXED_POINT).alias("energy_overdue_amount_3m"),
            (pl.col("meter_district") != pl.col("district"))
            .max()
            .cast(pl.Float64)
            .alias("district_mismatch"),
        )
    )
