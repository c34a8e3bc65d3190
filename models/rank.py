"""Ranking one industry's scored firms: rank, tier, the top-K cut and the change since last week.

Pure: frames in, frames out. A firm flagged ``insufficient_data`` is never ranked, tiered or
listed; it keeps its row (probability, rank and tier null) so every consumer can show it in its
own section instead of reading a missing score as "safe".
"""

from __future__ import annotations

import polars as pl

from models.config import IndustrySpec

SCORED_COLUMNS = ("uscc", "probability", "insufficient_data")
# How a list is ordered, as each manifest states it.
RANK_ORDER = {
    "keys": ["margin desc", "uscc asc"],
    "statement": (
        "Firms are ranked on the model's uncalibrated margin (log-odds), highest first, then by "
        "unified social credit code (ascending) if two margins are exactly equal. The "
        "calibrated probability shown beside the rank is a monotone map of the margin, so it "
        "never reorders firms, but it can give neighbouring firms the same rounded value."
    ),
}


class RankingInputError(ValueError):
    """A scored frame that cannot be ranked (names the column and the firm)."""


def rank_firms(scored: pl.DataFrame, spec: IndustrySpec) -> pl.DataFrame:
    """Rank, tier and cut one industry's scored firms.

    ``scored`` has ``uscc``, ``probability`` (calibrated, in [0, 1]) and ``insufficient_data``,
    optionally the model's raw ``margin``. Returns every input column plus ``rank`` (1 = highest
    risk), ``tier`` (A..D via ``spec.tier``) and ``listed`` (within ``spec.capacity_k``), sorted
    by rank with the insufficient-data firms last (by uscc).

    A calibrator can map many margins to one probability (isotonic calibration is a step
    function), so firms are ranked on the margin itself when it is given, the model's own
    order, and then by uscc, so the order is total and reproducible (``RANK_ORDER``). Without a
    margin the probability orders them, then uscc.
    """
    _check_scored(scored, spec.key)
    insufficient = pl.col("insufficient_data")
    keys = ["margin" if "margin" in scored.columns else "probability", "uscc"]
    ranked = (
        scored.filter(~insufficient)
        .sort(keys, descending=[True] * (len(keys) - 1) + [False])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32))
        .with_columns(
            tier=spec.tier_expression(pl.col("probability")),
            listed=pl.col("rank") <= spec.capacity_k,
        )
    )
    unranked = (
        scored.filter(insufficient)
        .sort("uscc")
        .with_columns(
            probability=pl.lit(None, dtype=pl.Float64),
            **({"margin": pl.lit(None, dtype=pl.Float64)} if "margin" in scored.columns else {}),
            rank=pl.lit(None, dtype=pl.UInt32),
            tier=pl.lit(None, dtype=pl.String),
            listed=pl.lit(False),
        )
    )
    return pl.concat([ranked, unranked.select(ranked.columns)], how="vertical")


def _check_scored(scored: pl.DataFrame, industry: str) -> None:
    missing = [c for c in SCORED_COLUMNS if c not in scored.columns]
    if missing:
        raise RankingInputError(f"{industry}: scored frame lacks columns {missing}")
    duplicated = scored.filter(pl.col("uscc").is_duplicated())["uscc"].unique().sort()
    if len(duplicated):
        raise RankingInputError(
            f"{industry}: column uscc repeats firm(s) {duplicated.head(5).to_list()}"
        )
    flag_nulls = scored.filter(pl.col("insufficient_data").is_null())
    if len(flag_nulls):
        raise RankingInputError(
            f"{industry}: column insufficient_data is null for firm {flag_nulls['uscc'][0]}"
        )
    sufficient = scored.filter(~pl.col("insufficient_data"))
    bad = sufficient.filter(
        pl.col("probability").is_null()
        | pl.col("probability").is_nan()
        | (pl.col("probability") < 0)
        | (pl.col("probability") > 1)
    )
    if len(bad):
        row = bad.row(0, named=True)
        raise RankingInputError(
            f"{industry}: column probability is {row['probability']!r} for firm {row['uscc']} "
            "(a firm with sufficient data needs a probability in [0, 1])"
        )


def compare_with_previous(current: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Add last week's position to this week's ranking.

    ``previous`` is last week's ranked frame (``uscc``, ``rank``, ``listed``) or None when there
    is no reference week. Adds ``previous_rank``, ``rank_change`` (previous minus current: positive
    means the firm moved up towards the top) and ``new_entrant`` (listed now, not listed then).
    Without a reference week all three stay null: nothing is "new" when nothing came before.
    """
    if previous is None:
        return current.with_columns(
            previous_rank=pl.lit(None, dtype=pl.UInt32),
            rank_change=pl.lit(None, dtype=pl.Int64),
            new_entrant=pl.lit(None, dtype=pl.Boolean),
        )
    before = previous.select(
        "uscc",
        previous_rank=pl.col("rank").cast(pl.UInt32),
        previously_listed=pl.col("listed"),
    )
    return (
        current.join(before, on="uscc", how="left", maintain_order="left")
        .with_columns(
            rank_change=pl.col("previous_rank").cast(pl.Int64) - pl.col("rank").cast(pl.Int64),
            new_entrant=pl.col("listed") & ~pl.col("previously_listed").fill_null(False),
        )
        .drop("previously_listed")
    )


LEAVER_REASONS = (
    "below_cut",
    "insufficient_data",
    "not_scored",
    "override_off",  # an analyst's override took it off (models.objections)
    "objection_upheld",  # the firm's objection to its listing was upheld
)


LEAVER_SCHEMA = {
    "uscc": pl.String,
    "previous_rank": pl.UInt32,
    "previous_probability": pl.Float64,
    "rank": pl.UInt32,
    "probability": pl.Float64,
    "reason": pl.String,
}


def leavers(current: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Firms listed last week and not this week, with why they left (none without last week).

    ``reason`` is ``below_cut`` (still ranked, now below the top K), ``insufficient_data`` (now
    flagged), ``not_scored`` (no longer in the scoring table: closed, moved out, or the distress
    event already confirmed), or, when ``current`` has ``list_basis``, the decision that took it
    off (``override_off``, ``objection_upheld``). Sorted by last week's rank.
    """
    if previous is None:
        return pl.DataFrame(schema=LEAVER_SCHEMA)
    basis = pl.col("list_basis") if "list_basis" in current.columns else pl.lit(None, pl.String)
    now = current.select(
        "uscc",
        "rank",
        "listed",
        "insufficient_data",
        "probability",
        present=pl.lit(True),
        taken_off=pl.when(basis.is_in(LEAVER_REASONS)).then(basis),
    )
    return (
        previous.filter(pl.col("listed"))
        .select("uscc", previous_rank=pl.col("rank"), previous_probability=pl.col("probability"))
        .join(now, on="uscc", how="left")
        .filter(~pl.col("listed").fill_null(False))
        .with_columns(
            reason=pl.when(pl.col("present").is_null())
            .then(pl.lit("not_scored"))
            .when(pl.col("taken_off").is_not_null())
            .then(pl.col("taken_off"))
            .when(pl.col("insufficient_data"))
            .then(pl.lit("insufficient_data"))
            .otherwise(pl.lit("below_cut"))
        )
        .select(list(LEAVER_SCHEMA))
        .cast(LEAVER_SCHEMA)
        .sort("previous_rank", "uscc")
    )
