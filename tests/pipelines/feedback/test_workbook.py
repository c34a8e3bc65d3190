"""The weekly workbook as a round trip: what the regulator gets, and what is refused back."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from data_contracts.feedback import load_feedback
from pipelines import file_io
from pipelines.feedback.workbook import WorkbookRejected, read_returned
from tests.pipelines.feedback.published import Published, fill, publish_one
from tests.pipelines.publish_world import WEEK, world_config

MONDAY = dt.date(2026, 11, 16)  # 2026-W47's Monday
TODAY = dt.date(2026, 11, 27)
EDITABLE = ["检查日期", "检查方式", "检查结果", "检查情况说明"]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Published:
    return publish_one(tmp_path_factory.mktemp("round_trip"))


def read(published: Published, path: Path, **kwargs):
    return read_returned(
        path,
        contract=load_feedback(),
        specs=dict(world_config().industries),
        publish_root=published.world.settings.publish,
        today=kwargs.pop("today", TODAY),
        **kwargs,
    )


def test_the_list_sheet_has_locked_published_and_open_inspection_columns(published):
    sheet = load_workbook(published.workbook)["风险名单"]
    headers = [c.value for c in sheet[1]]
    assert headers[-4:] == EDITABLE and headers[:2] == ["排名", "统一社会信用代码"]
    assert sheet.protection.sheet is True
    assert sheet.protection.autoFilter is False  # filtering is still allowed
    rows = sheet.max_row
    assert rows == 6  # five listed finance firms
    for row in range(2, rows + 1):
        assert sheet.cell(row, 2).protection.locked is True
        for column in range(len(headers) - 3, len(headers) + 1):
            assert sheet.cell(row, column).protection.locked is False
    validations = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
    assert validations["M2:M6"].type == "date"
    assert validations["M2:M6"].formula1 == "DATE(2026,11,16)"
    assert validations["N2:N6"].formula1 == '"定向检查,双随机抽查,联合检查"'
    assert validations["O2:O6"].formula1 == '"风险属实,责令整改,未发现风险,已关停或失联,未检查"'
    assert validations["P2:P6"].type == "textLength"
    notes = {row[0]: row[1] for row in load_workbook(published.workbook)["说明"].values}
    assert (notes["名单周"], notes["监管部门"], notes["行业"]) == (WEEK, "园区金融监管局", "金融")
    assert load_workbook(published.workbook)["说明"].protection.sheet is True


def test_an_untouched_return_reports_nothing(published, tmp_path):
    returned = read(published, published.returned_copy(tmp_path / "back.xlsx"))
    assert (returned.week, returned.industry, returned.firms, returned.rows) == (
        WEEK,
        "finance",
        5,
        [],
    )


def test_a_filled_return_is_read_row_by_row(published, tmp_path):
    path = fill(
        published.returned_copy(tmp_path / "back.xlsx"),
        {
            "M2": dt.datetime(2026, 11, 18),
            "N2": "定向检查",
            "O2": "风险属实",
            "P2": "拖欠工资，已停产",
            "M3": "2026-11-20",  # typed as text, still a date
            "N3": "联合检查",
            "O3": "未发现风险",
            "O4": "未检查",
        },
    )
    rows = read(published, path).rows
    uscc = [c.value for c in load_workbook(path)["风险名单"]["B"][1:4]]
    assert [(r.row, r.uscc, r.inspection_date, r.method, r.outcome, r.note) for r in rows] == [
        (2, uscc[0], dt.date(2026, 11, 18), "targeted", "risk_confirmed", "拖欠工资，已停产"),
        (3, uscc[1], dt.date(2026, 11, 20), "joint", "no_risk_found", None),
        (4, uscc[2], None, None, "not_inspected", None),
    ]


GOOD = {"M2": dt.datetime(2026, 11, 18), "N2": "定向检查", "O2": "风险属实"}


@pytest.mark.parametrize(
    ("planted", "sheet", "where", "message"),
    [
        (
            {"B3": "91320594MA9999999Y"},
            "风险名单",
            "row 3, column 统一社会信用代码 (B)",
            "unknown firm",
        ),
        ({"G2": "A"}, "风险名单", "row 2, column 风险等级 (G)", "published column edited"),
        ({"C4": '=HYPERLINK("http://x")'}, "风险名单", "row 4, column 企业名称 (C)", "edited"),
        ({"O3": "基本属实"}, "风险名单", "row 3, column 检查结果", "not one of 风险属实"),
        (
            {"N3": "突击检查", "O3": "风险属实", "M3": dt.datetime(2026, 11, 19)},
            "风险名单",
            "row 3, column 检查方式",
            "not one of",
        ),
        (
            {"M3": dt.datetime(2026, 11, 15), "N3": "定向检查", "O3": "风险属实"},
            "风险名单",
            "row 3, column 检查日期",
            "before the list went out (2026-11-16)",
        ),
        (
            {"M3": dt.datetime(2026, 12, 15), "N3": "定向检查", "O3": "风险属实"},
            "风险名单",
            "row 3, column 检查日期",
            "in the future",
        ),
        (
            {"M3": "下周二", "N3": "定向检查", "O3": "风险属实"},
            "风险名单",
            "row 3, column 检查日期",
            "is not a date",
        ),
        ({"N3": "定向检查", "O3": "风险属实"}, "风险名单", "row 3, column 检查日期", "needs the"),
        ({"M3": dt.datetime(2026, 11, 19)}, "风险名单", "row 3, column 检查结果", "empty, but"),
        ({"B3": None}, "风险名单", "row 3, column 统一社会信用代码 (B)", "no credit code"),
        ({"P3": "长" * 1001}, "风险名单", "row 3, column 检查情况说明", "longer than 1000"),
        ({"M1": "日期"}, "风险名单", "row 1, column M", "header '日期'"),
        ({"B2": "__second__"}, "风险名单", "row 3, column 统一社会信用代码 (B)", "appears again"),
        ({"B2": "__second__"}, "风险名单", "row 2, column 统一社会信用代码", "is missing"),
        ({"B2": "__moved__"}, "说明", "row 2, column 说明", "not 2026-W46"),
    ],
)
def test_one_planted_error_refuses_the_whole_file_naming_the_cell(
    published, tmp_path, planted, sheet, where, message
):
    path = published.returned_copy(tmp_path / "back.xlsx")
    book = load_workbook(path)
    second = book["风险名单"]["B3"].value
    values = {**GOOD, **planted}
    expected_week = None
    if values.get("B2") == "__second__":
        values["B2"] = second  # firm of row 3 typed over row 2's: a duplicate and a missing firm
    if values.get("B2") == "__moved__":
        del values["B2"]
        expected_week = "2026-W46"
    fill(path, values)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(WorkbookRejected) as refused:
        read(published, path, expected_week=expected_week)
    text = str(refused.value)
    assert f"sheet {sheet}, {where}" in text and message in text, text
    assert "nothing recorded" in text
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_the_wrong_regulator_or_week_is_named_in_the_notes_sheet(published, tmp_path):
    path = fill(published.returned_copy(tmp_path / "a.xlsx"), {"B4": "园区经济发展委员会"}, "说明")
    wrong = r"sheet 说明, row 4, column 说明: .*wrong regulator"
    with pytest.raises(WorkbookRejected, match=wrong):
        read(published, path)
    path = fill(published.returned_copy(tmp_path / "b.xlsx"), {"B2": "2026-W40"}, "说明")
    with pytest.raises(WorkbookRejected, match=r"sheet 说明, row 2, column 说明: no list of"):
        read(published, path)
    path = fill(published.returned_copy(tmp_path / "c.xlsx"), {"B4": "园区某某局"}, "说明")
    with pytest.raises(WorkbookRejected, match=r"row 4, column 说明: unknown regulator"):
        read(published, path)


def test_a_file_that_is_not_a_workbook_is_refused(published, tmp_path):
    path = tmp_path / "back.xlsx"
    path.write_text("排名,统一社会信用代码\n1,x\n", encoding="utf-8")
    with pytest.raises(WorkbookRejected, match="not an Excel workbook"):
        read(published, path)


def test_publishing_the_workbook_twice_gives_the_same_bytes(published, tmp_path):
    first = file_io.file_sha256(published.workbook)
    again = publish_one(tmp_path / "again")
    assert file_io.file_sha256(again.workbook) == first
