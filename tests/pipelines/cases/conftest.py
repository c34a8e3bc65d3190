"""The case store under test, on SQLite and on PostgreSQL.

PostgreSQL: the machine's server (``EWS_TEST_POSTGRES``, default the trust-auth server at
127.0.0.1:5432). One database per test run with a unique name, dropped at the end; each test gets
its own schema in it. Unreachable: skipped on a laptop, a failure under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from pipelines.cases.store import CaseStore

ADMIN_URL = os.environ.get("EWS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_connection():
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this run; yields its URL (psycopg 3)."""
    import psycopg

    try:
        admin = _admin_connection()
    except psycopg.OperationalError as error:
        message = f"PostgreSQL at {ADMIN_URL} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"ews_test_cases_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_database: str) -> Iterator[str]:
    """A schema of its own in the run's database (search_path set through the URL)."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{postgres_database}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'cases.db').as_posix()}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(store_url: str) -> Iterator[CaseStore]:
    opened = CaseStore(store_url)
    try:
        yield opened
    finally:
        opened.dispose()
