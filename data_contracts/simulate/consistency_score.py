"""The consistency rules scored against the simulator's planted truth, rule by rule (pure).

``truth`` is ``sim_truth/consistency.parquet`` (``data_contracts.simulate.consistency.
TRUTH_SCHEMA``); ``examined`` the rows a consistency run examined (``examined.parquet``: rule,
firm, period and whether the rule was violated). At an as-of date:

- a **positive** is a planted contradiction the data shows: every row involved had arrived
  (``visible_from``) and no correction had (``corrected_at``);
- **precision**: the share of flagged anomalies that are positives (a flagged near miss,
  corrected contradiction or anything unplanted is a false alarm);
- **recall**: the share of positives the run examined (the latest periods it looks at) that it
  flagged; ``recall_all`` over every positive, also those in older periods it did not look at.

Used by ``benchmarks/consistency_rules.py`` and the demo (``artifacts.consistency.vs_truth``).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from data_contracts.simulate.consistency import VIOLATION

KEYS = ["rule_id", "uscc", "period"]
SCORE_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "planted": pl.UInt32(),
    "examined": pl.UInt32(),
    "not_examined": pl.UInt32(),
    "flagged": pl.UInt32(),
    "true_positives": pl.UInt32(),
    "false_positives": pl.UInt32(),
    "innocent_flagged": pl.UInt32(),
    "missed": pl.UInt32(),
    "precision": pl.Float64(),
    "recall": pl.Float64(),
    "recall_all": pl.Float64(),
}


def positives(truth: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The planted contradictions the data shows at ``as_of`` (KEYS): visible by then and not
    corrected by then."""
    corrected = pl.col("corrected_at").is_not_null() & (
        pl.col("corrected_at").cast(pl.Date) <= as_of
    )
    return (
        truth.filter((pl.col("kind") == VIOLATION) & (pl.col("visible_from") <= as_of) & ~corrected)
        .select(KEYS)
        .unique()
    )


def score(
    truth: pl.DataFrame,
    examined: pl.DataFrame,
    rule_ids: list[str],
    as_of: dt.date,
) -> pl.DataFrame:
    """Per rule (every id of ``rule_ids``, sorted): ``SCORE_SCHEMA``.

    ``examined``: the engine's examined rows (KEYS and ``violated``) at ``as_of``; ``truth``: the
    simulator's (``TRUTH_SCHEMA``). Precision is None without a flagged anomaly, recall None
    without a positive examined."""
    positive = positives(truth, as_of).with_columns(pl.lit(True).alias("_positive"))
    looked = examined.select(*KEYS, "violated").unique(KEYS)
    flagged = looked.filter(pl.col("violated")).select(KEYS)
    innocent = truth.filter(pl.col("kind") != VIOLATION).select(KEYS)
    innocent = pl.concat(
        [innocent, truth.select(KEYS).join(positive.select(KEYS), on=KEYS, how="anti")]
    ).unique()

    def per_rule(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by("rule_id").agg(pl.len().cast(pl.UInt32).alias(name))

    seen = positive.select(KEYS).join(looked.select(KEYS), on=KEYS, how="semi")
    hit = flagged.join(positive.select(KEYS), on=KEYS, how="semi")
    parts = [
        per_rule(positive, "planted"),
        per_rule(seen, "examined"),
        per_rule(flagged, "flagged"),
        per_rule(hit, "true_positives"),
        per_rule(flagged.join(innocent, on=KEYS, how="semi"), "innocent_flagged"),
    ]
    table = pl.DataFrame({"rule_id": sorted(rule_ids)}, schema={"rule_id": pl.String()})
    for part in parts:
        table = table.join(part, on="rule_id", how="left")
    counts = [c for c in table.columns if c != "rule_id"]
    table = table.with_columns(pl.col(counts).fill_null(0))
    tp = pl.col("true_positives")
    return table.with_columns(
        (pl.col("planted") - pl.col("examined")).alias("not_examined"),
        (pl.col("flagged") - tp).alias("false_positives"),
        (pl.col("examined") - tp).alias("missed"),
        _share(tp, pl.col("flagged")).alias("precision"),
        _share(tp, pl.col("examined")).alias("recall"),
        _share(tp, pl.col("planted")).alias("recall_all"),
    ).select(SCORE_SCHEMA.keys())


def _share(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part.cast(pl.Float64) / whole)


def totals(table: pl.DataFrame) -> dict:
    """Micro-averaged figures over every rule."""
    sums = {c: int(table[c].sum()) for c in SCORE_SCHEMA if SCORE_SCHEMA[c] == pl.UInt32()}

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        **sums,
        "precision": share(sums["true_positives"], sums["flagged"]),
        "recall": share(sums["true_positives"], sums["examined"]),
        "recall_all": share(sums["true_positives"], sums["planted"]),
        "rules_planted": int((table["planted"] > 0).sum()),
        "rules_flagging": int((table["flagged"] > 0).sum()),
    }
