"""Exit codes of every ``ews`` command: what a scheduler (cron, Prefect, Airflow) can act on.

=====  ============  ===========================================================================
code   name          meaning
=====  ============  ===========================================================================
0      OK            done; nothing needs attention
1      FAILED        an unexpected error (a bug, a crash): the traceback is printed
2      BAD_INPUT     the command line, an input file or the workdir's state does not allow the
                     command (an option out of range, a refused workbook, a table that cannot be
                     read, "run `ews ingest` first"); one line on stderr, nothing half-written
3      INCOMPLETE    the run finished but not everything got in: a source failed or delivered
                     nothing, a delivery or a landing file was rejected (``ews ingest``), an
                     industry's list was not published (``ews publish``); the summary says which
4      MISMATCH      a check found a difference: ``ews audit verify`` (a re-derived file, the
                     lineage or the audit log's hash chain), ``ews inspect verify-plan``
5      UNWRITABLE    the workdir or an output path cannot be created or written (permission,
                     read-only file system, a file where a folder should be, disk full); one line
=====  ============  ===========================================================================

2 is also what the command-line parser returns for an unknown option. ``EWS_TRACEBACK=1``
prints the traceback of a 2 or a 5 too.
"""

from __future__ import annotations

import errno
from typing import Any

OK = 0
FAILED = 1
BAD_INPUT = 2
INCOMPLETE = 3
MISMATCH = 4
UNWRITABLE = 5

NAMES = {
    OK: "ok",
    FAILED: "failed",
    BAD_INPUT: "bad input",
    INCOMPLETE: "incomplete",
    MISMATCH: "mismatch",
    UNWRITABLE: "unwritable",
}

# An OSError with one of these means the place to write is the problem, not the data.
UNWRITABLE_ERRNOS = frozenset(
    {
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
    }
)


def for_error(error: BaseException) -> int | None:
    """The code of an error a user can fix (None: unexpected, let it show its traceback).

    EWS raises ``ValueError`` for bad input, ``FileNotFoundError`` for an input that is not
    there yet and a plain ``LookupError`` for a model version or alias that does not exist;
    ``KeyError`` and ``IndexError`` (also lookup errors) are bugs and keep their traceback.
    """
    if isinstance(error, OSError) and error.errno in UNWRITABLE_ERRNOS:
        return UNWRITABLE
    if isinstance(error, FileNotFoundError | ValueError) or type(error) is LookupError:
        return BAD_INPUT
    return None


def ingest_problems(summary: dict[str, Any]) -> list[str]:
    """Why an ingest run is incomplete, one phrase each (empty: exit 0).

    Incomplete: a source ``failed`` (every new delivery rejected) or ``missing`` (no delivery at
    all), any delivery rejected whole, any landing file rejected, or a landing folder that
    matches no contract. Rows quarantined inside an accepted delivery, late sources and files
    deliberately ignored (``landing.ignored``: hidden files) are reported in the summary but do
    not change the exit code: ingest handled them as designed.
    """
    sources = summary.get("sources", {})
    problems = []
    for status in ("failed", "missing"):
        names = sorted(s for s, report in sources.items() if report.get("status") == status)
        if names:
            problems.append(f"{len(names)} source(s) {status}: {_listed(names)}")
    rejected = sorted(
        f"{source}/{delivery.get('file') or delivery.get('delivery_id')}"
        for source, deliveries in summary.get("deliveries", {}).items()
        for delivery in deliveries
        if delivery.get("status") == "rejected"
    )
    if rejected:
        problems.append(f"{len(rejected)} deliveries rejected: {_listed(rejected)}")
    files = summary.get("landing", {}).get("rejected", [])
    if files:
        shown = [f.get("path", str(f)) if isinstance(f, dict) else str(f) for f in files]
        problems.append(f"{len(files)} landing file(s) rejected: {_listed(sorted(shown))}")
    unknown = summary.get("unknown_landing_folders", [])
    if unknown:
        problems.append(f"landing folders with no contract: {_listed(sorted(unknown))}")
    return problems


def _listed(names: list[str], shown: int = 5) -> str:
    """The first ``shown`` names (the summary has them all), so the line stays one line."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
