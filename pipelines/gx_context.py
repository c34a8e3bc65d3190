"""Great Expectations plumbing: the file context, suites, validation runs and Data Docs.

One file context lives at ``<workdir>/gx``. Every source validates through one pandas data source
with one dataframe asset; what differs per source is its suite and validation definition (both
named after the source id). Setting them up is add-or-update, so re-running is harmless.
Validation results stay in the context's store; their ids go into the ledger and the summary.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import great_expectations as gx
import polars as pl
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.exceptions import DataContextError
from great_expectations.render.renderer.site_builder import SiteBuilder

from data_contracts.coerce import COLUMN, EXPECTATION
from data_contracts.schema import SourceContract
from data_contracts.to_gx import expectation_suite
from pipelines import datasets
from pipelines.file_io import held_exclusively
from pipelines.io import DELIVERY_ID

DATA_SOURCE = "ews_ingest"
ASSET = "canonical_deliveries"
BATCH_DEFINITION = "whole_dataframe"
# Several deliveries of a source are validated together; keys must be unique within each one.
PARTITION_BY = (DELIVERY_ID,)
POSITION = "_position"

GX_FAILURE_SCHEMA = pl.Schema({POSITION: pl.Int64(), COLUMN: pl.String(), EXPECTATION: pl.String()})


class ValidationError(RuntimeError):
    """GX could not evaluate an expectation: the batch cannot be judged, so nothing is accepted."""


@dataclass(frozen=True)
class Validation:
    """One GX run over a source's batch: its stored result id and the failing positions."""

    result_id: str
    success: bool
    evaluated: int
    failures: pl.DataFrame  # _position (0-based row of the batch), _column, _expectation


# Held while a process opens the context: GX creates and rewrites ``gx/great_expectations.yml``
# on first use, and sources ingested in parallel (``ews ingest --runner dask``) open it from
# several worker processes at once; one reading the file while another writes it saw a
# half-written project (a source failed with "argument of type 'NoneType' is not iterable").
OPEN_LOCK = Path("locks") / "gx_context.lock"


@cache
def open_context(root: str) -> Any:
    """The file context under ``<root>/gx`` (created on first use), with progress bars off.
    Opened by one process at a time (``OPEN_LOCK``); once per process (cached)."""
    with held_exclusively(Path(root) / OPEN_LOCK):
        return _open_context(root)


def _open_context(root: str) -> Any:
    context = gx.get_context(mode="file", project_root_dir=root)
    # A fresh context holds a ProgressBarsConfig, one read back from its YAML a plain mapping.
    bars = context.variables.progress_bars
    settings = vars(bars) if isinstance(bars, ProgressBarsConfig) else dict(bars or {})
    if settings.get("globally", True) or settings.get("metric_calculations", True):
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        context.variables.save()
    _batch_definition(context)
    return context


def _batch_definition(context: Any) -> Any:
    if DATA_SOURCE in context.data_sources.all():
        source = context.data_sources.get(DATA_SOURCE)
    else:
        source = context.data_sources.add_pandas(DATA_SOURCE)
    try:
        asset = source.get_asset(ASSET)
    except LookupError:
        asset = source.add_dataframe_asset(ASSET)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)


def setup_source(context: Any, contract: SourceContract) -> Any:
    """The source's validation definition, stored or updated only when the contract changed.

    GX's own add-or-update rewrites the suite and the data source config every time, which costs
    more than the validation itself; an unchanged suite is simply reused.
    """
    derived = expectation_suite(contract, partition_by=PARTITION_BY)
    try:
        stored = context.validation_definitions.get(contract.id)
    except DataContextError:
        stored = None
    if stored is not None and _rules(stored.suite) == _rules(derived):
        return stored
    suite = context.suites.add_or_update(derived)
    definition = gx.ValidationDefinition(
        name=contract.id, data=_batch_definition(context), suite=suite
    )
    return context.validation_definitions.add_or_update(definition)


def _rules(suite: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What a suite checks, without the ids GX assigns when storing it."""
    expectations = [
        {k: v for k, v in e.configuration.to_json_dict().items() if k != "id"}
        for e in suite.expectations
    ]
    meta = {k: v for k, v in suite.meta.items() if k != "great_expectations_version"}
    return meta, expectations


def validate(
    context: Any,
    contract: SourceContract,
    frame: pl.DataFrame,
    *,
    run_name: str,
    run_time: dt.datetime,
) -> Validation:
    """Validate the typed canonical frame (plus the delivery column) with the source's suite.

    ``frame`` must carry every contract column and ``_delivery_id``; its row order defines the
    positions reported back.
    """
    definition = setup_source(context, contract)
    batch = frame.select(*contract.column_names, DELIVERY_ID).to_pandas()
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    result = definition.run(
        batch_parameters={"dataframe": batch},
        result_format={"result_format": "COMPLETE"},
        run_id=run_id,
    )
    identifier = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=contract.id),
        run_id=run_id,
        batch_identifier=f"{DATA_SOURCE}-{ASSET}",
    )
    return Validation(
        result_id=result_id_text(identifier),
        success=bool(result.success),
        evaluated=len(result.results),
        failures=_failures(contract, result),
    )


def _failures(contract: SourceContract, result: Any) -> pl.DataFrame:
    positions: list[int] = []
    columns: list[str] = []
    kinds: list[str] = []
    for outcome in result.results:
        config = outcome.expectation_config
        _raise_on_exception(contract, config.type, outcome.exception_info)
        if outcome.success:
            continue
        indexes = outcome.result.get("unexpected_index_list")
        if indexes is None:
            raise ValidationError(
                f"{contract.id}: {config.type} failed for the whole batch "
                f"({_describe(config.kwargs)}); no row can be accepted"
            )
        column = _failed_column(config.kwargs)
        positions.extend(int(i) for i in indexes)
        columns.extend([column] * len(indexes))
        kinds.extend([config.type] * len(indexes))
    return pl.DataFrame(
        {POSITION: positions, COLUMN: columns, EXPECTATION: kinds}, schema=GX_FAILURE_SCHEMA
    )


def _failed_column(kwargs: dict[str, Any]) -> str:
    if kwargs.get("column"):
        return str(kwargs["column"])
    listed = [c for c in kwargs.get("column_list", []) if c not in PARTITION_BY]
    return ", ".join(listed)


def _describe(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "batch_id")


def _raise_on_exception(contract: SourceContract, kind: str, info: dict | None) -> None:
    if not info:
        return
    entries = [info] if "raised_exception" in info else list(info.values())
    for entry in entries:
        if isinstance(entry, dict) and entry.get("raised_exception"):
            raise ValidationError(
                f"{contract.id}: GX could not evaluate {kind}: {entry.get('exception_message')}"
            )


def result_id_text(identifier: ValidationResultIdentifier) -> str:
    """A stable text form of a stored validation result's key (suite/run/time/batch)."""
    return "/".join(str(part) for part in identifier.to_tuple())


def result_identifier(text: str) -> ValidationResultIdentifier:
    return ValidationResultIdentifier.from_tuple(tuple(text.split("/")))


def build_data_docs(context: Any, result_ids: list[str], site_dir: Path) -> Path:
    """Render the given validation results and their suites as a Data Docs site in ``site_dir``.

    A site of its own per run, built directly rather than declared in the context config, keeps
    each run's docs to that run's results and leaves the shared config untouched.
    """
    site_dir.mkdir(parents=True, exist_ok=True)
    results = [result_identifier(text) for text in result_ids]
    suites = sorted({r.expectation_suite_identifier.name for r in results})
    # GX builds every stored resource when given none, so an empty run disables the sections.
    off = "None"
    sections = (
        {"profiling": off}
        if results
        else {"profiling": off, "expectations": off, "validations": off}
    )
    builder = SiteBuilder(
        data_context=context,
        store_backend={
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(site_dir.resolve()),
        },
        site_name=f"EWS ingest {site_dir.parent.name}",
        show_how_to_buttons=False,
        site_section_builders=sections,
    )
    builder.build(
        resource_identifiers=[*results, *(ExpectationSuiteIdentifier(name=s) for s in suites)]
    )
    index = site_dir / datasets.INDEX_PAGE
    if not index.exists():
        raise FileNotFoundError(f"GX did not write the Data Docs index {index}")
    return index
