"""Every file in landing/ is accounted for: read as a delivery, rejected with a reason and its
rows where they can be counted, or deliberately ignored and listed. Links are never followed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import polars as pl
import pytest

from data_contracts import catalog
from pipelines import exit_codes
from tests.pipelines.ingest_landing import csv_bytes, ingest_steps, land, raw_headers, valid_rows

AS_OF = "2026-11-02"
DAY = dt.date(2026, 10, 28)
HOTLINE = catalog.get("complaint_12345")
VAT = catalog.get("tax_vat_declaration")
MASTER = catalog.get("reg_enterprise_master")
SECRET = b"root:x:0:0:a secret outside landing\n"


def _csv(n: int, start: int = 0) -> bytes:
    return csv_bytes(raw_headers(valid_rows(HOTLINE, n, day=DAY, start=start), HOTLINE), "utf-8")


def _landed_paths(landing: Path) -> set[str]:
    """Every entry below landing/ that is not a folder (links and special files included)."""
    found = set()
    for folder, dirs, files in os.walk(landing):  # links are not followed
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            found.add((Path(folder) / name).relative_to(landing).as_posix())
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("landing_accounting")
    landing = workdir / "landing"
    folder = landing / HOTLINE.id
    land(landing, HOTLINE, "2026-10-28", valid_rows(HOTLINE, 3, day=DAY))
    (folder / "..2026-10-29.csv").write_bytes(_csv(4, 10))  # a hidden delivery
    (folder / ".DS_Store").write_bytes(b"\x00\x01binary")
    (folder / "penalty_20261028.csv").write_bytes(_csv(2, 20))  # misnamed
    (folder / "2026-10-27.parquet").write_bytes(b"")  # replaced below by a real parquet
    raw_headers(valid_rows(HOTLINE, 5, day=DAY, start=30), HOTLINE).write_parquet(
        folder / "2026-10-27.parquet"
    )  # the wrong format, readable
    secret = workdir / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    (folder / "2026-10-26.csv").symlink_to(secret)  # a link where a delivery should be
    (folder / "old").mkdir()
    (folder / "old" / "2026-01-01.csv").write_bytes(_csv(2, 40))
    os.mkfifo(folder / "2026-10-25.csv")  # a pipe: reading it would hang
    (landing / "penalty_misc").mkdir()
    (landing / "penalty_misc" / "2026-10-28.csv").write_bytes(_csv(6, 50))  # unknown source
    (landing / "2026-10-28.csv").write_bytes(_csv(1, 60))  # outside any source folder
    (landing / "si_pension").symlink_to(secret.parent, target_is_directory=True)
    # Implausible but valid by the contract: kept, warned about with counts.
    vat = valid_rows(VAT, 5, day=DAY)
    odd = {2: ("sales_revenue", "1e30"), 3: ("period", "2031-01-01"), 4: ("period", "1900-01-01")}
    for row, (column, value) in odd.items():
        vat = vat.with_columns(
            pl.when(pl.int_range(pl.len()) == row - 1)
            .then(pl.lit(value))
            .otherwise(pl.col(column))
            .alias(column)
        )
    land(landing, VAT, "2026-10-28", vat)
    # Semicolon- and tab-separated exports.
    for day, separator in (("2026-10-26", ";"), ("2026-10-27", "\t")):
        frame = raw_headers(valid_rows(MASTER, 3, day=DAY), MASTER)
        (landing / MASTER.id / f"{day}.csv").parent.mkdir(exist_ok=True)
        frame.write_csv(landing / MASTER.id / f"{day}.csv", separator=separator)
    land(landing, HOTLINE, "2026-11-05", valid_rows(HOTLINE, 2, day=DAY, start=70))  # not due
    summary = ingest_steps(workdir, AS_OF)
    again = ingest_steps(workdir, AS_OF, run_id="again")
    entries = {e["path"]: e for e in summary["landing"]["entries"]}
    return {"workdir": workdir, "summary": summary, "entries": entries, "again": again}


@pytest.mark.parametrize("which", ["summary", "again"])
def test_every_file_in_landing_is_listed_once_on_every_run(run, which):
    landing = run[which]["landing"]
    listed = [e["path"] for e in landing["entries"]]
    assert sorted(listed) == sorted(_landed_paths(run["workdir"] / "landing"))
    assert len(listed) == len(set(listed)) == landing["files"]
    for entry in landing["entries"]:
        assert entry["status"] in (
            "accepted",
            "partial",
            "rejected",
            "ignored",
            "unchanged",
            "not_due",
        )
        assert entry["reason"]


def test_deliveries_not_read_are_listed_as_waiting_or_unchanged(run):
    assert run["entries"][f"{HOTLINE.id}/2026-11-05.csv"]["status"] == "not_due"
    again = {e["path"]: e for e in run["again"]["landing"]["entries"]}
    good = again[f"{HOTLINE.id}/2026-10-28.csv"]
    assert (good["status"], good["rows"]) == ("unchanged", 3)
    assert "unchanged since ingest run r (accepted, 3 rows)" in good["reason"]
    misnamed = again[f"{HOTLINE.id}/penalty_20261028.csv"]
    assert (misnamed["status"], misnamed["rows"]) == ("unchanged", 2)
    assert "(rejected, 2 rows)" in misnamed["reason"]
    assert again[f"{HOTLINE.id}/..2026-10-29.csv"]["status"] == "ignored"  # still there, still said


def test_a_hidden_delivery_is_ignored_listed_with_its_rows_and_warned_about(run):
    entry = run["entries"][f"{HOTLINE.id}/..2026-10-29.csv"]
    assert (entry["status"], entry["rows"]) == ("ignored", 4)
    assert "hidden" in entry["reason"] and "deliver it under that name" in entry["reason"]
    assert entry["reason"] in run["summary"]["sources"][HOTLINE.id]["warnings"]
    store = run["entries"][f"{HOTLINE.id}/.DS_Store"]
    assert (store["status"], store["rows"]) == ("ignored", None)
    assert "rows could not be counted" in store["reason"]


def test_a_misnamed_file_is_rejected_with_its_rows_counted(run):
    entry = run["entries"][f"{HOTLINE.id}/penalty_20261028.csv"]
    assert (entry["status"], entry["rows"]) == ("rejected", 2)
    assert "neither YYYY-MM-DD nor backfill-YYYY-MM-DD" in entry["reason"]
    (outcome,) = [
        o for o in run["summary"]["deliveries"][HOTLINE.id] if o["file"] == "penalty_20261028.csv"
    ]
    assert (outcome["rows_in"], outcome["rows_quarantined"]) == (2, 2)


def test_a_file_in_the_wrong_format_is_rejected_with_its_rows_counted(run):
    entry = run["entries"][f"{HOTLINE.id}/2026-10-27.parquet"]
    assert (entry["status"], entry["rows"]) == ("rejected", 5)
    assert "delivered as .parquet but the contract declares csv" in entry["reason"]


def test_a_symbolic_link_is_refused_and_its_target_never_read_or_copied(run):
    entry = run["entries"][f"{HOTLINE.id}/2026-10-26.csv"]
    assert entry["status"] == "rejected" and entry["rows"] is None
    assert "symbolic link" in entry["reason"] and "never followed" in entry["reason"]
    folder = run["entries"]["si_pension"]
    assert folder["status"] == "rejected" and "symbolic link" in folder["reason"]
    for path in (run["workdir"] / "quarantine").rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_bytes(), path
    lake = run["workdir"] / "lake"
    assert not any("passwd" in p.name for p in lake.rglob("*"))
    assert run["summary"]["sources"][HOTLINE.id]["status"] == "degraded"


def test_a_pipe_and_a_nested_folder_are_rejected_without_hanging(run):
    pipe = run["entries"][f"{HOTLINE.id}/2026-10-25.csv"]
    assert pipe["status"] == "rejected" and "a pipe" in pipe["reason"]
    nested = run["entries"][f"{HOTLINE.id}/old/2026-01-01.csv"]
    assert (nested["status"], nested["rows"]) == ("rejected", 2)


def test_rows_of_an_unknown_source_and_outside_any_source_are_counted(run):
    unknown = run["entries"]["penalty_misc/2026-10-28.csv"]
    assert (unknown["status"], unknown["rows"], unknown["source"]) == ("rejected", 6, None)
    assert "no contract declares a source 'penalty_misc'" in unknown["reason"]
    outside = run["entries"]["2026-10-28.csv"]
    assert (outside["status"], outside["rows"]) == ("rejected", 1)
    assert run["summary"]["unknown_landing_folders"] == ["penalty_misc"]
    # hidden 4 + nested 2 + unknown source 6 + outside 1
    assert run["summary"]["landing"]["rows_set_aside"] == 13


def test_the_set_aside_files_are_listed_by_status(run):
    summary = run["summary"]["landing"]
    assert summary["ignored"] == [f"{HOTLINE.id}/..2026-10-29.csv", f"{HOTLINE.id}/.DS_Store"]
    assert summary["rejected"] == sorted(
        [
            "2026-10-28.csv",
            f"{HOTLINE.id}/2026-10-25.csv",
            f"{HOTLINE.id}/2026-10-26.csv",
            f"{HOTLINE.id}/old/2026-01-01.csv",
            "penalty_misc/2026-10-28.csv",
            "si_pension",
        ]
    )


def test_a_scheduler_is_told_the_run_is_incomplete_by_the_rejected_files(run):
    """Rejected landing files and an unknown source folder make ``ews ingest`` exit 3; the
    files deliberately ignored (hidden, .DS_Store) do not."""
    problems = exit_codes.ingest_problems(run["summary"])
    (files,) = [p for p in problems if "landing file(s) rejected" in p]
    assert files.startswith("6 landing file(s) rejected: 2026-10-28.csv, ")
    assert files.endswith(" and 1 more")
    assert "landing folders with no contract: penalty_misc" in problems
    assert not any(".DS_Store" in p or "..2026-10-29" in p for p in problems)


def test_the_good_delivery_still_lands(run):
    (outcome,) = [
        o for o in run["summary"]["deliveries"][HOTLINE.id] if o["delivery_id"] == "2026-10-28"
    ]
    assert (outcome["status"], outcome["rows_accepted"]) == ("accepted", 3)
    lake = pl.read_parquet(run["workdir"] / "lake" / HOTLINE.id / "delivery=2026-10-28")
    assert lake.height == 3


def _outcome(run, contract, delivery_id: str) -> dict:
    (found,) = [
        o for o in run["summary"]["deliveries"][contract.id] if o["delivery_id"] == delivery_id
    ]
    return found


@pytest.mark.parametrize(("delivery_id", "name"), [("2026-10-26", "';'"), ("2026-10-27", "tab")])
def test_a_file_delimited_otherwise_says_so_rather_than_columns_missing(run, delivery_id, name):
    outcome = _outcome(run, MASTER, delivery_id)
    assert (outcome["status"], outcome["rows_in"], outcome["rows_quarantined"]) == (
        "rejected",
        3,
        3,
    )
    assert outcome["reason"].startswith(
        f"{MASTER.id} file {delivery_id}.csv: looks delimited by {name}"
    )
    assert "missing" not in outcome["reason"]


def test_implausible_values_are_kept_and_warned_about_with_counts_and_rows(run):
    outcome = _outcome(run, VAT, "2026-10-28")
    assert (outcome["status"], outcome["rows_accepted"]) == ("accepted", 5)
    found = {(f["column"], f["check"]): (f["count"], f["rows"]) for f in outcome["implausible"]}
    assert found == {
        ("sales_revenue", "magnitude"): (1, [2]),
        ("period", "event_after_arrival"): (1, [3]),
        ("period", "before_earliest_date"): (1, [4]),
    }
    report = run["summary"]["sources"][VAT.id]
    assert report["implausible_values"] == {
        "before_earliest_date": 1,
        "event_after_arrival": 1,
        "magnitude": 1,
    }
    assert any(
        w.startswith(f"{VAT.id} file 2026-10-28.parquet column sales_revenue: 1 value beyond 1e+13")
        and "(row 2)" in w
        for w in report["warnings"]
    )
    assert run["summary"]["totals"]["implausible_values"] == 3


def test_valid_deliveries_raise_no_plausibility_warning(run):
    assert _outcome(run, HOTLINE, "2026-10-28")["implausible"] == []


def test_a_rejected_landing_file_makes_the_run_incomplete_for_a_scheduler(run):
    problems = exit_codes.ingest_problems(run["summary"])
    (files,) = [p for p in problems if "landing file(s) rejected" in p]
    assert files.startswith("6 landing file(s) rejected: ")
    assert f"{HOTLINE.id}/2026-10-26.csv" in files  # the link
