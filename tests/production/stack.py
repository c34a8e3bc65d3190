"""EWS run the way a park runs it, for tests: a Prefect server on PostgreSQL, the work pool and
the deployments of ``prefect.yaml``, a process worker, and an MLflow tracking server on
PostgreSQL. Every service is a child process in a process group of its own, logging to a file;
``Stack.stop()`` ends each group (TERM, then KILL) and is safe to call twice.

Databases live on the machine's server (``tests/postgres.py``); the caller owns them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

from tests import postgres

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 120
STOP_GRACE_S = 15
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Service:
    """One long-running command in its own process group (``start_new_session``)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path = ROOT
    process: subprocess.Popen | None = None

    def start(self) -> Service:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_http(self, url: str, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until ``url`` answers 200, or fail with the tail of the service's log."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"{self.name} exited {self.process.returncode}:\n{self.tail()}")
            with (
                contextlib.suppress(urllib.error.URLError, OSError),
                urllib.request.urlopen(url, timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"{self.name} did not answer {url} in {timeout_s} s:\n{self.tail()}")

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the whole group (the service and every process it started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def descendants(self) -> list[Any]:
        """Every process the service started, also those in sessions of their own (a process
        worker starts each flow run with ``start_new_session``, out of the worker's group)."""
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(self.pid).children(recursive=True)
        return []

    def kill(self) -> None:
        """SIGKILL the service and every process it started, as a dying machine would: no
        handler runs, nothing reports to the server."""
        import psutil

        tree = [*self.descendants()]
        self.signal(signal.SIGKILL)
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(tree, timeout=STOP_GRACE_S)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_S)

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        if self.process is None:
            return
        import psutil

        # A flow run in a session of its own outlives a signal to the group: ended here.
        left_behind = self.descendants()
        self.signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_s)
        # Children the service left behind (a flow run, a server's workers) go too.
        self.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace_s)
        deadline = time.monotonic() + grace_s
        while _alive(self.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for process in left_behind:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()

    def tail(self, characters: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""


@dataclass
class Stack:
    """Prefect server + work pool + deployments + worker, and an MLflow server, on PostgreSQL.

    ``prefect_db``, ``mlflow_db`` and ``cases_db`` are ``postgresql://`` URLs of empty
    databases. ``workdir`` is the EWS working directory the deployments are bound to.
    """

    root: Path
    prefect_db: str
    mlflow_db: str
    cases_db: str
    prefect_port: int = field(default_factory=postgres.free_port)
    mlflow_port: int = field(default_factory=postgres.free_port)
    services: dict[str, Service] = field(default_factory=dict)
    workers: int = 0
    # The server behind mlflow_db and cases_db when it is one the test may restart.
    cluster: postgres.PrivateCluster | None = None
    shared_workdir: Path | None = None

    @property
    def workdir(self) -> Path:
        return self.shared_workdir or self.root / "work"

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def prefect_ui(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}"

    @property
    def tracking_uri(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    def env(self) -> dict[str, str]:
        """What every EWS process of the park gets: the worker, the CLI, the servers."""
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_", "EWS_"))
        }
        return {
            **inherited,
            "PREFECT_HOME": str(self.root / "prefect_home"),
            "PREFECT_API_URL": self.prefect_api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "EWS_HOME": str(ROOT),
            "EWS_WORKDIR": str(self.workdir),
            "EWS_TRACKING_URI": self.tracking_uri,
            "EWS_CASE_STORE_URL": self.cases_db,
        }

    # -- services

    def start_prefect_server(self) -> Service:
        env = {
            **self.env(),
            "PREFECT_API_DATABASE_CONNECTION_URL": postgres.with_driver(self.prefect_db, "asyncpg"),
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.prefect_port),
        }
        env.pop("PREFECT_API_URL")
        argv = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1"]
        argv += ["--port", str(self.prefect_port)]
        return self._start("prefect-server", argv, env)

    def start_mlflow_server(self) -> Service:
        argv = [str(BIN / "mlflow"), "server", "--host", "127.0.0.1"]
        argv += ["--port", str(self.mlflow_port), "--workers", "1"]
        # SQLAlchemy's default PostgreSQL driver is psycopg2; EWS ships psycopg 3.
        argv += ["--backend-store-uri", postgres.with_driver(self.mlflow_db, "psycopg")]
        argv += ["--artifacts-destination", str(self.root / "mlartifacts")]
        return self._start("mlflow-server", argv, self.env())

    def start_servers(self) -> None:
        """Both servers at once (each takes tens of seconds to import and migrate)."""
        prefect_server, mlflow_server = self.start_prefect_server(), self.start_mlflow_server()
        prefect_server.wait_http(f"{self.prefect_api}/health")
        mlflow_server.wait_http(f"{self.tracking_uri}/health")

    def create_pool_and_deploy(self) -> None:
        self.run_cli("prefect", "work-pool", "create", "ews-process", "--type", "process")
        self.run_cli("prefect", "--no-prompt", "deploy", "--all")
        # Zombie detection: a run whose heartbeats stop is marked CRASHED.
        self.run_cli("prefect", "automation", "create", "--from-file", "prefect_automations.yaml")

    def drop_connections(self, url: str) -> int:
        """Close every connection to ``url``'s database (its server sees its clients vanish as
        in a restart; only this database, so the shared server's other users are untouched)."""
        import psycopg

        name = postgres.database_name(url)
        admin = postgres.with_database(url, "postgres")
        with psycopg.connect(admin, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            ).fetchall()
        return len(rows)

    def start_worker(self, **env: str) -> Service:
        """A process worker on the pool (``env`` added to its environment: its flow runs')."""
        self.workers += 1
        name = f"worker-{self.workers}"
        argv = [str(BIN / "prefect"), "worker", "start", "--pool", "ews-process"]
        argv += ["--name", name]
        return self._start(name, argv, {**self.env(), **env})

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> Service:
        service = Service(name, argv, env, self.root / "logs" / f"{name}.log")
        self.services[name] = service
        return service.start()

    def run_cli(self, *argv: str, timeout_s: float = 600) -> subprocess.CompletedProcess:
        """A command from the environment's bin folder (``ews``, ``prefect``), checked."""
        done = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                f"{done.stderr[-3000:]}"
            )
        return done

    # -- the API, as an operator's script would use it

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        from prefect.client.orchestration import SyncPrefectClient

        with SyncPrefectClient(api=self.prefect_api) as client:
            yield client

    def trigger(self, deployment: str, **parameters: Any) -> UUID:
        """A flow run of ``deployment`` ("flow/deployment") now, as ``prefect deployment run``
        does; ``parameters`` override the deployment's."""
        with self.client() as client:
            found = client.read_deployment_by_name(deployment)
            return client.create_flow_run_from_deployment(found.id, parameters=parameters).id

    def flow_run(self, run_id: UUID) -> Any:
        with self.client() as client:
            return client.read_flow_run(run_id)

    def wait(self, run_id: UUID, timeout_s: float = 600, states: set[str] = FINAL_STATES) -> Any:
        """Poll the API until the flow run reaches one of ``states``; returns the flow run."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            if run.state is not None and run.state.type.value in states:
                return run
            time.sleep(1)
        raise TimeoutError(
            f"flow run {run_id} still {run.state.type.value if run.state else None} after "
            f"{timeout_s} s:\n{self.logs()}"
        )

    def task_runs(self, run_id: UUID) -> list[Any]:
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        with self.client() as client:
            return client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )

    def stop(self) -> None:
        """Workers first (so no run is left half-submitted), then the servers."""
        order = sorted(self.services, key=lambda name: not name.startswith("worker"))
        for name in order:
            self.services[name].stop()

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{s.tail(2000)}" for n, s in self.services.items())


@contextlib.contextmanager
def running_stack(root: Path, admin_url: str) -> Iterator[Stack]:
    """A whole stack on fresh databases; stopped and its databases dropped however it ends.

    The Prefect server's database is on the machine's server (``admin_url``). MLflow's and the
    case store's are on a private cluster of their own, which the test may restart (the
    machine's server is shared and never restarted)."""
    cluster = postgres.PrivateCluster().start()
    try:
        with postgres.database(admin_url, "prod_prefect") as prefect_db:
            mlflow_db = postgres.create_database(cluster.url, "prod_mlflow")
            cases_db = postgres.create_database(cluster.url, "prod_cases")
            stack = Stack(root, prefect_db, mlflow_db, cases_db, cluster=cluster)
            try:
                stack.start_servers()
                stack.create_pool_and_deploy()
                yield stack
            finally:
                stack.stop()
    finally:
        cluster.stop()
