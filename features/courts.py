"""Courts and credit registers: civil cases as defendant, enforcement, dishonest-debtor,
abnormal-operation and black-list listings."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums, windows
from features.registry import (
    ABNORMAL_OPERATION,
    BLACK_LIST,
    CIVIL_CASES,
    DISHONEST_DEBTORS,
    ENFORCEMENT,
)
from features.source_set import SourceSet

DEFENDANT = "被告"


def courts(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(
            CIVIL_CASES,
            {"defendant": pl.lit(1), "claim": pl.col("claim_amount")},
            columns=("party_role", "claim_amount"),
            where=pl.col("party_role") == DEFENDANT,
        ),
        Measures(
            ENFORCEMENT,
            {"enforcement": pl.lit(1), "enforced": pl.col("enforced_amount")},
            columns=("enforced_amount",),
        ),
        Measures(DISHONEST_DEBTORS, {"dishonest": pl.lit(1)}),
        Measures(ABNORMAL_OPERATION, {"abnormal": pl.lit(1)}),
        Measures(BLACK_LIST, {"black_list": pl.lit(1)}),
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **windows("court_defendant_count", "defendant", (90, 180, 365)),
            **windows("court_defendant_claim_amount", "claim", (365,)),
            **windows("court_enforcement_count", "enforcement", (180, 365)),
            **windows("court_enforcement_amount", "enforced", (365,)),
            **windows("dishonest_debtor_count", "dishonest", (None, 365)),
            **windows("abnormal_operation_count", "abnormal", (None, 365)),
            **windows("black_list_count", "black_list", (None,)),
        },
    )
