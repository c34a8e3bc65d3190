from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.train import RiskModel
from pipelines.flows.train_table import file_names, train_table_flow
from pipelines.tables import read_table


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


def write_arff(path: Path, frame: pl.DataFrame) -> None:
    lines = ["@relation firms", "", "@attribute leverage numeric", "@attribute cash_ratio numeric"]
    lines += ["@attribute class {0,1}", "", "@data"]
    for leverage, cash, label in frame.select("leverage", "cash_ratio", "defaulted").iter_rows():
        lines.append(f"{'?' if leverage is None else leverage},{cash},{label}")
    # CRLF data rows, as in the Polish bankruptcy files.
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))


def test_arff_question_marks_are_nulls_and_nominal_labels_text(tmp_path):
    frame = firms(0, n=20)
    write_arff(tmp_path / "firms.arff", frame)
    read = read_table(tmp_path / "firms.arff")
    assert read.columns == ["leverage", "cash_ratio", "class"]
    assert read["leverage"].null_count() == frame["leverage"].null_count()
    assert read["class"].to_list() == [str(v) for v in frame["defaulted"]]


def test_unsupported_table_format_is_named(tmp_path):
    (tmp_path / "firms.xlsx").write_bytes(b"")
    with pytest.raises(ValueError, match=r"unsupported format '\.xlsx'"):
        read_table(tmp_path / "firms.xlsx")


def test_segment_file_names_are_safe_and_distinct():
    assert file_names([None]) == ["all"]
    assert file_names(["steel works", "steel/works", "../x"]) == [
        "steel_works",
        "steel_works-2",
        "x",
    ]


@pytest.mark.slow
def test_train_table_on_a_segmented_csv(prefect_harness, tmp_path):
    seed = int(np.random.default_rng().integers(1_000_000))
    # 200 firms a segment: with two folds of 40 test rows the AUC of a true 0.85 signal fell
    # below 0.6 for some seeds.
    frame = firms(seed, n=400)
    frame.write_csv(tmp_path / "firms.csv")
    result = train_table_flow(
        table=str(tmp_path / "firms.csv"),
        label="defaulted",
        segment="sector",
        id_col="firm_id",
        out=str(tmp_path / "run"),
        folds=2,
        seed=seed,
        nthread=1,
    )
    metrics = json.loads(Path(result["metrics"]).read_text(encoding="utf-8"))
    assert metrics["scheme"] == "grouped_stratified_kfold"
    assert metrics["features"] == ["leverage", "cash_ratio"]
    assert set(metrics["segments"]) == {"retail", "steel works"}
    for segment, auc in result["auc"].items():
        assert auc["mean"] > 0.6, (segment, seed)
        assert metrics["segments"][segment]["auc_mean"] == auc["mean"]

    folds = pl.read_parquet(result["folds"])
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
    )
    assert result["auc"]["all"]["mean"] > 0.6, seed
    predictions = pl.read_parquet(result["predictions"]["all"])
    assert predictions["_row"].to_list() == list(range(1, 161))


def test_train_table_refuses_a_missing_label_column(prefect_harness, tmp_path):
    firms(1).write_csv(tmp_path / "firms.csv")
    with pytest.raises(ValueError, match=r"firms\.csv: label column 'default' not found"):
        train_table_flow(table=str(tmp_path / "firms.csv"), label="default", out=str(tmp_path))


def test_train_table_refuses_a_non_binary_label(prefect_harness, tmp_path):
    firms(2).with_columns(pl.col("defaulted") * 2).write_csv(tmp_path / "firms.csv")
    with pytest.raises(ValueError, match="label column 'defaulted' must be binary"):
        train_table_flow(table=str(tmp_path / "firms.csv"), label="defaulted", out=str(tmp_path))


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
            out=str(tmp_path),
        )


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
    )
    metrics = json.loads(Path(result["metrics"]).read_text(encoding="utf-8"))
    assert metrics["scheme"] == "expanding_window_out_of_time"
    assert result["auc"]["all"]["mean"] > 0.6, seed
    # The earliest block only ever trains; each later block is tested once, after its past.
    table = pl.read_parquet(Path(metrics["out"]) / "table.parquet")
    tested = pl.read_parquet(result["predictions"]["all"]).join(table, on="_row")
    first_tested = tested.group_by("fold").agg(pl.col("period").min()).sort("fold")
    assert first_tested["period"].is_sorted()
    assert tested["period"].min() > table["period"].min()
    assert tested.height < table.height
