"""Process-wide environment for the orchestration layer, set before prefect or mlflow import.

Set once by each entry point: the CLI, the flows package (deployments load flows by module path),
the tests' conftest and the notebooks. No other module changes the environment when imported.
"""

from __future__ import annotations

import os

DEFAULTS = {
    # Ephemeral Prefect: no analytics (else "database is locked"), a generous start-up.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "GIT_PYTHON_REFRESH": "quiet",
    # xgboost's OpenMP threads otherwise spin while waiting for each other; on a busy 2-core
    # machine that made 2-thread training 10-20x slower than 1 thread.
    "OMP_WAIT_POLICY": "PASSIVE",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # A logged model carries EWS's own uv.lock, never a project found in the current directory.
    "MLFLOW_UV_AUTO_DETECT": "false",
}


def configure() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
