"""Administrative penalties from every ``penalty_*`` source: by window, severity, kind and the
group of the department that imposed them."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums, windows
from features.registry import PENALTIES, PENALTY_GROUPS, penalty_group
from features.source_set import SourceFamily, SourceSet

MAJOR = "较重"
SERIOUS = "严重"
SUSPENSION = ("责令停产停业", "吊销许可证")
GROUPS = (*PENALTY_GROUPS, "other")


def penalties(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PENALTIES)
    group_measures = {f"group_{g}": pl.lit(0) for g in GROUPS}
    parts = [
        Measures(
            SourceFamily(ids=(source_id,)),
            {
                "penalty": pl.lit(1),
                "fine": pl.col("fine_amount"),
                "major": pl.col("severity") == MAJOR,
                "serious": pl.col("severity") == SERIOUS,
                "suspension": pl.col("penalty_type").is_in(list(SUSPENSION)),
                **group_measures,
                f"group_{penalty_group(source_id)}": pl.lit(1),
            },
            columns=("fine_amount", "severity", "penalty_type"),
        )
        for source_id in members
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **windows("penalty_count", "penalty", (90, 180, 365)),
            **windows("penalty_fine_amount", "fine", (365,)),
            **windows("penalty_major_count", "major", (365,)),
            **windows("penalty_serious_count", "serious", (365,)),
            **windows("penalty_suspension_count", "suspension", (365,)),
            **{
                name: spec
                for g in GROUPS
                for name, spec in windows(f"penalty_{g}_count", f"group_{g}", (365,)).items()
            },
        },
    )
