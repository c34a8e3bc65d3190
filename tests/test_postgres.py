"""The PostgreSQL test fixtures: a database per test run on the machine's server, dropped
afterwards; a private cluster that can be restarted; fail, not skip, under CI=true."""

from __future__ import annotations

import psycopg
import pytest
from _pytest.outcomes import Failed, Skipped

from tests import postgres


def _databases(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url) as connection:
        return {row[0] for row in connection.execute("SELECT datname FROM pg_database")}


def _scalar(url: str, statement: str):
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
        cursor = connection.execute(statement)
        return cursor.fetchone()[0] if cursor.description else None


def test_the_run_database_is_fresh_and_each_test_writes_in_a_schema_of_its_own(
    postgres_database, postgres_url, postgres_server
):
    name = postgres.database_name(postgres_database)
    assert name.startswith("ews_test_run_") and name in _databases(postgres_server)
    schema = _scalar(postgres_url, "SELECT current_schema()")
    assert schema.startswith("t_")
    _scalar(postgres_url, "CREATE TABLE t (x int)")
    _scalar(postgres_url, "INSERT INTO t VALUES (1)")
    assert _scalar(postgres_url, "SELECT sum(x) FROM t") == 1
    assert _scalar(postgres_database, "SELECT count(*) FROM pg_tables WHERE tablename = 't'") == 1


def test_a_database_is_dropped_after_its_block_even_when_it_fails_and_connections_linger(
    postgres_server,
):
    with (
        pytest.raises(RuntimeError, match="inside"),
        postgres.database(postgres_server, "dropped") as url,
    ):
        psycopg.connect(url)  # a connection left open must not block the drop
        assert postgres.database_name(url) in _databases(postgres_server)
        raise RuntimeError("inside")
    assert postgres.database_name(url) not in _databases(postgres_server)


def test_two_databases_for_the_same_purpose_do_not_collide(new_postgres_database):
    first, second = new_postgres_database("twice"), new_postgres_database("twice")
    assert first != second


def test_unreachable_server_is_named_in_the_reason():
    url = f"postgresql://postgres@127.0.0.1:{postgres.free_port()}/postgres"
    reason = postgres.unreachable_reason(url)
    assert reason is not None and url in reason


def test_unavailable_service_fails_under_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Failed, match="CI=true and the server is gone"):
        postgres.unavailable("the server is gone")
    monkeypatch.delenv("CI")
    with pytest.raises(Skipped, match="the server is gone"):
        postgres.unavailable("the server is gone")


def test_urls_get_a_driver_and_lose_their_password_in_messages():
    url = "postgresql://ews:secret@db:5432/ews"
    assert postgres.with_driver(url, "asyncpg") == "postgresql+asyncpg://ews:secret@db:5432/ews"
    assert postgres.with_driver("postgresql+psycopg2://db/x", "asyncpg").startswith(
        "postgresql+asyncpg://"
    )
    assert postgres.redacted(url) == "postgresql://ews:***@db:5432/ews"
    assert postgres.with_database(url, "other").endswith("@db:5432/other")


def test_private_cluster_survives_a_restart_and_is_removed_on_stop():
    if postgres.binaries() is None:
        postgres.unavailable(f"no PostgreSQL server binaries under {postgres.BINARIES}")
    cluster = postgres.PrivateCluster().start()
    try:
        assert cluster.port != 5432
        with postgres.database(cluster.url, "private") as url:
            _scalar(url, "CREATE TABLE t (x int)")
            _scalar(url, "INSERT INTO t VALUES (41)")
            held = psycopg.connect(url)
            before = _scalar(cluster.url, "SELECT pg_postmaster_start_time()")
            cluster.restart()
            assert _scalar(cluster.url, "SELECT pg_postmaster_start_time()") > before
            with pytest.raises(psycopg.OperationalError), held.cursor() as cursor:
                cursor.execute("SELECT 1")  # the restart closed every open connection
            assert _scalar(url, "SELECT sum(x) + 1 FROM t") == 42  # the data survived
    finally:
        cluster.stop()
    assert not cluster.root.exists()
