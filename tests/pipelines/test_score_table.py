"""`ews score-table` on a train-table run: additive contributions, reasons, drift checks,
formula-safe spreadsheets and an output folder that is complete or untouched."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from models.table_scoring import ScoringError
from pipelines.cli import app
from pipelines.flows.train_table import train_table_flow
from pipelines.score_table import score_table
from pipelines.table_inputs import RunFolderError

FEATURES = ["sector", "leverage", "cash"]


def firms(seed: int, n: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    leverage = rng.normal(size=n)
    sector = rng.choice(["retail", "steel", "mining"], size=n)
    region = np.where(np.arange(n) % 2 == 0, "north", "south")
    logit = 2 * leverage - 1 + 1.2 * (sector == "mining")
    leverage[rng.random(n) < 0.15] = np.nan
    return pl.DataFrame(
        {
            "firm": [f"F{seed}-{i:04d}" for i in range(n)],
            "region": region,
            "sector": sector,
            "leverage": leverage,
            "cash": rng.normal(size=n),
            "bad": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    ).with_columns(pl.col("leverage").fill_nan(None))


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("score")
    firms(11, 600).write_csv(folder / "train.csv")
    result = train_table_flow(
        table=str(folder / "train.csv"),
        label="bad",
        segment="region",
        id_col="firm",
        out=str(folder / "run"),
        folds=2,
        seed=11,
        nthread=1,
        search="quick",
    )
    return Path(result["out"])


@pytest.mark.slow
def test_scores_carry_probabilities_ranks_reasons_and_additive_contributions(run, tmp_path):
    new = firms(12, 150).with_columns(
        pl.when(pl.int_range(pl.len()) < 7)
        .then(pl.lit("=cmd|' /C calc'!A0"))
        .otherwise("firm")
        .alias("firm")
    )
    new.write_csv(tmp_path / "new.csv")
    summary = score_table(run, tmp_path / "new.csv", tmp_path / "out", nthread=1)
    out = Path(summary["out"])
    assert summary["scored"] == summary["rows"] == 150
    assert summary["label"]["roc_auc"] > 0.6

    scores = pl.read_parquet(out / "scores.parquet")
    assert scores.columns[:7] == [
        "_row",
        "firm",
        "region",
        "score",
        "probability",
        "rank",
        "segment_rank",
    ]
    assert sorted(scores["rank"].to_list()) == list(range(1, 151))
    assert scores["probability"].is_between(0, 1).all()
    for region in ("north", "south"):
        part = scores.filter(pl.col("region") == region).sort("segment_rank")
        assert part["score"].is_sorted(descending=True)
    assert scores["reason_1"].drop_nulls().str.contains(r"^(sector|leverage|cash) = .* \(\+").all()

    contributions = pl.read_parquet(out / "contributions.parquet")
    total = contributions.select(pl.sum_horizontal(*FEATURES, "_bias")).to_series().to_numpy()
    np.testing.assert_allclose(total, contributions["score"].to_numpy(), atol=1e-4)
    joined = contributions.join(scores.select("_row", pl.col("score").alias("s")), on="_row")
    np.testing.assert_array_equal(joined["score"].to_numpy(), joined["s"].to_numpy())

    # Text that would run as a formula is neutralised in CSV and Excel, kept in Parquet.
    assert scores.filter(pl.col("firm").str.starts_with("=")).height == 7
    csv = pl.read_csv(out / "scores.csv")
    assert csv.filter(pl.col("firm").str.starts_with("'=cmd")).height == 7
    assert not csv["firm"].str.starts_with("=").any()
    sheet = load_workbook(out / "scores.xlsx")["scores"]
    cells = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sum(1 for c in cells if str(c).startswith("'=cmd")) == 7
    assert not any(str(c).startswith("=") for c in cells)
    assert set(load_workbook(out / "scores.xlsx").sheetnames) == {"scores", "contributions"}
    written = json.loads((out / "score_summary.json").read_text(encoding="utf-8"))
    assert "probability (highest first)" in written["tie_break"]


@pytest.mark.slow
def test_the_same_table_gives_the_same_bytes(run, tmp_path):
    firms(13, 80).write_csv(tmp_path / "new.csv")
    first = score_table(run, tmp_path / "new.csv", tmp_path / "a", nthread=1)
    second = score_table(run, tmp_path / "new.csv", tmp_path / "b", nthread=1)
    for name in ("scores.xlsx", "scores.csv", "contributions.parquet"):
        assert (Path(first["out"]) / name).read_bytes() == (Path(second["out"]) / name).read_bytes()


@pytest.mark.slow
def test_new_categories_and_segments_without_a_model_are_warnings(run, tmp_path):
    new = firms(14, 100).with_columns(
        pl.when(pl.int_range(pl.len()) < 12)
        .then(pl.lit("shipping"))
        .otherwise("sector")
        .alias("sector"),
        pl.when(pl.int_range(pl.len()) >= 90)
        .then(pl.lit("west"))
        .otherwise("region")
        .alias("region"),
    )
    new.write_parquet(tmp_path / "new.parquet")
    summary = score_table(run, tmp_path / "new.parquet", tmp_path / "out", formats=["parquet"])
    warnings = " | ".join(summary["warnings"])
    assert "'shipping' (" in warnings and "scored as (other)" in warnings
    assert "10 row(s) of region = 'west' not scored" in warnings
    scores = pl.read_parquet(Path(summary["out"]) / "scores.parquet")
    unscored = scores.filter(pl.col("score").is_null())
    assert unscored.height == 10 and set(unscored["note"]) == {"no model for region = west"}
    assert unscored["rank"].null_count() == 10
    assert not (Path(summary["out"]) / "scores.csv").exists()


@pytest.mark.slow
def test_missing_columns_and_type_drift_are_errors_that_write_nothing(run, tmp_path):
    out = tmp_path / "out"
    firms(15, 50).drop("cash").write_csv(tmp_path / "missing.csv")
    with pytest.raises(
        ScoringError, match=r"missing\.csv: 1 model input column\(s\) missing: 'cash'"
    ):
        score_table(run, tmp_path / "missing.csv", out)
    drifted = firms(15, 50).with_columns(pl.col("leverage").cast(pl.String) + pl.lit(" %"))
    drifted.write_csv(tmp_path / "drifted.csv")
    with pytest.raises(
        ScoringError, match=r"column 'leverage' was numeric .* but holds String here"
    ):
        score_table(run, tmp_path / "drifted.csv", out)
    firms(15, 50).drop("region").write_csv(tmp_path / "nosegment.csv")
    with pytest.raises(ScoringError, match="the segment column 'region' is missing"):
        score_table(run, tmp_path / "nosegment.csv", out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "drifted.csv",
        "missing.csv",
        "nosegment.csv",
    ]


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(RunFolderError, match="not a train-table run"):
        score_table(tmp_path, tmp_path / "table.csv", tmp_path / "out")


@pytest.mark.slow
def test_cli_scores_and_reports_a_bad_table_in_one_line(run, tmp_path):
    firms(16, 40).write_csv(tmp_path / "new.csv")
    ok = CliRunner().invoke(
        app,
        [
            "score-table",
            "--model",
            str(run),
            "--table",
            str(tmp_path / "new.csv"),
            "--out",
            str(tmp_path / "out"),
            "--format",
            "csv",
            "--nthread",
            "1",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "contributions.csv",
        "score_summary.json",
        "scores.csv",
    ]
    firms(16, 40).drop("sector").write_csv(tmp_path / "bad.csv")
    bad = CliRunner().invoke(
        app, ["score-table", "--model", str(run), "--table", str(tmp_path / "bad.csv")]
    )
    assert bad.exit_code == 2
    assert bad.stderr.strip().count("\n") == 0
    assert "model input column(s) missing: 'sector'" in bad.stderr
