"""`ews score-table`: apply a train-table run's models to a new table, with reasons.

Steps: read the run (schema.json, one model per segment), read the table (detecting its
encoding, separator and decimal mark unless given), check it against the training table's
columns (``models.table_scoring.conform``), score each segment, check that every row's SHAP
contributions add up to its score, rank, word the top reasons, and write the results into a
folder that replaces ``out`` in one step (nothing is written when a check fails).

Writes to ``out``:
    scores.<csv|parquet|xlsx>          one row per table row: _row, the id and segment columns,
                                       score (margin, log-odds), probability (calibrated), rank,
                                       segment_rank, reason_1..k, note (why a row is unscored)
    contributions.<csv|parquet|xlsx>   _row, the id and segment columns, score, each input's
                                       SHAP value and _bias; each row's values sum to its score
    score_summary.json                 the run, the table, rows scored, warnings, the tie-break
CSV and XLSX text cells that could start a formula are neutralised; Parquet keeps the values.
An xlsx holds both tables as two sheets (scores.xlsx).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from models.evaluate import roc_auc
from models.table_columns import ColumnPlan
from models.table_scoring import (
    BASE,
    MARGIN,
    PROBABILITY,
    TIE_BREAK,
    ScoringError,
    conform,
    rank_scores,
    score_segment,
    top_reasons,
)
from models.tabular import ROW
from models.train import RiskModel
from pipelines import file_io
from pipelines.publish_io import Sheet, abandon, begin, commit, write_xlsx
from pipelines.spreadsheet_safety import write_csv
from pipelines.table_inputs import check_out_folder, read_run
from pipelines.tables import ReadOptions, read_table

FORMATS = ("csv", "parquet", "xlsx")
SUMMARY = "score_summary.json"
EXCEL_ROWS = 1_048_575  # Excel's sheet limit, header excluded
# Workbooks carry this creation time so the same scores give the same bytes.
XLSX_STAMP = datetime(2000, 1, 1)
NOTE = "note"


def score_table(
    model_dir: str | Path,
    table: str | Path,
    out: str | Path = "ews_scores",
    formats: Sequence[str] = FORMATS,
    options: ReadOptions | None = None,
    top: int = 3,
    nthread: int | None = None,
    id_col: str | None = None,
) -> dict[str, Any]:
    """Score ``table`` with the run in ``model_dir``; returns the summary written beside.

    ``id_col`` is a column copied into every output beside ``_row`` (default: the run's id
    column, when the table has it).
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"--format must be among {list(FORMATS)}, got {list(formats)}")
    target = check_out_folder(out, SUMMARY, "score-table output")
    schema = read_run(model_dir)
    plan = ColumnPlan.from_dict(schema["columns"])
    read = read_table(table, options)
    name = str(table)
    frame = read.frame
    if ROW in frame.columns:
        raise ScoringError(f"table {name}: column {ROW!r} is reserved for the row number")
    frame = frame.with_row_index(ROW, offset=1)
    segment = schema["segment"]
    if id_col is not None and id_col not in frame.columns:
        raise ScoringError(f"table {name}: --id column {id_col!r} not found")
    id_col = id_col or schema["id"]
    if segment and segment not in frame.columns:
        raise ScoringError(
            f"table {name}: the segment column {segment!r} is missing; the models are per "
            f"{segment!r} ({', '.join(schema['segments'])})"
        )
    conformed = conform(frame, plan, name)
    warnings = [*_reading_warnings(read.describe()), *conformed.warnings]
    keys = [c for c in (id_col, segment) if c and c in frame.columns]
    inputs = (
        conformed.inputs.join(frame.select(ROW, *keys), on=ROW, how="left")
        if keys
        else (conformed.inputs)
    )
    scored, unscored = _score_segments(model_dir, schema, inputs, segment, nthread, warnings)
    shown = plan_values(frame, plan)
    features = plan.feature_names
    reasons = top_reasons(scored, shown, features, k=top) if scored.height else None
    scores = _scores_frame(frame, scored, unscored, reasons, keys, segment, top)
    contributions = (
        frame.select(ROW, *keys)
        .join(scored.select(ROW, MARGIN, *features, BASE), on=ROW, how="inner")
        .sort(ROW)
    )
    summary = {
        "model": str(Path(model_dir).expanduser().resolve()),
        "table": read.describe(),
        "rows": frame.height,
        "scored": scored.height,
        "not_scored": frame.height - scored.height,
        "label": _label_check(frame, schema["label"], scores),
        "warnings": warnings,
        "tie_break": TIE_BREAK,
        "additivity": "every scored row's contributions (bias included) sum to its score "
        "within 1e-4",
        "formats": list(formats),
    }
    partial = begin(target)
    try:
        _write(partial, scores, contributions, formats)
        file_io.write_json(partial / SUMMARY, summary)
    except BaseException:
        abandon(partial)
        raise
    commit(partial, target)
    return {**summary, "out": str(target)}


def _label_check(frame: pl.DataFrame, label: str, scores: pl.DataFrame) -> dict[str, Any] | None:
    """When the table carries the training label (0/1), the ROC-AUC of the scored rows."""
    if label not in frame.columns:
        return None
    joined = (
        frame.select(ROW, pl.col(label).alias("_label"))
        .join(scores.select(ROW, PROBABILITY), on=ROW)
        .drop_nulls()
    )
    values = joined.get_column("_label")
    if not values.dtype.is_numeric() or not values.is_in([0, 1]).all():
        return {"column": label, "roc_auc": None, "note": "not 0/1: not evaluated"}
    return {
        "column": label,
        "rows": joined.height,
        "positives": int(values.sum()),
        "roc_auc": roc_auc(values.to_numpy(), joined.get_column(PROBABILITY).to_numpy()),
    }


def plan_values(frame: pl.DataFrame, plan: ColumnPlan) -> pl.DataFrame:
    """ROW and each input as the reader should see it in a reason (text kept as text)."""
    return frame.select(ROW, *plan.feature_names)


def _reading_warnings(reading: dict[str, Any]) -> list[str]:
    return [
        f"column {note['column']!r}: {note['note']} (first at row {note['first_row']})"
        for note in reading["notes"]
    ]


def _score_segments(
    model_dir: str | Path,
    schema: dict[str, Any],
    inputs: pl.DataFrame,
    segment: str | None,
    nthread: int | None,
    warnings: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(scored rows, unscored rows with a note): one model per segment value."""
    folder = Path(model_dir).expanduser()
    parts, unscored = [], []
    if segment is None:
        groups = {"all": inputs}
    else:
        keyed = inputs.with_columns(pl.col(segment).cast(pl.String).alias("_segment_key"))
        groups = {
            key: keyed.filter(pl.col("_segment_key") == key).drop("_segment_key")
            for key in keyed.get_column("_segment_key").drop_nulls().unique().sort().to_list()
        }
        empty = keyed.filter(pl.col("_segment_key").is_null())
        if empty.height:
            unscored.append(empty.select(ROW).with_columns(pl.lit("segment is empty").alias(NOTE)))
            warnings.append(f"{empty.height} row(s) have no {segment!r} value: not scored")
    for key, rows in groups.items():
        model_file = schema["segments"].get(key)
        if model_file is None:
            unscored.append(
                rows.select(ROW).with_columns(pl.lit(f"no model for {segment} = {key}").alias(NOTE))
            )
            warnings.append(
                f"{rows.height} row(s) of {segment} = {key!r} not scored: the run has models "
                f"for {', '.join(repr(k) for k in schema['segments'])}"
            )
            continue
        model = RiskModel.from_bytes((folder / model_file).read_bytes())
        if nthread:
            model.booster.set_param({"nthread": nthread})
        parts.append(score_segment(model, rows))
    scored = pl.concat(parts).sort(ROW) if parts else pl.DataFrame()
    notes = (
        pl.concat(unscored).sort(ROW)
        if unscored
        else pl.DataFrame(schema={ROW: pl.UInt32, NOTE: pl.String})
    )
    return scored, notes


def _scores_frame(
    frame: pl.DataFrame,
    scored: pl.DataFrame,
    unscored: pl.DataFrame,
    reasons: pl.DataFrame | None,
    keys: list[str],
    segment: str | None,
    top: int,
) -> pl.DataFrame:
    base = frame.select(ROW, *keys)
    values = (
        scored.select(ROW, MARGIN, PROBABILITY)
        if scored.height
        else pl.DataFrame(schema={ROW: pl.UInt32, MARGIN: pl.Float64, PROBABILITY: pl.Float64})
    )
    joined = base.join(values, on=ROW, how="left").join(
        unscored.select(ROW, NOTE), on=ROW, how="left"
    )
    ranked = rank_scores(joined, segment if segment in keys else None)
    if reasons is not None:
        ranked = ranked.join(reasons, on=ROW, how="left", maintain_order="left")
    else:
        ranked = ranked.with_columns(
            pl.lit(None, dtype=pl.String).alias(f"reason_{i}") for i in range(1, top + 1)
        )
    ordered = [ROW, *keys, MARGIN, PROBABILITY, "rank"]
    if "segment_rank" in ranked.columns:
        ordered.append("segment_rank")
    ordered += [f"reason_{i}" for i in range(1, top + 1)] + [NOTE]
    return ranked.select(ordered)


def _write(
    folder: Path, scores: pl.DataFrame, contributions: pl.DataFrame, formats: Sequence[str]
) -> None:
    if "parquet" in formats:
        scores.write_parquet(folder / "scores.parquet")
        contributions.write_parquet(folder / "contributions.parquet")
    if "csv" in formats:
        write_csv(scores, folder / "scores.csv")
        write_csv(contributions, folder / "contributions.csv")
    if "xlsx" in formats:
        if scores.height > EXCEL_ROWS:
            raise ScoringError(
                f"{scores.height:,} rows do not fit an Excel sheet ({EXCEL_ROWS:,}); use "
                "--format csv or parquet"
            )
        write_xlsx(
            [
                Sheet("scores", scores),
                Sheet("contributions", contributions),
            ],
            folder / "scores.xlsx",
            XLSX_STAMP,
        )
