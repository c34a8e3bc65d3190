from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from models.train import RiskModel
from pipelines.cli import app
from pipelines.flows import train_table as train_table_module
from pipelines.flows.train_table import file_names, train_table_flow
from pipelines.table_inputs import RunFolderError
from pipelines.tables import TableReadError, read_table


def firms(seed: int, n: int = 160) -> pl.DataFrame:
    """Firms of two sectors; the label follows `leverage`; some values missing."""
    rng = np.random.default_rng(seed)
    leverage = rng.normal(size=n)
    label = (rng.random(n) < 1 / (1 + np.exp(-(3 * leverage - 1)))).astype(np.int64)
    leverage[rng.random(n) < 0.1] = np.nan
    return pl.DataFrame(
        {
            "firm_id": [f"F{i % 80:03d}" for i in range(n)],
            "sector": ["retail" if i % 2 else "steel works" for i in range(n)],
            "leverage": leverage,
            "cash_ratio": rng.normal(size=n),
            "defaulted": label,
        }
    ).with_columns(pl.col("leverage").fill_nan(None))


def messy_firms(seed: int, n: int = 400) -> pl.DataFrame:
    """An export as analysts get them: an id, a name, a text column that carries signal, a
    year, a column that is mostly empty, three rows with every ratio empty."""
    rng = np.random.default_rng(seed)
    leverage = rng.normal(size=n)
    region = rng.choice(["north", "south", "east"], size=n)
    logit = 2.5 * leverage - 1.5 + 1.5 * (region == "east")
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    # Exactly 65% of the rows empty, whatever the seed: a binomial share fell to 0.60 once.
    empty_in_sparse = rng.permutation(n) < round(0.65 * n)
    sparse = np.where(empty_in_sparse, np.nan, rng.normal(size=n))
    frame = pl.DataFrame(
        {
            "firm_no": [f"PL{i:05d}" for i in range(n)],
            "name": [f"Spółka {i}" for i in range(n)],
            "region": region,
            "leverage": leverage,
            "sparse_ratio": sparse,
            "eval_year": [2015 + i % 5 for i in range(n)],
            "bankrupt": label,
        }
    ).with_columns(pl.col("sparse_ratio").fill_nan(None))
    empty_rows = pl.int_range(pl.len()).is_in([5, 17, 33])
    return frame.with_columns(
        pl.when(empty_rows).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("leverage", "sparse_ratio")
    )


def european_csv(frame: pl.DataFrame, path: Path) -> Path:
    """';'-separated, decimal commas, quoted text (how many European exports come)."""
    text = frame.with_columns(
        pl.col(pl.Float64).map_elements(
            lambda v: f"{v:.6f}".replace(".", ","), return_dtype=pl.String
        )
    )
    text.write_csv(path, separator=";", quote_style="non_numeric")
    return path


def write_xlsx(frame: pl.DataFrame, path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append(list(row))
    book.save(path)
    return path


def write_arff(path: Path, frame: pl.DataFrame) -> None:
    lines = ["@relation firms", "", "@attribute leverage numeric", "@attribute cash_ratio numeric"]
    lines += ["@attribute class {0,1}", "", "@data"]
    for leverage, cash, label in frame.select("leverage", "cash_ratio", "defaulted").iter_rows():
        lines.append(f"{'?' if leverage is None else leverage},{cash},{label}")
    # CRLF data rows, as in the Polish bankruptcy files.
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_arff_question_marks_are_nulls_and_nominal_labels_text(tmp_path):
    frame = firms(0, n=20)
    write_arff(tmp_path / "firms.arff", frame)
    read = read_table(tmp_path / "firms.arff").frame
    assert read.columns == ["leverage", "cash_ratio", "class"]
    assert read["leverage"].null_count() == frame["leverage"].null_count()
    assert read["class"].to_list() == [str(v) for v in frame["defaulted"]]


def test_segment_file_names_are_safe_and_distinct():
    assert file_names([None]) == ["all"]
    assert file_names(["steel works", "steel/works", "../x"]) == [
        "steel_works",
        "steel_works-2",
        "x",
    ]


@pytest.mark.slow
def test_a_semicolon_decimal_comma_export_with_text_ids_and_gaps_end_to_end(
    prefect_harness, tmp_path
):
    seed = int(np.random.default_rng().integers(1_000_000))
    frame = messy_firms(seed)
    path = european_csv(frame, tmp_path / "export.csv")
    result = train_table_flow(
        table=str(path),
        label="bankrupt",
        out=str(tmp_path / "run"),
        folds=3,
        seed=seed,
        nthread=1,
        search="quick",
    )
    run = Path(result["out"])
    report = json.loads((run / "data_report.json").read_text(encoding="utf-8"))
    assert (report["table"]["separator"], report["table"]["decimal"]) == (";", ",")
    assert report["inputs"] == ["region", "leverage", "sparse_ratio"]
    assert set(report["left_out"]) == {"firm_no", "name", "eval_year"}
    assert report["categorical"]["columns"][0]["column"] == "region"
    assert report["missing"]["rows_with_every_input_missing"] == 0  # region is still there
    sparse_share = frame["sparse_ratio"].null_count() / frame.height
    assert 0.65 <= sparse_share <= 0.66  # 260 of 400, and maybe the three empty rows
    assert report["missing"]["columns_over_half_missing"]["sparse_ratio"] == sparse_share
    assert any("pass --time eval_year" in w for w in report["warnings"])
    assert "<td><code>region</code></td>" in (run / "data_report.html").read_text("utf-8")

    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    segment = metrics["segments"]["all"]
    assert segment["auc_mean"] > 0.7, seed
    against = segment["against_reference"]
    assert against["folds"] == 3 and against["ews_seconds"] > 0 and against["time_ratio"] > 0
    assert metrics["search"]["name"] == "quick"

    # Out-of-fold SHAP values add up to each row's out-of-fold margin.
    explanations = pl.read_parquet(run / "explanations" / "all.parquet")
    predictions = pl.read_parquet(run / "predictions" / "all.parquet")
    joined = explanations.join(predictions.select("_row", "margin"), on="_row")
    assert joined.height == frame.height
    total = joined.select(pl.sum_horizontal("region", "leverage", "sparse_ratio", "_bias"))
    np.testing.assert_allclose(total.to_series().to_numpy(), joined["margin"].to_numpy(), atol=1e-4)

    card = (run / "model_card.md").read_text(encoding="utf-8")
    assert "## Evaluation" in card and "reference ROC-AUC" in card
    assert "| region |" in card or "| leverage |" in card
    assert (run / "plots" / "beeswarm_all.png").read_bytes()[:4] == b"\x89PNG"
    schema = json.loads((run / "schema.json").read_text(encoding="utf-8"))
    assert schema["segments"] == {"all": "models/all.json"}
    assert not list(tmp_path.glob(".run.partial-*"))


@pytest.mark.slow
def test_train_table_on_a_segmented_xlsx(prefect_harness, tmp_path):
    seed = int(np.random.default_rng().integers(1_000_000))
    # 200 firms a segment: with two folds of 40 test rows the AUC of a true 0.85 signal fell
    # below 0.6 for some seeds.
    frame = firms(seed, n=400)
    result = train_table_flow(
        table=str(write_xlsx(frame, tmp_path / "firms.xlsx")),
        label="defaulted",
        segment="sector",
        id_col="firm_id",
        out=str(tmp_path / "run"),
        folds=2,
        seed=seed,
        nthread=1,
        search="quick",
    )
    metrics = json.loads(Path(result["metrics"]).read_text(encoding="utf-8"))
    assert metrics["scheme"] == "grouped_stratified_kfold"
    assert metrics["features"] == ["leverage", "cash_ratio"]
    assert set(metrics["segments"]) == {"retail", "steel works"}
    for segment, auc in result["auc"].items():
        assert auc["mean"] > 0.6, (segment, seed)
        assert metrics["segments"][segment]["auc_mean"] == auc["mean"]

    folds = pl.read_parquet(Path(result["out"]) / "folds.parquet")
    assert folds.height == 4 and set(folds["segment"]) == {"retail", "steel works"}
    model = RiskModel.from_bytes(Path(result["models"]["steel works"]).read_bytes())
    steel = frame.filter(pl.col("sector") == "steel works")
    assert model.predict_proba(steel).shape == (steel.height,)
    predictions = pl.read_parquet(result["predictions"]["retail"])
    assert predictions.height == frame.filter(pl.col("sector") == "retail").height


@pytest.mark.slow
def test_train_table_on_an_arff_file(prefect_harness, tmp_path):
    seed = int(np.random.default_rng().integers(1_000_000))
    write_arff(tmp_path / "firms.arff", firms(seed))
    result = train_table_flow(
        table=str(tmp_path / "firms.arff"),
        label="class",
        out=str(tmp_path / "run"),
        folds=2,
        nthread=1,
        search="quick",
    )
    assert result["auc"]["all"]["mean"] > 0.6, seed
    predictions = pl.read_parquet(result["predictions"]["all"])
    assert predictions["_row"].to_list() == list(range(1, 161))


def test_a_reading_failure_creates_no_folder_and_leaves_an_earlier_run_as_it_was(
    prefect_harness, tmp_path
):
    broken = tmp_path / "broken.csv"
    broken.write_text("a;b;defaulted\n1;2;0\n3;4;5;6\n", encoding="utf-8")
    fresh = tmp_path / "new" / "run"
    with pytest.raises(TableReadError, match=r"broken\.csv line 3: 4 fields"):
        train_table_flow(table=str(broken), label="defaulted", out=str(fresh))
    assert not (tmp_path / "new").exists()

    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "schema.json").write_text("{}", encoding="utf-8")
    (earlier / "metrics.json").write_text('{"auc": 0.8}', encoding="utf-8")
    before = snapshot(earlier)
    with pytest.raises(TableReadError):
        train_table_flow(table=str(broken), label="defaulted", out=str(earlier))
    assert snapshot(earlier) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.csv", "earlier"]


def test_a_failure_during_training_leaves_an_earlier_run_as_it_was(
    prefect_harness, tmp_path, monkeypatch
):
    firms(1).write_csv(tmp_path / "firms.csv")
    earlier = tmp_path / "run"
    earlier.mkdir()
    (earlier / "schema.json").write_text("{}", encoding="utf-8")
    before = snapshot(earlier)

    def broken_training(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(train_table_module, "train_segment", broken_training)
    with pytest.raises(RuntimeError, match="disk full"):
        train_table_flow(table=str(tmp_path / "firms.csv"), label="defaulted", out=str(earlier))
    assert snapshot(earlier) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["firms.csv", "run"]


def test_an_output_folder_with_other_files_is_refused_untouched(prefect_harness, tmp_path):
    firms(1).write_csv(tmp_path / "firms.csv")
    mine = tmp_path / "analysis"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes", encoding="utf-8")
    with pytest.raises(RunFolderError, match="is not a train-table run"):
        train_table_flow(table=str(tmp_path / "firms.csv"), label="defaulted", out=str(mine))
    assert snapshot(mine) == {"notes.txt": b"my notes"}


def test_train_table_refuses_a_missing_label_column(prefect_harness, tmp_path):
    firms(1).write_csv(tmp_path / "firms.csv")
    with pytest.raises(ValueError, match=r"firms\.csv: label column 'default' not found"):
        train_table_flow(
            table=str(tmp_path / "firms.csv"), label="default", out=str(tmp_path / "run")
        )


def test_train_table_refuses_a_non_binary_label(prefect_harness, tmp_path):
    firms(2).with_columns(pl.col("defaulted") * 2).write_csv(tmp_path / "firms.csv")
    with pytest.raises(ValueError, match="label column 'defaulted' must be binary"):
        train_table_flow(
            table=str(tmp_path / "firms.csv"), label="defaulted", out=str(tmp_path / "run")
        )


def test_train_table_refuses_a_single_class_segment(prefect_harness, tmp_path):
    frame = firms(3).with_columns(
        pl.when(pl.col("sector") == "retail").then(0).otherwise("defaulted").alias("defaulted")
    )
    frame.write_csv(tmp_path / "firms.csv")
    with pytest.raises(ValueError, match=r"segment sector='retail'.*single class"):
        train_table_flow(
            table=str(tmp_path / "firms.csv"),
            label="defaulted",
            segment="sector",
            out=str(tmp_path / "run"),
        )
    assert not (tmp_path / "run").exists()


def test_cli_reports_a_bad_table_in_one_line_without_starting_anything(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b'id;x;bad\n"1";1,5;0\n"2";2,5;1;9\n')
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train-table", "--table", str(path), "--label", "bad", "--out", str(out)]
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "export.csv line 3: 4 fields where the header has 3" in lines[0]
    assert not out.exists()


def test_cli_prints_the_data_report_before_training(tmp_path, monkeypatch):
    firms(4, n=200).write_csv(tmp_path / "firms.csv")
    calls = []
    monkeypatch.setattr(
        train_table_module, "train_table_flow", lambda **kwargs: calls.append(kwargs) or {}
    )
    result = CliRunner().invoke(
        app,
        [
            "train-table",
            "--table",
            str(tmp_path / "firms.csv"),
            "--label",
            "defaulted",
            "--id",
            "firm_id",
            "--nthread",
            "1",
            "--search",
            "quick",
            "--drop",
            "cash_ratio",
            "--time-budget",
            "90",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Data report: firms.csv" in result.stderr
    assert "cash_ratio: left out by --drop" in result.stderr
    (call,) = calls
    assert call["nthread"] == 1 and call["search"] == "quick" and call["drop"] == ["cash_ratio"]
    assert call["time_budget"] == 90 and call["candidates"] is None


@pytest.mark.slow
def test_train_table_out_of_time_on_a_dated_csv(prefect_harness, tmp_path):
    seed = int(np.random.default_rng().integers(1_000_000))
    months = [f"2020-{m:02d}-01" for m in range(1, 13)]
    frame = pl.concat([firms(seed + i, n=40) for i in range(12)]).with_columns(
        pl.Series("period", [month for month in months for _ in range(40)])
    )
    frame.write_csv(tmp_path / "firms.csv")
    result = train_table_flow(
        table=str(tmp_path / "firms.csv"),
        label="defaulted",
        time_col="period",
        out=str(tmp_path / "run"),
        folds=3,
        seed=seed,
        nthread=1,
        search="quick",
    )
    metrics = json.loads(Path(result["metrics"]).read_text(encoding="utf-8"))
    assert metrics["scheme"] == "expanding_window_out_of_time"
    assert result["auc"]["all"]["mean"] > 0.6, seed
    # The earliest block only ever trains; each later block is tested once, after its past.
    table = pl.read_parquet(Path(result["out"]) / "table.parquet")
    tested = pl.read_parquet(result["predictions"]["all"]).join(table, on="_row")
    first_tested = tested.group_by("fold").agg(pl.col("period").min()).sort("fold")
    assert first_tested["period"].is_sorted()
    assert tested["period"].min() > table["period"].min()
    assert tested.height < table.height


@pytest.mark.slow
def test_a_tiny_time_budget_cuts_the_search_and_the_run_says_so(prefect_harness, tmp_path):
    seed = int(np.random.default_rng().integers(1_000_000))
    firms(seed, n=200).write_csv(tmp_path / "firms.csv")
    result = train_table_flow(
        table=str(tmp_path / "firms.csv"),
        label="defaulted",
        id_col="firm_id",
        out=str(tmp_path / "run"),
        folds=2,
        seed=seed,
        nthread=1,
        search="quick",
        time_budget=0.001,
    )
    metrics = json.loads(Path(result["metrics"]).read_text(encoding="utf-8"))
    assert metrics["time_budget_seconds"] == 0.001
    record = metrics["segments"]["all"]["search_record"]
    assert record["cut_by_budget"] and record["over_time_budget"]
    assert record["candidates_searched"] == [1] and record["candidates_skipped"] == [0, 2]
    assert record["repeat_with"] == "--search quick --candidates 1"
    assert result["searched"]["all"] == record
    folds = pl.read_parquet(Path(result["out"]) / "folds.parquet")
    assert set(folds["configurations"]) == {"1"}
    card = (Path(result["out"]) / "model_card.md").read_text(encoding="utf-8")
    assert "**cut by the budget** (skipped 0, 2)" in card
    assert "repeat without the clock: `--search quick --candidates 1`" in card
    assert "the budget cut the search to configurations \\[1\\]" in card  # a limitation
    html = (Path(result["out"]) / "model_card.html").read_text(encoding="utf-8")
    assert "<strong>cut by the budget</strong>" in html


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--time-budget", "0"], "--time-budget must be a positive number of seconds, got 0.0"),
        (["--time-budget", "-30"], "--time-budget must be a positive number of seconds"),
        (["--candidates", "4"], "--candidates must be between 1 and 3 (the full search's"),
        (["--time-budget", "60", "--candidates", "1"], "give one"),
    ],
)
def test_cli_refuses_a_budget_it_cannot_honour_before_reading_the_table(
    tmp_path, monkeypatch, options, message
):
    firms(4, n=200).write_csv(tmp_path / "firms.csv")
    monkeypatch.setattr(train_table_module, "train_table_flow", lambda **kwargs: pytest.fail())
    out = tmp_path / "run"
    arguments = ["train-table", "--table", str(tmp_path / "firms.csv"), "--label", "defaulted"]
    result = CliRunner().invoke(app, [*arguments, "--out", str(out), *options])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not out.exists()
