"""The data report: what went in, what was left out, and the warnings an analyst must see."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from models.table_columns import plan_columns
from models.table_report import LEAKAGE_AUC, report_text, table_report
from models.tabular import TableLayout, prepare_table

READING = {"file": "firms.csv", "sha256": "0" * 64, "format": "text", "notes": []}


def report_of(frame: pl.DataFrame, **layout_args) -> dict:
    layout = TableLayout(name="firms.csv", label="bad", **layout_args)
    prepared = prepare_table(frame, layout)
    return table_report(prepared, layout, plan_columns(prepared, layout), READING)


def firms(n: int = 200, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    bad = (rng.random(n) < 1 / (1 + np.exp(-(x - 1)))).astype(int)
    return pl.DataFrame({"x": x, "noise": rng.normal(size=n), "bad": bad})


def test_counts_label_balance_and_column_roles():
    frame = firms().with_columns(
        pl.Series("sector", ["retail", "steel"] * 100), pl.Series("firm_id", range(200))
    )
    report = report_of(frame)
    assert report["rows"] == 200 and report["columns"] == 5
    assert report["label"]["positives"] == int(frame["bad"].sum())
    assert report["inputs"] == ["x", "noise", "sector"]
    assert "firm_id" in report["left_out"]
    roles = {c["name"]: c["role"] for c in report["column_details"]}
    assert roles == {
        "x": "input",
        "noise": "input",
        "bad": "label",
        "sector": "input",
        "firm_id": "left out",
    }
    (encoded,) = report["categorical"]["columns"]
    assert encoded["column"] == "sector" and encoded["top"][0]["rows"] == 100
    json.dumps(report)  # JSON-ready as it is


def test_heavy_missing_values_and_rows_with_every_input_empty_are_reported():
    frame = firms(100).with_columns(
        pl.when(pl.int_range(pl.len()) % 10 < 7)
        .then(None)
        .otherwise(pl.col("noise"))
        .alias("noise"),
        pl.when(pl.int_range(pl.len()).is_in([3, 40, 41]))
        .then(None)
        .otherwise(pl.col("x"))
        .alias("x"),
    )
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in([3, 40, 41]))
        .then(None)
        .otherwise(pl.col("noise"))
        .alias("noise")
    )
    report = report_of(frame)
    missing = report["missing"]
    assert missing["rows_with_every_input_missing"] == 3
    assert missing["rows_with_every_input_missing_first"] == [4, 41, 42]
    assert missing["columns_over_half_missing"]["noise"] >= 0.7
    text = " ".join(report["warnings"])
    assert "3 row(s) have every model input empty (rows 4, 41, 42)" in text
    assert "column 'noise' is 7" in text


def test_a_column_that_alone_separates_the_label_is_a_leakage_warning():
    frame = firms(300, seed=2)
    leaky = frame.with_columns(
        (pl.col("bad") * 10 + pl.Series(np.random.default_rng(3).random(300))).alias("days_late"),
        # Filled only for the events: its mere presence gives the label away.
        pl.when(pl.col("bad") == 1).then(pl.lit("court")).otherwise(None).alias("closure_note"),
        pl.when(pl.col("bad") == 1).then(pl.lit(5.0)).otherwise(None).alias("recovery"),
    )
    report = report_of(leaky)
    leaks = {item["column"]: item for item in report["leakage"]}
    assert set(leaks) == {"days_late", "closure_note", "recovery"}
    assert all(item["auc"] >= LEAKAGE_AUC for item in leaks.values())
    assert "x" not in leaks
    assert any("'days_late' alone separates the label" in w for w in report["warnings"])


def test_an_honest_strong_predictor_is_not_called_a_leak():
    assert report_of(firms(400, seed=5))["leakage"] == []


def test_duplicate_rows_and_conflicting_labels_are_counted():
    frame = pl.DataFrame(
        {"x": [1.0, 2.0, 1.0, 3.0, 2.0] * 10, "bad": [0, 1, 0, 0, 0] * 10}
    ).with_columns(pl.Series("noise", [float(i % 7) for i in range(50)]))
    report = report_of(frame)
    duplicates = report["duplicates"]
    unique_rows = frame.unique().height
    assert duplicates["rows_repeating_an_earlier_row"] == 50 - unique_rows
    assert duplicates["rows_with_identical_inputs_and_different_labels"] > 0
    assert any("repeat an earlier row exactly" in w for w in report["warnings"])


def test_segments_are_summarised_and_id_time_suggestions_become_warnings():
    frame = firms(200).with_columns(
        pl.Series("region", ["north", "south"] * 100),
        pl.Series("eval_year", [2015 + i % 4 for i in range(200)]),
    )
    report = report_of(frame, segment="region")
    assert [s["value"] for s in report["segments"]] == ["north", "south"]
    assert sum(s["rows"] for s in report["segments"]) == 200
    assert any("pass --time eval_year" in w for w in report["warnings"])
    # Given as --time, the column is no longer a suggestion.
    timed = report_of(frame, time_col="eval_year")
    assert not any("--time eval_year" in w for w in timed["warnings"])


def test_report_text_names_inputs_left_out_columns_and_warnings():
    frame = firms().with_columns(pl.Series("name", [f"Firm {i}" for i in range(200)]))
    text = report_text(report_of(frame))
    assert text.startswith("Data report: firms.csv")
    assert "model inputs: 2" in text
    assert "name: text with 200 distinct values" in text
