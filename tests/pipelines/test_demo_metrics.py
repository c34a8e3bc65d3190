"""The README's demo figures are the rendering of the reference run's figures file."""

from __future__ import annotations

import json
from datetime import date

import pytest

from pipelines import demo_metrics
from pipelines.demo_metrics import BEGIN, END, FiguresError, figures, render, replace_block


def _row(k: int, roc: float, test_period: str = "2026-02-08..2026-05-24") -> dict:
    shared = {"roc_auc": roc, "pr_auc": 0.1, "precision_at_k": 0.25}
    return {
        **shared,
        "k": k,
        "test_period": test_period,
        "n_test": 12345,
        "positives": 678,
        "baseline": {"roc_auc": roc - 0.05, "pr_auc": 0.08, "precision_at_k": 0.2},
    }


SUMMARY = {
    "scale": "small",
    "seed": 20261121,
    "end_date": "2026-11-29",
    "live": False,
    "weeks": ["2026-W48", "2026-W49"],
    "timings_s": {"total": 200.0},  # not a figure: it changes from run to run
}


def test_the_readme_block_is_the_rendering_of_the_committed_figures():
    record = json.loads(demo_metrics.FIGURES.read_text(encoding="utf-8"))
    readme = demo_metrics.README.read_text(encoding="utf-8")
    assert demo_metrics.current_block(readme) == render(record)
    assert record["run"]["end_date"] == "2026-11-29" and record["run"]["live"] is False


def test_rendering_lists_industries_in_config_order_with_k_and_both_models():
    metrics = {"education": _row(60, 0.75), "finance": _row(22, 0.6866)}
    block = render(figures(SUMMARY, metrics), industries=["finance", "manufacturing", "education"])
    lines = block.splitlines()
    assert lines[0] == BEGIN and lines[-1] == END
    assert (
        "ends on 2026-11-29 (small scale, seed 20261121); the lists are 2026-W48 and 2026-W49"
        in (lines[1])
    )
    rows = [line for line in lines if line.startswith("| finance") or line.startswith("| edu")]
    assert rows[0] == (
        "| finance (K = 22) | 2026-02-08..2026-05-24 | 12,345 (678) "
        "| 0.687 | 0.637 | 0.100 | 0.080 | 0.250 | 0.200 |"
    )
    assert rows[1].startswith("| education (K = 60) |")
    assert "timings" not in block and "200.0" not in block


def test_a_live_run_says_so():
    block = render(figures({**SUMMARY, "live": True}, {"finance": _row(22, 0.7)}), ["finance"])
    assert "a live run" in block


def test_a_summary_without_the_run_identity_is_refused():
    with pytest.raises(FiguresError, match="lacks end_date, live"):
        figures({"scale": "small", "seed": 1, "weeks": []}, {})


def test_metrics_of_an_unknown_industry_or_lacking_a_figure_are_refused():
    with pytest.raises(FiguresError, match="not in the config"):
        render(figures(SUMMARY, {"shipping": _row(5, 0.7)}), ["finance"])
    lacking = _row(22, 0.7)
    del lacking["baseline"]["pr_auc"]
    with pytest.raises(FiguresError, match="finance lack 'pr_auc'"):
        render(figures(SUMMARY, {"finance": lacking}), ["finance"])


def test_the_block_is_replaced_between_its_markers_and_nothing_else_changes():
    text = f"# title\n\nbefore\n{BEGIN}\nold table\n{END}\nafter\n"
    assert (
        replace_block(text, f"{BEGIN}\nnew\n{END}")
        == f"# title\n\nbefore\n{BEGIN}\nnew\n{END}\nafter\n"
    )
    with pytest.raises(FiguresError, match="once each"):
        replace_block("no markers", "x")
    with pytest.raises(FiguresError, match="once each"):
        replace_block(text + BEGIN, "x")
    with pytest.raises(FiguresError, match="before its begin"):
        replace_block(f"{END}\n{BEGIN}", "x")


def test_the_command_rewrites_the_readme_and_the_figures_then_checks_them(tmp_path, capsys):
    workdir = tmp_path / "ews_demo"
    (workdir / "models").mkdir(parents=True)
    metrics = {name: _row(k, 0.7) for name, k in (("finance", 22), ("education", 60))}
    (workdir / "models" / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    summary = {**SUMMARY, "artifacts": {"metrics": "models/metrics.json"}}
    (workdir / "run_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    readme, record = tmp_path / "README.md", tmp_path / "figures.json"
    readme.write_text(f"intro\n{BEGIN}\nstale\n{END}\nrest\n", encoding="utf-8")
    paths = ["--workdir", str(workdir), "--readme", str(readme), "--figures", str(record)]

    assert demo_metrics.main([*paths, "--check"]) == 1
    assert "stale" in readme.read_text(encoding="utf-8")  # --check writes nothing
    assert demo_metrics.main(paths) == 0
    written = json.loads(record.read_text(encoding="utf-8"))
    assert written["metrics"] == metrics and written["run"]["weeks"] == SUMMARY["weeks"]
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("rest\n")
    assert demo_metrics.current_block(text) == render(written)
    assert demo_metrics.main([*paths, "--check"]) == 0

    assert demo_metrics.main(["--workdir", str(tmp_path / "none"), "--readme", str(readme)]) == 2
    assert "no run summary" in capsys.readouterr().err


def test_the_demo_ends_on_its_fixed_sunday_unless_live_or_told_otherwise():
    from pipelines.flows.demo import demo_end_date, demo_week
    from pipelines.timeline import park_today, previous_week, resolve_week

    end = demo_end_date()
    assert end == date(2026, 11, 29) and end.isoweekday() == 7
    assert demo_week(end) == "2026-W49" and resolve_week("2026-W49")[1] == end
    assert previous_week(demo_week(end)) == "2026-W48"
    assert demo_end_date(live=True) == park_today()  # the park's date, not the machine's
    assert demo_end_date("2026-12-02") == date(2026, 12, 2)
    assert demo_week(date(2026, 12, 2)) == "2026-W49"  # a Wednesday: W50's as-of is yet to come
    with pytest.raises(ValueError, match="either live or end_date"):
        demo_end_date("2026-11-29", live=True)
    with pytest.raises(ValueError, match="not a date"):
        demo_end_date("29/11/2026")


def test_ews_demo_refuses_live_with_an_end_date_in_one_line_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    workdir = tmp_path / "demo"
    args = ["demo", "--workdir", str(workdir), "--live", "--end-date", "2026-11-29"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "ews demo: a live demo ends today" in result.output
    assert not (workdir / "landing").exists()  # nothing simulated
