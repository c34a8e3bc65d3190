"""Fuzzing ingestion: any contract, a valid delivery from the simulator, random damage.

Each example takes a source, one of its simulated deliveries (no defects, at most MAX_ROWS rows),
and spoils it: cells (wrong types, odd dates, impossible magnitudes, names with formula prefixes,
blanks, duplicate keys, a dropped column), bytes (the other encoding, a BOM, CRLF, another
delimiter, truncation) and the file name (hidden, misnamed, another extension). Then it plans and
ingests the source as the flow does and checks the promises: ingestion does not crash, every file
is read or set aside with a reason, every row is accepted or quarantined, every quarantined row
and every rejection has a reason naming the source, and where the bytes were left whole the rows
counted are the rows written. Bounded: 30 derandomized examples of at most 30 rows, a few
seconds in all (no shrinking: a failure prints its example as drawn).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from functools import cache
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from data_contracts import catalog
from data_contracts.schema import ColumnType, FileFormat, SourceContract
from data_contracts.simulate.defects import DefectPlan
from data_contracts.simulate.deliveries import Delivery, as_text, render
from data_contracts.simulate.park import source_deliveries
from data_contracts.simulate.world import World, build_world
from pipelines import io
from pipelines.ingest_source import ingest_source
from tests.pipelines.ingest_landing import plan_landed

SEED = 20261121
END_DATE = dt.date(2026, 11, 20)
AS_OF = dt.datetime(2026, 11, 21, 12)
MAX_ROWS = 30
CONTRACTS = catalog.load_all()

NOT_NUMBERS = ("N/A", "壹万元", "#VALUE!", "1,000", "12..5", "1e999", "  ")
ODD_DATES = ("2026-02-30", "0000-00-00", "99999-01-01", "1900-01-01", "2226-01-01", "20261340")
FORMULA_PREFIXES = ('=HYPERLINK("http://x/?"&B2,"点击")', "+", "-", "@", "\t=", "\r=")


@cache
def _world() -> World:
    return build_world("tiny", SEED, END_DATE)


@cache
def _valid_delivery(source_id: str) -> Delivery | None:
    """The simulator's delivery of the source with the most rows (its first MAX_ROWS), every
    value as delivered text."""
    contract = CONTRACTS[source_id]
    result = source_deliveries(_world(), contract, DefectPlan(rate=0.0, guaranteed={}))
    with_rows = [d for d in result.deliveries if d.rows > 0]
    if not with_rows:
        return None
    delivery = max(with_rows, key=lambda d: d.rows)
    text = delivery.frame.head(MAX_ROWS).select(
        as_text(c, delivery.frame.head(MAX_ROWS)[c.raw]).alias(c.raw) for c in contract.columns
    )
    return delivery.with_frame(text)


# ---------------------------------------------------------------- mutations

cell_mutation = st.one_of(
    st.tuples(st.just("type"), st.integers(0, 10**6), st.sampled_from(NOT_NUMBERS)),
    st.tuples(st.just("date"), st.integers(0, 10**6), st.sampled_from(ODD_DATES)),
    st.tuples(st.just("magnitude"), st.integers(0, 10**6), st.sampled_from(("1e30", "-1e30"))),
    st.tuples(st.just("formula"), st.integers(0, 10**6), st.sampled_from(FORMULA_PREFIXES)),
    st.tuples(st.just("blank"), st.integers(0, 10**6), st.just("")),
    st.tuples(st.just("duplicate_key"), st.integers(0, 10**6), st.just("")),
    st.tuples(st.just("drop_column"), st.integers(0, 10**6), st.just("")),
)
byte_mutation = st.one_of(
    st.just(("encoding",)),
    st.just(("bom",)),
    st.just(("crlf",)),
    st.tuples(st.just("delimiter"), st.sampled_from((";", "\t", "|"))),
    st.tuples(st.just("truncate"), st.floats(0.0, 1.0)),
)
name_mutation = st.sampled_from((None, None, "hidden", "misnamed", "extension"))


def _columns(contract: SourceContract, kinds: tuple[ColumnType, ...]) -> list[str]:
    return [c.raw for c in contract.columns if c.type in kinds]


def _set_cell(frame: pl.DataFrame, row: int, column: str, value: str | None) -> pl.DataFrame:
    spoiled = pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value, pl.String))
    return frame.with_columns(spoiled.otherwise(pl.col(column)).alias(column))


def _apply_cell(contract: SourceContract, frame: pl.DataFrame, mutation) -> pl.DataFrame:
    kind, pick, value = mutation
    row = pick % frame.height
    numbers = _columns(contract, (ColumnType.int, ColumnType.float))
    dates = _columns(contract, (ColumnType.date, ColumnType.datetime))
    strings = _columns(contract, (ColumnType.string,))
    every = [c.raw for c in contract.columns]
    if kind == "duplicate_key":
        return pl.concat([frame, frame.slice(row, 1)])
    if kind == "drop_column":
        present = [c for c in every if c in frame.columns]
        return frame.drop(present[pick % len(present)]) if len(present) > 1 else frame
    pool = {
        "type": numbers or dates,
        "date": dates,
        "magnitude": numbers,
        "formula": strings,
        "blank": every,
    }[kind]
    pool = [c for c in pool if c in frame.columns]
    if not pool:
        return frame
    column = pool[pick % len(pool)]
    if kind == "formula":
        value = value + (frame[column][row] or "")
    return _set_cell(frame, row, column, value or None)


def _render(delivery: Delivery, frame: pl.DataFrame) -> bytes:
    return render(delivery.with_frame(frame))


def _apply_bytes(contract: SourceContract, data: bytes, mutation) -> bytes:
    kind = mutation[0]
    if kind == "truncate":
        return data[: int(len(data) * mutation[1])]
    if contract.delivery.format != FileFormat.csv:
        return data  # text-level damage only means something to a CSV
    declared = contract.delivery.encoding
    if kind == "encoding":
        other = "gb18030" if declared == "utf-8" else "utf-8"
        try:
            return data.decode(declared).encode(other)
        except UnicodeDecodeError:  # already damaged (re-encoded twice, truncated mid-character)
            return data
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    separator = mutation[1].encode()
    return data.replace(b",", separator)


def _file_name(delivery: Delivery, mutation: str | None) -> str:
    name = delivery.file_name
    if mutation == "hidden":
        return "." + name
    if mutation == "misnamed":
        return f"penalty_{delivery.delivery_id.replace('-', '')}.{delivery.format.value}"
    if mutation == "extension":
        other = {"csv": "parquet", "parquet": "xlsx"}[delivery.format.value]
        return f"{delivery.delivery_id}.{other}"
    return name


# ---------------------------------------------------------------- the property


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    source_id=st.sampled_from(sorted(CONTRACTS)),
    cells=st.lists(cell_mutation, max_size=4),
    damage=st.lists(byte_mutation, max_size=2),
    naming=name_mutation,
)
def test_ingest_accounts_for_every_row_of_any_damaged_delivery(source_id, cells, damage, naming):
    contract = CONTRACTS[source_id]
    delivery = _valid_delivery(source_id)
    if delivery is None:
        return  # the tiny park delivered nothing for this source
    frame = delivery.frame
    for mutation in cells:
        frame = _apply_cell(contract, frame, mutation)
    data = _render(delivery, frame)
    for mutation in damage:
        data = _apply_bytes(contract, data, mutation)
    bytes_whole = not damage or all(m[0] in ("bom", "crlf") for m in damage)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        folder = workdir / "landing" / contract.id
        folder.mkdir(parents=True)
        (folder / _file_name(delivery, naming)).write_bytes(data)

        plan = plan_landed(workdir, contract, as_of=AS_OF)
        report = ingest_source(contract, plan)  # must not raise

        # Every file is read as a delivery or set aside with a reason.
        read = {Path(p.path).name for p in plan.to_process}
        aside = {e["path"].split("/", 1)[1]: e for e in plan.set_aside}
        assert read | set(aside) == set(os.listdir(folder))
        assert not read & set(aside)
        for entry in aside.values():
            assert entry["reason"] and entry["status"] in ("ignored", "rejected")
            if bytes_whole and entry["kind"] == "hidden":
                assert entry["rows"] == frame.height

        # Every row is accepted or quarantined, and every rejection says why, naming the source.
        assert report.rows_in == report.rows_accepted + report.rows_quarantined
        for outcome in report.deliveries:
            assert outcome.reason.startswith(contract.id), outcome.reason
            assert outcome.rows_in == outcome.rows_accepted + outcome.rows_quarantined
            if bytes_whole:
                assert outcome.rows_in == frame.height, outcome.reason
            lake = io.scan_source(workdir / "lake", contract.id)
            landed = lake.filter(pl.col("_delivery_id") == outcome.delivery_id).collect()
            assert landed.height == outcome.rows_accepted
            rows = io.quarantine_rows_path(workdir / "quarantine", contract.id, outcome.delivery_id)
            if rows.exists():
                quarantined = pl.read_parquet(rows)
                assert quarantined["_row"].n_unique() == outcome.rows_quarantined
                reasons = quarantined["_reason"].to_list()
                where = f"{contract.id} file {outcome.file}"  # and row and column
                assert all(r and r.startswith(where) for r in reasons), reasons[:3]
            elif outcome.rows_quarantined:
                whole = io.quarantine_reason_path(
                    workdir / "quarantine", contract.id, outcome.delivery_id
                )
                assert io.read_json(whole)["reason"] == outcome.reason
