"""Prefect flows that only compose tasks. Importing one is entering the orchestration layer, so
the process environment prefect and mlflow read at import (pipelines/runtime.py) is set here."""

from pipelines import runtime

runtime.configure()
