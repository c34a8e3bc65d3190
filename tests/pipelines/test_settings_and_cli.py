from pathlib import Path

from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.settings import Settings


def test_default_tracking_uri_is_absolute_sqlite_with_four_slashes(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = Settings(workdir=tmp_path)
    assert settings.mlflow_uri == f"sqlite:///{tmp_path.resolve().as_posix()}/mlflow.db"
    assert settings.mlflow_uri.startswith("sqlite:////")


def test_environment_overrides_tracking_uri(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "postgresql://ews@db/ews")
    assert Settings(workdir=tmp_path).mlflow_uri == "postgresql://ews@db/ews"


def test_ews_prefixed_environment_sets_workdir_and_operator(tmp_path, monkeypatch):
    monkeypatch.setenv("EWS_WORKDIR", str(tmp_path / "w"))
    monkeypatch.setenv("EWS_OPERATOR", "auditor-7")
    settings = Settings()
    assert settings.workdir == (tmp_path / "w").resolve()
    assert settings.operator == "auditor-7"


def test_every_stage_path_lives_under_the_workdir(tmp_path):
    settings = Settings(workdir=tmp_path)
    for name in ("landing", "lake", "quarantine", "features", "publish", "site", "audit_log"):
        assert Path(getattr(settings, name)).is_relative_to(tmp_path.resolve())


def test_cli_lists_one_command_per_flow():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in (
        "simulate",
        "ingest",
        "features",
        "train",
        "promote",
        "train-table",
        "publish",
        "audit",
        "demo",
    ):
        assert command in result.output


def test_ci_runs_the_readme_test_command():
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in readme
    assert "bash scripts/test.sh" in ci
    assert "bash scripts/demo.sh" in readme
