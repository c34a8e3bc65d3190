"""Landing reads, the lake and the ledger: file-level behaviour without GX or Prefect."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts import catalog
from data_contracts.to_polars import polars_schema
from pipelines import io
from pipelines.io import DeliveryRejected, LandedFile
from pipelines.landing import survey_landing
from tests.pipelines.ingest_landing import land, land_bytes, raw_headers, valid_rows

DAY = dt.date(2026, 11, 1)


def _landed(path) -> LandedFile:
    return LandedFile(path.parent.name, path.name.split(".", 1)[0], path)


def test_csv_is_read_as_delivered_text_with_one_based_rows(tmp_path):
    contract = catalog.get("reg_enterprise_master")
    frame = valid_rows(contract, 3, day=DAY)
    path = land(tmp_path, contract, "2026-11-01", frame)
    read = io.read_delivery(_landed(path), contract)
    assert read.columns == ["_row", *(c.raw for c in contract.columns)]
    assert read["_row"].to_list() == [1, 2, 3]
    assert set(read.schema.dtypes()) == {pl.String, pl.Int64}
    assert read.drop("_row").to_dicts() == raw_headers(frame, contract).to_dicts()


def test_declared_gb18030_file_is_decoded_and_chinese_headers_match(tmp_path):
    contract = catalog.get("si_pension")
    assert contract.delivery.encoding == "gb18030"
    path = land(tmp_path, contract, "2026-11-01", valid_rows(contract, 2, day=DAY))
    read = io.read_delivery(_landed(path), contract)
    assert read.columns[1:] == [c.raw for c in contract.columns]


def test_utf8_byte_order_mark_is_not_part_of_the_first_header(tmp_path):
    contract = catalog.get("complaint_12345")
    body = raw_headers(valid_rows(contract, 2, day=DAY), contract).write_csv().encode("utf-8")
    path = land_bytes(tmp_path, contract, "2026-11-01.csv", b"\xef\xbb\xbf" + body)
    read = io.read_delivery(_landed(path), contract)
    assert read.columns[1] == contract.columns[0].raw


def test_undecodable_utf8_names_byte_offset_and_row_and_counts_lines(tmp_path):
    contract = catalog.get("complaint_12345")
    frame = valid_rows(contract, 4, day=DAY)
    path = land(tmp_path, contract, "2026-11-01", frame, encoding="gb18030")
    with pytest.raises(DeliveryRejected) as caught:
        io.read_delivery(_landed(path), contract)
    error = caught.value
    assert error.kind == "encoding"
    assert error.rows_in == 4
    assert "complaint_12345 file 2026-11-01.csv: not valid utf-8" in error.reason
    assert "byte offset 0 (the header)" in error.reason
    assert "reads cleanly as gb18030" in error.reason


def test_bad_byte_in_a_data_row_names_that_row(tmp_path):
    contract = catalog.get("complaint_12345")
    frame = valid_rows(contract, 3, day=DAY)
    body = raw_headers(frame, contract).write_csv().encode("utf-8")
    lines = body.split(b"\n")
    lines[2] = lines[2] + b"\xff"
    path = land_bytes(tmp_path, contract, "2026-11-01.csv", b"\n".join(lines))
    with pytest.raises(DeliveryRejected, match=r"\(data row 2\) cannot be decoded"):
        io.read_delivery(_landed(path), contract)


def test_utf8_file_where_gb18030_is_declared_is_a_wrong_encoding(tmp_path):
    contract = catalog.get("si_pension")
    path = land(
        tmp_path, contract, "2026-11-01", valid_rows(contract, 5, day=DAY), encoding="utf-8"
    )
    with pytest.raises(DeliveryRejected) as caught:
        io.read_delivery(_landed(path), contract)
    assert caught.value.kind == "encoding"
    assert caught.value.rows_in == 5
    assert "si_pension file 2026-11-01.csv" in caught.value.reason
    assert "utf-8" in caught.value.reason


def test_zero_byte_file_is_empty(tmp_path):
    contract = catalog.get("complaint_12345")
    path = land_bytes(tmp_path, contract, "2026-11-01.csv", b"")
    with pytest.raises(DeliveryRejected, match=r"2026-11-01\.csv: empty file") as caught:
        io.read_delivery(_landed(path), contract)
    assert caught.value.kind == "empty"
    assert caught.value.rows_in == 0


def test_header_only_file_is_empty_where_the_contract_allows_no_nil_returns(tmp_path):
    contract = catalog.get("si_pension")  # a monthly panel: every delivery carries rows
    assert not contract.delivery.nil_returns
    header = ",".join(c.raw for c in contract.columns) + "\n"
    path = land_bytes(tmp_path, contract, "2026-11-01.csv", header.encode("gb18030"))
    with pytest.raises(DeliveryRejected, match="a header but no data rows"):
        io.read_delivery(_landed(path), contract)


def test_header_only_file_is_a_nil_return_where_the_contract_allows_them(tmp_path):
    contract = catalog.get("complaint_12345")
    assert contract.delivery.nil_returns
    header = ",".join(c.raw for c in contract.columns) + "\n"
    path = land_bytes(tmp_path, contract, "2026-11-01.csv", header.encode())
    frame = io.read_delivery(_landed(path), contract)
    assert frame.height == 0
    assert frame.columns == ["_row", *(c.raw for c in contract.columns)]


def test_zero_byte_file_is_empty_even_where_nil_returns_are_allowed(tmp_path):
    contract = catalog.get("complaint_12345")  # a nil return still carries the header
    path = land_bytes(tmp_path, contract, "2026-11-08.csv", b"")
    with pytest.raises(DeliveryRejected, match="empty file \\(no header, no rows\\)"):
        io.read_delivery(_landed(path), contract)


def test_repeated_header_is_unreadable_and_names_the_column(tmp_path):
    contract = catalog.get("complaint_12345")
    first = contract.columns[0].raw
    text = f"{first},{first}\nA,B\n"
    path = land_bytes(tmp_path, contract, "2026-11-01.csv", text.encode())
    with pytest.raises(DeliveryRejected, match=f"column '{first}' appears more than once"):
        io.read_delivery(_landed(path), contract)


def test_ragged_csv_is_unreadable_with_rows_counted(tmp_path):
    contract = catalog.get("complaint_12345")
    header = ",".join(c.raw for c in contract.columns)
    too_wide = ",".join(["x"] * (len(contract.columns) + 2))
    path = land_bytes(tmp_path, contract, "2026-11-01.csv", f"{header}\n{too_wide}\n".encode())
    with pytest.raises(DeliveryRejected, match="unreadable csv") as caught:
        io.read_delivery(_landed(path), contract)
    assert caught.value.rows_in == 1


def test_corrupt_parquet_is_unreadable(tmp_path):
    contract = next(c for c in catalog.load_all().values() if c.delivery.format == "parquet")
    path = land_bytes(tmp_path, contract, "2026-11-01.parquet", b"PAR1 not really parquet")
    with pytest.raises(
        DeliveryRejected, match=f"{contract.id} file 2026-11-01.parquet: unreadable"
    ):
        io.read_delivery(_landed(path), contract)


def test_parquet_values_are_read_as_text(tmp_path):
    contract = next(c for c in catalog.load_all().values() if c.delivery.format == "parquet")
    frame = valid_rows(contract, 2, day=DAY)
    path = land(tmp_path, contract, "2026-11-01", frame)
    read = io.read_delivery(_landed(path), contract)
    assert read.drop("_row").to_dicts() == raw_headers(frame, contract).to_dicts()


def test_file_in_the_wrong_format_is_rejected(tmp_path):
    contract = catalog.get("complaint_12345")
    path = land_bytes(tmp_path, contract, "2026-11-01.xlsx", b"anything")
    with pytest.raises(
        DeliveryRejected, match=r"delivered as \.xlsx but the contract declares csv"
    ):
        io.read_delivery(_landed(path), contract)


def test_discovery_orders_backfill_and_dates_and_puts_undated_last(tmp_path):
    contract = catalog.get("complaint_12345")
    for name in ("2026-11-02.csv", "notes.csv", "backfill-2026-01-01.csv", "2026-10-30.csv"):
        land_bytes(tmp_path, contract, name, b"x")
    (tmp_path / contract.id / ".hidden.csv").write_bytes(b"x")
    survey = survey_landing(tmp_path, {contract.id})
    found = survey.deliveries
    assert [(e.path, e.status) for e in survey.set_aside] == [
        (f"{contract.id}/.hidden.csv", "ignored")
    ]
    assert [f.delivery_id for f in found[contract.id]] == [
        "backfill-2026-01-01",
        "2026-10-30",
        "2026-11-02",
        "notes",
    ]
    assert found[contract.id][0].delivered_on == dt.date(2026, 1, 1)
    assert found[contract.id][-1].delivered_on is None


def test_scan_source_of_an_empty_lake_has_the_typed_lake_schema(tmp_path):
    contract = catalog.get("si_pension")
    frame = io.scan_source(tmp_path, "si_pension").collect()
    assert frame.height == 0
    assert frame.schema == io.lake_schema(contract)
    assert list(frame.schema)[: len(contract.columns)] == list(polars_schema(contract))


def test_partition_replacement_leaves_one_file_with_the_new_rows(tmp_path):
    contract = catalog.get("si_pension")
    first = pl.DataFrame(schema=io.lake_schema(contract))
    io.write_partition(tmp_path, contract.id, "2026-11-01", first)
    second = pl.DataFrame({"uscc": ["A"], "_delivery_id": ["2026-11-01"]}).select(
        *(
            pl.col(name)
            if name in ("uscc", "_delivery_id")
            else pl.lit(None).cast(dtype).alias(name)
            for name, dtype in io.lake_schema(contract).items()
        )
    )
    io.write_partition(tmp_path, contract.id, "2026-11-01", second)
    files = list((tmp_path / contract.id).rglob("*"))
    assert [f.name for f in files if f.is_file()] == ["part-0.parquet"]
    assert io.scan_source(tmp_path, contract.id).collect()["uscc"].to_list() == ["A"]


def test_ledger_keeps_the_newest_entry_per_delivery(tmp_path):
    io.append_ledger(tmp_path, [{"source": "s", "delivery_id": "d", "sha256": "1"}])
    io.append_ledger(tmp_path, [{"source": "s", "delivery_id": "d", "sha256": "2"}])
    assert len(io.read_ledger(tmp_path)) == 2
    assert io.latest_deliveries(tmp_path)[("s", "d")]["sha256"] == "2"
