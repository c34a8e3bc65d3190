"""The audit trail: one JSON line per pipeline run, appended and never rewritten.

Each record names who ran what (operator, kind, code version), when, and the SHA-256 of every
input and output, so an auditor can later prove which files a list or a model came from. Each
line carries the SHA-256 of the line before it (``prev_sha256``) and, as its last key, the SHA-256
of itself without that key (``sha256``), and ``audit_log.head.json`` beside the log records how
many lines it has and the hash of the last one. Editing a line, removing, inserting or reordering
lines, or cutting lines off the end breaks one of these, and ``check_chain`` names the first line
where it breaks and what is wrong there.

Writers from several processes are serialised by an exclusive ``flock`` on the log and each line
goes out in one ``O_APPEND`` write, so lines never interleave.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pipelines.file_io import file_sha256
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
HEAD_SUFFIX = ".head.json"  # audit_log.jsonl -> audit_log.head.json
# A sealed line ends with its own hash as the last key; the hash covers the line without it.
_SEAL = re.compile(rb', "sha256": "([0-9a-f]{64})"\}\n\Z')
_CHUNK = 1 << 20
_REPO_ROOT = Path(__file__).resolve().parents[1]


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
        previous = _last_line_sha256(log)
        entry["prev_sha256"] = previous
        line = _sealed_line(entry)
        _write_all(fd, line)
        os.fsync(fd)
        _write_head(log, previous, hashlib.sha256(line).hexdigest())
    finally:
        os.close(fd)  # closing releases the lock
    return entry


def head_path(log: Path) -> Path:
    return log.with_name(log.stem + HEAD_SUFFIX)


def _sealed_line(entry: dict[str, Any]) -> bytes:
    """The record as one line ending in ``"sha256": <hash of the line without that key>``."""
    body = json.dumps(entry, ensure_ascii=False, default=str).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    entry["sha256"] = digest
    return body[:-1] + f', "sha256": "{digest}"}}\n'.encode()


def _write_head(log: Path, previous: str, last: str) -> None:
    """audit_log.head.json: the number of lines and the last line's hash, replaced atomically
    (the caller holds the log's lock). Counted from the old head when it still matches."""
    head = head_path(log)
    old = _read_head(head)
    if old is not None and old["sha256"] == previous:
        lines = old["lines"] + 1
    else:
        with log.open("rb") as handle:
            lines = sum(1 for _ in handle)
    partial = head.with_name(f".{head.name}.partial")
    partial.write_text(json.dumps({"lines": lines, "sha256": last}) + "\n", encoding="utf-8")
    os.replace(partial, head)


def _read_head(head: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(head.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    if not isinstance(value.get("lines"), int) or not isinstance(value.get("sha256"), str):
        return None
    return value


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


# What can be wrong at a line of the log (ChainCheck.fault).
UNPARSEABLE = "unparseable"  # not a JSON object, or not terminated by a newline
HASH_MISMATCH = "hash_mismatch"  # the line's own sha256 does not match its content
PREV_LINK_BROKEN = "prev_link_broken"  # prev_sha256 is not the hash of the line before
UNSEALED = "unsealed"  # no own sha256 although an earlier line has one
TRUNCATED = "truncated"  # fewer lines, or another last line, than the head file records


@dataclass(frozen=True)
class ChainCheck:
    """The log's hash chain: ``ok``, the lines read, and the first broken ``line`` (1-based),
    its ``fault`` and a sentence saying what is wrong there (``problem``)."""

    ok: bool
    records: int
    problem: str | None = None
    line: int | None = None
    fault: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "problem": self.problem,
            "line": self.line,
            "fault": self.fault,
        }


def check_chain(settings: Settings) -> ChainCheck:
    """Re-hash the log line by line and stop at the first line that is broken.

    A line is broken when it is not a JSON object ending in a newline, when its own ``sha256``
    does not match its content (the line was edited), or when its ``prev_sha256`` is not the
    hash of the line before it (a line before it was removed, inserted, reordered or rewritten).
    Lines written before records carried their own hash are checked by the links alone. Last,
    the head file must agree: as many lines, the same last line (lines cut off the end).
    The log is read under a shared lock, so a writer's line and head are seen together.
    """
    log = settings.audit_log
    if not log.exists():
        recorded = _read_head(head_path(log))
        if recorded and recorded["lines"]:
            problem = f"line 1: missing; the log is gone but its head records {recorded['lines']}"
            return ChainCheck(False, 0, problem + " lines", 1, TRUNCATED)
        return ChainCheck(ok=True, records=0)
    with log.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        hashes: list[str] = []
        sealed_from: int | None = None
        expected = GENESIS
        for number, raw in enumerate(handle, start=1):
            broken = _check_line(raw, number, expected, sealed_from)
            if broken is not None:
                return broken
            if sealed_from is None and _SEAL.search(raw):
                sealed_from = number
            expected = hashlib.sha256(raw).hexdigest()
            hashes.append(expected)
        head = head_path(log)
        recorded = _read_head(head) if head.exists() else None
    count = len(hashes)
    if head.exists() and recorded is None:
        return ChainCheck(False, count, f"{head.name} is not readable", None, TRUNCATED)
    if recorded is None:
        if sealed_from is None:
            return ChainCheck(ok=True, records=count)  # a log older than the head file
        return ChainCheck(
            False,
            count,
            f"{head.name} is missing: lines cut off the end cannot be ruled out",
            None,
            TRUNCATED,
        )
    lines, last = recorded["lines"], recorded["sha256"]
    if lines > count:
        return ChainCheck(
            False,
            count,
            f"line {count + 1}: missing; the log ends at line {count} but {head.name} records "
            f"{lines} lines (lines were cut off the end)",
            count + 1,
            TRUNCATED,
        )
    if lines and hashes[lines - 1] != last:
        return ChainCheck(
            False,
            count,
            f"line {lines}: its SHA-256 {hashes[lines - 1]} is not the {last} that {head.name} "
            "records for the last line (the end of the log was rewritten)",
            lines,
            TRUNCATED,
        )
    return ChainCheck(ok=True, records=count)


def _check_line(
    raw: bytes, number: int, expected: str, sealed_from: int | None
) -> ChainCheck | None:
    """What is wrong with one line given the hash of the line before it (None: nothing)."""
    try:
        value = json.loads(raw)
    except ValueError as error:
        return ChainCheck(
            False, number, f"line {number}: unparseable, not JSON ({error})", number, UNPARSEABLE
        )
    if not isinstance(value, dict):
        return ChainCheck(
            False, number, f"line {number}: unparseable, not a JSON object", number, UNPARSEABLE
        )
    if not raw.endswith(b"\n"):
        return ChainCheck(
            False,
            number,
            f"line {number}: not terminated by a newline (the log was cut mid-line)",
            number,
            UNPARSEABLE,
        )
    seal = _SEAL.search(raw)
    if seal is not None:
        body = raw[: seal.start()] + b"}"
        actual = hashlib.sha256(body).hexdigest()
        if actual != seal.group(1).decode() or value.get("sha256") != seal.group(1).decode():
            return ChainCheck(
                False,
                number,
                f"line {number}: hash mismatch: the line hashes to {actual}, it records "
                f"{value.get('sha256')} (the line was edited)",
                number,
                HASH_MISMATCH,
            )
    elif sealed_from is not None or "sha256" in value:
        since = (
            f" although line {sealed_from} and every line after it carry one" if sealed_from else ""
        )
        return ChainCheck(
            False,
            number,
            f"line {number}: its own sha256 is missing or not the last key{since} (the line was "
            "rewritten)",
            number,
            UNSEALED,
        )
    claimed = value.get("prev_sha256")
    if claimed != expected:
        return ChainCheck(
            False,
            number,
            f"line {number}: prev link broken: prev_sha256 {claimed} is not the previous line's "
            f"hash {expected} (a line before it was removed, inserted, reordered or rewritten)",
            number,
            PREV_LINK_BROKEN,
        )
    return None
