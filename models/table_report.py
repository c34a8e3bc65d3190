"""The data report of an analyst's table: what went into the model, what did not, and why.

Pure: the prepared table (label as 0/1, ``_row``), its layout, the column plan and how the file
was read come in; a JSON-ready dict comes out (``table_report``), and ``report_text`` words it
for the terminal. Rows are cited by their data row number (1 = the first row under the header).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from models.categorical import MAX_LEVELS, MIN_LEVEL_ROWS, describe_levels
from models.evaluate import roc_auc
from models.table_columns import ColumnPlan
from models.tabular import ROW, TableLayout

REPORT_FORMAT = "ews-table-report/1"
# A column whose values alone rank the label this well (ROC-AUC, either direction, missing
# values placed at either end) is reported as a possible leak.
LEAKAGE_AUC = 0.98
# The leakage check reads at most this many rows (a seeded sample beyond): AUCs this close to 1
# are measured well enough on it, and a wide table of millions of rows stays quick.
LEAKAGE_ROWS = 200_000
HEAVY_MISSING = 0.5
FEW_POSITIVES = 50
SHOWN_ROWS = 5
ENCODING_RULE = (
    f"Text columns are encoded as one numeric code per category: categories with at least "
    f"{MIN_LEVEL_ROWS} rows get codes 0, 1, 2, ... by descending row count (ties by text), up "
    f"to {MAX_LEVELS}; rarer categories, and categories first seen when scoring, share the "
    "next code; missing stays missing. The codes use no label."
)


def table_report(
    frame: pl.DataFrame,
    layout: TableLayout,
    plan: ColumnPlan,
    reading: Mapping[str, Any],
) -> dict[str, Any]:
    """Everything the analyst should know about the table before training (JSON-ready)."""
    y = frame.get_column(layout.label).to_numpy()
    inputs = plan.feature_names
    columns = [_column(frame, name, layout, plan) for name in frame.columns if name != ROW]
    leakage = _leakage(frame, y, layout, plan)
    missing = _missing(frame, inputs)
    duplicates = _duplicates(frame, inputs, layout.label)
    report = {
        "format": REPORT_FORMAT,
        "table": dict(reading),
        "rows": frame.height,
        "columns": frame.width - 1,
        "special_columns": {
            "label": layout.label,
            "segment": layout.segment,
            "id": layout.id_col,
            "time": layout.time_col,
        },
        "label": _balance(y) | {"column": layout.label},
        "segments": _segments(frame, layout),
        "inputs": inputs,
        "left_out": dict(plan.dropped),
        "suggestions": dict(plan.suggestions),
        "constant_columns": [n for n, why in plan.dropped.items() if why.startswith("constant")],
        "categorical": {
            "rule": ENCODING_RULE,
            "columns": [
                {
                    **encoding.to_dict(),
                    "top": describe_levels(encoding, frame.get_column(encoding.column)),
                }
                for encoding in plan.encodings
            ],
        },
        "missing": missing,
        "duplicates": duplicates,
        "leakage": leakage,
        "column_details": columns,
    }
    report["warnings"] = _warnings(report, layout)
    return report


def report_text(report: Mapping[str, Any]) -> str:
    """A short terminal summary: counts, what was left out and why, then every warning."""
    table, label = report["table"], report["label"]
    read_as = [table.get("format")]
    if table.get("encoding"):
        detected = " (detected)" if table.get("encoding_detected") else ""
        read_as.append(f"encoding {table['encoding']}{detected}")
    if table.get("separator"):
        read_as.append(f"separator {table['separator']!r}, decimal {table['decimal']!r}")
    if table.get("sheet"):
        read_as.append(f"sheet {table['sheet']!r}")
    lines = [
        f"Data report: {table['file']} ({', '.join(str(p) for p in read_as)})",
        f"  rows {report['rows']:,}, columns {report['columns']}; label {label['column']!r}: "
        f"{label['positives']:,} events ({label['positive_share']:.2%})",
        f"  model inputs: {len(report['inputs'])} "
        f"({len(report['categorical']['columns'])} text column(s) encoded); empty cells in them "
        f"{report['missing']['cell_share']:.1%}",
    ]
    for segment in report["segments"] or []:
        lines.append(
            f"  segment {segment['value']!r}: {segment['rows']:,} rows, "
            f"{segment['positives']:,} events ({segment['positive_share']:.2%})"
        )
    if report["left_out"]:
        lines.append(f"  left out ({len(report['left_out'])}):")
        lines += [f"    {name}: {why}" for name, why in report["left_out"].items()]
    if report["warnings"]:
        lines.append(f"  warnings ({len(report['warnings'])}):")
        lines += [f"    ! {warning}" for warning in report["warnings"]]
    return "\n".join(lines)


def _balance(y: np.ndarray) -> dict[str, Any]:
    positives = int(y.sum())
    return {
        "rows": len(y),
        "positives": positives,
        "negatives": len(y) - positives,
        "positive_share": positives / len(y) if len(y) else float("nan"),
    }


def _segments(frame: pl.DataFrame, layout: TableLayout) -> list[dict[str, Any]] | None:
    if layout.segment is None:
        return None
    out = []
    for value in frame.get_column(layout.segment).unique().sort().to_list():
        rows = frame.filter(pl.col(layout.segment) == value)
        out.append({"value": value, **_balance(rows.get_column(layout.label).to_numpy())})
    return out


def _column(
    frame: pl.DataFrame, name: str, layout: TableLayout, plan: ColumnPlan
) -> dict[str, Any]:
    values = frame.get_column(name)
    roles = {
        layout.label: "label",
        layout.segment: "segment",
        layout.id_col: "id",
        layout.time_col: "time",
    }
    role = roles.get(name) or ("input" if name in plan.feature_names else "left out")
    missing = values.null_count() + (int(values.is_nan().sum()) if values.dtype.is_float() else 0)
    detail: dict[str, Any] = {
        "name": name,
        "type": str(values.dtype),
        "role": role,
        "missing_share": missing / max(frame.height, 1),
        "distinct": values.drop_nulls().n_unique() if _comparable(values.dtype) else None,
        "why_left_out": plan.dropped.get(name),
        "suggestion": plan.suggestions.get(name),
        "kind": plan.feature(name).kind if role == "input" else None,
        "min": None,
        "max": None,
    }
    if values.dtype.is_numeric():
        finite = values.cast(pl.Float64).drop_nulls()
        finite = finite.filter(finite.is_finite())
        detail["min"] = float(finite.min()) if finite.len() else None
        detail["max"] = float(finite.max()) if finite.len() else None
    return detail


def _missing(frame: pl.DataFrame, inputs: Sequence[str]) -> dict[str, Any]:
    block = frame.select(
        pl.col(name).is_null() | (pl.col(name).is_nan() if frame.schema[name].is_float() else False)
        for name in inputs
    )
    cells = block.sum_horizontal()
    all_missing = (cells == len(inputs)).to_numpy()
    rows = frame.get_column(ROW).to_numpy()[all_missing]
    per_column = {name: float(block.get_column(name).mean()) for name in inputs}
    return {
        "cell_share": float(cells.sum()) / max(frame.height * len(inputs), 1),
        "rows_with_every_input_missing": int(all_missing.sum()),
        "rows_with_every_input_missing_first": rows[:SHOWN_ROWS].tolist(),
        "columns_over_half_missing": {
            name: share for name, share in per_column.items() if share >= HEAVY_MISSING
        },
    }


def _duplicates(frame: pl.DataFrame, inputs: Sequence[str], label: str) -> dict[str, Any]:
    others = [c for c in frame.columns if c != ROW]
    repeated = ~frame.select(pl.struct(others).is_first_distinct()).to_series()
    rows = frame.get_column(ROW).filter(repeated)
    conflicting = (
        frame.group_by(inputs)
        .agg(pl.col(label).n_unique().alias("labels"), pl.len().alias("rows"))
        .filter(pl.col("labels") > 1)
    )
    return {
        "rows_repeating_an_earlier_row": int(repeated.sum()),
        "first": rows.head(SHOWN_ROWS).to_list(),
        "rows_with_identical_inputs_and_different_labels": int(conflicting["rows"].sum()),
    }


def _leakage(
    frame: pl.DataFrame, y: np.ndarray, layout: TableLayout, plan: ColumnPlan
) -> list[dict[str, Any]]:
    """Columns (inputs or not) whose values alone rank the label almost perfectly."""
    if frame.height > LEAKAGE_ROWS:
        sample = np.sort(np.random.default_rng(0).choice(frame.height, LEAKAGE_ROWS, replace=False))
        frame, y = frame[sample], y[sample]
    found = []
    for name, dtype in frame.schema.items():
        if name in layout.reserved or not _comparable(dtype):
            continue
        values = frame.get_column(name)
        encoding = next((e for e in plan.encodings if e.column == name), None)
        if dtype.is_numeric() or dtype == pl.Boolean or dtype.is_temporal():
            score = values.cast(pl.Float64) if not dtype.is_temporal() else values.to_physical()
            separation = _separation(y, score.cast(pl.Float64).to_numpy())
        elif encoding is not None:
            separation = _category_separation(y, values)
        else:
            # Text left out (ids, free text): only whether it is filled can leak.
            separation = _separation(y, values.is_null().cast(pl.Float64).to_numpy())
        if separation >= LEAKAGE_AUC:
            found.append(
                {
                    "column": name,
                    "auc": round(separation, 4),
                    "input": name in plan.feature_names,
                }
            )
    return sorted(found, key=lambda item: (-item["auc"], item["column"]))


def _comparable(dtype: pl.DataType) -> bool:
    return (
        dtype.is_numeric()
        or dtype.is_temporal()
        or dtype in (pl.Boolean, pl.String, pl.Categorical)
        or isinstance(dtype, pl.Enum)
    )


def _separation(y: np.ndarray, score: np.ndarray) -> float:
    """Best ROC-AUC of ``score`` in either direction, missing values put at either end."""
    missing = ~np.isfinite(score)
    if missing.all():
        return 0.5
    low, high = (
        np.nanmin(np.where(missing, np.nan, score)),
        np.nanmax(np.where(missing, np.nan, score)),
    )
    best = 0.5
    for fill in (low - 1.0, high + 1.0):
        auc = roc_auc(y, np.where(missing, fill, score))
        if np.isfinite(auc):
            best = max(best, auc, 1.0 - auc)
    return float(best)


def _category_separation(y: np.ndarray, values: pl.Series) -> float:
    """ROC-AUC of each row's category event rate (missing is a category of its own)."""
    frame = pl.DataFrame({"c": values.cast(pl.String).fill_null("\0missing"), "y": y})
    rate = frame.with_columns(pl.col("y").mean().over("c").alias("rate"))
    return _separation(y, rate.get_column("rate").to_numpy())


def _warnings(report: Mapping[str, Any], layout: TableLayout) -> list[str]:
    warnings = []
    for leak in report["leakage"]:
        where = "a model input" if leak["input"] else "left out, but check how it was made"
        warnings.append(
            f"column {leak['column']!r} alone separates the label almost perfectly (ROC-AUC "
            f"{leak['auc']:.3f}; {where}): is it known before the outcome? If not, it leaks "
            "the label; --drop it"
        )
    label = report["label"]
    if label["positives"] < FEW_POSITIVES:
        warnings.append(
            f"only {label['positives']} events: fold AUCs will spread widely; read the "
            "estimate with its standard deviation"
        )
    missing = report["missing"]
    empty_rows = missing["rows_with_every_input_missing"]
    if empty_rows:
        first = ", ".join(str(r) for r in missing["rows_with_every_input_missing_first"])
        more = ", ..." if empty_rows > SHOWN_ROWS else ""
        warnings.append(
            f"{empty_rows} row(s) have every model input empty (rows {first}{more}): they are "
            "scored from the missing pattern alone"
        )
    for name, share in missing["columns_over_half_missing"].items():
        warnings.append(f"column {name!r} is {share:.0%} empty")
    duplicates = report["duplicates"]
    if duplicates["rows_repeating_an_earlier_row"]:
        first = ", ".join(str(r) for r in duplicates["first"])
        warnings.append(
            f"{duplicates['rows_repeating_an_earlier_row']} row(s) repeat an earlier row exactly "
            f"(rows {first}): copies on both sides of a fold flatter the estimate"
        )
    if duplicates["rows_with_identical_inputs_and_different_labels"]:
        warnings.append(
            f"{duplicates['rows_with_identical_inputs_and_different_labels']} rows share their "
            "inputs with a row of the other label"
        )
    for name, option in report["suggestions"].items():
        if option == "--id" and layout.id_col is None:
            warnings.append(
                f"column {name!r} looks like an entity id: pass --id {name} so that no entity "
                "sits on both sides of a fold"
            )
        elif option == "--time" and layout.time_col is None:
            warnings.append(
                f"column {name!r} looks like a time: pass --time {name} to test on later periods"
            )
    for encoding in report["categorical"]["columns"]:
        if encoding["pooled"]:
            warnings.append(
                f"text column {encoding['column']!r}: {encoding['pooled']} rare categories share "
                f"one code ({len(encoding['levels'])} coded)"
            )
    for note in report["table"].get("notes", []):
        warnings.append(
            f"column {note['column']!r}: {note['note']} (first at row {note['first_row']})"
        )
    return warnings
