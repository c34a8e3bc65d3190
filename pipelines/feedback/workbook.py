"""The weekly list as a round trip: the editable inspection columns, and reading a returned file.

The regulator gets ``risk_list.xlsx`` with the published columns locked and four editable ones
after them (``data_contracts/feedback.yaml``: inspection date, method, outcome, note), each with
Excel's own validation. What comes back is read against that contract before anything is
recorded. Every problem is collected and named by sheet, row and column:

* the notes sheet must say which list it is (week, regulator, industry), a list that was
  published in this workdir (and the one the operator expected, when given);
* the list sheet keeps the published headers and every published cell as published: a firm that
  is not on the list, a firm twice, a missing firm or any edited published cell is refused (a
  cell published neutralised against formulas, ``'=…``, is the value it stands for, with or
  without the apostrophe an application may drop: ``pipelines.spreadsheet_safety``);
* an outcome or a method outside the lists, a date that is not a date, before the list went out
  or after today, an outcome without its date or method (or a date without an outcome), a
  note longer than allowed.

One problem refuses the whole file: nothing is recorded from it.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from data_contracts.feedback import FeedbackContract
from models.config import IndustrySpec
from pipelines.publish_io import RISK_LIST_XLSX, InputColumn
from pipelines.spreadsheet_safety import restore_text
from pipelines.timeline import is_week_label, published_on

NOTES_ITEM, NOTES_TEXT = "项目", "说明"


def inspection_inputs(contract: FeedbackContract, week: str) -> tuple[InputColumn, ...]:
    """The editable columns of a week's list, in order (what ``read_returned`` expects)."""
    columns = contract.workbook.columns
    first = published_on(week)
    return (
        InputColumn(
            columns.inspection_date.zh,
            "date",
            f"检查日期：{first.isoformat()}（名单发布日）或之后，格式 年-月-日",
            min_date=first,
            width=13,
        ),
        InputColumn(
            columns.method.zh,
            "choice",
            "从下拉列表选择检查方式",
            choices=tuple(c.zh for c in contract.methods.values()),
            width=13,
        ),
        InputColumn(
            columns.outcome.zh,
            "choice",
            "从下拉列表选择检查结果；尚未检查的企业留空",
            choices=tuple(c.zh for c in contract.outcomes.values()),
            width=16,
        ),
        InputColumn(
            columns.note.zh,
            "text",
            "检查发现的情况（可选）",
            max_length=contract.workbook.note_max_chars,
            width=30,
        ),
    )


def notes_rows(contract: FeedbackContract, spec: IndustrySpec) -> list[tuple[str, str]]:
    """Rows the notes sheet adds so a returned file says which list it is and how to fill it."""
    layout = contract.workbook
    editable = "、".join(c.zh for c in layout.editable().values())
    return [
        (layout.industry_item, spec.name.zh),
        (
            "检查结果回填",
            f"请在黄色列（{editable}）填写检查情况后将本文件发回；其他列已锁定，请勿修改。"
            "尚未检查的企业留空，下周名单会继续跟踪。",
        ),
    ]


@dataclass(frozen=True)
class Problem:
    """One reason a returned workbook is refused, where it is."""

    sheet: str | None
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"sheet {self.sheet}"] if self.sheet else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class WorkbookRejected(ValueError):
    """A returned workbook that breaks the contract; ``problems`` names every cell."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{path.name} refused, nothing recorded ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n{listed}"
        )


@dataclass(frozen=True)
class ReturnedRow:
    row: int  # the sheet row (1-based, the header is row 1)
    uscc: str
    inspection_date: dt.date | None
    method: str | None
    outcome: str
    note: str | None


@dataclass
class ReturnedList:
    week: str
    industry: str
    regulator: str
    rows: list[ReturnedRow] = field(default_factory=list)
    firms: int = 0  # listed firms in the file (reported or not)


def read_returned(
    path: Path,
    *,
    contract: FeedbackContract,
    specs: dict[str, IndustrySpec],
    publish_root: Path,
    today: dt.date,
    expected_week: str | None = None,
    expected_industry: str | None = None,
) -> ReturnedList:
    """The reports in a returned workbook, or ``WorkbookRejected`` naming every problem."""
    layout = contract.workbook
    problems: list[Problem] = []
    try:
        book = load_workbook(path, data_only=False)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise WorkbookRejected(
            path, [Problem(None, None, None, f"not an Excel workbook ({error})")]
        ) from error

    identity = _identify(book, layout, specs, problems, expected_week, expected_industry)
    if identity is None:
        raise WorkbookRejected(path, problems)
    week, spec, week_row = identity
    published_path = publish_root / week / spec.key / RISK_LIST_XLSX
    if not published_path.is_file():
        problems.append(
            Problem(
                layout.notes_sheet,
                week_row,
                NOTES_TEXT,
                f"no list of {spec.regulator.zh} was published for week {week} here",
            )
        )
        raise WorkbookRejected(path, problems)
    if layout.list_sheet not in book.sheetnames:
        problems.append(Problem(layout.list_sheet, None, None, "the sheet is missing"))
        raise WorkbookRejected(path, problems)

    published = _published_rows(published_path, layout)
    result = ReturnedList(week=week, industry=spec.key, regulator=spec.regulator.zh)
    _read_list(book[layout.list_sheet], published, contract, week, today, result, problems)
    if problems:
        raise WorkbookRejected(path, problems)
    return result


def _identify(
    book,
    layout,
    specs: dict[str, IndustrySpec],
    problems: list[Problem],
    expected_week: str | None,
    expected_industry: str | None,
) -> tuple[str, IndustrySpec, int] | None:
    """Week, industry and the notes-sheet row of the week, from the notes sheet."""
    sheet = layout.notes_sheet
    if sheet not in book.sheetnames:
        problems.append(Problem(sheet, None, None, "the sheet is missing: which list is this?"))
        return None
    items: dict[str, tuple[int, Any]] = {}
    for row in book[sheet].iter_rows(min_row=2, max_col=2):
        key, value = row[0].value, row[1].value
        if isinstance(key, str):
            items[key.strip()] = (row[0].row, value)
    found = {}
    for item in (layout.week_item, layout.regulator_item, layout.industry_item):
        if item not in items or items[item][1] in (None, ""):
            problems.append(Problem(sheet, None, NOTES_TEXT, f"the row {item} is missing"))
        else:
            found[item] = (items[item][0], str(items[item][1]).strip())
    if len(found) < 3:
        return None
    week_row, week = found[layout.week_item]
    if not is_week_label(week):
        problems.append(Problem(sheet, week_row, NOTES_TEXT, f"{week!r} is not a week"))
        return None
    if expected_week and week != expected_week:
        problems.append(
            Problem(sheet, week_row, NOTES_TEXT, f"the file is week {week}, not {expected_week}")
        )
    regulator_row, regulator = found[layout.regulator_item]
    industry_row, industry_name = found[layout.industry_item]
    matches = [s for s in specs.values() if s.regulator.zh == regulator]
    if not matches:
        known = "、".join(s.regulator.zh for s in specs.values())
        problems.append(
            Problem(sheet, regulator_row, NOTES_TEXT, f"unknown regulator {regulator!r} ({known})")
        )
        return None
    by_name = [s for s in matches if s.name.zh == industry_name]
    if not by_name:
        problems.append(
            Problem(
                sheet,
                regulator_row,
                NOTES_TEXT,
                f"{regulator} publishes no list for industry {industry_name!r} (row "
                f"{industry_row}): wrong regulator or industry",
            )
        )
        return None
    spec = by_name[0]
    if expected_industry and spec.key != expected_industry:
        problems.append(
            Problem(
                sheet,
                regulator_row,
                NOTES_TEXT,
                f"the file is {regulator}'s {spec.key} list, not the {expected_industry} list",
            )
        )
    return (week, spec, week_row) if not problems else None


def _published_rows(path: Path, layout) -> dict[str, Any]:
    """The published list: its published headers (the editable ones after them left out), and
    each firm's published values and row."""
    sheet = load_workbook(path, data_only=False)[layout.list_sheet]
    rows = list(sheet.iter_rows(values_only=True))
    editable = {c.zh for c in layout.editable().values()}
    headers = [h for h in rows[0] if h is not None and h not in editable]
    position = headers.index(layout.key_column)
    firms = {
        restore_text(row[position]): {"row": number, "values": row[: len(headers)]}
        for number, row in enumerate(rows[1:], start=2)
        if row[position] is not None
    }
    return {"headers": headers, "firms": firms}


def _read_list(
    sheet,
    published: dict[str, Any],
    contract: FeedbackContract,
    week: str,
    today: dt.date,
    result: ReturnedList,
    problems: list[Problem],
) -> None:
    layout = contract.workbook
    title = layout.list_sheet
    headers = published["headers"]
    editable = [c.zh for c in layout.editable().values()]
    expected = [*headers, *editable]
    actual = [cell.value for cell in next(sheet.iter_rows(min_row=1, max_row=1))]
    actual += [None] * (len(expected) - len(actual))
    for index, name in enumerate(expected, start=1):
        if actual[index - 1] != name:
            problems.append(
                Problem(
                    title,
                    1,
                    get_column_letter(index),
                    f"header {actual[index - 1]!r} where the list has {name!r}",
                )
            )
    extra = [v for v in actual[len(expected) :] if v not in (None, "")]
    if extra:
        problems.append(Problem(title, 1, None, f"columns added after the list: {extra}"))
    if problems:
        return

    key_index = headers.index(layout.key_column)
    seen: dict[str, int] = {}
    first = published_on(week)
    for cells in sheet.iter_rows(min_row=2, max_col=len(expected)):
        number = cells[0].row
        values = [c.value for c in cells]
        if all(v in (None, "") for v in values):
            continue
        uscc = restore_text(values[key_index])
        key_letter = get_column_letter(key_index + 1)
        firm = published["firms"].get(uscc)
        if firm is None:
            problems.append(
                Problem(title, number, f"{layout.key_column} ({key_letter})", _unknown(uscc))
            )
            continue
        if uscc in seen:
            problems.append(
                Problem(
                    title,
                    number,
                    f"{layout.key_column} ({key_letter})",
                    f"firm {uscc} appears again (first in row {seen[uscc]})",
                )
            )
            continue
        seen[uscc] = number
        for index, (now, then) in enumerate(zip(values, firm["values"], strict=False)):
            if _differs(now, then):
                problems.append(
                    Problem(
                        title,
                        number,
                        f"{headers[index]} ({get_column_letter(index + 1)})",
                        f"published column edited: {now!r} where the list has {then!r}",
                    )
                )
        row = _inputs(values[len(headers) :], number, uscc, contract, first, today, problems)
        if row is not None:
            result.rows.append(row)
    result.firms = len(seen)
    for uscc, firm in sorted(published["firms"].items(), key=lambda item: item[1]["row"]):
        if uscc not in seen:
            problems.append(
                Problem(
                    title,
                    firm["row"],
                    layout.key_column,
                    f"firm {uscc} (published in row {firm['row']}) is missing",
                )
            )


def _unknown(uscc: Any) -> str:
    if uscc in (None, ""):
        return "no credit code: a row that is not a listed firm"
    return f"unknown firm {uscc!r}: not on this week's list"


def _differs(now: Any, then: Any) -> bool:
    now, then = restore_text(now), restore_text(then)
    if now in (None, "") and then in (None, ""):
        return False
    if isinstance(now, int | float) and isinstance(then, int | float):
        return float(now) != float(then)
    return now != then


def _inputs(
    values: list[Any],
    number: int,
    uscc: str,
    contract: FeedbackContract,
    first: dt.date,
    today: dt.date,
    problems: list[Problem],
) -> ReturnedRow | None:
    """The editable cells of one row as a report (None when the row reports nothing)."""
    layout = contract.workbook
    names = list(layout.editable())
    labels = {name: layout.editable()[name].zh for name in names}
    raw = dict(zip(names, values + [None] * (len(names) - len(values)), strict=True))
    before = len(problems)

    def problem(name: str, message: str) -> None:
        problems.append(Problem(layout.list_sheet, number, labels[name], message))

    day = _date(raw["inspection_date"])
    if day is False:
        problem("inspection_date", f"{raw['inspection_date']!r} is not a date (年-月-日)")
        day = None
    elif day is not None and day < first:
        problem("inspection_date", f"{day} is before the list went out ({first})")
    elif day is not None and day > today:
        problem("inspection_date", f"{day} is in the future (today is {today})")

    method = _choice(raw["method"], contract.method_by_label())
    if method is False:
        allowed = "、".join(contract.method_by_label())
        problem("method", f"{raw['method']!r} is not one of {allowed}")
        method = None
    outcome = _choice(raw["outcome"], contract.outcome_by_label())
    if outcome is False:
        allowed = "、".join(contract.outcome_by_label())
        problem("outcome", f"{raw['outcome']!r} is not one of {allowed}")
        outcome = None

    note = raw["note"]
    if note is not None and not isinstance(note, str):
        note = str(note)
    if note is not None and len(note) > layout.note_max_chars:
        problem("note", f"longer than {layout.note_max_chars} characters ({len(note)})")
    note = note.strip() or None if isinstance(note, str) else None

    if len(problems) > before:
        return None
    if outcome is None:
        if day is not None or method is not None:
            problem("outcome", "empty, but the row has an inspection date or method")
        return None
    inspected = contract.outcomes[outcome].inspected
    if inspected and day is None:
        problem("inspection_date", f"{contract.outcomes[outcome].zh} needs the inspection date")
    if inspected and method is None:
        problem("method", f"{contract.outcomes[outcome].zh} needs the method")
    if not inspected and (day is not None or method is not None):
        problem("outcome", f"{contract.outcomes[outcome].zh}, but a date or method is filled in")
    if len(problems) > before:
        return None
    return ReturnedRow(number, uscc, day, method, outcome, note)


def _date(value: Any) -> dt.date | bool | None:
    """A cell as a date; None when empty; False when it is not a date."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip().replace("/", "-").replace(".", "-")
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return False
    return False


def _choice(value: Any, by_label: dict[str, str]) -> str | bool | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    return by_label.get(text, False)
