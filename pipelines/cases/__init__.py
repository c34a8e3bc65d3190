"""The case store: everything that comes back from people, with its history.

Public interface (what later work builds on):

* ``CaseStore(url)`` / ``open_store(settings)`` - open (and migrate) the store; ``store.read()``
  for queries, ``store.write(kind, operator, source, ...)`` for one transaction yielding a
  ``Change`` (``put``, ``add``, ``supersede``, ``withdraw``, ``latest``); ``store.frame(Model,
  as_of, *where)`` for current rows as a polars frame; ``store.version(before)``.
* ``AsOf(version, before)`` - the store as it stood; ``current(Model, as_of)`` and
  ``history_of(Model, as_of)`` build the queries.
* Tables (``pipelines.cases.tables``): ``Batch``; append-only ``Recorded`` tables ``Listing``
  and ``Inspection``. A new record kind is a ``Recorded`` subclass with ``identity`` plus an
  Alembic revision under ``migrations/versions``.
* ``record_publication`` / ``listings`` and ``record_reports`` / ``inspections``.
"""

from __future__ import annotations

from pipelines.cases.history import NOW, AsOf, current, history_of
from pipelines.cases.store import CaseStore, Change, StoreError, healthcheck
from pipelines.cases.tables import Batch, Inspection, Listing, Recorded
from pipelines.settings import Settings


def open_store(settings: Settings, *, migrate: bool = True) -> CaseStore:
    """The workdir's case store (``Settings.case_store``: SQLite in the workdir by default)."""
    return CaseStore(settings.case_store, migrate=migrate)


__all__ = [
    "NOW",
    "AsOf",
    "Batch",
    "CaseStore",
    "Change",
    "Inspection",
    "Listing",
    "Recorded",
    "StoreError",
    "current",
    "healthcheck",
    "history_of",
    "open_store",
]
