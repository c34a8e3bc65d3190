"""One settings class: every path, the tracking URI, the seed and the operator.

Values come from arguments, then ``EWS_*`` environment variables, then defaults. Pure packages
never read settings; flows pass the values they need as parameters.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipelines import datasets


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EWS_", extra="ignore")

    workdir: Path = Field(default=Path("ews_work"), description="root of every artefact")
    seed: int = 20261121
    scale: str = "small"
    tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default SQLite inside the workdir"
    )
    case_store_url: str | None = Field(
        default=None, description="case store database URL; default SQLite inside the workdir"
    )
    inspection_conflicts: Path | None = Field(
        default=None,
        description="declared conflicts of interest of inspectors (YAML); default in the workdir",
    )
    operator: str = Field(default_factory=lambda: os.environ.get("USER") or _whoami())
    defect_rate: float = 0.02
    # Sharding by firm (docs/scaling.md): features, scores and explanations per shard.
    runner: Literal["local", "dask"] = Field(
        default="local",
        description="local: one process (shards, if any, in threads); dask: shards as tasks "
        "on a Dask cluster through prefect-dask (needs a Prefect server, never ephemeral mode)",
    )
    shards: int = Field(default=4, ge=1, description="firm shards of a sharded run")
    dask_address: str | None = Field(
        default=None,
        description="scheduler of an existing Dask cluster (tcp://host:8786); default a "
        "LocalCluster started for the run",
    )
    dask_workers: int = Field(default=2, ge=1, description="workers of the LocalCluster")

    def model_post_init(self, __context: object) -> None:
        self.workdir = self.workdir.expanduser().resolve()

    # Where each stage keeps its files. Every path derives from workdir.
    @property
    def landing(self) -> Path:
        return self.workdir / datasets.LANDING

    @property
    def sim_truth(self) -> Path:
        return self.workdir / datasets.SIM_TRUTH

    @property
    def lake(self) -> Path:
        return self.workdir / datasets.LAKE

    @property
    def quarantine(self) -> Path:
        return self.workdir / datasets.QUARANTINE

    @property
    def ingest_runs(self) -> Path:
        return self.workdir / datasets.INGEST

    @property
    def features(self) -> Path:
        return self.workdir / datasets.FEATURES

    @property
    def models(self) -> Path:
        return self.workdir / datasets.MODELS

    @property
    def publish(self) -> Path:
        return self.workdir / datasets.PUBLISH

    @property
    def site(self) -> Path:
        return self.workdir / datasets.SITE

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit" / "audit_log.jsonl"

    @property
    def model_cards(self) -> Path:
        return self.workdir / datasets.MODEL_CARDS

    @property
    def mlflow_uri(self) -> str:
        if self.tracking_uri:
            return self.tracking_uri
        if os.environ.get("MLFLOW_TRACKING_URI"):
            return os.environ["MLFLOW_TRACKING_URI"]
        # An absolute SQLite URI has four slashes.
        return f"sqlite:///{(self.workdir / 'mlflow.db').as_posix()}"

    @property
    def case_store(self) -> str:
        """The case store's database URL (listings, inspections, what comes back from people)."""
        if self.case_store_url:
            return self.case_store_url
        return f"sqlite:///{(self.workdir / 'cases.db').as_posix()}"

    @property
    def inspection(self) -> Path:
        """Monthly double-random plans: inspection/<month>/<department>/."""
        return self.workdir / datasets.INSPECTION

    @property
    def conflicts_file(self) -> Path:
        """Inspectors' declared conflicts of interest (config/inspection_conflicts.yaml)."""
        if self.inspection_conflicts is not None:
            return self.inspection_conflicts.expanduser().resolve()
        return self.workdir / "config" / "inspection_conflicts.yaml"

    @property
    def consistency(self) -> Path:
        """Consistency runs: consistency/<as_of>/<scope>/ (see pipelines/consistency_io.py)."""
        return self.workdir / datasets.CONSISTENCY

    @property
    def feedback(self) -> Path:
        return self.workdir / datasets.FEEDBACK

    @property
    def mlflow_artifacts(self) -> Path:
        return self.workdir / "mlartifacts"


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"
