"""The case store under test, on SQLite and on PostgreSQL.

PostgreSQL: ``postgres_url`` from tests/conftest.py, a schema of its own in this run's database
on the machine's server (skipped on a laptop without it, a failure under ``CI=true``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelines.cases.store import CaseStore


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
