"""The demo: the whole pipeline on the simulated park, end to end.

simulate -> ingest -> features -> train -> publish (lists and every enterprise's credit risk
class) -> model cards -> next month's double-random inspection plan, each stage timed, and a
run_summary.json that names every artefact (paths relative to the workdir).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import flow

from pipelines.flows.audit import model_cards_flow
from pipelines.flows.features import build_features_flow
from pipelines.flows.ingest import ingest_flow
from pipelines.flows.inspect import plan_flow
from pipelines.flows.publish import publish_flow
from pipelines.flows.simulate import simulate_flow
from pipelines.flows.train import train_flow
from pipelines.inspection.inputs import PlanMonth
from pipelines.settings import Settings
from pipelines.weekly_list import published_on, resolve_week


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, announce: Callable[[str], None] = print):
        announce(f"[ews demo] {name} ...")
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 2)
        announce(f"[ews demo] {name} done in {self.timings[name]:.1f} s")


def _relative(workdir: Path, value: Any) -> Any:
    """Artefact paths relative to the workdir (nested mappings kept as they are)."""
    if isinstance(value, dict):
        return {k: _relative(workdir, v) for k, v in value.items()}
    if isinstance(value, str | Path) and Path(value).is_absolute():
        return Path(value).resolve().relative_to(workdir).as_posix()
    return value


@flow(name="demo", log_prints=True)
def demo_flow(workdir: str, scale: str = "small", seed: int = 20261121) -> dict[str, Any]:
    settings = Settings(workdir=Path(workdir), scale=scale, seed=seed)
    root = settings.workdir
    root.mkdir(parents=True, exist_ok=True)
    watch = _Stopwatch()
    artifacts: dict[str, Any] = {}

    with watch.stage("simulate"):
        simulate_flow(workdir=str(root), scale=scale, seed=seed)
    with watch.stage("ingest"):
        ingested = ingest_flow(workdir=str(root))
        artifacts["ingest_summary"] = ingested["ingest_summary"]
        artifacts["data_docs"] = ingested["data_docs"]
    # Features as of the current week's publication date, so publish scores this very table.
    _, publication_as_of = resolve_week(None)
    with watch.stage("features"):
        built = build_features_flow(workdir=str(root), as_of=publication_as_of.isoformat())
        artifacts["feature_table"] = built["feature_table"]
        artifacts["feature_history"] = built["feature_history"]
    with watch.stage("train"):
        trained = train_flow(workdir=str(root))
        artifacts["models"] = trained["models"]
        artifacts["metrics"] = trained["metrics"]
    with watch.stage("publish"):
        published = publish_flow(workdir=str(root))
        artifacts["lists"] = published["lists"]
        artifacts["site"] = published["site"]
    with watch.stage("model_cards"):
        artifacts["model_cards"] = model_cards_flow(workdir=str(root))
    artifacts["tiers"] = published["tiers"]
    # The next month's double-random plan, from the credit classes just published.
    month = PlanMonth.following(published_on(published["week"]))
    with watch.stage("inspection_plan"):
        plan = plan_flow(workdir=str(root), month=month.label)
        artifacts["inspection_plan"] = {
            "month": plan["month"],
            "seed": plan["seed"],
            "tier_snapshot": plan["tier_snapshot"],
            "departments": {k: v["folder"] for k, v in plan["departments"].items()},
            "workbooks": {k: v["workbook"] for k, v in plan["departments"].items()},
            "page": str(root / "site" / "inspection" / plan["month"] / "index.html"),
            "warnings": {k: v["warnings"] for k, v in plan["departments"].items() if v["warnings"]},
        }

    summary = {
        "workdir": str(root),
        "scale": scale,
        "seed": seed,
        "artifacts": _relative(root, artifacts),
        "timings_s": {**watch.timings, "total": round(sum(watch.timings.values()), 2)},
    }
    (root / "run_summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return summary
