"""`ews features` on a tiny lake written in the real layout: the files it writes and what is in
them."""

from __future__ import annotations

import itertools
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from features.registry import column_names
from pipelines import io
from pipelines.flows import features as features_flow
from pipelines.flows.features import (
    HISTORY_BLOCK_ROWS,
    WARM_UP_DAYS,
    build_features_flow,
    feature_history_task,
    history_blocks,
    history_dates,
)
from pipelines.settings import Settings
from pipelines.timeline import parse_day
from tests.features.tiny_lake import arrival_after, frames, master, months, rec

AS_OF = date(2024, 12, 20)
FIRST_MONTH = date(2023, 1, 1)


def write_lake(root, records) -> None:
    for source_id, frame in frames(records).items():
        rows = frame.collect().with_columns(
            pl.lit("2024-12-01").alias(io.DELIVERY_ID),
            pl.col("arrived_at").alias(io.INGESTED_AT),
        )
        io.write_partition(Settings(workdir=root).lake, source_id, "2024-12-01", rows)


@pytest.fixture(scope="module")
def built(prefect_harness, tmp_path_factory):
    root = tmp_path_factory.mktemp("features_flow")
    pension = [
        rec(
            "si_pension",
            uscc=u,
            period=p,
            insured_count=9,
            amount_due=10.0,
            amount_paid=10.0,
            arrears_amount=0.0,
            arrived_at=arrival_after(p, 20),
        )
        for u in ("F1", "F2", "F3")
        for p in months(FIRST_MONTH, 23)
    ]
    records = [
        master("F1", sector="制造业"),
        master("F2", sector="教育培训"),
        master("F3", sector="其他"),
        *pension,
        rec(
            "credit_repair",
            uscc="F1",
            repair_no="R-9",
            repaired_date=date(2024, 11, 1),
            repaired_record="行政处罚",
            original_source="penalty_tax",
            original_record_no="P-404",
        ),
    ]
    write_lake(root, records)
    result = build_features_flow(workdir=str(root), as_of=AS_OF.isoformat())
    return root, result


def test_writes_the_as_of_table_of_every_active_firm(built):
    root, result = built
    assert result["feature_table"] == str(
        Settings(workdir=root).features / "as_of=2024-12-20.parquet"
    )
    table = pl.read_parquet(result["feature_table"])
    assert table.columns == ["uscc", "as_of", *column_names()]
    assert sorted(table["uscc"]) == ["F1", "F2", "F3"]
    assert set(table["as_of"]) == {AS_OF}
    assert result["rows"] == 3


def test_a_repair_naming_a_record_the_lake_does_not_hold_is_listed_with_its_delivery(built):
    _, result = built
    assert result["unresolved_repairs"]["count"] == 1
    listed = pl.read_csv(result["unresolved_repairs"]["path"])
    assert listed["repair_key"].to_list() == ["R-9"]
    reason = listed["reason"][0]
    for part in ("credit_repair", "delivery 2024-12-01", "original_record_no", "R-9", "P-404"):
        assert part in reason


def test_history_is_weekly_from_the_warm_up_after_the_first_month_for_modelled_sectors(built):
    _, result = built
    history = pl.read_parquet(result["feature_history"])
    dates = sorted(set(history["as_of"]))
    first_allowed = FIRST_MONTH + timedelta(days=WARM_UP_DAYS)
    assert dates[-1] == AS_OF
    assert dates[0] >= first_allowed and dates[0] - first_allowed < timedelta(days=7)
    assert all(b - a == timedelta(days=7) for a, b in itertools.pairwise(dates))
    assert set(history["uscc"]) == {"F1", "F2"}
    assert history.columns == ["uscc", "as_of", *column_names()]
    assert result["history_rows"] == history.height == 2 * len(dates)


def test_the_general_models_history_holds_the_other_firms_every_fourth_week(built):
    _, result = built
    general = pl.read_parquet(result["feature_history_general"])
    weekly = sorted(set(pl.read_parquet(result["feature_history"])["as_of"]))
    assert set(general["uscc"]) == {"F3"}  # sector 其他: outside every declared industry
    assert sorted(set(general["as_of"])) == weekly[::-1][::4][::-1]  # back from the as-of date
    assert result["history_general_rows"] == general.height


def test_history_rows_equal_the_as_of_table_on_its_date(built):
    _, result = built
    history = pl.read_parquet(result["feature_history"]).filter(pl.col("as_of") == AS_OF)
    table = pl.read_parquet(result["feature_table"]).filter(pl.col("uscc") != "F3")
    assert history.equals(table)


def test_history_built_a_week_per_block_equals_the_history_built_in_one(built, monkeypatch):
    # Block boundaries are a memory bound only: no feature may depend on where they fall.
    root, result = built
    dates = sorted(set(pl.read_parquet(result["feature_history"])["as_of"]))
    monkeypatch.setattr(features_flow, "HISTORY_BLOCK_ROWS", 2)  # 2 modelled firms: 1 week each
    lake = str(Settings(workdir=root).lake)
    target = root / "history_by_week.parquet"
    sectors = ["制造业", "教育培训"]
    weekly = pl.read_parquet(feature_history_task.fn(lake, dates, sectors, str(target)))
    assert weekly.equals(pl.read_parquet(result["feature_history"]))


@pytest.mark.parametrize(
    ("firms", "weeks_per_block"),
    [(4_300, 129), (100_000, HISTORY_BLOCK_ROWS // 100_000), (3_000_000, 1), (0, 129)],
)
def test_history_blocks_hold_about_a_million_firm_weeks_and_keep_every_date(firms, weeks_per_block):
    dates = [AS_OF - timedelta(days=7 * i) for i in range(129)][::-1]
    blocks = history_blocks(dates, firms)
    assert [d for block in blocks for d in block] == dates
    assert max(len(block) for block in blocks) == weeks_per_block


def test_the_as_of_date_or_its_text_build_the_same_files(built, tmp_path):
    """The flow's edge parses ``as_of`` once: a date and its ISO text give the same bytes."""
    root, result = built
    copy = tmp_path / "again"
    shutil.copytree(Settings(workdir=root).lake, Settings(workdir=copy).lake)
    again = build_features_flow(workdir=str(copy), as_of=AS_OF)
    assert again["as_of"] == result["as_of"] == AS_OF.isoformat()
    assert again["history_dates"] == result["history_dates"]
    for key in ("feature_table", "feature_history"):
        assert Path(again[key]).read_bytes() == Path(result[key]).read_bytes()


@pytest.mark.parametrize("as_of", ["20/12/2024", "2024-12-32", "yesterday"])
def test_a_bad_as_of_is_refused_by_name(prefect_harness, tmp_path, as_of):
    with pytest.raises(ValueError, match=f"as_of '{as_of}' is not a date YYYY-MM-DD"):
        build_features_flow(workdir=str(tmp_path), as_of=as_of)


def test_without_a_master_in_the_lake_says_what_to_run(prefect_harness, tmp_path):
    with pytest.raises(FileNotFoundError, match="ews ingest"):
        build_features_flow(workdir=str(tmp_path), as_of="2024-12-20")


def test_history_weeks_counts_back_from_the_as_of_date():
    assert history_dates(AS_OF, None, 3) == [
        AS_OF - timedelta(weeks=2),
        AS_OF - timedelta(weeks=1),
        AS_OF,
    ]
    assert history_dates(AS_OF, None, None) == [AS_OF]
    with pytest.raises(ValueError, match="history_weeks"):
        history_dates(AS_OF, None, 0)


def test_as_of_must_be_a_date():
    assert parse_day("2024-12-20") == AS_OF
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day("20/12/2024")


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_table_write_that_fails_leaves_the_previous_table_whole(built, monkeypatch):
    root, result = built
    target = Path(result["feature_table"])
    before = target.read_bytes()

    def half_then_disk_full(self, file, **kwargs):
        Path(file).write_bytes(b"PAR1 half a table")
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_then_disk_full)
    lake = str(Settings(workdir=root).lake)
    with pytest.raises(OSError, match="disk full"):
        features_flow.feature_table_task.fn(lake, AS_OF, str(target))
    assert target.read_bytes() == before
    assert temporaries(target.parent) == []


def test_a_history_write_that_fails_leaves_the_previous_history_whole(built, monkeypatch):
    root, result = built
    target = Path(result["feature_history"])
    before = target.read_bytes()
    dates = sorted(set(pl.read_parquet(target)["as_of"]))

    sink = pl.LazyFrame.sink_parquet

    def blocks_then_disk_full(self, path, **kwargs):
        # polars writes each block through sink_parquet too: only the whole history fails.
        if features_flow.PARTS_SUFFIX in str(path):
            return sink(self, path, **kwargs)
        Path(path).write_bytes(b"PAR1 half a history")
        raise OSError("disk full")

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", blocks_then_disk_full)
    lake = str(Settings(workdir=root).lake)
    with pytest.raises(OSError, match="disk full"):
        feature_history_task.fn(lake, dates, ["制造业", "教育培训"], str(target))
    assert target.read_bytes() == before
    assert temporaries(target.parent) == []  # neither the temporary nor the blocks' folder
