"""Alembic environment of the case store.

EWS runs migrations itself (``CaseStore.migrate``), handing over its open connection in
``config.attributes["connection"]``. A platform engineer can also run Alembic directly:

    alembic -c pipelines/cases/alembic.ini -x url=postgresql+psycopg://... upgrade head
    alembic -c pipelines/cases/alembic.ini -x url=postgresql+psycopg://... upgrade head --sql

A new table (objections, overrides, ...) is a class in ``pipelines/cases/tables.py`` plus a
revision here: ``alembic -c pipelines/cases/alembic.ini -x url=sqlite:///scratch.db revision
--autogenerate -m "objections"`` against a store at the previous head, then review the script.
"""

from __future__ import annotations

import logging

from alembic import context
from sqlalchemy import create_engine

from pipelines.cases.tables import Base

logging.getLogger("alembic").setLevel(logging.WARNING)
config = context.config
target_metadata = Base.metadata


def _url() -> str:
    from pipelines.cases.store import engine_url

    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the case store's URL: alembic ... -x url=sqlite:///path/cases.db")
    return engine_url(url)


def _configure(**kwargs) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True, **kwargs)


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    with engine.connect() as own:
        _configure(connection=own, render_as_batch=own.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
