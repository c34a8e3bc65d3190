"""The case store as it stood: which records were visible, and which were current, at a point.

A point is an ``AsOf``: ``version`` (every batch up to this id; the store's own order of writes)
and ``before`` (only what had reached the platform before this instant). A week's publication
reads the store as of (its recorded version, the week's cut-off), so re-deriving the week later
sees exactly the records it saw, whatever was imported since.

*Visible* records satisfy the point. A visible record is *current* when no visible record
supersedes it and it is not a withdrawal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from pipelines.cases.tables import Recorded
from pipelines.timeline import parse_moment


@dataclass(frozen=True)
class AsOf:
    """A point in the store's history; the default is "everything, now"."""

    version: int | None = None
    before: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.before is not None and self.before.tzinfo is None:
            raise ValueError(f"AsOf.before {self.before!r} needs a time zone")

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "before": None if self.before is None else self.before.isoformat(),
        }

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> AsOf:
        before = value.get("before")
        return cls(
            version=value.get("version"),
            before=None if before is None else parse_moment(before, "case store view before"),
        )


NOW = AsOf()


def visible(model: type[Recorded], as_of: AsOf) -> list[Any]:
    """WHERE clauses: the rows of ``model`` (or an alias of it) that existed at ``as_of``."""
    clauses = []
    if as_of.version is not None:
        clauses.append(model.batch_id <= as_of.version)
    if as_of.before is not None:
        clauses.append(model.received_at < as_of.before)
    return clauses


def current_clauses(model: type[Recorded], as_of: AsOf = NOW) -> list[Any]:
    """WHERE clauses: the rows of ``model`` current at ``as_of`` (visible, not superseded by a
    visible row, not withdrawn)."""
    newer = aliased(model)
    replaced = select(newer.supersedes_id).where(
        newer.supersedes_id.is_not(None), *visible(newer, as_of)
    )
    return [*visible(model, as_of), model.id.not_in(replaced), model.withdrawn.is_(False)]


def current(model: type[Recorded], as_of: AsOf = NOW) -> Select:
    """SELECT of the rows of ``model`` current at ``as_of``; add ``.where(...)`` to narrow."""
    return select(model).where(*current_clauses(model, as_of))


def history_of(model: type[Recorded], as_of: AsOf = NOW) -> Select:
    """SELECT of every visible row of ``model``, superseded and withdrawn ones included, in the
    order they were written (an auditor's view of one record's corrections)."""
    return select(model).where(*visible(model, as_of)).order_by(model.id)
