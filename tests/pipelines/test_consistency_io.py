"""Pilot lists and returned workbooks: every format read, every bad cell named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from data_contracts.checksums import uscc_check
from data_contracts.rules import load_topics
from pipelines import consistency_io as files

TOPICS = load_topics()


def code(body: str) -> str:
    return body + uscc_check([body])[0]


A, B = code("91320594MA1AAAAAA"), code("91320594MA1BBBBBB")


def test_a_csv_list_with_the_chinese_header_is_read_in_order_without_repeats(tmp_path: Path):
    path = tmp_path / "pilot.csv"
    path.write_text(
        f"\ufeff序号,统一社会信用代码\n1,{B}\n2,{A.lower()}\n3, {B} \n4,\n", encoding="utf-8"
    )
    assert files.read_firm_list(path) == [B, A]


def test_a_text_list_and_a_workbook_list_are_read(tmp_path: Path):
    text = tmp_path / "pilot.txt"
    text.write_text(f"{A}\n\n{B}\n", encoding="utf-8")
    assert files.read_firm_list(text) == [A, B]
    book = Workbook()
    book.active.append(["uscc", "名称"])
    book.active.append([A, "甲"])
    book.active.append([B, "乙"])
    path = tmp_path / "pilot.xlsx"
    book.save(path)
    assert files.read_firm_list(path) == [A, B]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("名称,备注\n甲,x\n", "no column 统一社会信用代码 or uscc"),
        ("名称\n甲\n", "row 2, column 名称: .甲. is not a valid"),
        ("uscc\n\n", "no firm listed"),
        (f"uscc\n{A[:-1]}0\n", "row 2, column uscc"),
    ],
)
def test_a_bad_list_is_refused_naming_file_and_row(tmp_path: Path, content, message):
    path = tmp_path / "pilot.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(files.FirmListError, match=message):
        files.read_firm_list(path)


def test_a_missing_list_is_refused(tmp_path: Path):
    with pytest.raises(files.FirmListError, match="no such file"):
        files.read_firm_list(tmp_path / "absent.csv")


def test_the_scope_names_the_list_whatever_its_order():
    assert files.scope_of(None) == "park"
    assert files.scope_of([A, B]) == files.scope_of([B, A]) != files.scope_of([A])
    assert files.scope_of([A]).startswith("pilot-")


def returned(tmp_path: Path, rows: list[list]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = files.LIST_SHEET
    sheet.append([files.KEY_HEADER, "企业名称", files.RESULT, files.DECIDED_ON, files.NOTE])
    for row in rows:
        sheet.append(row)
    path = tmp_path / "returned.xlsx"
    book.save(path)
    return path


def test_a_returned_workbook_gives_one_report_per_filled_result(tmp_path: Path):
    key = f"hc_report_vs_pension|{A}|2025"
    path = returned(
        tmp_path,
        [
            [key, "甲", "已核实属实", dt.datetime(2026, 11, 26), "已约谈"],
            [f"rev_report_vs_vat|{B}|2025", "乙", None, None, None],
            [f"'tax_report_vs_collected|{B}|2025", "乙", "误报", "2026-11-27", None],
        ],
    )
    reports = files.read_returned_workbook(path, TOPICS)
    assert reports == [
        {
            "anomaly_key": key,
            "status": "verified",
            "decided_on": dt.date(2026, 11, 26),
            "note": "已约谈",
        },
        {
            "anomaly_key": f"tax_report_vs_collected|{B}|2025",
            "status": "false_alarm",
            "decided_on": dt.date(2026, 11, 27),
            "note": None,
        },
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["k", "甲", "不知道", None, None], "row 2, column 核查结果: '不知道'"),
        (["k", "甲", "误报", "明天", None], "row 2, column 核查日期: '明天' is not a date"),
        ([None, "甲", "误报", None, None], "row 2, column 异常编号: empty"),
        (["k", "甲", "误报", None, "长" * 1001], "row 2, column 核查情况说明: longer than 1000"),
        (["k", "甲", "已派发待核查", None, None], "核查结果"),
    ],
)
def test_a_bad_returned_cell_is_refused_naming_sheet_row_and_column(tmp_path: Path, row, message):
    with pytest.raises(files.ReturnedWorkbookError, match=message):
        files.read_returned_workbook(returned(tmp_path, [row]), TOPICS)


def test_a_file_that_is_not_the_returned_list_is_refused(tmp_path: Path):
    other = tmp_path / "other.xlsx"
    Workbook().save(other)
    with pytest.raises(files.ReturnedWorkbookError, match="no sheet '异常清单'"):
        files.read_returned_workbook(other, TOPICS)
    text = tmp_path / "text.xlsx"
    text.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(files.ReturnedWorkbookError, match="cannot open it as a workbook"):
        files.read_returned_workbook(text, TOPICS)


def test_an_empty_department_list_still_has_its_notes(tmp_path: Path):
    from features.rules.evidence import EVIDENCE_SCHEMA
    from features.rules.render import ANOMALY_SCHEMA

    empty = pl.DataFrame(schema={**ANOMALY_SCHEMA, "first_found": pl.Date, "status_zh": pl.String})
    sheets = files.department_sheets(
        empty, pl.DataFrame(schema=EVIDENCE_SCHEMA), "tax", dt.date(2026, 11, 20), "park", TOPICS
    )
    assert sheets[0].note == "本期无异常"
    notes = dict(sheets[1].frame.rows())
    assert notes["异常数"] == "0" and notes["范围"] == "全园区"
