"""Sources ingested in parallel on a Dask cluster (`ews ingest --runner dask`) give the reports,
the row accounting, the ledger, the lake and the quarantine of the run one source after another.

The landing is the defects test's (wrong types, ranges, duplicates, a missing column, an empty
file, a wrong encoding, ...) so that every kind of outcome is compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from distributed import LocalCluster
from prefect_dask import DaskTaskRunner

from pipelines import io
from pipelines.flows.ingest import ingest_flow
from tests.pipelines.test_ingest_defects import AS_OF, _build_landing

pytestmark = pytest.mark.slow
RUN_IDS = ("sequential", "parallel")


@pytest.fixture(scope="module")
def runs(prefect_harness, tmp_path_factory):
    found = {}
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        for run_id in RUN_IDS:
            workdir = tmp_path_factory.mktemp(run_id)
            _build_landing(workdir / "landing")
            flow = ingest_flow
            if run_id == "parallel":
                flow = ingest_flow.with_options(
                    task_runner=DaskTaskRunner(address=cluster.scheduler_address)
                )
            result = flow(
                workdir=str(workdir), as_of=AS_OF, run_id=run_id, parallel=run_id == "parallel"
            )
            found[run_id] = (workdir, json.loads(Path(result["ingest_summary"]).read_text()))
    return found


def comparable(workdir: Path, value):
    """The value without what names the run (its id, GX result ids, the workdir)."""
    text = json.dumps(value, sort_keys=True).replace(str(workdir), "WORKDIR")
    for run_id in RUN_IDS:
        text = text.replace(run_id, "RUN")
    data = json.loads(text)

    def strip(node):
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if k not in ("validation_result_id", "validation_result_ids")
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(data)


def test_reports_and_row_accounting_are_those_of_the_sequential_run(runs):
    (one, first), (many, second) = runs["sequential"], runs["parallel"]
    assert second["totals"] == first["totals"]
    assert first["totals"]["rows_quarantined"] > 0 and first["totals"]["degraded"] > 0
    for key in ("sources", "deliveries", "landing"):
        assert comparable(many, second[key]) == comparable(one, first[key]), key
    assert len(second["validation_result_ids"]) == len(first["validation_result_ids"])


def test_ledger_lake_and_quarantine_are_the_same(runs):
    (one, _), (many, _) = runs["sequential"], runs["parallel"]

    def ledger(workdir):
        entries = io.read_ledger(workdir / "lake")
        return sorted(
            (comparable(workdir, e) for e in entries),
            key=lambda e: (e["source"], e["delivery_id"]),
        )

    assert ledger(many) == ledger(one)
    for source in sorted({e["source"] for e in io.read_ledger(one / "lake")}):
        if io.lake_files(one / "lake", source):
            expected = io.scan_source(one / "lake", source).collect()
            assert io.scan_source(many / "lake", source).collect().equals(expected), source
    for path in sorted((one / "quarantine").rglob("*.parquet")):
        twin = many / path.relative_to(one)
        assert pl.read_parquet(twin).equals(pl.read_parquet(path)), path.name
