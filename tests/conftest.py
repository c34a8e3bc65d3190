"""Shared fixtures. Prefect runs against one session-scoped test harness, started only when a
test asks for it (it costs ~15 s).

PostgreSQL (tests/postgres.py): the machine's server, ``EWS_TEST_POSTGRES`` (default the
trust-auth server at 127.0.0.1:5432). Tests never touch existing databases: they get a fresh one
of their own, dropped afterwards. Unreachable: skipped on a laptop, a failure under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from data_contracts import industries
from pipelines import runtime
from tests import postgres
from tests.declarations import write_changed_copy

runtime.configure()

# The test parks train as the shipped declaration says, except for what only buys accuracy at a
# price in time: one booster instead of several averaged, and early stopping after 50 rounds
# without gain. Every flow, gate and card still runs; the production test's stack, which passes
# no EWS_ variable on, trains with the shipped settings.
LIGHT_TRAINING = {"seeds": 1, "early_stopping_rounds": 50}


def light_declaration(folder: Path) -> Path:
    """A copy of the shipped models/industries.yaml with ``LIGHT_TRAINING`` in its shared
    ``training:`` block, written to ``folder``."""

    def lighten(declared: dict) -> None:
        declared["training"] = {**declared.get("training", {}), **LIGHT_TRAINING}

    return write_changed_copy(industries.SHIPPED, folder, lighten)


def pytest_configure(config):
    """Every reader of the declaration, in this process and the ones it starts, follows
    EWS_INDUSTRIES to the light copy (unless the caller named a declaration of its own)."""
    if os.environ.get(industries.ENV):
        return
    folder = Path(tempfile.mkdtemp(prefix="ews_test_declaration_"))
    os.environ[industries.ENV] = str(light_declaration(folder))
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_modifyitems(items):
    """Modules with slow tests run first, each kept whole (its module fixtures are built once).

    The test command spreads whole files over its workers (``--dist loadfile``) in collection
    order; a slow module collected last would otherwise run alone after every quick one.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Admin URL of the machine's PostgreSQL server (its ``postgres`` database)."""
    url = postgres.server_url()
    reason = postgres.unreachable_reason(url)
    if reason:
        postgres.unavailable(reason)
    return url


@pytest.fixture(scope="session")
def new_postgres_database(postgres_server) -> Iterator[Callable[[str], str]]:
    """Factory: ``new_postgres_database("purpose")`` creates an empty database named
    ``ews_test_<purpose>_<random>`` and returns its URL (``postgresql://``; see
    ``postgres.with_driver``). Every database it made is dropped at the end of the session."""
    made: list[str] = []

    def create(purpose: str) -> str:
        made.append(postgres.create_database(postgres_server, purpose))
        return made[-1]

    yield create
    for url in made:
        postgres.drop_database(postgres_server, url)


@pytest.fixture(scope="session")
def postgres_database(new_postgres_database) -> str:
    """One fresh database for this test run, dropped at its end."""
    return new_postgres_database("run")


@pytest.fixture
def postgres_url(postgres_database) -> Iterator[str]:
    """A schema of its own in the run's database (search_path set through the URL), dropped
    after the test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_database, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{postgres_database}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(postgres_database, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
