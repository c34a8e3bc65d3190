"""`ews`: one command per flow, plus simulate and demo.

Flows are imported inside each command so that `ews --help` stays fast and a command only pays
for the libraries it uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipelines import runtime

runtime.configure()

app = typer.Typer(
    name="ews",
    help="EWS enterprise risk early warning: simulate, ingest, features, train, publish, audit.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
audit_app = typer.Typer(help="Audit trail and model cards.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

Workdir = Annotated[
    Path, typer.Option("--workdir", "-w", envvar="EWS_WORKDIR", help="EWS working directory")
]


def _echo(result: object) -> None:
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


@app.command()
def simulate(
    workdir: Workdir = Path("ews_work"),
    scale: Annotated[str, typer.Option(help="small or sip")] = "small",
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
) -> None:
    """Validate every landing delivery against its contract; fill the lake and quarantine."""
    from pipelines.flows.ingest import ingest_flow

    _echo(ingest_flow(workdir=str(workdir), as_of=as_of))


@app.command()
def features(
    workdir: Workdir = Path("ews_work"),
    as_of: Annotated[str | None, typer.Option(help="as-of date YYYY-MM-DD (default today)")] = None,
) -> None:
    """Build the point-in-time feature table (and the weekly training history)."""
    from pipelines.flows.features import build_features_flow

    _echo(build_features_flow(workdir=str(workdir), as_of=as_of))


@app.command()
def train(
    workdir: Workdir = Path("ews_work"),
    industry: Annotated[
        list[str] | None, typer.Option("--industry", "-i", help="industry key (repeatable)")
    ] = None,
) -> None:
    """Train, evaluate out of time, register and gate each industry's model."""
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


@app.command("train-table")
def train_table(
    table: Annotated[Path, typer.Option(help="feature table: CSV, Parquet or ARFF")],
    label: Annotated[str, typer.Option(help="label column (1 = event)")],
    segment: Annotated[str | None, typer.Option(help="train one model per value")] = None,
    id_col: Annotated[str | None, typer.Option("--id", help="entity id column")] = None,
    time_col: Annotated[
        str | None, typer.Option("--time", help="time column (out-of-time)")
    ] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("ews_table_run"),
    folds: Annotated[int, typer.Option(help="CV folds when there is no time column")] = 5,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Train the EWS pipeline on any feature table you bring."""
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
        )
    )


@app.command()
def publish(
    workdir: Workdir = Path("ews_work"),
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47 (default current)")
    ] = None,
) -> None:
    """Score with each champion and publish the week's ranked, explained risk lists."""
    from pipelines.flows.publish import publish_flow

    _echo(publish_flow(workdir=str(workdir), week=week))


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
        raise typer.Exit(code=1)


@audit_app.command("cards")
def audit_cards(workdir: Workdir = Path("ews_work")) -> None:
    """Write a model card for every registered model version."""
    from pipelines.flows.audit import model_cards_flow

    _echo(model_cards_flow(workdir=str(workdir)))


@app.command()
def demo(
    workdir: Workdir = Path("ews_demo"),
    scale: Annotated[str, typer.Option(help="small or sip")] = "small",
    seed: Annotated[int, typer.Option()] = 20261121,
) -> None:
    """Run everything on the simulated park: simulate -> ingest -> ... -> publish."""
    from pipelines.flows.demo import demo_flow

    _echo(demo_flow(workdir=str(workdir), scale=scale, seed=seed))


if __name__ == "__main__":
    app()
