"""The audit trail: one JSON line per pipeline run, appended and never rewritten.

Each record names who ran what (operator, kind, code version), when, and the SHA-256 of every
input and output, so an auditor can later prove which files a list or a model came from. Each
line also carries the SHA-256 of the line before it: editing or deleting an earlier record breaks
the chain, and ``check_chain`` reports the first line where it breaks.

Writers from several processes are serialised by an exclusive ``flock`` on the log and each line
goes out in one ``O_APPEND`` write, so lines never interleave.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pipelines.settings import Settings

KINDS = (
    "ingest",
    "train",
    "promote",
    "publish",
    "cards",
    "verify",
    "inspection_plan",
    "verify_plan",
    "feedback",
    "consistency",
    "objection",
    "override",
)
GENESIS = "0" * 64  # the "previous line" hash of the first record
_CHUNK = 1 << 20
_REPO_ROOT = Path(__file__).resolve().parents[1]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_sha256(folder: Path) -> tuple[str, int]:
    """One hash for a folder: over every file's relative path and content hash, sorted.

    Returns the hash and the number of files, so renaming, adding or editing any file changes it.
    """
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        digest.update(f"{path.relative_to(folder).as_posix()}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest(), len(files)


@cache
def code_version() -> str:
    """The git commit of the code that ran (``+dirty`` with local changes), else the package."""
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return f"ews-{metadata.version('ews')}"
    return f"{commit}+dirty" if dirty else commit


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(_REPO_ROOT), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    )
    return done.stdout.strip()


def describe(path: str | Path, workdir: Path) -> dict[str, Any]:
    """What the log says about one input or output.

    A file gets its SHA-256 and size, a folder its tree hash and file count. A reference that is
    not a path (an MLflow ``models:/`` or ``runs:/`` URI) is kept as given; a path that does not
    exist is recorded as missing rather than failing the run being recorded.
    """
    text = str(path)
    if "://" in text or text.startswith(("models:/", "runs:/")):
        return {"ref": text}
    resolved = Path(path).expanduser().resolve()
    entry: dict[str, Any] = {"path": _shown(resolved, workdir)}
    if resolved.is_file():
        entry |= {"sha256": file_sha256(resolved), "bytes": resolved.stat().st_size}
    elif resolved.is_dir():
        tree, count = tree_sha256(resolved)
        entry |= {"sha256": tree, "files": count}
    else:
        entry |= {"sha256": None, "missing": True}
    return entry


def _shown(path: Path, workdir: Path) -> str:
    """Workdir-relative when inside the workdir, so the log survives moving the workdir."""
    try:
        return path.relative_to(workdir).as_posix()
    except ValueError:
        return path.as_posix()


def record(
    settings: Settings,
    kind: str,
    inputs: Iterable[str | Path] = (),
    outputs: Iterable[str | Path] = (),
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one record to the workdir's audit log and return it."""
    if kind not in KINDS:
        raise ValueError(f"audit kind {kind!r} is not one of {', '.join(KINDS)}")
    workdir = settings.workdir
    entry: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="microseconds"),
        "operator": settings.operator,
        "kind": kind,
        "code_version": code_version(),
        "inputs": [describe(p, workdir) for p in inputs],
        "outputs": [describe(p, workdir) for p in outputs],
        "details": dict(details or {}),
    }
    log = settings.audit_log
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        entry["prev_sha256"] = _last_line_sha256(log)
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        _write_all(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock
    return entry


def record_run(
    workdir: str | Path,
    kind: str,
    inputs: Iterable[str | Path] = (),
    outputs: Iterable[str | Path] = (),
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``record`` for a flow that holds only its workdir: one line at the end of the flow."""
    return record(Settings(workdir=Path(workdir)), kind, inputs, outputs, details)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _last_line_sha256(log: Path) -> str:
    """SHA-256 of the log's last line (newline included), read backwards from the end."""
    with log.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        if end == 0:
            return GENESIS
        position, tail = end, b""
        while position > 0:
            step = min(_CHUNK, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            cut = tail.rfind(b"\n", 0, len(tail) - 1)
            if cut >= 0:
                return hashlib.sha256(tail[cut + 1 :]).hexdigest()
        return hashlib.sha256(tail).hexdigest()


def read_log(settings: Settings) -> list[dict[str, Any]]:
    """Every record, oldest first; a line that is not a JSON object is an error naming it."""
    log = settings.audit_log
    if not log.exists():
        return []
    records = []
    with log.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as error:
                raise ValueError(f"{log}: line {number} is not JSON ({error.msg})") from error
            if not isinstance(value, dict):
                raise ValueError(f"{log}: line {number} is not a JSON object")
            records.append(value)
    return records


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    records: int
    problem: str | None = None
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "problem": self.problem, "line": self.line}


def check_chain(settings: Settings) -> ChainCheck:
    """Re-hash the log line by line; the first line whose ``prev_sha256`` does not match the
    line before it is where the log was edited, a line removed or one inserted."""
    log = settings.audit_log
    if not log.exists():
        return ChainCheck(ok=True, records=0)
    expected = GENESIS
    count = 0
    with log.open("rb") as handle:
        for count, raw in enumerate(handle, start=1):
            try:
                claimed = json.loads(raw).get("prev_sha256")
            except (json.JSONDecodeError, AttributeError):
                return ChainCheck(False, count, f"line {count} is not a JSON object", count)
            if claimed != expected:
                problem = (
                    f"line {count}: prev_sha256 {claimed} does not match the previous line's "
                    f"hash {expected} (an earlier line was changed, removed or inserted)"
                )
                return ChainCheck(False, count, problem, count)
            if not raw.endswith(b"\n"):
                return ChainCheck(False, count, f"line {count} is not terminated", count)
            expected = hashlib.sha256(raw).hexdigest()
    return ChainCheck(ok=True, records=count)
