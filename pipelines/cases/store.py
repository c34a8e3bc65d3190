"""Opening the case store, migrating it, and the one way to write to it.

``CaseStore(url)`` opens SQLite (the embedded default, a file inside the workdir) or PostgreSQL
(production) and brings the schema to the newest Alembic revision shipped in
``pipelines/cases/migrations``. Reads use ``store.read()``; every write is one transaction in
``store.write(...)``, which records a ``Batch`` naming the operator and the source, and commits
only when the block ends without an error and added at least one row: a rejected or empty import
leaves the store exactly as it was.

Writers are serialised (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL transaction-level advisory
lock), so batch ids are committed in increasing order and "every batch up to N" never misses one
committed later with a smaller id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from pipelines.cases.history import NOW, AsOf, current, current_clauses, visible
from pipelines.cases.tables import Batch, Recorded, UTCDateTime, recorded_tables

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number: the advisory lock every writer of a PostgreSQL case store takes.
WRITE_LOCK_KEY = 0x0E45CA5E
_WRITE = "ews_write"
_RECORD_COLUMNS = ("id", "batch_id", "received_at", "supersedes_id", "withdrawn")


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a case-store URL; plain ``postgresql://`` uses psycopg 3 (the
    driver EWS ships)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def shown_url(url: str) -> str:
    """The URL with any password masked, for logs, summaries and errors."""
    return make_url(engine_url(url)).render_as_string(hide_password=True)


class StoreError(RuntimeError):
    """The case store cannot be opened or migrated (the message names the database)."""


@dataclass
class Change:
    """One write in progress: its ``Batch`` and the rows added to it."""

    session: Session
    batch: Batch
    added: list[Recorded] = field(default_factory=list)

    def add(self, record: Recorded) -> Recorded:
        record.batch_id = self.batch.id
        self.session.add(record)
        self.added.append(record)
        return record

    def supersede(self, old: Recorded, new: Recorded) -> Recorded:
        """Add ``new`` as the correction of ``old`` (``old`` stays, as history)."""
        new.supersedes_id = old.id
        return self.add(new)

    def latest(self, model: type[Recorded], **identity: Any) -> Recorded | None:
        """The current row of ``model`` with this identity (all committed batches)."""
        unknown = set(identity) - set(model.identity)
        if unknown or not identity:
            raise ValueError(f"{model.__name__} is identified by {model.identity}, not {identity}")
        query = current(model, NOW).where(
            *(getattr(model, name) == value for name, value in identity.items())
        )
        rows = self.session.scalars(query.order_by(model.id)).all()
        return rows[-1] if rows else None

    def put(self, model: type[Recorded], values: dict[str, Any], received_at: dt.datetime) -> str:
        """Record ``values`` as the current state of the record they identify.

        Returns ``"unchanged"`` when the current row already says exactly this (nothing is
        written: importing the same thing twice changes nothing), ``"corrected"`` when a new row
        supersedes a different current one, ``"added"`` for a record not seen before.
        """
        identity = {name: values[name] for name in model.identity}
        latest = self.latest(model, **identity)
        if latest is not None and all(getattr(latest, k) == v for k, v in values.items()):
            return "unchanged"
        row = model(**values, received_at=received_at, withdrawn=False)
        if latest is None:
            self.add(row)
            return "added"
        self.supersede(latest, row)
        return "corrected"

    def put_many(
        self,
        model: type[Recorded],
        items: Iterable[tuple[dict[str, Any], dt.datetime]],
        *scope: Any,
    ) -> dict[str, int]:
        """``put`` for many records at once: the current rows are read in one query (narrowed by
        the ``scope`` clauses, which must cover every item's identity) instead of one each.
        Items are applied in order, so a later item with the same identity corrects an earlier.
        Returns how many were added, corrected and unchanged."""
        rows = self.session.scalars(current(model, NOW).where(*scope).order_by(model.id)).all()
        known = {tuple(getattr(row, name) for name in model.identity): row for row in rows}
        counts = {"added": 0, "corrected": 0, "unchanged": 0}
        for values, received_at in items:
            key = tuple(values[name] for name in model.identity)
            latest = known.get(key)
            if latest is not None and all(getattr(latest, k) == v for k, v in values.items()):
                counts["unchanged"] += 1
                continue
            row = model(**values, received_at=received_at, withdrawn=False)
            if latest is None:
                self.add(row)
                counts["added"] += 1
            else:
                self.supersede(latest, row)
                counts["corrected"] += 1
            known[key] = row
        return counts

    def withdraw(self, old: Recorded, received_at: dt.datetime) -> Recorded:
        """A withdrawal of ``old``: a copy marked ``withdrawn`` that supersedes it."""
        model = type(old)
        columns = [c.key for c in model.__table__.columns if c.key not in _RECORD_COLUMNS]
        copy = model(
            **{name: getattr(old, name) for name in columns},
            received_at=received_at,
            withdrawn=True,
        )
        return self.supersede(old, copy)


class CaseStore:
    """The case store behind ``url`` (``sqlite:///path`` or ``postgresql://...``)."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = engine_url(url)
        self.shown_url = shown_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"case store {self.shown_url}: cannot open it: {error}") from error
        self.engine = _engine(self.url, self.dialect)
        if migrate:
            self.migrate()

    # ------------------------------------------------------------------ schema

    def migrate(self) -> str:
        """Upgrade the schema to the newest revision (under the write lock, so two processes
        opening a fresh store do not both create it); returns that revision."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._connection(write=True) as connection, connection.begin():
                self._lock(connection)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                revision = MigrationContext.configure(connection).get_current_revision()
        except Exception as error:
            raise StoreError(
                f"case store {self.shown_url}: cannot open or migrate it: "
                f"{type(error).__name__}: {error}"
            ) from error
        return revision or ""

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    # ------------------------------------------------------------------ reading and writing

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; whatever it did is rolled back when it closes."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(
        self,
        kind: str,
        operator: str,
        source: str,
        *,
        source_sha256: str | None = None,
        details: dict[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> Iterator[Change]:
        """One transaction: yields a ``Change`` to add rows to; commits when the block ends
        normally and rows were added, rolls back (no batch, no rows) otherwise."""
        with (
            self._connection(write=True) as connection,
            Session(bind=connection, expire_on_commit=False) as session,
        ):
            session.begin()
            try:
                self._lock(session)
                batch = Batch(
                    kind=kind,
                    operator=operator,
                    recorded_at=now or dt.datetime.now(dt.UTC),
                    source=source,
                    source_sha256=source_sha256,
                    rows=0,
                    details=dict(details or {}),
                )
                session.add(batch)
                session.flush()
                change = Change(session, batch)
                yield change
                if change.added:
                    batch.rows = len(change.added)
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise

    def version(self, before: dt.datetime | None = None) -> int:
        """The newest batch with a record received before ``before`` (every batch when None);
        0 for an empty store. With the same ``before``, this pins the store as a week saw it."""
        as_of = AsOf(before=before)
        newest = 0
        with self.read() as session:
            for model in recorded_tables():
                query = select(func.max(model.batch_id))
                if as_of.before is not None:
                    query = query.where(model.received_at < as_of.before)
                newest = max(newest, session.scalar(query) or 0)
        return newest

    def frame(
        self, model: type[Recorded], as_of: AsOf = NOW, *where: Any, history: bool = False
    ) -> pl.DataFrame:
        """The rows of ``model`` current at ``as_of`` (every visible row with ``history``), as a
        polars frame in the order they were written; ``where`` narrows them."""
        clauses = visible(model, as_of) if history else current_clauses(model, as_of)
        columns = list(model.__table__.columns)
        query = select(*columns).where(*clauses, *where).order_by(model.id)
        with self.read() as session:
            rows = session.execute(query).all()
        return pl.DataFrame(rows, schema=polars_schema(model), orient="row")

    def batches(self, ids: Sequence[int] | None = None) -> list[Batch]:
        with self.read() as session:
            query = select(Batch).order_by(Batch.id)
            if ids is not None:
                query = query.where(Batch.id.in_(list(ids)))
            return list(session.scalars(query))

    def dispose(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ internals

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            connection.execution_options(**{_WRITE: write})
            yield connection

    def _lock(self, executor: Connection | Session) -> None:
        """Take the writers' lock inside the current transaction (through the session during a
        write, so the session owns the transaction it commits)."""
        if self.dialect == "postgresql":
            executor.execute(select(func.pg_advisory_xact_lock(WRITE_LOCK_KEY)))


def _engine(url: str, dialect: str) -> Engine:
    if dialect != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": 60})

    # pysqlite starts transactions lazily and never for DDL; take control of BEGIN so a write
    # holds the database's write lock from its first statement (see the module docstring).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_POLARS_TYPES = {
    Integer: pl.Int64,
    Float: pl.Float64,
    String: pl.String,
    Text: pl.String,
    Boolean: pl.Boolean,
    Date: pl.Date,
    UTCDateTime: pl.Datetime("us", "UTC"),
}


def polars_schema(model: type[Recorded]) -> dict[str, pl.DataType]:
    """The polars type of each column of a record table, in table order."""
    schema = {}
    for column in model.__table__.columns:
        kind = next((t for py, t in _POLARS_TYPES.items() if isinstance(column.type, py)), None)
        if kind is None:
            raise TypeError(f"{model.__tablename__}.{column.key}: no polars type for {column.type}")
        schema[column.key] = kind
    return schema


def healthcheck(store: CaseStore) -> dict[str, Any]:
    """What a summary says about the store: URL (password masked), revision, batches."""
    with store.read() as session:
        batches = session.scalar(select(func.count()).select_from(Batch)) or 0
        tables = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in recorded_tables()
        }
        session.execute(text("SELECT 1"))
    return {
        "url": store.shown_url,
        "dialect": store.dialect,
        "revision": store.revision(),
        "version": store.version(),
        "batches": batches,
        "rows": tables,
    }
