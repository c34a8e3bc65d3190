"""One writer at a time in a working directory.

The daily ingest rewrites the lake and its ledger while the weekly publication reads them (and
records their hashes in its manifest) and retraining reads the feature history: run at once,
from a schedule, a worker and an analyst's terminal, they would see each other half-written.
Each flow that writes into the workdir (simulate, ingest, features, train and promote,
publish, model cards, the consistency runs and follow-up, feedback imports and reports, the
inspection plan, the simulated departments) holds ``<workdir>/.ews.lock`` (an exclusive
``flock``) for its whole run; the next waits its turn. The operating system releases the lock
when its process dies, so a killed run never leaves the workdir locked. A flow that calls
another inside the same process (publish building the features, the demo every step) holds it
once; another thread waits its turn.

Every hold is appended to ``<workdir>/locks/workdir.jsonl``: who, which process, how long it
waited, when it got and gave back the lock, and how many temporaries of dead writers it swept.

Files are written to a dot-named temporary beside the target and renamed
(``pipelines.file_io``); a run killed between the two leaves the temporary. Whoever takes the
lock next removes them: every writer holds the lock, so at that moment none is anyone's work in
progress.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import inspect
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

LOCK_FILE = ".ews.lock"
HISTORY = Path("locks") / "workdir.jsonl"
TIMEOUT_VARIABLE = "EWS_LOCK_TIMEOUT_S"
DEFAULT_TIMEOUT_S = 3 * 3600.0  # a full park's ingest or retrain takes well under that
POLL_S = 0.5
# The temporaries of ``file_io.temporary_beside``: ``.<target name>.<32 hex>.tmp``.
TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")

# (lock file, thread) -> depth. Another thread of the same process opens the file anew, and
# flock treats each open file as its own holder: it waits like another process would.
_held: dict[tuple[Path, int], int] = {}
_guard = threading.Lock()

F = TypeVar("F", bound=Callable[..., Any])


class WorkdirBusy(TimeoutError):
    """The working directory stayed locked by another run for longer than the timeout."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _timeout() -> float:
    return float(os.environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT_S))


@contextlib.contextmanager
def exclusive(workdir: str | Path, holder: str, timeout_s: float | None = None) -> Iterator[None]:
    """Hold the workdir's lock for the block (waiting up to ``timeout_s``)."""
    root = Path(workdir).expanduser().resolve()
    path = root / LOCK_FILE
    key = (path, threading.get_ident())
    with _guard:
        if _held.get(key):
            _held[key] += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _guard:
                _held[key] -= 1
        return
    root.mkdir(parents=True, exist_ok=True)
    limit = _timeout() if timeout_s is None else timeout_s
    started = time.monotonic()
    handle = path.open("a+", encoding="utf-8")
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - started > limit:
                    handle.seek(0)
                    raise WorkdirBusy(
                        f"{root} is locked by another EWS run ({handle.read().strip() or '?'}); "
                        f"{holder} waited {limit:.0f} s ({TIMEOUT_VARIABLE})"
                    ) from None
                time.sleep(POLL_S)
        waited = round(time.monotonic() - started, 3)
        acquired = _now()
        handle.seek(0)
        handle.truncate()
        handle.write(f"{holder} pid {os.getpid()} since {acquired}\n")
        handle.flush()
        swept = sweep_temporaries(root)
        with _guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _guard:
                _held.pop(key, None)
            _record(root, holder, waited, acquired, swept)
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def held_over(path: str | Path) -> bool:
    """Whether this process holds the lock of a workdir that contains ``path`` (in any of its
    threads: a flow holds it while its tasks run in worker threads). Then no other run writes
    into that workdir, so what another, dead, writer left there is nobody's work in progress."""
    resolved = Path(path).expanduser().resolve()
    with _guard:
        roots = [lock.parent for (lock, _thread), depth in _held.items() if depth]
    return any(resolved.is_relative_to(root) for root in roots)


def sweep_temporaries(root: Path) -> int:
    """Remove the write temporaries under ``root`` (call it holding ``root``'s lock: then each
    is a dead writer's); returns how many went."""
    swept = 0
    for path in root.rglob(".*.tmp"):
        if TEMPORARY.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            swept += 1
    return swept


def _record(root: Path, holder: str, waited_s: float, acquired: str, swept: int) -> None:
    history = root / HISTORY
    history.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "holder": holder,
        "pid": os.getpid(),
        "waited_s": waited_s,
        "acquired": acquired,
        "released": _now(),
        "temporaries_swept": swept,
    }
    with history.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def holds_workdir(holder: str) -> Callable[[F], F]:
    """Decorate a flow function taking ``workdir``: its whole run holds the workdir's lock."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        if "workdir" not in signature.parameters:
            raise TypeError(
                f"holds_workdir({holder!r}) decorates {function.__qualname__}, "
                "which takes no workdir parameter"
            )

        @functools.wraps(function)
        def locked(*args: Any, **kwargs: Any) -> Any:
            workdir = signature.bind(*args, **kwargs).arguments["workdir"]
            with exclusive(workdir, holder):
                return function(*args, **kwargs)

        locked.workdir_lock_holder = holder  # type: ignore[attr-defined]
        # Prefect validates parameters against the signature, resolving string annotations in
        # the globals of the function it was given: this module's, which lack the flow module's
        # names (Sequence, Path, ...). Hand it the signature with the annotations evaluated.
        with contextlib.suppress(NameError):
            locked.__signature__ = inspect.signature(function, eval_str=True)  # type: ignore[attr-defined]
        return locked  # type: ignore[return-value]

    return decorate


def history(workdir: str | Path) -> list[dict[str, Any]]:
    """Every recorded hold of the workdir's lock, oldest first."""
    path = Path(workdir) / HISTORY
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
