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

from pathlib import Path

from sqlalchemy.engine import make_url

from pipelines.cases.history import NOW, AsOf, current, history_of
from pipelines.cases.store import CaseStore, Change, StoreError, engine_url, healthcheck
from pipelines.cases.tables import Batch, Inspection, Listing, Recorded
from pipelines.settings import Settings


def case_store_exists(settings: Settings) -> bool:
    """False only for a SQLite store whose file does not exist yet (nothing was ever recorded):
    reading an absent store should not create one. A server database is assumed to exist."""
    url = make_url(engine_url(settings.case_store))
    if url.get_backend_name() != "sqlite":
        return True
    return bool(url.database) and Path(url.database).is_file()


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
    "case_store_exists",
    "current",
    "healthcheck",
    "history_of",
    "open_store",
]
