"""MLflow tracking and model registry: the only module that imports mlflow.

One experiment per industry (``ews-<industry>``), one registered model per industry (same name)
with the aliases ``champion`` (scores the weekly lists) and ``challenger`` (the latest candidate
that did not beat the champion). A logged model is an ``mlflow.pyfunc`` wrapping the RiskModel's
own bytes, so loading it back gives the identical model.

``NullTracker`` keeps the same registry in memory for tests and notebooks that need no MLflow.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

# The process environment mlflow reads when imported (telemetry off, no progress bars, no uv
# project guessed from the current directory) is the entry point's job: pipelines/runtime.py, set
# by the CLI, the flows package, the tests and the notebooks before anything imports this module.
import mlflow
import pandas as pd
import polars as pl
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from models.baseline import LogisticBaseline, scorer_from_bytes
from models.promotion import CHALLENGER, CHAMPION, Decision
from models.train import RiskModel, frame_inputs
from pipelines.audit import code_version
from pipelines.model_exports import evaluation_table
from pipelines.settings import Settings
from pipelines.spreadsheet_safety import csv_text

# What the registry holds: a boosted model or, when it serves, the logistic baseline.
Scorer = RiskModel | LogisticBaseline
MODEL_ARTIFACT = "model"
EXPORTS_ARTIFACT = "exports"
RISK_MODEL_FILE = "risk_model.json"
# MLflow rejects longer parameter values.
MAX_PARAM_CHARS = 6000
PROJECT_ROOT = Path(__file__).resolve().parents[1]
_URI_VARIABLES = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
# Packages the wrapped RiskModel needs at load time; pinning them skips MLflow's slow inference.
MODEL_REQUIREMENTS = ("mlflow", "xgboost-cpu", "numpy", "pandas", "polars", "scipy", "scikit-learn")


class _DropPickleNotice(logging.Filter):
    """The pyfunc wrapper is our own class, pickled and unpickled only by this module."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "CloudPickle" not in record.getMessage()


logging.getLogger("mlflow.pyfunc").addFilter(_DropPickleNotice())


def model_name(industry: str) -> str:
    """The registered model (and experiment) name of an industry."""
    return f"ews-{industry}"


# ---------------------------------------------------------------- records


@dataclass(frozen=True, eq=False)
class RunRecord:
    """Everything one training run logs.

    ``metrics`` has the shape models.pipeline returns:
    ``{"model": {metric: {"value", "ci_low", "ci_high"}}, "baseline": {...}}``.
    ``sample_input`` is a few rows of model input; it fixes the logged signature.
    """

    industry: str
    model: Scorer
    metrics: Mapping[str, Mapping[str, Mapping[str, float]]]
    params: Mapping[str, Any]
    calibration: pl.DataFrame
    sample_input: pl.DataFrame
    snapshot_hash: str
    trained_at: datetime
    test_period: str
    code_version: str = field(default_factory=code_version)
    # Extra files (local paths) attached to the run under ``exports/`` (see ``export_file``).
    attachments: Sequence[Path] = ()
    # Charts drawn by the caller (matplotlib figures), logged under their artifact paths.
    figures: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoggedRun:
    industry: str
    run_id: str
    model_uri: str


@dataclass(frozen=True)
class ModelInfo:
    """One registered version: what it is, how it was trained and what the gate said."""

    name: str
    industry: str
    version: int
    aliases: tuple[str, ...]
    run_id: str
    metrics: dict[str, float]
    params: dict[str, str]
    trained_at: str
    snapshot_hash: str
    code_version: str
    test_period: str
    decision: str | None
    reason: str | None

    @property
    def alias(self) -> str | None:
        """The version's role: champion, else challenger, else None (superseded)."""
        for role in (CHAMPION, CHALLENGER):
            if role in self.aliases:
                return role
        return None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "alias": self.alias}


class Tracker(Protocol):
    def log_run(self, record: RunRecord) -> LoggedRun: ...

    def register(self, logged: LoggedRun) -> int: ...

    def assign(self, industry: str, version: int, decision: Decision) -> ModelInfo: ...

    def version_for(self, industry: str, alias: str) -> int | None: ...

    def info(self, industry: str, version: int) -> ModelInfo: ...

    def load_version(self, industry: str, version: int) -> tuple[Scorer, ModelInfo]: ...

    def load_model(self, industry: str, alias: str = CHAMPION) -> tuple[Scorer, ModelInfo]: ...

    def versions(self, industry: str) -> list[ModelInfo]: ...

    def attach(self, run_id: str, paths: Sequence[Path], artifact_path: str) -> None: ...

    def export_file(self, industry: str, version: int, name: str, destination: Path) -> Path: ...


# ---------------------------------------------------------------- what a run logs


def flat_metrics(metrics: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, float]:
    """``pr_auc``, ``pr_auc_ci_low``, ..., and ``baseline_pr_auc``, ... as MLflow metrics."""
    flat: dict[str, float] = {}
    for side, prefix in (("model", ""), ("baseline", "baseline_")):
        for metric, estimate in metrics.get(side, {}).items():
            flat[f"{prefix}{metric}"] = float(estimate["value"])
            flat[f"{prefix}{metric}_ci_low"] = float(estimate["ci_low"])
            flat[f"{prefix}{metric}_ci_high"] = float(estimate["ci_high"])
    return flat


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters as dotted MLflow params; lists as JSON, over-long values cut."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_params(value, f"{name}."))
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        flat[name] = text[:MAX_PARAM_CHARS]
    return flat


def model_input_frame(frame: pl.DataFrame, feature_names: Sequence[str]) -> pd.DataFrame:
    """Model input as MLflow sees it: every feature a float, null as NaN."""
    return frame.select(pl.col(name).cast(pl.Float64) for name in feature_names).to_pandas()


def _requirements() -> list[str]:
    pins = []
    for package in MODEL_REQUIREMENTS:
        try:
            pins.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pins.append(package)
    return pins


class RiskModelPyfunc(mlflow.pyfunc.PythonModel):
    """The pyfunc face of a RiskModel: predicts the calibrated event probability."""

    def load_context(self, context) -> None:
        self.risk_model = scorer_from_bytes(Path(context.artifacts["risk_model"]).read_bytes())

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return self.risk_model.predict_proba(model_input)


# ---------------------------------------------------------------- MLflow


class MlflowTracker:
    """Tracking and registry on one MLflow store (SQLite file, PostgreSQL, or a server)."""

    def __init__(self, tracking_uri: str, artifact_root: Path | str) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_root = Path(artifact_root)
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)

    @classmethod
    def from_settings(cls, settings: Settings) -> MlflowTracker:
        return cls(settings.mlflow_uri, settings.mlflow_artifacts)

    # -- logging

    def experiment_id(self, industry: str) -> str:
        """The industry's experiment, created with its artifacts under the artifact root."""
        name = model_name(industry)
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = None
        if not self.tracking_uri.startswith(("http://", "https://")):
            # A tracking server keeps (and proxies) artifacts itself; for a database store the
            # artifacts live beside the workdir, not in the current directory.
            location = (self.artifact_root / name).resolve().as_uri()
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException as error:  # another process created it in between
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return self.client.get_experiment_by_name(name).experiment_id

    def log_run(self, record: RunRecord) -> LoggedRun:
        experiment = self.experiment_id(record.industry)
        tags = {
            "industry": record.industry,
            "snapshot_hash": record.snapshot_hash,
            "code_version": record.code_version,
            "test_period": record.test_period,
            "trained_at": record.trained_at.isoformat(),
            "model_kind": record.model.kind,
        }
        # A pooled model fixes its industry indicators: its callers never pass them.
        sample = model_input_frame(record.sample_input, frame_inputs(record.model))
        signature = infer_signature(sample, record.model.predict_proba(sample))
        with (
            self._fluent(),
            mlflow.start_run(experiment_id=experiment, tags=tags) as run,
            tempfile.TemporaryDirectory() as scratch,
        ):
            mlflow.log_params(flat_params(record.params))
            mlflow.log_metrics(flat_metrics(record.metrics))
            mlflow.log_dict({"features": list(record.model.feature_names)}, "features.json")
            mlflow.log_text(csv_text(evaluation_table(record.metrics)), "evaluation/metrics.csv")
            mlflow.log_text(csv_text(record.calibration), "evaluation/calibration.csv")
            for artifact, figure in sorted(record.figures.items()):
                mlflow.log_figure(figure, artifact)
            for path in record.attachments:
                mlflow.log_artifact(str(path), EXPORTS_ARTIFACT)
            model_file = Path(scratch) / RISK_MODEL_FILE
            model_file.write_bytes(record.model.to_bytes())
            logged = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=RiskModelPyfunc(),
                artifacts={"risk_model": str(model_file)},
                signature=signature,
                input_example=sample.head(3),
                pip_requirements=_requirements(),
                # In a source checkout the exact locked environment travels with the model.
                uv_project_path=PROJECT_ROOT if (PROJECT_ROOT / "uv.lock").is_file() else None,
            )
        return LoggedRun(record.industry, run.info.run_id, logged.model_uri)

    def register(self, logged: LoggedRun) -> int:
        run = self.client.get_run(logged.run_id)
        carried = (
            "industry",
            "snapshot_hash",
            "code_version",
            "test_period",
            "trained_at",
            "model_kind",
        )
        tags = {key: run.data.tags[key] for key in carried if key in run.data.tags}
        with self._fluent():
            version = mlflow.register_model(
                logged.model_uri, model_name(logged.industry), tags=tags
            )
        return int(version.version)

    # -- the registry

    def assign(self, industry: str, version: int, decision: Decision) -> ModelInfo:
        """Give the version the alias the gate chose and record the decision on it."""
        name = model_name(industry)
        self.client.set_registered_model_alias(name, decision.alias, str(version))
        if decision.promote and self.version_for(industry, CHALLENGER) == version:
            self.client.delete_registered_model_alias(name, CHALLENGER)
        for key, value in {
            "promotion_decision": decision.alias,
            "promotion_reason": decision.reason,
            "promotion_decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }.items():
            self.client.set_model_version_tag(name, str(version), key, value)
        return self.info(industry, version)

    def version_for(self, industry: str, alias: str) -> int | None:
        try:
            found = self.client.get_model_version_by_alias(model_name(industry), alias)
        except MlflowException as error:
            if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise
        return int(found.version)

    def info(self, industry: str, version: int) -> ModelInfo:
        found = self.client.get_model_version(model_name(industry), str(version))
        return self._info(industry, found)

    def versions(self, industry: str) -> list[ModelInfo]:
        """Every registered version of the industry's model, oldest first."""
        found = self.client.search_model_versions(f"name = '{model_name(industry)}'")
        return sorted((self._info(industry, v) for v in found), key=lambda i: i.version)

    def load_version(self, industry: str, version: int) -> tuple[Scorer, ModelInfo]:
        with self._fluent():
            loaded = mlflow.pyfunc.load_model(f"models:/{model_name(industry)}/{version}")
        return loaded.unwrap_python_model().risk_model, self.info(industry, version)

    def load_model(self, industry: str, alias: str = CHAMPION) -> tuple[Scorer, ModelInfo]:
        """The RiskModel behind an alias, with its registry information."""
        version = self.version_for(industry, alias)
        if version is None:
            raise LookupError(
                f"{model_name(industry)} has no {alias!r} version in {self.tracking_uri}; "
                "run `ews train` first"
            )
        return self.load_version(industry, version)

    def attach(self, run_id: str, paths: Sequence[Path], artifact_path: str) -> None:
        """Add local files to an existing run under ``artifact_path`` (e.g. a model card)."""
        for path in paths:
            self.client.log_artifact(run_id, str(path), artifact_path)

    def export_file(self, industry: str, version: int, name: str, destination: Path) -> Path:
        """Download one file attached to the version's run (e.g. its test predictions)."""
        run_id = self.client.get_model_version(model_name(industry), str(version)).run_id
        destination.mkdir(parents=True, exist_ok=True)
        try:
            path = self.client.download_artifacts(
                run_id, f"{EXPORTS_ARTIFACT}/{name}", str(destination)
            )
        except (MlflowException, OSError) as error:
            raise FileNotFoundError(
                f"{model_name(industry)} v{version} (run {run_id}) has no attached {name}"
            ) from error
        return Path(path)

    def _info(self, industry: str, version: ModelVersion) -> ModelInfo:
        run = self.client.get_run(version.run_id)
        tags = version.tags
        return ModelInfo(
            name=version.name,
            industry=industry,
            version=int(version.version),
            aliases=tuple(sorted(version.aliases)),
            run_id=version.run_id,
            metrics=dict(run.data.metrics),
            params=dict(run.data.params),
            trained_at=tags.get("trained_at", ""),
            snapshot_hash=tags.get("snapshot_hash", ""),
            code_version=tags.get("code_version", ""),
            test_period=tags.get("test_period", ""),
            decision=tags.get("promotion_decision"),
            reason=tags.get("promotion_reason"),
        )

    @contextmanager
    def _fluent(self) -> Iterator[None]:
        """Point mlflow's process-wide (fluent) API at this store for the duration.

        mlflow mirrors its global URIs into MLFLOW_TRACKING_URI / MLFLOW_REGISTRY_URI; both are
        put back afterwards, else every later Settings in the process would follow this store.
        """
        saved = {name: os.environ.get(name) for name in _URI_VARIABLES}
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(saved["MLFLOW_TRACKING_URI"])
            mlflow.set_registry_uri(saved["MLFLOW_REGISTRY_URI"])
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


# ---------------------------------------------------------------- in memory


@dataclass
class _StoredVersion:
    model_bytes: bytes
    run_id: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


class NullTracker:
    """The Tracker interface kept in process memory: no MLflow, nothing written."""

    def __init__(self) -> None:
        self._runs: dict[str, tuple[RunRecord, bytes]] = {}
        # run id -> {artifact path: content}: files are copied when attached, like MLflow does.
        self._files: dict[str, dict[str, bytes]] = {}
        self._versions: dict[str, list[_StoredVersion]] = {}
        self._aliases: dict[str, dict[str, int]] = {}

    def log_run(self, record: RunRecord) -> LoggedRun:
        run_id = uuid.uuid4().hex
        self._runs[run_id] = (record, record.model.to_bytes())
        self.attach(run_id, record.attachments, EXPORTS_ARTIFACT)
        return LoggedRun(record.industry, run_id, f"runs:/{run_id}/{MODEL_ARTIFACT}")

    def register(self, logged: LoggedRun) -> int:
        record, model_bytes = self._runs[logged.run_id]
        stored = _StoredVersion(
            model_bytes=model_bytes,
            run_id=logged.run_id,
            metrics=flat_metrics(record.metrics),
            params=flat_params(record.params),
            tags={
                "industry": record.industry,
                "snapshot_hash": record.snapshot_hash,
                "code_version": record.code_version,
                "test_period": record.test_period,
                "trained_at": record.trained_at.isoformat(),
            },
        )
        versions = self._versions.setdefault(logged.industry, [])
        versions.append(stored)
        return len(versions)

    def assign(self, industry: str, version: int, decision: Decision) -> ModelInfo:
        stored = self._stored(industry, version)
        aliases = self._aliases.setdefault(industry, {})
        aliases[decision.alias] = version
        if decision.promote and aliases.get(CHALLENGER) == version:
            del aliases[CHALLENGER]
        stored.tags.update(
            promotion_decision=decision.alias,
            promotion_reason=decision.reason,
            promotion_decided_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        return self.info(industry, version)

    def version_for(self, industry: str, alias: str) -> int | None:
        return self._aliases.get(industry, {}).get(alias)

    def info(self, industry: str, version: int) -> ModelInfo:
        stored = self._stored(industry, version)
        aliases = self._aliases.get(industry, {})
        return ModelInfo(
            name=model_name(industry),
            industry=industry,
            version=version,
            aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
            run_id=stored.run_id,
            metrics=dict(stored.metrics),
            params=dict(stored.params),
            trained_at=stored.tags["trained_at"],
            snapshot_hash=stored.tags["snapshot_hash"],
            code_version=stored.tags["code_version"],
            test_period=stored.tags["test_period"],
            decision=stored.tags.get("promotion_decision"),
            reason=stored.tags.get("promotion_reason"),
        )

    def versions(self, industry: str) -> list[ModelInfo]:
        count = len(self._versions.get(industry, []))
        return [self.info(industry, version) for version in range(1, count + 1)]

    def load_version(self, industry: str, version: int) -> tuple[Scorer, ModelInfo]:
        stored = self._stored(industry, version)
        return scorer_from_bytes(stored.model_bytes), self.info(industry, version)

    def load_model(self, industry: str, alias: str = CHAMPION) -> tuple[Scorer, ModelInfo]:
        version = self.version_for(industry, alias)
        if version is None:
            raise LookupError(f"{model_name(industry)} has no {alias!r} version (in memory)")
        return self.load_version(industry, version)

    def attach(self, run_id: str, paths: Sequence[Path], artifact_path: str) -> None:
        if run_id not in self._runs:
            raise LookupError(f"no run {run_id} (in memory)")
        files = self._files.setdefault(run_id, {})
        for path in paths:
            files[f"{artifact_path}/{path.name}"] = path.read_bytes()

    def export_file(self, industry: str, version: int, name: str, destination: Path) -> Path:
        files = self._files.get(self._stored(industry, version).run_id, {})
        key = f"{EXPORTS_ARTIFACT}/{name}"
        if key not in files:
            raise FileNotFoundError(f"{model_name(industry)} v{version} has no attached {name}")
        destination.mkdir(parents=True, exist_ok=True)
        (destination / name).write_bytes(files[key])
        return destination / name

    def _stored(self, industry: str, version: int) -> _StoredVersion:
        versions = self._versions.get(industry, [])
        if not 1 <= version <= len(versions):
            raise LookupError(f"{model_name(industry)} has no version {version}")
        return versions[version - 1]


# ---------------------------------------------------------------- entry points


def tracker_for(settings: Settings) -> MlflowTracker:
    return MlflowTracker.from_settings(settings)


def load_model(
    industry: str, alias: str = CHAMPION, settings: Settings | None = None
) -> tuple[Scorer, ModelInfo]:
    """The registered RiskModel behind ``alias`` (champion by default) and its ModelInfo."""
    return tracker_for(settings or Settings()).load_model(industry, alias)


def log_artifacts(tracker: Tracker, run_id: str, paths: Sequence[Path], artifact_path: str) -> None:
    """Attach local files to an existing run under ``artifact_path`` (e.g. a model card)."""
    tracker.attach(run_id, paths, artifact_path)
