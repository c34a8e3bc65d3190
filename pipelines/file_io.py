"""What every writer shares: one SHA-256 of a file, one way to replace a file whole, one JSON
writer and its reader, and one way for processes to take turns on a file.

JSON is written the one way every artefact is (UTF-8, sorted keys, two-space indent, a final
newline) and atomically: to a temporary name beside the target, then renamed, so a reader never
sees half a file and a crash leaves the old one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

_BLOCK = 1 << 20


def file_sha256(path: Path, *, follow_links: bool = True) -> str:
    """The file's SHA-256, read in blocks. ``follow_links=False`` refuses a symbolic link (a
    delivery is hashed as it lies in landing/, never through a link someone placed there)."""
    digest = hashlib.sha256()
    flags = os.O_RDONLY | (0 if follow_links else os.O_NOFOLLOW)
    with os.fdopen(os.open(path, flags), "rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def temporary_beside(path: Path) -> Path:
    """The dot-named temporary a file is written to before it is renamed into place. A run
    killed in between leaves it; the next holder of the workdir's lock sweeps it by this shape
    (``pipelines.workdir_lock.TEMPORARY``)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


@contextlib.contextmanager
def replaced_on_success(path: Path) -> Iterator[Path]:
    """A temporary beside ``path`` to write; renamed onto ``path`` only when the block ends
    without error, removed otherwise, so ``path`` is never half-written and a failed write
    leaves the previous file as it was."""
    tmp = temporary_beside(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, payload: Any) -> Path:
    text = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True, default=str)
    return write_text(path, text + "\n")


def write_text(path: Path, text: str) -> Path:
    """UTF-8 text, replaced whole (``replaced_on_success``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_on_success(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@contextlib.contextmanager
def held_exclusively(path: Path) -> Iterator[TextIO]:
    """``path`` opened for appending (created, with its folder, when missing) under an exclusive
    ``flock``: processes that hold it take turns, whatever they do meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
