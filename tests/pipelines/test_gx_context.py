"""The GX file context: reopened from disk, set up idempotently, failures mapped to rows."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import polars as pl
import pytest

from data_contracts import catalog
from data_contracts.coerce import coerce
from pipelines import gx_context
from tests.pipelines.ingest_landing import valid_rows

PENSION = catalog.get("si_pension")
RUN_TIME = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)


def _typed(frame: pl.DataFrame, delivery: str = "2026-11-01") -> pl.DataFrame:
    rows = frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))
    typed = coerce(rows, PENSION).frame
    return typed.with_columns(pl.lit(delivery).alias("_delivery_id"))


@pytest.fixture
def context(tmp_path):
    gx_context.open_context.cache_clear()
    yield gx_context.open_context(str(tmp_path))
    gx_context.open_context.cache_clear()


def test_context_reopened_from_disk_keeps_progress_bars_off(tmp_path, context):
    gx_context.setup_source(context, PENSION)
    gx_context.open_context.cache_clear()
    reopened = gx_context.open_context(str(tmp_path))
    assert reopened is not context
    bars = reopened.variables.progress_bars
    settings = bars if isinstance(bars, dict) else vars(bars)
    assert settings == {"globally": False, "metric_calculations": False}
    result = gx_context.validate(
        reopened, PENSION, _typed(valid_rows(PENSION, 3, day=dt.date(2026, 11, 1))),
        run_name="reopened", run_time=RUN_TIME,
    )  # fmt: skip
    assert result.success


def test_setup_twice_keeps_one_suite_and_one_definition(tmp_path, context):
    first = gx_context.setup_source(context, PENSION)
    second = gx_context.setup_source(context, PENSION)
    assert second.id == first.id
    assert second.suite.id == first.suite.id
    suites = list((tmp_path / "gx" / "expectations").glob("*.json"))
    assert [p.stem for p in suites] == [PENSION.id]


def test_changed_contract_updates_the_stored_suite(context):
    gx_context.setup_source(context, PENSION)
    columns = [
        c.model_copy(update={"max": 10.0}) if c.name == "insured_count" else c
        for c in PENSION.columns
    ]
    changed = PENSION.model_copy(update={"columns": columns})
    definition = gx_context.setup_source(context, changed)
    between = [
        e for e in definition.suite.expectations
        if e.expectation_type == "expect_column_values_to_be_between"
        and e.column == "insured_count"
    ]  # fmt: skip
    assert [e.max_value for e in between] == [10.0]


def test_failures_come_back_as_batch_positions_with_their_expectation(context):
    frame = valid_rows(PENSION, 6, day=dt.date(2026, 11, 1))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("-3")).otherwise("insured_count")
        .alias("insured_count"),
        pl.when(pl.int_range(pl.len()) == 4).then(pl.lit(None)).otherwise("arrived_at")
        .alias("arrived_at"),
    )  # fmt: skip
    result = gx_context.validate(context, PENSION, _typed(frame), run_name="r", run_time=RUN_TIME)
    assert not result.success
    assert sorted(result.failures.rows()) == [
        (1, "insured_count", "expect_column_values_to_be_between"),
        (4, "arrived_at", "expect_column_values_to_not_be_null"),
    ]
    suite, run_name, _, _ = result.result_id.split("/")
    assert (suite, run_name) == (PENSION.id, "r")


def test_keys_may_repeat_across_deliveries_but_not_within_one(context):
    day = dt.date(2026, 11, 1)
    once = _typed(valid_rows(PENSION, 3, day=day), "2026-10-01")
    again = _typed(valid_rows(PENSION, 3, day=day), "2026-11-01")
    across = gx_context.validate(
        context, PENSION, pl.concat([once, again]), run_name="a", run_time=RUN_TIME
    )
    assert across.success
    within = gx_context.validate(
        context, PENSION, pl.concat([once, once]), run_name="b", run_time=RUN_TIME
    )
    assert sorted(within.failures["_position"].to_list()) == [0, 1, 2, 3, 4, 5]
    assert set(within.failures["_column"]) == {", ".join(PENSION.unique_key)}


def test_data_docs_of_a_run_without_validations_render_nothing_stored(tmp_path, context):
    gx_context.validate(
        context, PENSION, _typed(valid_rows(PENSION, 2, day=dt.date(2026, 11, 1))),
        run_name="earlier", run_time=RUN_TIME,
    )  # fmt: skip
    index = gx_context.build_data_docs(context, [], tmp_path / "run" / "data_docs")
    assert index.exists()
    assert not list((tmp_path / "run" / "data_docs" / "validations").glob("**/*.html"))


def test_an_expectation_gx_could_not_evaluate_stops_the_source_by_name():
    info = {"raised_exception": True, "exception_message": "bad regex"}
    with pytest.raises(gx_context.ValidationError, match="si_pension: GX could not evaluate x"):
        gx_context._raise_on_exception(PENSION, "x", info)
    nested = {"metric-id": {"raised_exception": True, "exception_message": "boom"}}
    with pytest.raises(gx_context.ValidationError, match="boom"):
        gx_context._raise_on_exception(PENSION, "x", nested)
    gx_context._raise_on_exception(PENSION, "x", {"raised_exception": False})


def _open_when_released(root: str, start, errors) -> None:
    start.wait()
    try:
        gx_context.open_context(root)
    except Exception as error:  # reported to the test, which names it
        errors.put(f"{type(error).__name__}: {error}")


def test_processes_opening_a_new_context_at_once_all_get_it(tmp_path):
    """Sources ingested in parallel open the context from several worker processes; on a new
    workdir each used to read GX's project file while another was writing it, and failed
    ("argument of type 'NoneType' is not iterable"). Several rounds: the race is not certain."""
    # Children forked from a clean server that has imported GX once: they start fast, and they
    # carry none of this test process's threads (a Prefect harness, a Dask cluster).
    forked = multiprocessing.get_context("forkserver")
    forked.set_forkserver_preload(["pipelines.gx_context"])
    for round_ in range(6):
        root = tmp_path / f"workdir{round_}"
        start, errors = forked.Barrier(4), forked.Queue()
        workers = [
            forked.Process(target=_open_when_released, args=(str(root), start, errors))
            for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert [worker.exitcode for worker in workers] == [0] * 4
        assert errors.empty(), errors.get()
        assert (root / "gx" / "great_expectations.yml").is_file()
