import os
import time
import zipfile
from datetime import datetime

import polars as pl
import pytest
from openpyxl import load_workbook

from pipelines import file_io, publish_io
from pipelines.publish_io import (
    Sheet,
    atomic_directory,
    file_hashes,
    write_csv,
    write_parquet,
    write_xlsx,
)

STAMP = datetime(2026, 11, 16)


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "排名": [1, 2],
            "企业名称": ["苏州工业园区某某精密制造有限公司", "乙"],
            "风险评分": [0.5, 0.25],
        }
    )


def test_xlsx_bytes_do_not_depend_on_the_clock(tmp_path, monkeypatch):
    first = write_xlsx([Sheet("名单", _frame())], tmp_path / "a.xlsx", STAMP)
    later = time.time() + 86_400
    monkeypatch.setattr(time, "time", lambda: later)
    second = write_xlsx([Sheet("名单", _frame())], tmp_path / "b.xlsx", STAMP)
    assert first.read_bytes() == second.read_bytes()


def test_xlsx_has_frozen_bold_header_and_widths_that_fit_chinese_names(tmp_path):
    path = write_xlsx([Sheet("名单", _frame(), {"风险评分": "0.0%"})], tmp_path / "a.xlsx", STAMP)
    sheet = load_workbook(path)["名单"]
    assert [c.value for c in sheet[1]] == ["排名", "企业名称", "风险评分"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    assert sheet.column_dimensions["B"].width >= 2 * len("苏州工业园区某某精密制造有限公司")
    assert sheet["C2"].number_format == "0.0%"
    assert sheet["C2"].value == 0.5


def test_xlsx_note_sits_above_a_frozen_header(tmp_path):
    empty = pl.DataFrame(schema={"统一社会信用代码": pl.String})
    path = write_xlsx([Sheet("数据不足", empty, note="本周无")], tmp_path / "a.xlsx", STAMP)
    sheet = load_workbook(path)["数据不足"]
    assert sheet["A1"].value == "本周无"
    assert sheet["A2"].value == "统一社会信用代码"
    assert sheet.freeze_panes == "A3"


def test_xlsx_members_carry_no_clock(tmp_path):
    path = write_xlsx([Sheet("名单", _frame())], tmp_path / "a.xlsx", STAMP)
    with zipfile.ZipFile(path) as archive:
        assert {m.date_time for m in archive.infolist()} == {publish_io.ZIP_EPOCH}
        core = archive.read("docProps/core.xml").decode()
    assert "2026-11-16T00:00:00Z" in core


def test_csv_starts_with_a_bom_for_excel(tmp_path):
    path = write_csv(_frame(), tmp_path / "a.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[0] == "排名,企业名称,风险评分"


def test_parquet_and_json_are_byte_reproducible(tmp_path):
    a = write_parquet(_frame(), tmp_path / "a.parquet").read_bytes()
    b = write_parquet(_frame(), tmp_path / "b.parquet").read_bytes()
    assert a == b
    j1 = file_io.write_json(tmp_path / "a.json", {"b": 1, "a": "中"}).read_text(encoding="utf-8")
    j2 = file_io.write_json(tmp_path / "b.json", {"a": "中", "b": 1}).read_text(encoding="utf-8")
    assert j1 == j2 and "中" in j1


def test_file_hashes_cover_nested_files_in_sorted_order(tmp_path):
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "x.png").write_bytes(b"x")
    (tmp_path / "a.csv").write_bytes(b"a")
    hashes = file_hashes(tmp_path)
    assert list(hashes) == ["a.csv", "plots/x.png"]
    assert hashes["a.csv"] == "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"


def test_atomic_directory_replaces_a_previous_publication(tmp_path):
    target = tmp_path / "2026-W47" / "finance"
    with atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("old")
    with atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("new")
    assert (target / "risk_list.csv").read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["finance"]


def test_failure_mid_write_leaves_the_previous_publication_intact(tmp_path):
    target = tmp_path / "finance"
    with atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("half")
        raise RuntimeError("disk full")
    assert (target / "risk_list.csv").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["finance"]


def test_stale_leftovers_of_a_killed_run_are_cleared_and_never_published(tmp_path):
    target = tmp_path / "finance"
    stale = tmp_path / f".finance{publish_io.PARTIAL_MARK}dead"
    stale.mkdir()
    (stale / "risk_list.csv").write_text("half")
    old = time.time() - publish_io.STALE_AFTER_S - 60
    os.utime(stale, (old, old))
    with atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["finance"]


def test_a_concurrent_runs_fresh_partial_folder_is_left_alone(tmp_path):
    target = tmp_path / "finance"
    other = publish_io.begin(target)
    with atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("whole")
    assert other.is_dir()
    assert (target / "risk_list.csv").read_text() == "whole"


def test_without_atomic_exchange_the_two_rename_path_still_replaces(tmp_path, monkeypatch):
    monkeypatch.setattr(publish_io, "_exchange", lambda a, b: False)
    target = tmp_path / "finance"
    for text in ("old", "new"):
        with atomic_directory(target) as folder:
            (folder / "risk_list.csv").write_text(text)
    assert (target / "risk_list.csv").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["finance"]
