"""A week published twice, in two separate processes, is byte-identical.

The second process runs polars on another number of threads and reads a lake whose partitions
hold the same rows in reverse order, as an auditor's machine re-deriving the week might: every
frame written must have a total order of its own, not the order rows happened to arrive in.
The lake carries facts that tie in date (complaints of several categories on one day, the legal
representative's other firms closed on one day).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipelines.publish_process import prepare, reverse_lake_rows
from tests.pipelines.publish_world import WEEK

pytestmark = pytest.mark.slow  # two processes, each publishing two weeks with SHAP charts

FIRST_WEEK = "2026-W46"
REPO = Path(__file__).resolve().parents[2]
COMPARED = ("publish", "site")
# The audit log's page shows when each run happened: the one page that differs by design.
BY_DESIGN = ("site/auditor/audit_log.html",)


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for folder in COMPARED
        for p in sorted((root / folder).rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in BY_DESIGN
    }


def _publish_in_a_process(root: Path, threads: int) -> subprocess.Popen:
    from prefect.settings import PREFECT_API_URL

    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),  # the test harness's server
        "POLARS_MAX_THREADS": str(threads),
        "PYTHONHASHSEED": str(threads),
    }
    command = [sys.executable, "-m", "tests.pipelines.publish_process", str(root)]
    return subprocess.Popen(
        [*command, FIRST_WEEK, WEEK],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def two_publications(tmp_path_factory, prefect_harness):
    base = tmp_path_factory.mktemp("reproducible")
    prepare(base / "prepared")
    first, second = base / "first", base / "second"
    shutil.copytree(base / "prepared", first)
    shutil.copytree(base / "prepared", second)
    assert reverse_lake_rows(second / "lake") > 0
    runs = [_publish_in_a_process(first, 1), _publish_in_a_process(second, 2)]
    for run in runs:
        output, _ = run.communicate(timeout=600)
        assert run.returncode == 0, output[-4000:]
    return _files(first), _files(second)


def test_every_published_file_and_page_is_byte_identical(two_publications):
    first, second = two_publications
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == [], differing
    for week in (FIRST_WEEK, WEEK):
        for name in ("reasons.parquet", "scores.parquet", "risk_list.xlsx", "manifest.json"):
            assert f"publish/{week}/finance/{name}" in first
        assert f"publish/{week}/tiers/tiers.parquet" in first


def test_the_facts_that_tie_in_date_are_published(two_publications):
    import io

    import polars as pl

    first, _ = two_publications
    reasons = pl.read_parquet(io.BytesIO(first[f"publish/{WEEK}/finance/reasons.parquet"]))
    facts = [fact for facts in reasons["facts_zh"].to_list() for fact in facts]
    assert any("产品质量" in fact or "退费纠纷" in fact for fact in facts)
