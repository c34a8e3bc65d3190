"""Registration changes: business scope, legal representative, address and equity."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums, windows
from features.registry import ADDRESS_CHANGES, EQUITY_CHANGES, LEGAL_REP_CHANGES, SCOPE_CHANGES
from features.source_set import SourceSet

SCOPE_REDUCED = "缩减"
EQUITY_PLEDGE = "股权质押"
EQUITY_TRANSFER = "股权转让"


def registration_changes(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(
            SCOPE_CHANGES,
            {"scope": pl.lit(1), "scope_reduced": pl.col("scope_direction") == SCOPE_REDUCED},
            columns=("scope_direction",),
        ),
        Measures(LEGAL_REP_CHANGES, {"legal_rep": pl.lit(1)}),
        Measures(ADDRESS_CHANGES, {"address": pl.lit(1)}),
        Measures(
            EQUITY_CHANGES,
            {
                "equity": pl.lit(1),
                "pledge": pl.col("change_type") == EQUITY_PLEDGE,
                "transfer": pl.col("change_type") == EQUITY_TRANSFER,
            },
            columns=("change_type",),
        ),
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **windows("scope_change_count", "scope", (90, 365)),
            **windows("scope_reduction_count", "scope_reduced", (365,)),
            **windows("legal_rep_change_count", "legal_rep", (90, 180, 365)),
            **windows("address_change_count", "address", (90, 365)),
            **windows("equity_change_count", "equity", (90, 365)),
            **windows("equity_pledge_count", "pledge", (365,)),
            **windows("equity_transfer_count", "transfer", (365,)),
        },
    )
