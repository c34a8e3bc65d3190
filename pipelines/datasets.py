"""The catalog of datasets: every file EWS writes under the workdir, named once.

Each entry says where a dataset lives (a folder pattern relative to the workdir and a file name
pattern inside it), its format and the module that writes it. Flows and tasks ask the catalog for
paths instead of spelling file names: ``FEATURE_HISTORY.path(workdir)``,
``SCORING_TABLE.path(workdir, as_of=day)``, or ``SCORES.at(folder)`` when the caller already
holds the folder (a list being staged, an ingest run). The source contracts have their own
catalog (``data_contracts.catalog``); this one is about what the pipeline writes.

Pattern fields are filled from the keyword arguments: a date becomes ``YYYY-MM-DD``; any other
value its ``str``. A value that could leave the folder (a path separator, ``..``, empty) is
refused: no path is built from text that came from outside.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from pathlib import Path

# The workdir's top-level folders (pipelines.settings.Settings exposes them as properties).
LANDING = "landing"
SIM_TRUTH = "sim_truth"
LAKE = "lake"
QUARANTINE = "quarantine"
INGEST = "ingest"
FEATURES = "features"
MODELS = "models"
PUBLISH = "publish"
SITE = "site"
INSPECTION = "inspection"
CONSISTENCY = "consistency"
FEEDBACK = "feedback"
MODEL_CARDS = "reports/model_cards"
RETURNED = "returned"


@dataclass(frozen=True)
class Dataset:
    """One dataset: ``<workdir>/<folder>/<name>`` with ``{field}`` placeholders."""

    key: str
    folder: str
    name: str
    format: str
    writer: str
    about: str

    @property
    def pattern(self) -> str:
        return f"{self.folder}/{self.name}" if self.folder else self.name

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(
            field for _, field, _, _ in string.Formatter().parse(self.pattern) if field is not None
        )

    def directory(self, workdir: Path, **values: object) -> Path:
        """The folder holding the dataset (only the folder's fields are needed)."""
        return Path(workdir) / _fill(self.folder, values) if self.folder else Path(workdir)

    def at(self, folder: Path, **values: object) -> Path:
        """The dataset inside ``folder`` (a staged or already located folder)."""
        return Path(folder) / _fill(self.name, values)

    def path(self, workdir: Path, **values: object) -> Path:
        return self.at(self.directory(workdir, **values), **values)

    @property
    def file_name(self) -> str:
        """The last part of ``name`` (``name`` may hold sub-folders)."""
        return self.name.rsplit("/", 1)[-1]

    def wildcard(self, **values: object) -> str:
        """``name`` as a glob pattern: the given fields filled, every other one ``*``."""
        return self.name.format(
            **{
                f: _text(self.name, f, values[f]) if f in values else "*"
                for f in _fields(self.name)
            }
        )


def _fields(pattern: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]


def _text(pattern: str, field: str, value: object) -> str:
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if not text or text in (".", "..") or "/" in text or "\\" in text or "\0" in text:
        raise ValueError(f"dataset path {pattern!r}: {field}={text!r} is not a file name part")
    return text


def _fill(pattern: str, values: dict[str, object]) -> str:
    missing = [f for f in _fields(pattern) if f not in values]
    if missing:
        raise KeyError(f"dataset path {pattern!r} needs {missing[0]!r}")
    return pattern.format(**{f: _text(pattern, f, values[f]) for f in _fields(pattern)})


def _d(key: str, folder: str, name: str, format: str, writer: str, about: str) -> Dataset:
    return Dataset(key, folder, name, format, writer, about)


# ---------------------------------------------------------------- simulate
SIM_FIRMS = _d(
    "sim_firms", SIM_TRUTH, "firms.parquet", "parquet", "pipelines.flows.simulate",
    "the simulated park's firms and their true distress dates (diagnostics and demo only)",
)  # fmt: skip
SIM_STRESS = _d(
    "sim_stress", SIM_TRUTH, "monthly_stress.parquet", "parquet", "pipelines.flows.simulate",
    "the simulated firms' latent stress per month (the oracle; never a feature)",
)  # fmt: skip
SIM_WORLD = _d(
    "sim_world", SIM_TRUTH, "world.json", "json", "pipelines.flows.simulate",
    "the simulated world's parameters, seed and planned defects",
)  # fmt: skip
SIM_TRUTH_FRAME = _d(
    "sim_truth_frame", SIM_TRUTH, "{name}.parquet", "parquet", "pipelines.flows.simulate",
    "every other truth frame of the simulated park",
)  # fmt: skip
SIM_DEFECTS = _d(
    "sim_defects", SIM_TRUTH, "defects.json", "json", "pipelines.flows.simulate",
    "the defects planted in the deliveries",
)  # fmt: skip
SIM_DELIVERIES = _d(
    "sim_deliveries", SIM_TRUTH, "deliveries.json", "json", "pipelines.flows.simulate",
    "every simulated delivery file with its rows and bytes",
)  # fmt: skip
SIM_REPAIRS = _d(
    "sim_repairs", SIM_TRUTH, "repairs/{source}.parquet", "parquet",
    "pipelines.flows.simulate", "what each simulated credit repair refers to",
)  # fmt: skip
SIM_CONSISTENCY = _d(
    "sim_consistency", SIM_TRUTH, "consistency.parquet", "parquet", "pipelines.flows.simulate",
    "every cross-source contradiction and near miss planted for the consistency rules",
)  # fmt: skip
SIM_DEMO_REPAIR = _d(
    "sim_demo_repair", SIM_TRUTH, "repairs/demo.json", "json",
    "pipelines.flows.credit_centre", "the demo's credit repair of a listed firm",
)  # fmt: skip
SIM_OBJECTIONS = _d(
    "sim_objections", SIM_TRUTH, "objections/{week}/{industry}.parquet", "parquet",
    "pipelines.flows.objectors", "which listed firms the demo has object, and whether rightly",
)  # fmt: skip
SIM_RETURNS = _d(
    "sim_returns", SIM_TRUTH, "returns/{week}/{industry}.parquet", "parquet",
    "pipelines.flows.regulators", "what the simulated regulators' inspections found",
)  # fmt: skip
LANDING_DELIVERY = _d(
    "landing_delivery", f"{LANDING}/{{source}}", "{delivery}.{suffix}", "csv|parquet",
    "departments (simulated: pipelines.flows.simulate)", "a delivery as the department sent it",
)  # fmt: skip

# ---------------------------------------------------------------- ingest
LAKE_PART = _d(
    "lake_part", LAKE, "{source}/delivery={delivery}/part-0.parquet", "parquet",
    "pipelines.io", "a delivery's accepted rows, canonical typed columns",
)  # fmt: skip
LAKE_LEDGER = _d(
    "lake_ledger", LAKE, "_ledger.jsonl", "jsonl", "pipelines.io",
    "one line per ingested delivery (source, delivery, sha256, rows): ingest is idempotent",
)  # fmt: skip
INGEST_RUN = _d(
    "ingest_run", f"{INGEST}/{{run_id}}", "run.json", "json", "pipelines.flows.ingest",
    "an ingest run's as-of time, sources, what landing held outside them and the lake "
    "staging of dead runs it removed",
)  # fmt: skip
INGEST_PLAN = _d(
    "ingest_plan", f"{INGEST}/{{run_id}}", "plan/{source}.json", "json",
    "pipelines.flows.ingest", "what the run decided to do with one source",
)  # fmt: skip
INGEST_REPORT = _d(
    "ingest_report", f"{INGEST}/{{run_id}}", "sources/{source}.json", "json",
    "pipelines.flows.ingest", "what ingesting one source did",
)  # fmt: skip
INGEST_SUMMARY = _d(
    "ingest_summary", f"{INGEST}/{{run_id}}", "ingest_summary.json", "json",
    "pipelines.flows.ingest", "every source and landing file of a run accounted for",
)  # fmt: skip
INGEST_DATA_DOCS = _d(
    "ingest_data_docs", f"{INGEST}/{{run_id}}", "data_docs", "html",
    "pipelines.gx_context", "the run's GX Data Docs",
)  # fmt: skip

# ---------------------------------------------------------------- features
FEATURE_HISTORY = _d(
    "feature_history", FEATURES, "history.parquet", "parquet", "pipelines.flows.features",
    "weekly as-of snapshots of every firm of the industries: the training history",
)  # fmt: skip
FEATURE_HISTORY_GENERAL = _d(
    "feature_history_general", FEATURES, "history_general.parquet", "parquet",
    "pipelines.flows.features",
    "the general model's training history: sampled firms outside the industries, every few weeks",
)  # fmt: skip
SCORING_TABLE = _d(
    "scoring_table", FEATURES, "as_of={as_of}.parquet", "parquet", "pipelines.flows.features",
    "every active firm at one as-of date, for scoring",
)  # fmt: skip
FACT_CORRECTIONS = _d(
    "fact_corrections", FEATURES, "fact_corrections.parquet", "parquet",
    "pipelines.fact_corrections", "records withdrawn by upheld objections to a fact, by decision",
)  # fmt: skip
UNRESOLVED_REPAIRS = _d(
    "unresolved_repairs", FEATURES, "unresolved_repairs.csv", "csv",
    "pipelines.flows.features", "credit repairs that name no known record",
)  # fmt: skip

# ---------------------------------------------------------------- train
MODEL_METRICS = _d(
    "model_metrics", MODELS, "metrics.json", "json", "pipelines.model_exports",
    "every industry's out-of-time metrics",
)  # fmt: skip

# ---------------------------------------------------------------- publish
_LIST = f"{PUBLISH}/{{week}}/{{industry}}"
RISK_LIST_XLSX = _d(
    "risk_list_xlsx", _LIST, "risk_list.xlsx", "xlsx", "pipelines.publish_list",
    "the regulator's list and the form returned with the inspections",
)  # fmt: skip
RISK_LIST_CSV = _d(
    "risk_list_csv", _LIST, "risk_list.csv", "csv", "pipelines.publish_list", "the list as CSV"
)  # fmt: skip
RISK_LIST_PARQUET = _d(
    "risk_list_parquet", _LIST, "risk_list.parquet", "parquet", "pipelines.publish_list",
    "the list as Parquet",
)  # fmt: skip
SCORES = _d(
    "scores", _LIST, "scores.parquet", "parquet", "pipelines.publish_list",
    "every firm of the industry: probability, rank, tier, flags",
)  # fmt: skip
EXPLANATIONS = _d(
    "explanations", _LIST, "explanations.parquet", "parquet", "pipelines.publish_list",
    "every scored firm: each feature's SHAP value and the base",
)  # fmt: skip
REASONS = _d(
    "reasons", _LIST, "reasons.parquet", "parquet", "pipelines.publish_list",
    "listed firms: top reasons in zh/en with their facts",
)  # fmt: skip
LEAVERS = _d(
    "leavers", _LIST, "leavers.parquet", "parquet", "pipelines.publish_list",
    "listed last week, not this week, and why",
)  # fmt: skip
LIST_HISTORY = _d(
    "list_history", _LIST, "history.parquet", "parquet", "pipelines.publish_list",
    "listed firms: probability over recent weekly as-of dates",
)  # fmt: skip
LIST_FIRMS = _d(
    "list_firms", _LIST, "firms.parquet", "parquet", "pipelines.publish_list",
    "listed firms: registration profile, personal data masked",
)  # fmt: skip
DECISIONS = _d(
    "decisions", _LIST, "decisions.json", "json", "pipelines.publish_list",
    "overrides and upheld objections the list applied (cited)",
)  # fmt: skip
BEESWARM = _d(
    "beeswarm", _LIST, "plots/beeswarm.png", "png", "pipelines.shap_plots",
    "the list's SHAP summary",
)  # fmt: skip
WATERFALL = _d(
    "waterfall", _LIST, "plots/waterfall/{uscc}.svg", "svg", "pipelines.shap_plots",
    "a listed firm's SHAP waterfall",
)  # fmt: skip
LIST_MANIFEST = _d(
    "list_manifest", _LIST, "manifest.json", "json", "pipelines.flows.publish",
    "the list's lineage: inputs, hashes, model version, code version",
)  # fmt: skip
TIERS = _d(
    "tiers", f"{PUBLISH}/{{week}}/tiers", "tiers.parquet", "parquet", "pipelines.tiers",
    "every enterprise's credit risk class and what set it",
)  # fmt: skip
SITE_INDEX = _d(
    "site_index", SITE, "index.html", "html", "pipelines.site", "the browsable static site"
)  # fmt: skip

# ---------------------------------------------------------------- feedback and demo
RETURNED_LIST = _d(
    "returned_list", f"{RETURNED}/{{week}}/{{industry}}", "risk_list.xlsx", "xlsx",
    "pipelines.flows.regulators", "demo: a simulated regulator's returned list",
)  # fmt: skip
FEEDBACK_ACCURACY = _d(
    "feedback_accuracy", FEEDBACK, "accuracy.json", "json", "pipelines.flows.feedback",
    "how the published lists fared, from the returned inspections",
)  # fmt: skip
RUN_SUMMARY = _d(
    "run_summary", "", "run_summary.json", "json", "pipelines.flows.demo",
    "demo: every artefact (name -> path) and the seconds each stage took",
)  # fmt: skip

# Every page of the site is an index.html in its own folder.
INDEX_PAGE = SITE_INDEX.name
# The file name every manifest has, whatever it describes (lists, tiers, plans, consistency runs).
MANIFEST = LIST_MANIFEST.name

CATALOG: tuple[Dataset, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Dataset))


def by_key() -> dict[str, Dataset]:
    return {d.key: d for d in CATALOG}
