"""`ews train-table`: the EWS training procedure on a feature table the user brings.

The table is read and checked, and its data report made, before anything is written. The run is
written into a hidden folder beside ``out`` that replaces ``out`` in one step when everything
succeeded; a failure at any step leaves ``out`` exactly as it was.

Writes to ``out``:
    data_report.json, .html     what went in, what was left out and why, warnings (leakage, ...)
    schema.json                 how the table was read and encoded: `ews score-table` reads it
    table.parquet               the models' view: _row (1-based data row), label 0/1, special
                                columns and the encoded inputs
    folds.parquet               per segment and outer fold: sizes, AUC (and the reference's),
                                PR-AUC, Brier, choices
    predictions/<segment>.parquet   out-of-fold: _row, label, fold, p, margin, p_reference
    explanations/<segment>.parquet  out-of-fold SHAP values (up to 5,000 rows): _row, fold,
                                one column per input, _bias
    plots/beeswarm_<segment>.png    the out-of-fold SHAP summary
    models/<segment>.json       the segment's model fitted on all its rows (RiskModel.to_bytes)
    metrics.json                settings, per segment AUC +- std, gain over the reference, the
                                time of both, and what the search covered (``search_record``:
                                candidates searched, whether --time-budget cut it)
    model_card.md, .html, .json a short model card
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task

from models.table_card import build_table_card, segment_section
from models.table_report import report_text
from models.tabular import (
    BIAS_COLUMN,
    ROW,
    SEARCHES,
    Budget,
    TableLayout,
    segment_frame,
    segment_values,
    train_segment,
)
from pipelines import file_io
from pipelines.publish_io import abandon, begin, commit
from pipelines.table_inputs import (
    DATA_REPORT_HTML,
    DATA_REPORT_JSON,
    METRICS,
    MODEL_FRAME,
    SCHEMA,
    check_out_folder,
    check_table_folds,
    load_table_inputs,
    schema_document,
)
from pipelines.table_render import render_data_report, render_table_card
from pipelines.tables import ReadOptions

SEGMENT = "segment"
CARD_HTML = "model_card.html"


@task
def load_table(
    layout: TableLayout,
    table: str,
    options: ReadOptions,
    keep: list[str],
    drop: list[str],
    target: str,
    settings: dict[str, Any],
) -> dict[str, Any]:
    """Read, check and report on the table, then open the run's folder and write the inputs.

    Nothing is written (and no folder made) unless the table reads and checks cleanly.
    """
    inputs = load_table_inputs(table, layout, options, keep, drop)
    check_table_folds(inputs, settings["folds"], settings["seed"])
    get_run_logger().info("%s", report_text(inputs.report))
    partial = begin(Path(target))
    try:
        inputs.model_frame().write_parquet(partial / MODEL_FRAME)
        file_io.write_json(partial / DATA_REPORT_JSON, inputs.report)
        (partial / DATA_REPORT_HTML).write_text(render_data_report(inputs.report), "utf-8")
        segments = segment_values(inputs.frame, layout)
        names = file_names(segments)
        models = {
            segment_key(value): f"models/{name}.json"
            for value, name in zip(segments, names, strict=True)
        }
        file_io.write_json(partial / SCHEMA, schema_document(inputs, settings, models))
    except BaseException:
        abandon(partial)
        raise
    return {
        "partial": str(partial),
        "path": str(partial / MODEL_FRAME),
        "rows": inputs.frame.height,
        "features": inputs.plan.feature_names,
        "segments": segments,
        "names": names,
        "sizes": [segment_frame(inputs.frame, layout, value).height for value in segments],
        "report": inputs.report,
    }


@task
def train_one_segment(
    layout: TableLayout,
    table_path: str,
    segment: Any,
    file_name: str,
    features: list[str],
    folds: int,
    seed: int,
    search: str,
    nthread: int,
    out: str,
    budget: Budget,
) -> dict[str, Any]:
    """Outer-fold estimate, reference, OOF SHAP values and final model of one segment."""
    rows = segment_frame(pl.read_parquet(table_path), layout, segment)
    result = train_segment(
        rows,
        features,
        layout,
        folds=folds,
        seed=seed,
        search=SEARCHES[search],
        nthread=nthread,
        budget=budget,
    )
    folder = Path(out)
    files = {
        "model": f"models/{file_name}.json",
        "predictions": f"predictions/{file_name}.parquet",
        "explanations": f"explanations/{file_name}.parquet",
        "beeswarm": f"plots/beeswarm_{file_name}.png",
    }
    for relative in files.values():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
    (folder / files["model"]).write_bytes(result.model.to_bytes())
    result.predictions.write_parquet(folder / files["predictions"])
    result.contributions.write_parquet(folder / files["explanations"])
    _draw_beeswarm(result.contributions, rows, features, folder / files["beeswarm"])
    key = segment_key(segment)
    against = result.against_reference()
    return {
        "segment": segment,
        "rows": rows.height,
        "positives": int(rows.get_column(layout.label).sum()),
        "auc_mean": result.auc_mean,
        "auc_std": result.auc_std,
        "pr_auc_mean": float(result.folds.get_column("pr_auc").mean()),
        "against_reference": against,
        "seconds": result.seconds,
        "search_record": result.search_record,
        "files": files,
        "folds": result.folds.with_columns(pl.lit(key).alias(SEGMENT)).to_dicts(),
        "card": segment_section(
            key,
            layout.label,
            result.folds,
            result.predictions,
            result.contributions,
            against,
            result.model.metadata,
            files,
            result.search_record,
        ),
    }


@task
def write_report(
    layout: TableLayout,
    loaded: dict[str, Any],
    segments: list[dict[str, Any]],
    settings: dict[str, Any],
    out: str,
) -> None:
    folder = Path(out)
    pl.DataFrame([row for s in segments for row in s["folds"]]).write_parquet(
        folder / "folds.parquet"
    )
    search = SEARCHES[settings["search"]].describe()
    metrics = {
        **settings,
        "search": search,
        "rows": loaded["rows"],
        "features": loaded["features"],
        "left_out_columns": loaded["report"]["left_out"],
        "segments": {
            segment_key(s["segment"]): {
                key: s[key]
                for key in (
                    "rows",
                    "positives",
                    "auc_mean",
                    "auc_std",
                    "pr_auc_mean",
                    "against_reference",
                    "seconds",
                    "search_record",
                )
            }
            | {"model": s["files"]["model"], "predictions": s["files"]["predictions"]}
            for s in segments
        },
    }
    file_io.write_json(folder / METRICS, metrics)
    card = build_table_card(settings, loaded["report"], [s["card"] for s in segments], search)
    file_io.write_json(folder / "model_card.json", card)
    (folder / "model_card.md").write_text(render_table_card(card, html=False), "utf-8")
    (folder / CARD_HTML).write_text(render_table_card(card, html=True), "utf-8")


@flow(name="train-table")
def train_table_flow(
    table: str,
    label: str,
    segment: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    out: str = "ews_table_run",
    folds: int = 5,
    seed: int = 0,
    nthread: int = 2,
    search: str = "full",
    separator: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    sheet: str | None = None,
    keep: Sequence[str] = (),
    drop: Sequence[str] = (),
    time_budget: float | None = None,
    candidates: int | None = None,
) -> dict[str, Any]:
    """Train and estimate EWS per segment on ``table``; returns paths and AUC mean +- std.

    ``nthread`` is xgboost's thread count for every fit; ``search`` a key of
    ``models.tabular.SEARCHES``; ``separator``/``decimal``/``encoding``/``sheet`` how to read the
    table (None: detect); ``keep``/``drop`` override the column rules of the data report.
    ``time_budget`` (seconds of EWS's fits, shared among segments by rows) or ``candidates``
    (the first so many of the search's priority order) limits the search: see
    ``models.tabular.train_segment``.
    """
    check_budget(search, time_budget, candidates)
    layout = TableLayout(
        name=str(table), label=label, segment=segment, id_col=id_col, time_col=time_col
    )
    target = check_out_folder(out)
    options = ReadOptions(separator=separator, decimal=decimal, encoding=encoding, sheet=sheet)
    settings = {
        "table": str(table),
        "label": label,
        "segment_column": segment,
        "id_column": id_col,
        "time_column": time_col,
        "folds": folds,
        "seed": seed,
        "nthread": nthread,
        "search": search,
        "time_budget_seconds": time_budget,
        "candidates": candidates,
        "keep": list(keep),
        "drop": list(drop),
        "scheme": layout.scheme,
    }
    loaded = load_table(layout, str(table), options, list(keep), list(drop), str(target), settings)
    partial = Path(loaded["partial"])
    try:
        budgets = segment_budgets(loaded["sizes"], time_budget, candidates)
        segments = [
            train_one_segment(
                layout,
                loaded["path"],
                value,
                name,
                loaded["features"],
                folds,
                seed,
                search,
                nthread,
                str(partial),
                segment_budget,
            )
            for value, name, segment_budget in zip(
                loaded["segments"], loaded["names"], budgets, strict=True
            )
        ]
        write_report(layout, loaded, segments, settings, str(partial))
    except BaseException:
        abandon(partial)
        raise
    commit(partial, target)
    return {
        "out": str(target),
        "metrics": str(target / METRICS),
        "data_report": str(target / DATA_REPORT_HTML),
        "model_card": str(target / CARD_HTML),
        "models": {segment_key(s["segment"]): str(target / s["files"]["model"]) for s in segments},
        "predictions": {
            segment_key(s["segment"]): str(target / s["files"]["predictions"]) for s in segments
        },
        "auc": {
            segment_key(s["segment"]): {
                "mean": s["auc_mean"],
                "std": s["auc_std"],
                "reference": s["against_reference"]["reference_auc_mean"],
                "gain": s["against_reference"]["auc_gain_mean"],
            }
            for s in segments
        },
        "seconds": {segment_key(s["segment"]): s["seconds"] for s in segments},
        "searched": {segment_key(s["segment"]): s["search_record"] for s in segments},
        "warnings": loaded["report"]["warnings"],
    }


def check_budget(search: str, time_budget: float | None, candidates: int | None) -> None:
    """A clear error for an unknown search or a budget it cannot honour, before any work."""
    if search not in SEARCHES:
        raise ValueError(f"--search must be one of {sorted(SEARCHES)}, got {search!r}")
    if time_budget is not None and candidates is not None:
        raise ValueError(
            "--time-budget and --candidates both limit the search; give one "
            "(--candidates repeats what a --time-budget run recorded)"
        )
    if time_budget is not None and not (math.isfinite(time_budget) and time_budget > 0):
        raise ValueError(f"--time-budget must be a positive number of seconds, got {time_budget}")
    count = len(SEARCHES[search].candidates)
    if candidates is not None and not 1 <= candidates <= count:
        raise ValueError(
            f"--candidates must be between 1 and {count} (the {search} search's "
            f"configurations), got {candidates}"
        )


def segment_budgets(
    sizes: Sequence[int], time_budget: float | None, candidates: int | None
) -> list[Budget]:
    """Each segment's budget: the time budget shared in proportion to rows (a fit's cost grows
    about linearly with them), or the same number of candidates for every segment."""
    if time_budget is None:
        return [Budget(candidates=candidates) for _ in sizes]
    total = sum(sizes)
    return [Budget(seconds=time_budget * size / total) for size in sizes]


def _draw_beeswarm(
    contributions: pl.DataFrame, rows: pl.DataFrame, features: Sequence[str], path: Path
) -> None:
    from pipelines.shap_plots import draw_beeswarm

    values = rows.join(contributions.select(ROW), on=ROW, how="semi").sort(ROW)
    draw_beeswarm(
        contributions.select(features).to_numpy(),
        contributions.get_column(BIAS_COLUMN).to_numpy(),
        values.select(pl.col(features).cast(pl.Float64)).to_numpy(),
        list(features),
        path,
    )


def segment_key(segment: Any) -> str:
    """How a segment is named in metrics.json and the returned mappings ('all' if unsegmented)."""
    return "all" if segment is None else str(segment)


def file_names(segments: list[Any]) -> list[str]:
    """File-system-safe, distinct names for segment values ('all' when not segmented)."""
    names: list[str] = []
    for value in segments:
        base = "all" if value is None else re.sub(r"[^\w.-]+", "_", str(value)).strip("._")
        name, n = base or "segment", 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names
