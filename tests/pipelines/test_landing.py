"""Surveying landing/ and counting the rows of files that are not read as deliveries."""

from __future__ import annotations

import pathlib
from pathlib import Path

import polars as pl
from openpyxl import Workbook

from pipelines.landing import count_rows, survey_landing


def test_csv_rows_are_records_so_a_quoted_line_break_counts_once(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('名称,备注\n甲,"两行\n备注"\n乙,x\n\n', encoding="utf-8")
    assert count_rows(path) == 2


def test_rows_of_other_encodings_a_bom_and_crlf_are_counted(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "名称,金额\r\n甲,1\r\n乙,2\r\n".encode("gb18030"))
    assert count_rows(path, "utf-8") == 2


def test_parquet_and_xlsx_rows_are_counted_and_a_broken_parquet_is_not(tmp_path):
    pl.DataFrame({"a": [1, 2, 3]}).write_parquet(tmp_path / "a.parquet")
    assert count_rows(tmp_path / "a.parquet") == 3
    book = Workbook()
    for row in (["名称", "金额"], ["甲", 1], ["乙", 2], [None, None]):
        book.active.append(row)
    book.save(tmp_path / "a.xlsx")
    assert count_rows(tmp_path / "a.xlsx") == 2
    (tmp_path / "b.parquet").write_bytes(b"PAR1 not really")
    assert count_rows(tmp_path / "b.parquet") is None
    (tmp_path / "c.bin").write_bytes(b"\x00\x01\x02")
    assert count_rows(tmp_path / "c.bin") is None


def test_a_link_is_never_counted(tmp_path):
    (tmp_path / "a.csv").write_text("h\n1\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "a.csv")
    assert count_rows(tmp_path / "link.csv") is None


def test_a_file_that_cannot_be_opened_is_rejected_not_planned(tmp_path, monkeypatch):
    folder = tmp_path / "si_pension"
    folder.mkdir()
    (folder / "2026-11-02.csv").write_text("h\n1\n")
    (folder / "2026-11-09.csv").write_text("h\n1\n")
    real_open = pathlib.Path.open

    def refuse(self: Path, *args, **kwargs):
        if self.name == "2026-11-09.csv":
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "open", refuse)
    survey = survey_landing(tmp_path, {"si_pension"})
    assert [f.delivery_id for f in survey.deliveries["si_pension"]] == ["2026-11-02"]
    (entry,) = survey.set_aside
    assert (entry.path, entry.status, entry.kind, entry.rows) == (
        "si_pension/2026-11-09.csv",
        "rejected",
        "unreadable",
        None,
    )
    assert "cannot be opened (PermissionError: Permission denied)" in entry.reason


def test_landing_itself_may_be_a_link_to_a_share_but_links_below_it_are_refused(tmp_path):
    real = tmp_path / "share"
    (real / "si_pension").mkdir(parents=True)
    (real / "si_pension" / "2026-11-02.csv").write_text("h\n1\n")
    (real / "si_pension" / "2026-11-09.csv").symlink_to(real / "si_pension" / "2026-11-02.csv")
    (tmp_path / "landing").symlink_to(real, target_is_directory=True)
    survey = survey_landing(tmp_path / "landing", {"si_pension"})
    assert [f.delivery_id for f in survey.deliveries["si_pension"]] == ["2026-11-02"]
    assert [(e.path, e.kind) for e in survey.set_aside] == [
        ("si_pension/2026-11-09.csv", "symlink")
    ]


def test_a_source_folder_that_cannot_be_listed_is_rejected_not_a_crash(tmp_path, monkeypatch):
    from pipelines import landing

    (tmp_path / "si_pension").mkdir()
    real_entries = landing._entries

    def refuse(folder: Path):
        if folder.name == "si_pension":
            raise PermissionError(13, "Permission denied")
        return real_entries(folder)

    monkeypatch.setattr(landing, "_entries", refuse)
    survey = survey_landing(tmp_path, {"si_pension"})
    (entry,) = survey.set_aside
    assert (entry.path, entry.status, entry.source) == ("si_pension", "rejected", "si_pension")
    assert "cannot be listed (PermissionError: Permission denied)" in entry.reason
