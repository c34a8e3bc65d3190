"""Reading the analyst's table: separators, decimal commas, encodings, Excel, and failures that
name the file, the line and what the file looks like."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from openpyxl import Workbook

from pipelines.table_text import type_text_column
from pipelines.tables import ReadOptions, TableReadError, read_table

SEMICOLON_DECIMAL_COMMA = (
    "firm;sector;leverage;employees;opened;bankrupt\r\n"
    '"A1";retail;0,25;12;2019-03-01;0\r\n'
    '"A2";"steel; wire";1.234,5;7;2020-11-30;1\r\n'
    '"A3";retail;;3;2018-01-15;0\r\n'
    '"A4";mining;-0,5;n.a.;2017-06-01;1\r\n'
) + "".join(f'"B{i}";retail;0,{i};{i};2021-01-01;0\r\n' for i in range(1, 200))


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_semicolon_csv_with_decimal_commas_is_detected_and_typed(tmp_path):
    read = read_table(write(tmp_path, "firms.csv", SEMICOLON_DECIMAL_COMMA))
    frame = read.frame
    assert (read.separator, read.decimal, read.encoding) == (";", ",", "utf-8")
    assert read.encoding_detected
    assert frame.height == 203
    assert frame.schema["leverage"] == pl.Float64
    assert frame["leverage"].head(4).to_list() == [0.25, 1234.5, None, -0.5]
    # A quoted separator stays inside its field.
    assert frame["sector"][1] == "steel; wire"
    assert frame.schema["opened"] == pl.Date and frame["opened"][0] == date(2019, 3, 1)
    # One placeholder word in a numeric column reads as missing, and the report is told.
    assert frame.schema["employees"] == pl.Int64 and frame["employees"][3] is None
    (note,) = read.notes
    assert (note.column, note.cells, note.first_row) == ("employees", 1, 4)
    assert "'n.a.'" in note.note


def test_separator_and_decimal_can_be_given(tmp_path):
    path = write(tmp_path, "firms.txt", "a|b|y\n1,5|x|1\n2,5|z|0\n")
    read = read_table(path, ReadOptions(separator="|", decimal=","))
    assert read.frame["a"].to_list() == [1.5, 2.5]


def test_tab_separated_file_is_detected(tmp_path):
    read = read_table(write(tmp_path, "firms.tsv", "a\tb\n1.5\tx\n2\ty\n"))
    assert read.separator == "\t" and read.frame["a"].to_list() == [1.5, 2.0]


def test_a_comma_separator_with_a_comma_decimal_is_refused(tmp_path):
    path = write(tmp_path, "firms.csv", "a,b\n1,2\n")
    with pytest.raises(TableReadError, match="separator and the decimal mark are both ','"):
        read_table(path, ReadOptions(decimal=","))


def test_a_ragged_line_names_its_line_and_the_separator_it_seems_to_use(tmp_path):
    text = "a;b;c\n1;2;3\n4;5;6\n7;8,5;11;12\n"
    with pytest.raises(TableReadError) as caught:
        read_table(write(tmp_path, "firms.csv", text))
    message = str(caught.value)
    assert "\n" not in message
    assert "firms.csv line 4: 4 fields where the header has 3" in message
    assert "'7;8,5;11;12'" in message
    # The commas are decimal marks here, not another separator: no such hint.
    assert "split by" not in message


def test_a_semicolon_file_read_with_a_comma_separator_says_what_it_looks_like(tmp_path):
    path = write(tmp_path, "firms.csv", "a;b\n1;2\n3;4\n")
    with pytest.raises(
        TableReadError,
        match=r"line 1: with separator '\\\\t' the header 'a;b' "
        r"is a single column.*split by semicolon ';' it would fit",
    ):
        read_table(path, ReadOptions(separator="\\t"))
    with pytest.raises(TableReadError, match=r"line 1: the header 'ab' holds none of"):
        read_table(write(tmp_path, "one.csv", "ab\n1\n"))
    # With a header split by commas but rows by semicolons, the line says so.
    mixed = write(tmp_path, "mixed.csv", 'a,b\n"1";1\n')
    with pytest.raises(
        TableReadError, match=r"line 2: 1 fields .* split by semicolon ';' it would fit"
    ):
        read_table(mixed, ReadOptions(separator=","))


def test_duplicate_and_empty_headers_are_refused_by_position(tmp_path):
    with pytest.raises(
        TableReadError, match=r"line 1: column name 'a' appears twice \(columns 1 and 3\)"
    ):
        read_table(write(tmp_path, "dup.csv", "a,b,a\n1,2,3\n"))
    with pytest.raises(TableReadError, match="line 1: column 2 has no name"):
        read_table(write(tmp_path, "empty.csv", "a,,c\n1,2,3\n"))


def test_blank_lines_are_not_rows(tmp_path):
    read = read_table(write(tmp_path, "firms.csv", "a,b\n1,2\n\n3,4\n\n\n"))
    assert read.frame["a"].to_list() == [1, 3]


def test_gb18030_export_is_detected(tmp_path):
    rows = "".join(f"企业{i},制造业,{i}.5\n" for i in range(50))
    path = write(tmp_path, "firms.csv", "名称,行业,负债率\n" + rows, encoding="gb18030")
    read = read_table(path)
    assert read.encoding_detected and read.encoding.lower().replace("_", "") in {"gb18030", "gbk"}
    assert read.frame["行业"][0] == "制造业"


def test_a_wrong_encoding_names_the_line_and_what_the_file_looks_like(tmp_path):
    rows = "".join(f"企业{i},制造业,{i}\n" for i in range(50))
    path = write(tmp_path, "firms.csv", "名称,行业,x\n" + rows, encoding="gb18030")
    with pytest.raises(TableReadError) as caught:
        read_table(path, ReadOptions(encoding="utf-8"))
    message = str(caught.value)
    assert "firms.csv line 1: byte(s)" in message and "are not valid utf-8" in message
    assert "looks like gb18030" in message.lower().replace("_", "")
    assert "\n" not in message


def test_a_late_bad_byte_in_utf8_is_read_by_the_detected_encoding_or_refused(tmp_path):
    # Latin-1 text: not UTF-8, detected as a single-byte code page and read whole.
    path = write(tmp_path, "firms.csv", "name,x\n" + "Société,1\n" * 30, encoding="latin-1")
    read = read_table(path)
    assert read.frame["name"][0] == "Société"
    with pytest.raises(TableReadError, match="unknown encoding 'klingon'"):
        read_table(path, ReadOptions(encoding="klingon"))


def test_a_damaged_utf8_file_is_refused_rather_than_read_as_another_encoding(tmp_path):
    rows = "".join(f"企业{i},制造业,{i}\n" for i in range(40))
    data = ("名称,行业,x\n" + rows).encode("utf-8")
    cut = data.index("企业30".encode())
    path = tmp_path / "firms.csv"
    path.write_bytes(data[:cut] + data[cut : cut + 2] + data[cut + 3 :])  # one byte lost
    with pytest.raises(
        TableReadError,
        match=r"firms\.csv line 32: .* not valid UTF-8, yet the file "
        r"looks like UTF-8 .* probably damaged there",
    ):
        read_table(path)


def test_unreadable_bytes_are_refused_with_the_line(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"a,b\n1,2\n" + bytes(range(128, 256)) * 4 + b"\x00\x81\x8d\x8f\x90\x9d")
    with pytest.raises(TableReadError, match=r"binary\.csv line 3"):
        read_table(path)


def test_empty_missing_and_unknown_files_are_named(tmp_path):
    with pytest.raises(TableReadError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(TableReadError, match="the file is empty"):
        read_table(write(tmp_path, "empty.csv", "\n\n"))
    with pytest.raises(TableReadError, match=r"old Excel format \(\.xls\)"):
        read_table(write(tmp_path, "firms.xls", "x"))
    with pytest.raises(TableReadError, match=r"unsupported format '\.json'"):
        read_table(write(tmp_path, "firms.json", "{}"))


def workbook(path, rows, sheet="firms", extra_sheet=False):
    book = Workbook()
    first = book.active
    first.title = sheet
    for row in rows:
        first.append(row)
    if extra_sheet:
        other = book.create_sheet("notes")
        other.append(["only", "notes"])
    book.save(path)
    return path


def test_xlsx_cells_keep_their_types_and_text_numbers_are_typed(tmp_path):
    path = workbook(
        tmp_path / "firms.xlsx",
        [
            [None],  # an empty first row: the header is the first row with a value
            ["firm", "leverage", "as_text", "flag", "opened", "bankrupt"],
            ["A1", 0.5, "1,5", True, date(2020, 1, 1), 0],
            ["A2", None, "2,25", False, date(2021, 6, 30), 1],
            ["A3", 2, "#N/A", True, date(2019, 2, 2), 0],
        ],
        extra_sheet=True,
    )
    read = read_table(path)  # the decimal comma of the text cells is detected
    frame = read.frame
    assert read.sheet == "firms" and read.format == "xlsx" and read.decimal == ","
    assert frame["leverage"].to_list() == [0.5, None, 2.0]
    assert frame["as_text"].to_list() == [1.5, 2.25, None]
    assert frame.schema["flag"] == pl.Boolean
    assert frame.schema["opened"] == pl.Date
    assert frame["bankrupt"].to_list() == [0, 1, 0]
    assert read_table(path, ReadOptions(sheet="notes")).frame.columns == ["only", "notes"]


def test_xlsx_problems_name_the_sheet_and_row(tmp_path):
    path = workbook(tmp_path / "firms.xlsx", [["a", "b"], [1, 2], [3, 4, 5]])
    with pytest.raises(TableReadError, match=r"sheet 'firms' row 3: a value \('5'\) lies beyond"):
        read_table(path)
    with pytest.raises(TableReadError, match=r"no sheet 'other'; the sheets are \['firms'\]"):
        read_table(workbook(tmp_path / "ok.xlsx", [["a"], [1]]), ReadOptions(sheet="other"))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip at all")
    with pytest.raises(TableReadError, match=r"broken\.xlsx: not a readable \.xlsx workbook"):
        read_table(broken)


@pytest.mark.parametrize(
    ("cells", "decimal", "dtype", "values"),
    [
        (["1", "2", None], ".", pl.Int64, [1, 2, None]),
        (["1.5", "1e3"], ".", pl.Float64, [1.5, 1000.0]),
        (["1.234.567,8", "2,0"], ",", pl.Float64, [1234567.8, 2.0]),
        (["1,5", "2"], ".", pl.String, ["1,5", "2"]),  # a comma is not a number with '.'
        (["007", "12"], ".", pl.String, ["007", "12"]),  # leading zeros: a code
        (["TRUE", "false"], ".", pl.Boolean, [True, False]),
        (["inf", "1"], ".", pl.String, ["inf", "1"]),
        ([" NA ", "", "?"], ".", pl.Float64, [None, None, None]),
    ],
)
def test_text_typing_rule(cells, decimal, dtype, values):
    typed, _ = type_text_column(pl.Series("c", cells), decimal)
    assert typed.dtype == dtype
    assert typed.to_list() == values


def test_too_many_words_in_a_numeric_column_keep_it_text():
    cells = [str(i) for i in range(50)] + ["n.a."] * 2
    typed, note = type_text_column(pl.Series("c", cells), ".")
    assert typed.dtype == pl.String and note is None
