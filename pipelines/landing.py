"""What is in landing/: every entry found, each either a delivery to plan or set aside with why.

A delivery is a regular file directly inside the folder of a contracted source,
``landing/<source_id>/<delivery_id>.<ext>``, whose name does not start with ``.``. Everything else
is set aside and listed, never silently dropped:

* ignored (deliberately): hidden entries (a name starting with ``.``: editor, OS and upload
  temporaries), and anything inside a hidden folder;
* rejected: a symbolic link (never followed, its target never read or copied), a device, pipe or
  socket, a file that cannot be opened, a file in a folder inside a source folder, a file outside
  any source folder, and every file of a folder no contract declares.

The rows of a set-aside regular file are counted where its format allows it (``count_rows``), so
the rows of a hidden or misplaced delivery show in the summary instead of vanishing. Walking never
follows a link, so a link to a folder cannot pull the rest of the disk into landing.
"""

from __future__ import annotations

import csv
import io as text_io
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from pipelines.io import CANDIDATE_ENCODINGS, DELIVERY_ID_PATTERN, LandedFile, delivery_order

IGNORED = "ignored"
REJECTED = "rejected"


@dataclass(frozen=True)
class LandingEntry:
    """One landing file that is not planned as a delivery, and why."""

    path: str  # relative to landing/, with "/"
    source: str | None  # the contracted source whose folder holds it, if any
    status: str  # ignored | rejected
    kind: str  # hidden | second_file | symlink | special | unreadable | nested | unknown_source
    #            | outside_source
    reason: str
    rows: int | None = None  # counted data rows; None when the file was not or could not be read

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Survey:
    deliveries: dict[str, list[LandedFile]] = field(default_factory=dict)  # contracted sources
    set_aside: list[LandingEntry] = field(default_factory=list)

    def set_aside_in(self, source_id: str) -> list[LandingEntry]:
        return [e for e in self.set_aside if e.source == source_id]

    @property
    def outside_sources(self) -> list[LandingEntry]:
        return [e for e in self.set_aside if e.source is None]


def survey_landing(landing_dir: Path, contracted: set[str] | frozenset[str]) -> Survey:
    """Every entry under ``landing_dir``: deliveries per contracted source, the rest set aside."""
    survey = Survey()
    if not landing_dir.is_dir():  # landing/ itself may be a link to a share: the operator's
        return survey  # configuration, not a delivery; links below it are never followed
    for entry in _entries(landing_dir):
        name = entry.name
        if entry.is_symlink():
            survey.set_aside.append(_link(landing_dir, Path(entry.path), None))
        elif name.startswith("."):
            survey.set_aside.extend(_hidden(landing_dir, Path(entry.path), None))
        elif entry.is_dir(follow_symlinks=False):
            known = name in contracted
            files = _source_folder(landing_dir, Path(entry.path), name if known else None, survey)
            if known:
                survey.deliveries[name] = sorted(files, key=delivery_order)
        elif not entry.is_file(follow_symlinks=False):
            survey.set_aside.append(_special(landing_dir, Path(entry.path), None))
        else:
            survey.set_aside.append(
                _misplaced(
                    landing_dir,
                    Path(entry.path),
                    None,
                    "outside_source",
                    "not inside a source folder (deliveries go to landing/<source>/)",
                )
            )
    survey.set_aside.sort(key=lambda e: e.path)
    return survey


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as found:
        return sorted(found, key=lambda e: e.name)


def _source_folder(
    landing_dir: Path, folder: Path, source: str | None, survey: Survey
) -> list[LandedFile]:
    """The deliveries of one source folder; everything else in it goes to ``survey.set_aside``.
    ``source`` is None for a folder no contract declares: then every file is set aside."""
    files: list[LandedFile] = []
    try:
        entries = _entries(folder)
    except OSError as error:  # a folder that cannot be listed: said, not a crash
        survey.set_aside.append(
            LandingEntry(
                _relative(landing_dir, folder),
                source,
                REJECTED,
                "unreadable",
                f"landing/{folder.name}: the folder cannot be listed "
                f"({type(error).__name__}: {error.strerror or error}); its files are unknown",
            )
        )
        return files
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            survey.set_aside.append(_link(landing_dir, path, source))
        elif entry.name.startswith("."):
            survey.set_aside.extend(_hidden(landing_dir, path, source))
        elif entry.is_dir(follow_symlinks=False):
            survey.set_aside.extend(_nested(landing_dir, path, source))
        elif not entry.is_file(follow_symlinks=False):
            survey.set_aside.append(_special(landing_dir, path, source))
        elif source is None:
            survey.set_aside.append(
                _misplaced(
                    landing_dir,
                    path,
                    None,
                    "unknown_source",
                    f"no contract declares a source {folder.name!r}; not ingested",
                )
            )
        elif (problem := _cannot_open(path)) is not None:
            survey.set_aside.append(
                LandingEntry(
                    _relative(landing_dir, path),
                    source,
                    REJECTED,
                    "unreadable",
                    f"{source} file {path.name}: cannot be opened ({problem}); rows not counted",
                )
            )
        else:
            files.append(LandedFile(source, entry.name.split(".", 1)[0], path))
    return files


def _link(landing_dir: Path, path: Path, source: str | None) -> LandingEntry:
    try:
        target = os.readlink(path)  # the link's own text: its target is never opened
    except OSError:
        target = "?"
    return LandingEntry(
        _relative(landing_dir, path),
        source,
        REJECTED,
        "symlink",
        f"{_where(landing_dir, path, source)}: a symbolic link (to {target}); links are refused, "
        f"never followed, read or copied",
    )


def _special(landing_dir: Path, path: Path, source: str | None) -> LandingEntry:
    mode = path.lstat().st_mode
    what = "pipe" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
    return LandingEntry(
        _relative(landing_dir, path),
        source,
        REJECTED,
        "special",
        f"{_where(landing_dir, path, source)}: a {what}, not a regular file; not read",
    )


def _hidden(landing_dir: Path, path: Path, source: str | None) -> list[LandingEntry]:
    """A hidden file, or every file inside a hidden folder (no link followed)."""
    why = "a hidden name (starting with '.') marks a temporary or system file, not a delivery"
    return [
        _misplaced(
            landing_dir, file, source, "hidden", f"{why}{_rename_hint(file)}", status=IGNORED
        )
        if kind == "file"
        else _link(landing_dir, file, source)
        if kind == "link"
        else _special(landing_dir, file, source)
        for file, kind in _walk(path)
    ]


def _rename_hint(path: Path) -> str:
    visible = path.name.lstrip(".")
    if DELIVERY_ID_PATTERN.match(visible.split(".", 1)[0]):
        return f"; ignored (if it is delivery {visible}, deliver it under that name)"
    return "; ignored"


def _nested(landing_dir: Path, path: Path, source: str | None) -> list[LandingEntry]:
    why = (
        "inside a folder within the source folder; deliveries sit directly in landing/<source>/"
        if source
        else "in a folder no contract declares; not ingested"
    )
    kind = "nested" if source else "unknown_source"
    return [
        _misplaced(landing_dir, file, source, kind, why)
        if what == "file"
        else _link(landing_dir, file, source)
        if what == "link"
        else _special(landing_dir, file, source)
        for file, what in _walk(path)
    ]


def _walk(path: Path) -> list[tuple[Path, str]]:
    """Every entry at or below ``path`` as (path, file | link | special), links not followed."""
    if path.is_symlink():
        return [(path, "link")]
    if path.is_dir():
        return [found for entry in _entries(path) for found in _walk(Path(entry.path))]
    return [(path, "file" if path.is_file() else "special")]


def _misplaced(
    landing_dir: Path,
    path: Path,
    source: str | None,
    kind: str,
    why: str,
    *,
    status: str = REJECTED,
) -> LandingEntry:
    rows = count_rows(path)
    return LandingEntry(
        _relative(landing_dir, path),
        source,
        status,
        kind,
        f"{_where(landing_dir, path, source)}: {why} ({rows_text(rows)})",
        rows,
    )


def rows_text(rows: int | None) -> str:
    return f"{rows} data rows" if rows is not None else "rows could not be counted"


def _where(landing_dir: Path, path: Path, source: str | None) -> str:
    relative = _relative(landing_dir, path)
    return f"{source} file {relative.split('/', 1)[1]}" if source else f"landing/{relative}"


def _relative(landing_dir: Path, path: Path) -> str:
    return path.relative_to(landing_dir).as_posix()


def _cannot_open(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        return f"{type(error).__name__}: {error.strerror or error}"
    return None


# ---------------------------------------------------------------- counting rows


def count_rows(path: Path, encoding: str | None = None) -> int | None:
    """Data rows of a regular file that could not be ingested, or None when they cannot be told.

    Parquet by its footer; xlsx by its first sheet (the header row not counted); anything else
    that decodes as text (the declared ``encoding`` first, then the usual ones) as CSV records,
    so a quoted line break does not count twice. Never follows a link.
    """
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    try:
        if data[:4] == b"PAR1":
            return int(pl.scan_parquet(path).select(pl.len()).collect().item())
        if data[:2] == b"PK":
            return _xlsx_rows(path)
    except Exception:  # a damaged file: nothing can be counted
        return None
    return _text_rows(data, encoding)


def _xlsx_rows(path: Path) -> int | None:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        filled = sum(
            1 for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)
        )
    finally:
        book.close()
    return max(filled - 1, 0)


def _text_rows(data: bytes, encoding: str | None) -> int | None:
    """CSV records after the header. Separators, quotes and line breaks are ASCII in every
    encoding a delivery may use, so bytes no candidate decodes are counted read as latin-1."""
    if b"\x00" in data:
        return None
    data = data.removeprefix(b"\xef\xbb\xbf")
    candidates = [*([encoding] if encoding else []), *CANDIDATE_ENCODINGS, "latin-1"]
    for candidate in dict.fromkeys(candidates):
        try:
            text = data.decode(candidate)
        except UnicodeDecodeError:
            continue
        try:
            records = csv.reader(text_io.StringIO(text, newline=""))
            filled = sum(1 for record in records if any(cell.strip() for cell in record))
        except csv.Error:  # an unclosed quote: count lines instead
            filled = sum(1 for line in text.splitlines() if line.strip())
        return max(filled - 1, 0)
    return None  # not reached: latin-1 decodes any bytes
