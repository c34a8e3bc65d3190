"""The workdir lock: one writer at a time, re-entered inside a process, released by a dying
process, and every hold recorded."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from pipelines import workdir_lock
from pipelines.workdir_lock import WorkdirBusy, exclusive, history, holds_workdir


def _hold(workdir: str, seconds: float, ready) -> None:
    with exclusive(workdir, "holder"):
        ready.set()
        time.sleep(seconds)


def _spawned(workdir, seconds):
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(target=_hold, args=(str(workdir), seconds, ready))
    process.start()
    assert ready.wait(60), "the other process never got the lock"
    return process


def test_a_second_process_waits_for_the_first_to_finish(tmp_path):
    other = _spawned(tmp_path, 1.5)
    started = time.monotonic()
    with exclusive(tmp_path, "second"):
        waited = time.monotonic() - started
    other.join(30)
    assert waited > 0.5
    first, second = history(tmp_path)
    assert (first["holder"], second["holder"]) == ("holder", "second")
    assert first["released"] <= second["acquired"]
    assert second["waited_s"] > 0.5


def test_a_run_that_cannot_get_the_lock_in_time_says_who_holds_it(tmp_path):
    other = _spawned(tmp_path, 30)
    try:
        with (
            pytest.raises(WorkdirBusy, match=r"locked by another EWS run \(holder pid"),
            exclusive(tmp_path, "impatient", timeout_s=0.5),
        ):
            pass
    finally:
        other.kill()
        other.join(30)


def test_a_killed_holder_leaves_the_workdir_free(tmp_path):
    other = _spawned(tmp_path, 60)
    os.kill(other.pid, signal.SIGKILL)
    other.join(30)
    with exclusive(tmp_path, "after", timeout_s=5):
        pass
    assert [h["holder"] for h in history(tmp_path)] == ["after"]


def test_a_flow_calling_another_in_the_same_process_holds_the_lock_once(tmp_path):
    @holds_workdir("inner")
    def inner(workdir: str) -> str:
        return "built"

    @holds_workdir("outer")
    def outer(workdir: str, week: str | None = None) -> str:
        return inner(workdir=workdir)

    assert outer(str(tmp_path)) == "built"
    assert [h["holder"] for h in history(tmp_path)] == ["outer"]
    assert not workdir_lock._held


def test_a_flow_without_a_workdir_cannot_be_marked_as_holding_one():
    with pytest.raises(TypeError, match="takes no workdir parameter"):

        @holds_workdir("table")
        def train_on_a_table(table: str, out: str) -> None:
            pass


def test_a_locked_flow_with_annotations_from_its_own_module_validates_under_prefect(
    prefect_harness, tmp_path
):
    """Prefect resolves string annotations in the wrapper's globals, which lack ``Sequence``
    (imported by this module only): the lock hands it the evaluated signature."""
    from prefect import flow

    @flow(name="locked-with-sequence")
    @holds_workdir("sequence")
    def with_sequence(workdir: str, keep: Sequence[str] = ()) -> list[str]:
        return list(keep)

    assert with_sequence(workdir=str(tmp_path), keep=["a", "b"]) == ["a", "b"]
    assert [h["holder"] for h in history(tmp_path)] == ["sequence"]


def test_the_lock_is_released_when_the_run_fails(tmp_path):
    @holds_workdir("failing")
    def failing(workdir: str) -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        failing(str(tmp_path))
    with exclusive(tmp_path, "next", timeout_s=1):
        pass
    assert [h["holder"] for h in history(tmp_path)] == ["failing", "next"]


def test_another_thread_of_the_same_process_waits_its_turn(tmp_path):
    order: list[str] = []

    def second() -> None:
        with exclusive(tmp_path, "thread"):
            order.append("thread")

    with exclusive(tmp_path, "main"):
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)
        order.append("main")
    thread.join(10)
    assert order == ["main", "thread"]


# Flows that only read the workdir (or compose locked flows) and take no lock of their own.
READERS = {"verify", "verify-plan", "demo"}


def test_every_flow_writing_into_the_workdir_holds_its_lock():
    """A new flow taking a workdir must hold the lock or be declared a reader here."""
    import importlib
    import pkgutil

    from prefect import Flow

    import pipelines.flows

    found = {}
    for module in pkgutil.iter_modules(pipelines.flows.__path__):
        loaded = importlib.import_module(f"pipelines.flows.{module.name}")
        for value in vars(loaded).values():
            mine = isinstance(value, Flow) and value.__module__ == loaded.__name__
            if mine and "workdir" in value.parameters.properties:
                found[value.name] = getattr(value.fn, "workdir_lock_holder", None)
    assert {"ingest", "publish", "simulate", "consistency", "feedback-import"} <= set(found)
    unlocked = {name for name, holder in found.items() if holder is None}
    assert unlocked == READERS


def test_held_over_a_path_while_any_thread_of_this_process_holds_its_workdir(tmp_path):
    workdir, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    inside = workdir / "publish" / "2026-W47"
    assert not workdir_lock.held_over(inside)
    with exclusive(workdir, "publish"):
        seen_from_a_task_thread: list[bool] = []
        task = threading.Thread(
            target=lambda: seen_from_a_task_thread.append(workdir_lock.held_over(inside))
        )
        task.start()
        task.join()
        assert seen_from_a_task_thread == [True]
        assert workdir_lock.held_over(workdir) and not workdir_lock.held_over(elsewhere)
    assert not workdir_lock.held_over(inside)


def _die_mid_write(workdir: str, target: str) -> None:
    from pipelines.file_io import temporary_beside

    with exclusive(workdir, "killed writer"):
        temporary_beside(Path(target)).write_text("half a file", encoding="utf-8")
        os.kill(os.getpid(), signal.SIGKILL)  # between the write and the rename


def test_the_next_holder_sweeps_what_a_killed_writer_left_half_written(tmp_path):
    nested = tmp_path / "lake" / "source=x"
    nested.mkdir(parents=True)
    context = multiprocessing.get_context("spawn")
    writer = context.Process(
        target=_die_mid_write, args=(str(tmp_path), str(nested / "part.parquet"))
    )
    writer.start()
    writer.join(60)
    assert writer.exitcode == -signal.SIGKILL
    [left] = list(nested.glob(".part.parquet.*.tmp"))
    # Files of other shapes are nobody's temporaries: a person's hidden notes, a data file.
    kept = [tmp_path / ".notes.tmp", nested / "delivery.tmp", tmp_path / ".a.b.tmp"]
    for path in kept:
        path.write_text("keep", encoding="utf-8")

    with exclusive(tmp_path, "next run"):
        assert not left.exists()
        assert all(path.exists() for path in kept)
        # Re-entering the lock in the same run does not sweep its own work in progress.
        from pipelines.file_io import temporary_beside

        mine = temporary_beside(nested / "mine.json")
        mine.write_text("{}", encoding="utf-8")
        with exclusive(tmp_path, "same run, inner flow"):
            assert mine.exists()
    assert history(tmp_path)[-1]["temporaries_swept"] == 1


def test_write_json_leaves_no_temporary_behind(tmp_path):
    from pipelines.file_io import write_json

    write_json(tmp_path / "out" / "a.json", {"b": 1})
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.json"]
