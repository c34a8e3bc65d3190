import json
import os
import subprocess
import sys
import time
import zipfile
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from pipelines import file_io, publish_io, workdir_lock
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


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped (as a killed run's is, soon after)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _left_by(workdir: Path, pid: int, mark: str = publish_io.PARTIAL_MARK) -> Path:
    """A hand-made copy of publish/2026-W47/finance that the writer ``pid`` left half-written
    a minute ago: far younger than STALE_AFTER_S."""
    leftover = workdir / "publish" / "2026-W47" / f".finance{mark}{pid}-{'a' * 32}"
    leftover.mkdir(parents=True)
    (leftover / "risk_list.csv").write_text("half")
    return leftover


def test_a_dead_writers_fresh_leftover_goes_when_the_next_run_holds_the_workdir(tmp_path):
    partial = _left_by(tmp_path, _dead_pid())
    retired = _left_by(tmp_path, _dead_pid(), publish_io.RETIRED_MARK)
    target = tmp_path / "publish" / "2026-W47" / "finance"
    with workdir_lock.exclusive(tmp_path, "publish"), atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("whole")
    assert not partial.exists() and not retired.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == ["finance"]


def test_without_the_workdir_lock_a_dead_writers_fresh_leftover_waits_its_hour(tmp_path):
    # Without the lock a writer elsewhere (another host or container sharing the workdir,
    # whose process looks dead from here) may still be at work in it.
    partial = _left_by(tmp_path, _dead_pid())
    with atomic_directory(tmp_path / "publish" / "2026-W47" / "finance") as folder:
        (folder / "risk_list.csv").write_text("whole")
    assert (partial / "risk_list.csv").read_text() == "half"


def test_a_live_writers_copy_stays_while_the_lock_is_held(tmp_path):
    # Another thread of this process (a task of the same flow), or a process that writes
    # without taking the lock: alive, so its copy is work in progress.
    partial = _left_by(tmp_path, os.getpid())
    target = tmp_path / "publish" / "2026-W47" / "finance"
    with workdir_lock.exclusive(tmp_path, "publish"), atomic_directory(target) as folder:
        (folder / "risk_list.csv").write_text("whole")
    assert partial.is_dir()


def test_only_copies_of_the_same_target_named_by_a_writer_go(tmp_path):
    dead = _dead_pid()
    week = tmp_path / "publish" / "2026-W47"
    other_industry = week / f".education{publish_io.PARTIAL_MARK}{dead}-{'b' * 32}"
    unnamed = week / f".finance{publish_io.PARTIAL_MARK}{'c' * 32}"  # before pids were in names
    lookalike = week / f".finance.draft-{dead}-{'d' * 32}"
    for folder in (other_industry, unnamed, lookalike):
        folder.mkdir(parents=True)
    with workdir_lock.exclusive(tmp_path, "publish"):
        publish_io.abandon(publish_io.begin(week / "finance"))
    assert all(p.is_dir() for p in (other_industry, unnamed, lookalike))


def test_a_partial_folder_is_named_after_its_writer(tmp_path):
    partial = publish_io.begin(tmp_path / "finance")
    pid, _, rest = partial.name.removeprefix(f".finance{publish_io.PARTIAL_MARK}").partition("-")
    assert int(pid) == os.getpid() and len(rest) == 32


def test_without_atomic_exchange_the_two_rename_path_still_replaces(tmp_path, monkeypatch):
    monkeypatch.setattr(publish_io, "_exchange", lambda a, b: False)
    target = tmp_path / "finance"
    for text in ("old", "new"):
        with atomic_directory(target) as folder:
            (folder / "risk_list.csv").write_text(text)
    assert (target / "risk_list.csv").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["finance"]


def _ingest_run(runs: Path, run_id: str, ids: list[str]) -> None:
    (runs / run_id).mkdir(parents=True)
    summary = {"run_id": run_id, "validation_result_ids": ids}
    (runs / run_id / "ingest_summary.json").write_text(json.dumps(summary), encoding="utf-8")


def test_the_manifests_ingest_is_the_run_that_wrote_the_snapshot_not_a_later_idle_one(tmp_path):
    ledger, runs = tmp_path / "_ledger.jsonl", tmp_path / "runs"
    assert publish_io.snapshot_ingest(ledger, runs) == {"run_id": None, "validation_result_ids": []}
    _ingest_run(runs, "20261120T235959-aaaaaa", ["gx-a"])
    _ingest_run(runs, "20261120T235959-ffffff", ["gx-f2", "gx-f1"])
    lines = [{"source": "s", "delivery_id": "d1", "run_id": "20261120T235959-ffffff"}]
    ledger.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    wrote = {"run_id": "20261120T235959-ffffff", "validation_result_ids": ["gx-f1", "gx-f2"]}
    assert publish_io.snapshot_ingest(ledger, runs) == wrote
    # A re-run of the same ingest time found nothing new: it has a summary (and, by its random
    # suffix, may sort either side of the first) but appended no line; the lineage stays.
    _ingest_run(runs, "20261120T235959-000000", [])
    _ingest_run(runs, "20261127T235959-111111", [])
    assert publish_io.snapshot_ingest(ledger, runs) == wrote
    # A line still being appended is not part of the snapshot.
    with ledger.open("a", encoding="utf-8") as out:
        out.write('{"source": "s", "delivery_id": "d2", "run_id": "20261127T2')
    assert publish_io.snapshot_ingest(ledger, runs) == wrote


@pytest.mark.parametrize("run_id", ["../outside", "runs/../x", ".."])
def test_a_ledger_naming_a_path_for_its_run_reads_nothing_outside_the_ingest_runs(tmp_path, run_id):
    ledger, runs = tmp_path / "lake" / "_ledger.jsonl", tmp_path / "ingest"
    ledger.parent.mkdir()
    runs.mkdir()
    _ingest_run(tmp_path, "outside", ["gx-not-ours"])
    ledger.write_text(json.dumps({"source": "s", "run_id": run_id}) + "\n", encoding="utf-8")
    assert publish_io.snapshot_ingest(ledger, runs) == {
        "run_id": run_id,
        "validation_result_ids": [],
    }
