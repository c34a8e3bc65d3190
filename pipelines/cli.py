"""`ews`: one command per flow, plus simulate and demo.

Flows are imported inside each command so that `ews --help` stays fast and a command only pays
for the libraries it uses. Every command exits with a code of ``pipelines.exit_codes`` (0 ok,
2 bad input, 3 incomplete, 4 mismatch, 5 unwritable, 1 anything unexpected): each command is
guarded (``_guard_every_command`` at the end), so its workdir is checked before any work and an
error a user can fix is one line on stderr, not a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from pipelines import exit_codes, runtime

runtime.configure()

app = typer.Typer(
    name="ews",
    help="EWS enterprise risk early warning: simulate, ingest, features, train, publish, audit.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
audit_app = typer.Typer(help="Audit trail and model cards.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
inspect_app = typer.Typer(
    help='The monthly "double random" inspection plan per department.', no_args_is_help=True
)
app.add_typer(inspect_app, name="inspect")
consistency_app = typer.Typer(
    help="Cross-source consistency checks: anomaly lists and their follow-up.",
    no_args_is_help=True,
)
app.add_typer(consistency_app, name="consistency")

feedback_app = typer.Typer(
    help="Inspection outcomes back into the case store, and the lists' accuracy.",
    no_args_is_help=True,
)
app.add_typer(feedback_app, name="feedback")
objection_app = typer.Typer(
    help="A firm's objections (异议) to a listing, a credit class or a fact.", no_args_is_help=True
)
app.add_typer(objection_app, name="objection")
override_app = typer.Typer(
    help="An analyst's overrides: a firm pinned on or off a list, or its class set.",
    no_args_is_help=True,
)
app.add_typer(override_app, name="override")

Workdir = Annotated[
    Path, typer.Option("--workdir", "-w", envvar="EWS_WORKDIR", help="EWS working directory")
]


def _echo(result: object) -> None:
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


Runner = Annotated[
    str | None,
    typer.Option(
        help="local (one process) or dask (shards by firm on a Dask cluster; needs a Prefect "
        "server) [env EWS_RUNNER; default local]"
    ),
]
Shards = Annotated[
    int | None,
    typer.Option(help="firm shards (with local: shards in threads) [env EWS_SHARDS; default 4]"),
]
DaskAddress = Annotated[
    str | None,
    typer.Option(help="scheduler of an existing Dask cluster [env EWS_DASK_ADDRESS]"),
]


def _runner_settings(
    command: str, workdir: Path, runner: str | None, shards: int | None, address: str | None
) -> tuple[Any, int | None]:
    """The runner's settings (options over EWS_* variables) and the shard count to pass to
    the flow: None (not sharded) for the local runner unless --shards is given."""
    from pipelines.settings import Settings

    options = {"runner": runner, "shards": shards, "dask_address": address}
    try:
        settings = Settings(workdir=workdir, **{k: v for k, v in options.items() if v is not None})
    except ValueError as error:
        _fail(command, error)
    sharded = settings.shards if settings.runner == "dask" or shards else None
    return settings, sharded


def _on_runner(command: str, flow: Any, settings: Any) -> Any:
    """The flow on the configured task runner (a DaskTaskRunner for --runner dask)."""
    from pipelines.sharding import RunnerError, task_runner

    try:
        runner = task_runner(settings)
    except RunnerError as error:
        _fail(command, error)
    return flow if runner is None else flow.with_options(task_runner=runner)


@app.command()
def simulate(
    workdir: Workdir = Path("ews_work"),
    scale: Annotated[str, typer.Option(help="tiny, small, sip or province")] = "small",
    seed: Annotated[int, typer.Option(help="random seed")] = 20261121,
    end_date: Annotated[str | None, typer.Option(help="last simulated day (default today)")] = None,
    defect_rate: Annotated[float, typer.Option(help="share of deliveries with a defect")] = 0.02,
) -> None:
    """Generate the simulated park's landing files (deterministic by seed)."""
    from pipelines.flows.simulate import simulate_flow

    _echo(
        simulate_flow(
            workdir=str(workdir),
            scale=scale,
            seed=seed,
            end_date=end_date,
            defect_rate=defect_rate,
        )
    )


@app.command()
def ingest(
    workdir: Workdir = Path("ews_work"),
    as_of: Annotated[str | None, typer.Option(help="ingest time (default now)")] = None,
    runner: Runner = None,
    dask_address: DaskAddress = None,
) -> None:
    """Validate every landing delivery against its contract; fill the lake and quarantine."""
    from pipelines.flows.ingest import ingest_flow

    settings, _ = _runner_settings("ingest", workdir, runner, None, dask_address)
    flow = _on_runner("ingest", ingest_flow, settings)
    result = flow(workdir=str(workdir), as_of=as_of, parallel=settings.runner == "dask")
    _echo(result)
    summary = json.loads(Path(result["ingest_summary"]).read_text(encoding="utf-8"))
    problems = exit_codes.ingest_problems(summary)
    if problems:
        _fail("ingest", "incomplete: " + "; ".join(problems), exit_codes.INCOMPLETE)


@app.command()
def features(
    workdir: Workdir = Path("ews_work"),
    as_of: Annotated[str | None, typer.Option(help="as-of date YYYY-MM-DD (default today)")] = None,
    history: Annotated[bool, typer.Option(help="also rebuild the weekly training history")] = True,
    runner: Runner = None,
    shards: Shards = None,
    dask_address: DaskAddress = None,
) -> None:
    """Build the point-in-time feature table (and the weekly training history)."""
    from pipelines.flows.features import build_features_flow

    settings, sharded = _runner_settings("features", workdir, runner, shards, dask_address)
    flow = _on_runner("features", build_features_flow, settings)
    _echo(flow(workdir=str(workdir), as_of=as_of, with_history=history, shards=sharded))


@app.command()
def train(
    workdir: Workdir = Path("ews_work"),
    industry: Annotated[
        list[str] | None,
        typer.Option("--industry", "-i", help="industry key, or general (repeatable)"),
    ] = None,
) -> None:
    """Train, evaluate out of time, register and gate each industry's model and the general one."""
    from pipelines.flows.train import train_flow

    _echo(train_flow(workdir=str(workdir), industries=industry))


@app.command()
def promote(
    workdir: Workdir = Path("ews_work"),
    industry: Annotated[str, typer.Option("--industry", "-i")] = "finance",
    version: Annotated[int | None, typer.Option(help="version (default: the challenger)")] = None,
) -> None:
    """Apply the promotion gate to a registered version (challenger by default)."""
    from pipelines.flows.train import promote_flow

    _echo(promote_flow(workdir=str(workdir), industry=industry, version=version))


Separator = Annotated[
    str | None,
    typer.Option(help="CSV field separator, e.g. ';' or '\\t' (default: detected)"),
]
Decimal = Annotated[
    str | None, typer.Option(help="decimal mark of CSV numbers, '.' or ',' (default: detected)")
]
Encoding = Annotated[
    str | None, typer.Option(help="text encoding, e.g. utf-8, gb18030, cp1252 (default: detected)")
]
Sheet = Annotated[str | None, typer.Option(help="Excel sheet (default: the first)")]
Threads = Annotated[int, typer.Option(help="xgboost threads per fit")]


def _fail(command: str, error: Exception | str, code: int = exit_codes.BAD_INPUT) -> None:
    """One line on stderr (the message already names file, column and row) and ``code``."""
    typer.echo(f"ews {command}: {_message(error)}", err=True)
    raise typer.Exit(code=code)


def _message(error: Exception | str) -> str:
    if isinstance(error, OSError) and exit_codes.for_error(error) == exit_codes.UNWRITABLE:
        where = f" {error.filename}" if error.filename else ""
        return f"cannot write{where}: {error.strerror or error}"
    return str(error)


@app.command("train-table")
def train_table(
    table: Annotated[Path, typer.Option(help="feature table: CSV/TSV, XLSX, Parquet or ARFF")],
    label: Annotated[str, typer.Option(help="label column (1 = event)")],
    segment: Annotated[str | None, typer.Option(help="train one model per value")] = None,
    id_col: Annotated[str | None, typer.Option("--id", help="entity id column")] = None,
    time_col: Annotated[
        str | None, typer.Option("--time", help="time column (out-of-time)")
    ] = None,
    out: Annotated[Path, typer.Option(help="output folder (replaced by the run)")] = Path(
        "ews_table_run"
    ),
    folds: Annotated[int, typer.Option(help="outer folds")] = 5,
    seed: Annotated[int, typer.Option()] = 0,
    nthread: Threads = 2,
    search: Annotated[
        str, typer.Option(help="full, or quick: a smaller search at a fraction of the time")
    ] = "full",
    time_budget: Annotated[
        float | None,
        typer.Option(
            help="seconds for EWS's fits: the first outer fold turns it into a number of "
            "configurations, used by every fit and recorded (metrics.json, model card)"
        ),
    ] = None,
    candidates: Annotated[
        int | None,
        typer.Option(
            help="search only the first N configurations of the search's budget order "
            "(repeats a --time-budget run exactly)"
        ),
    ] = None,
    separator: Separator = None,
    decimal: Decimal = None,
    encoding: Encoding = None,
    sheet: Sheet = None,
    keep: Annotated[
        list[str] | None, typer.Option(help="use this column although it looks like an id/time")
    ] = None,
    drop: Annotated[list[str] | None, typer.Option(help="leave this column out")] = None,
) -> None:
    """Train the EWS pipeline on any feature table you bring; prints its data report first."""
    from models.table_report import report_text
    from models.tabular import TableLayout
    from pipelines.flows.train_table import check_budget
    from pipelines.table_inputs import check_out_folder, check_table_folds, load_table_inputs
    from pipelines.tables import ReadOptions

    layout = TableLayout(
        name=str(table), label=label, segment=segment, id_col=id_col, time_col=time_col
    )
    try:
        check_budget(search, time_budget, candidates)
        options = ReadOptions(separator=separator, decimal=decimal, encoding=encoding, sheet=sheet)
        check_out_folder(out)
        inputs = load_table_inputs(table, layout, options, keep or [], drop or [])
        check_table_folds(inputs, folds, seed)
    except ValueError as error:
        _fail("train-table", error)
    typer.echo(report_text(inputs.report), err=True)
    from pipelines.flows.train_table import train_table_flow

    _echo(
        train_table_flow(
            table=str(table),
            label=label,
            segment=segment,
            id_col=id_col,
            time_col=time_col,
            out=str(out),
            folds=folds,
            seed=seed,
            nthread=nthread,
            search=search,
            separator=separator,
            decimal=decimal,
            encoding=encoding,
            sheet=sheet,
            keep=keep or [],
            drop=drop or [],
            time_budget=time_budget,
            candidates=candidates,
        )
    )


@app.command("score-table")
def score_table(
    model: Annotated[Path, typer.Option(help="the --out folder of `ews train-table`")],
    table: Annotated[Path, typer.Option(help="table to score: CSV/TSV, XLSX, Parquet or ARFF")],
    out: Annotated[Path, typer.Option(help="output folder (replaced)")] = Path("ews_scores"),
    output_format: Annotated[
        list[str] | None,
        typer.Option("--format", help="csv, parquet or xlsx (repeatable; default all three)"),
    ] = None,
    top: Annotated[int, typer.Option(help="reasons per row")] = 3,
    id_col: Annotated[
        str | None,
        typer.Option("--id", help="column copied into the outputs (default: the run's id)"),
    ] = None,
    separator: Separator = None,
    decimal: Decimal = None,
    encoding: Encoding = None,
    sheet: Sheet = None,
    nthread: Threads = 2,
) -> None:
    """Score a new table with a train-table run: probabilities, ranks, SHAP values, reasons."""
    from pipelines.score_table import FORMATS
    from pipelines.score_table import score_table as run_scoring
    from pipelines.tables import ReadOptions

    try:
        summary = run_scoring(
            model,
            table,
            out,
            formats=output_format or list(FORMATS),
            options=ReadOptions(
                separator=separator, decimal=decimal, encoding=encoding, sheet=sheet
            ),
            top=top,
            nthread=nthread,
            id_col=id_col,
        )
    except ValueError as error:
        _fail("score-table", error)
    for warning in summary["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    _echo({k: summary[k] for k in ("out", "rows", "scored", "not_scored", "label", "warnings")})


@app.command()
def publish(
    workdir: Workdir = Path("ews_work"),
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default current)")
    ] = None,
    runner: Runner = None,
    shards: Shards = None,
    dask_address: DaskAddress = None,
) -> None:
    """Score with each champion and publish the week's ranked, explained risk lists."""
    from pipelines.flows.publish import PublishIncomplete, publish_flow

    settings, sharded = _runner_settings("publish", workdir, runner, shards, dask_address)
    flow = _on_runner("publish", publish_flow, settings)
    try:
        _echo(flow(workdir=str(workdir), week=week, shards=sharded))
    except PublishIncomplete as error:
        _fail("publish", error, exit_codes.INCOMPLETE)


@audit_app.command("verify")
def audit_verify(
    workdir: Workdir = Path("ews_work"),
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2026-W47")] = "",
) -> None:
    """Re-derive a published week from its lineage and check every SHA-256."""
    from pipelines.flows.audit import verify_flow

    report = verify_flow(workdir=str(workdir), week=week or None)
    _echo(report)
    if not report.get("ok"):
        raise typer.Exit(code=exit_codes.MISMATCH)


@audit_app.command("cards")
def audit_cards(workdir: Workdir = Path("ews_work")) -> None:
    """Write a model card for every registered model version."""
    from pipelines.flows.audit import model_cards_flow

    _echo(model_cards_flow(workdir=str(workdir)))


@inspect_app.command("plan")
def inspect_plan(
    month: Annotated[str, typer.Option(help="the month planned, e.g. 2026-12")],
    workdir: Workdir = Path("ews_work"),
    department: Annotated[
        str | None, typer.Option(help="one department (data_contracts/departments.yaml key)")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="the published seed (default: from EWS_SEED and the month)")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="replace a published plan of the month with a different draw")
    ] = False,
) -> None:
    """Draw and publish the month's double-random plan (workbook per department, site page)."""
    from pipelines.flows.inspect import plan_flow
    from pipelines.inspection.plan import PlanError

    try:
        _echo(
            plan_flow(
                workdir=str(workdir), month=month, department=department, seed=seed, replace=replace
            )
        )
    except PlanError as error:
        _fail("inspect plan", error)


@inspect_app.command("verify-plan")
def inspect_verify_plan(
    month: Annotated[str, typer.Option(help="the month planned, e.g. 2026-12")],
    workdir: Workdir = Path("ews_work"),
    department: Annotated[str | None, typer.Option(help="one department")] = None,
) -> None:
    """Re-draw a published plan from its seed and inputs and compare every file."""
    from pipelines.flows.inspect import verify_plan_flow

    report = verify_plan_flow(workdir=str(workdir), month=month, department=department)
    _echo(report)
    if not report.get("ok"):
        raise typer.Exit(code=exit_codes.MISMATCH)


@feedback_app.command("import")
def feedback_import(
    file: Annotated[Path, typer.Argument(help="a returned risk_list.xlsx")],
    workdir: Workdir = Path("ews_work"),
    week: Annotated[str | None, typer.Option(help="refuse the file unless it is this week")] = None,
    industry: Annotated[
        str | None, typer.Option(help="refuse the file unless it is this industry's list")
    ] = None,
    received_at: Annotated[
        str | None,
        typer.Option(help="when the file reached the platform (default now; park time)"),
    ] = None,
) -> None:
    """Check a returned weekly workbook against its contract and record its inspections.

    A file with any problem is refused whole (exit code 2), each problem named by sheet, row
    and column; nothing is recorded.
    """
    from pipelines.feedback.workbook import WorkbookRejected
    from pipelines.flows.feedback import import_workbook_flow

    try:
        result = import_workbook_flow(
            workdir=str(workdir),
            path=str(file),
            week=week,
            industry=industry,
            received_at=received_at,
        )
    except (WorkbookRejected, FileNotFoundError) as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(code=exit_codes.BAD_INPUT) from None
    _echo(result)


@feedback_app.command("sync")
def feedback_sync(workdir: Workdir = Path("ews_work")) -> None:
    """Record the departments' inspection sources (double-random checks, joint inspections...)."""
    from pipelines.flows.feedback import sync_sources_flow

    _echo(sync_sources_flow(workdir=str(workdir)))


@feedback_app.command("report")
def feedback_report(
    workdir: Workdir = Path("ews_work"),
    at: Annotated[str | None, typer.Option(help="count inspections up to this date")] = None,
) -> None:
    """The lists' accuracy per industry and week, and rolling (writes feedback/accuracy.json)."""
    from pipelines.flows.feedback import report_flow

    _echo(report_flow(workdir=str(workdir), at=at))


@consistency_app.command("run")
def consistency_run(
    workdir: Workdir = Path("ews_work"),
    as_of: Annotated[str | None, typer.Option(help="as-of date YYYY-MM-DD (default today)")] = None,
    firms: Annotated[
        Path | None,
        typer.Option(help="pilot list: CSV, TXT or XLSX of 统一社会信用代码 (default: the park)"),
    ] = None,
) -> None:
    """Run every consistency rule; write the anomaly lists per department and record them."""
    from pipelines.consistency_io import FirmListError
    from pipelines.flows.consistency import consistency_flow

    try:
        result = consistency_flow(
            workdir=str(workdir), as_of=as_of, firms_file=str(firms) if firms else None
        )
    except (FirmListError, FileNotFoundError, ValueError) as error:
        _fail("consistency run", error)
    _echo(result)


@consistency_app.command("follow-up")
def consistency_follow_up(
    key: Annotated[str, typer.Option(help="the anomaly's key (异常编号)")],
    status: Annotated[str, typer.Option(help="verified, corrected or false_alarm")],
    workdir: Workdir = Path("ews_work"),
    note: Annotated[str | None, typer.Option(help="what the check found")] = None,
    decided_on: Annotated[str | None, typer.Option(help="date of the check YYYY-MM-DD")] = None,
) -> None:
    """Record a department's follow-up of one anomaly."""
    from pipelines.flows.consistency import follow_up_flow

    report = {"anomaly_key": key, "status": status, "note": note, "decided_on": decided_on}
    try:
        _echo(follow_up_flow(workdir=str(workdir), reports=[report], source="cli"))
    except ValueError as error:
        _fail("consistency follow-up", error)


@consistency_app.command("returns")
def consistency_returns(
    file: Annotated[Path, typer.Option(help="a department's returned anomalies.xlsx")],
    workdir: Workdir = Path("ews_work"),
) -> None:
    """Record the follow-ups a department filled in its returned workbook."""
    from pipelines.flows.consistency import returns_flow

    try:
        _echo(returns_flow(workdir=str(workdir), workbook=str(file)))
    except ValueError as error:
        _fail("consistency returns", error)


At = Annotated[
    str | None,
    typer.Option("--at", help="when it reached the platform (default now; park time)"),
]


def _objection_step(command: str, step) -> None:
    """Run an objection or override step: its record as JSON, or exit 2 naming the problem."""
    from models.objections import ObjectionError

    try:
        _echo(step())
    except ObjectionError as error:
        _fail(command, error)


@objection_app.command("file")
def objection_file(
    uscc: Annotated[str, typer.Option(help="统一社会信用代码 of the firm objecting")],
    week: Annotated[str, typer.Option(help="the publication objected to, e.g. 2026-W47")],
    subject: Annotated[str, typer.Option(help="listing, tier or fact")],
    claim: Annotated[str, typer.Option(help="what the firm says is wrong, and why")],
    workdir: Workdir = Path("ews_work"),
    industry: Annotated[str | None, typer.Option(help="the list (listing or fact)")] = None,
    fact: Annotated[
        str | None, typer.Option(help="the fact objected to, exactly as the firm page shows it")
    ] = None,
    filed_by: Annotated[str, typer.Option(help="firm, or regulator on its behalf")] = "firm",
    at: At = None,
) -> None:
    """File an objection (received); deadlines to acknowledge and decide come from
    models/objections.yaml."""
    from pipelines import objections_io
    from pipelines.settings import Settings

    settings = Settings(workdir=workdir)
    _objection_step(
        "objection file",
        lambda: objections_io.file(
            settings,
            uscc=uscc,
            week=week,
            subject=subject,
            claim=claim,
            industry=industry,
            fact=fact,
            filed_by=filed_by,
            at=at,
        ),
    )


@objection_app.command("review")
def objection_review(
    objection_id: Annotated[str, typer.Argument(help="e.g. OBJ-000001")],
    reviewer: Annotated[str, typer.Option(help="who reviews it")],
    workdir: Workdir = Path("ews_work"),
    at: At = None,
) -> None:
    """Take a received objection up for review (under review)."""
    from pipelines import objections_io
    from pipelines.settings import Settings

    settings = Settings(workdir=workdir)
    _objection_step(
        "objection review",
        lambda: objections_io.review(settings, objection_id, reviewer=reviewer, at=at),
    )


@objection_app.command("decide")
def objection_decide(
    objection_id: Annotated[str, typer.Argument(help="e.g. OBJ-000001")],
    decision: Annotated[str, typer.Option(help="upheld, partly_upheld or rejected")],
    reason: Annotated[str, typer.Option(help="the decision's reason")],
    workdir: Workdir = Path("ews_work"),
    tier: Annotated[
        str | None, typer.Option(help="the class set (a class objection; a listing re-tiered)")
    ] = None,
    at: At = None,
) -> None:
    """Decide an objection under review; an upheld one takes effect from the next publication."""
    from pipelines import objections_io
    from pipelines.settings import Settings

    settings = Settings(workdir=workdir)
    _objection_step(
        "objection decide",
        lambda: objections_io.decide(
            settings, objection_id, decision=decision, reason=reason, tier=tier, at=at
        ),
    )


@objection_app.command("list")
def objection_list(
    workdir: Workdir = Path("ews_work"),
    at: Annotated[str | None, typer.Option(help="flag overdue cases as of this day")] = None,
) -> None:
    """Every objection's state, with overdue acknowledgements and decisions flagged."""
    from pipelines import objections_io
    from pipelines.settings import Settings

    _objection_step(
        "objection list", lambda: objections_io.list_objections(Settings(workdir=workdir), at)
    )


@override_app.command("set")
def override_set(
    uscc: Annotated[str, typer.Option(help="统一社会信用代码")],
    action: Annotated[str, typer.Option(help="list_on, list_off or tier")],
    reason: Annotated[str, typer.Option(help="why the model is overruled (mandatory)")],
    expires: Annotated[str, typer.Option(help="last day in force, YYYY-MM-DD (mandatory)")],
    workdir: Workdir = Path("ews_work"),
    industry: Annotated[str | None, typer.Option(help="the list (list_on, list_off)")] = None,
    tier: Annotated[str | None, typer.Option(help="the class (tier)")] = None,
    at: At = None,
) -> None:
    """Pin a firm on or off an industry's list, or set its credit risk class, until expiry."""
    from pipelines import objections_io
    from pipelines.settings import Settings

    settings = Settings(workdir=workdir)
    _objection_step(
        "override set",
        lambda: objections_io.set_override(
            settings,
            uscc=uscc,
            action=action,
            reason=reason,
            expires=expires,
            industry=industry,
            tier=tier,
            at=at,
        ),
    )


@override_app.command("revoke")
def override_revoke(
    override_id: Annotated[str, typer.Argument(help="e.g. OVR-000001")],
    reason: Annotated[str, typer.Option(help="why it is revoked")],
    workdir: Workdir = Path("ews_work"),
    at: At = None,
) -> None:
    """Revoke an override before its expiry."""
    from pipelines import objections_io
    from pipelines.settings import Settings

    settings = Settings(workdir=workdir)
    _objection_step(
        "override revoke",
        lambda: objections_io.revoke_override(settings, override_id, reason=reason, at=at),
    )


@override_app.command("list")
def override_list(
    workdir: Workdir = Path("ews_work"),
    at: Annotated[str | None, typer.Option(help="say which are in force on this day")] = None,
) -> None:
    """Every override, and whether it is in force (expired ones have lapsed)."""
    from pipelines import objections_io
    from pipelines.settings import Settings

    _objection_step(
        "override list", lambda: objections_io.list_overrides(Settings(workdir=workdir), at)
    )


@app.command()
def demo(
    workdir: Workdir = Path("ews_demo"),
    scale: Annotated[str, typer.Option(help="small or sip")] = "small",
    seed: Annotated[int, typer.Option()] = 20261121,
    end_date: Annotated[
        str | None,
        typer.Option(help="last simulated day (default 2026-11-29, the README's figures)"),
    ] = None,
    live: Annotated[
        bool, typer.Option("--live", help="simulate up to today instead of the fixed end date")
    ] = False,
) -> None:
    """Run everything on the simulated park: simulate -> ingest -> ... -> publish."""
    from pipelines.flows.demo import demo_end_date, demo_flow

    try:
        demo_end_date(end_date, live)  # a bad date or both options: one line, before any work
    except ValueError as error:
        _fail("demo", error)
    _echo(demo_flow(workdir=str(workdir), scale=scale, seed=seed, end_date=end_date, live=live))


# ---------------------------------------------------------------- every command guarded


def check_workdir(workdir: Path) -> Path:
    """The workdir, created if needed, after proving a file can be written in it; an OSError
    (a file where the folder should be, no permission, a read-only file system) otherwise."""
    if workdir.exists() and not workdir.is_dir():
        raise NotADirectoryError(20, "the workdir is a file, not a folder", str(workdir))
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=workdir, prefix=".ews-write-check-"):
        pass
    return workdir


def _guarded(name: str, command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            if isinstance(kwargs.get("workdir"), Path):
                check_workdir(kwargs["workdir"])
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:
            code = exit_codes.for_error(error)
            if code is None or os.environ.get("EWS_TRACEBACK"):
                raise
            _fail(name, error, code)

    run.ews_guarded = True  # type: ignore[attr-defined]
    return run


class _ExpectedErrorsWithoutTraceback(logging.Filter):
    """Prefect logs a failed flow or task run with its traceback; for an error the command
    reports in one line (bad input, unwritable path) the log line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if (
            error is not None
            and exit_codes.for_error(error)
            and not os.environ.get("EWS_TRACEBACK")
        ):
            record.exc_info = None
            record.exc_text = None
        return True


def _guard_every_command(typer_app: typer.Typer, prefix: str = "") -> None:
    for info in typer_app.registered_commands:
        name = f"{prefix}{info.name or info.callback.__name__.replace('_', '-')}"
        if not getattr(info.callback, "ews_guarded", False):
            info.callback = _guarded(name, info.callback)
    for group in typer_app.registered_groups:
        _guard_every_command(group.typer_instance, f"{prefix}{group.name} ")


_guard_every_command(app)
for _logger in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_logger).addFilter(_ExpectedErrorsWithoutTraceback())


if __name__ == "__main__":
    app()
