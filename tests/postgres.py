"""PostgreSQL for tests: a database of its own per test run on the machine's server, and private
throwaway clusters for tests that must stop or restart the server.

The machine's server (127.0.0.1:5432, trust auth; override with ``EWS_TEST_POSTGRES``) is
shared with other engineers and CI: tests create uniquely named databases on it and drop them,
and never stop, restart or reconfigure it. A test that needs to restart PostgreSQL starts a
``PrivateCluster`` (initdb in a temporary folder, a free port, the machine's binaries).

Under ``CI=true`` a test that needs PostgreSQL and cannot reach it fails; elsewhere it skips.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SERVER_URL_VARIABLE = "EWS_TEST_POSTGRES"
CONNECT_TIMEOUT_S = 5
BINARIES = Path("/usr/lib/postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> None:
    """Fail under CI (the service is part of the machine), skip on a developer's machine."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def server_url() -> str:
    """The admin URL of the machine's PostgreSQL server (any database on it)."""
    return os.environ.get(SERVER_URL_VARIABLE, DEFAULT_SERVER_URL)


def unreachable_reason(url: str) -> str | None:
    """Why ``url`` cannot be connected to, or None when it can."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {redacted(url)} is unreachable: {str(error).strip()}"
    return None


def redacted(url: str) -> str:
    """The URL without its password (for messages)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def with_driver(url: str, driver: str) -> str:
    """``postgresql://...`` as ``postgresql+<driver>://...`` (e.g. asyncpg for Prefect)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}+{driver}://{rest}"


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _admin(url: str, statement: str) -> None:
    import psycopg

    # autocommit: CREATE/DROP DATABASE cannot run in a transaction
    with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as connection:
        connection.execute(statement)


def create_database(admin_url: str, purpose: str) -> str:
    """A new, uniquely named database (``ews_test_<purpose>_<random>``); returns its URL."""
    name = f"ews_test_{purpose}_{uuid.uuid4().hex[:10]}"
    if not name.replace("_", "").isalnum():
        raise ValueError(f"purpose {purpose!r} must be letters, digits and '_'")
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database ``url`` names, closing any connection still open to it."""
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


@contextlib.contextmanager
def database(admin_url: str, purpose: str) -> Iterator[str]:
    """A database for the duration of the block, dropped afterwards (also on failure)."""
    url = create_database(admin_url, purpose)
    try:
        yield url
    finally:
        drop_database(admin_url, url)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------- a private cluster


def binaries() -> Path | None:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(
        (p for p in BINARIES.glob("*/bin") if (p / "initdb").is_file()),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    return found[-1] if found else None


def _cluster_user() -> str | None:
    """Who runs the cluster: initdb refuses root, so root hands it to the 'postgres' account."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return ""
    return "postgres"


class PrivateCluster:
    """A throwaway PostgreSQL cluster in a new folder under the system temp dir, on a free port:
    trust auth, no fsync.

    As root the cluster runs as the ``postgres`` account (``runuser``), since initdb refuses
    root; its folder is its own (pytest's tmp_path is private to root, and the Unix socket's path
    must stay short). ``stop()`` shuts it down immediately and removes its files.
    """

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError(f"no PostgreSQL server binaries under {BINARIES}/*/bin")
        user = _cluster_user()
        if user == "":
            raise RuntimeError("running as root and there is no 'postgres' account for initdb")
        self.bin_dir = bin_dir
        self.user = user
        self.root = Path(tempfile.mkdtemp(prefix="ews-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        argv = [str(self.bin_dir / command[0]), *command[1:]]
        if self.user:
            argv = ["runuser", "-u", self.user, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}\n{log}"
            )

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )

    def _pg_ctl(self, *arguments: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), *arguments)

    def start(self) -> PrivateCluster:
        try:
            if self.user:
                shutil.chown(self.root, self.user)
            if not self.data.exists():
                self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")
            # -l: the server's output goes to the log, so no pipe of ours stays open behind it.
            self._pg_ctl("-o", self._options(), "-l", str(self.log), "-w", "-t", "60", "start")
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self) -> None:
        """Stop (fast: every connection is closed) and start again on the same port."""
        self._pg_ctl(
            "-m", "fast", "-o", self._options(), "-l", str(self.log), "-w", "-t", "60", "restart"
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
