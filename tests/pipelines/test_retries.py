"""Retries: a task that touches IO is tried again after a passing error, never after one that
would fail the same way again (a contract violation, a missing file, a bug)."""

from __future__ import annotations

import sqlalchemy.exc
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from pipelines.flows import ingest, publish, train
from pipelines.gx_context import ValidationError
from pipelines.retries import DELAYS_S, TRANSIENT_RETRIES, is_transient


def _caused_by(cause: BaseException) -> RuntimeError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise RuntimeError("while reading the registry") from inner
    except RuntimeError as outer:
        return outer


def test_passing_conditions_are_transient():
    assert is_transient(ConnectionRefusedError("server restarting"))
    assert is_transient(TimeoutError("read timed out"))
    assert is_transient(sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("gone")))
    assert is_transient(_caused_by(ConnectionResetError("reset by peer")))
    assert is_transient(MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE))


def test_facts_about_the_input_are_not():
    assert not is_transient(ValidationError("registration: column uscc fails its contract"))
    assert not is_transient(FileNotFoundError("features/as_of=2026-11-15.parquet"))
    assert not is_transient(PermissionError("lake/"))
    assert not is_transient(OSError("disk full while writing leavers.parquet"))
    assert not is_transient(OSError(28, "No space left on device"))
    assert not is_transient(ValueError("week '2026-W99' does not exist"))
    assert not is_transient(
        MlflowException("no alias champion", error_code=RESOURCE_DOES_NOT_EXIST)
    )
    assert not is_transient(_caused_by(FileNotFoundError("landing/x.csv")))


def test_backoff_grows_and_io_tasks_use_it():
    assert sorted(DELAYS_S) == DELAYS_S and DELAYS_S[0] > 0
    for io_task in (
        ingest.discover_task,
        ingest.data_docs_task,
        publish.score_task,
        publish.listings_task,
        train.inputs_task,
    ):
        assert io_task.retries == len(DELAYS_S)
        assert io_task.retry_condition_fn is TRANSIENT_RETRIES["retry_condition_fn"]
    # Registering a model version or logging a run twice would duplicate it: no retries.
    assert train.register_task.retries == train.log_task.retries == 0


def test_a_task_is_retried_after_a_blip_and_not_after_a_contract_violation(prefect_harness):
    attempts = {"blip": 0, "violation": 0}
    options = {**TRANSIENT_RETRIES, "retry_delay_seconds": 0, "retry_jitter_factor": None}

    @task(cache_policy=NO_CACHE, **options)
    def blip() -> str:
        attempts["blip"] += 1
        if attempts["blip"] < 3:
            raise ConnectionRefusedError("database restarting")
        return "read"

    @task(cache_policy=NO_CACHE, **options)
    def violation() -> None:
        attempts["violation"] += 1
        raise ValidationError("registration.csv row 7 column uscc: not a credit code")

    @flow
    def both() -> tuple[str, str]:
        first = blip()
        state = violation(return_state=True)
        return first, state.type.value

    assert both() == ("read", "FAILED")
    assert attempts == {"blip": 3, "violation": 1}
