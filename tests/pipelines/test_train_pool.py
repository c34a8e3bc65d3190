"""The train flow with a declared pool: finance and education train one booster, and each is
logged, registered, gated and summarised as its own model (a copy of models/industries.yaml with
a ``pool:`` block; a small synthetic workdir of two industries)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.train import FIXED_INPUTS
from pipelines import io
from pipelines.flows.audit import model_cards_flow
from pipelines.flows.train import train_flow
from pipelines.settings import Settings
from pipelines.tracking import tracker_for
from tests.declarations import changed_declaration_in_force
from tests.pipelines.finance_workdir import (
    FIRMS,
    FIRST_WEEK,
    WEEKS,
    distress_weeks,
    firm_code,
    write_history_and_outcomes,
)

pytestmark = pytest.mark.slow  # Prefect harness, MLflow store and two trainings

# Two members keep this module quick; the demo flow trains the shipped pool of three.
POOLED = ("finance", "education")


@pytest.fixture(scope="module")
def declaration(tmp_path_factory):
    def pool_two(declared: dict) -> None:
        declared["pool"] = {"members": list(POOLED)}

    folder = tmp_path_factory.mktemp("declaration")
    with changed_declaration_in_force(folder, pool_two) as path:
        yield path


def write_two_industries(settings: Settings, seed: int) -> None:
    """Firms of both industries whose latent stress drives a feature and their event."""
    from models.config import load_industries

    rng = np.random.default_rng(seed)
    rows, events = [], []
    for offset, key in enumerate(POOLED):
        spec = load_industries()[key]
        stress = rng.normal(size=FIRMS)
        event_weeks = distress_weeks(rng, stress, slope=1.5, offset=6.5)
        for i, event_week in enumerate(event_weeks):
            code = firm_code(offset * FIRMS + i)
            for week in range(WEEKS if event_week is None else event_week):
                rows.append(
                    {
                        "uscc": code,
                        "as_of": FIRST_WEEK + timedelta(weeks=week),
                        "sector": spec.sector_value,
                        # The model card's subgroups read these (models.card).
                        "district": ("湖东", "湖西")[i % 2],
                        "ownership_type": "私营",
                        "size_band": ("small", "large")[i % 2],
                        "firm_age_years": 3.0 + i % 7,
                        "n_sources_known": 12,
                        "stress_signal": stress[i] + rng.normal(scale=0.3),
                        "unrelated_signal": rng.normal(),
                    }
                )
            if event_week is not None:
                happened = FIRST_WEEK + timedelta(weeks=event_week, days=3)
                events.append(
                    {
                        "event_id": f"E{offset}{i:05d}",
                        "uscc": code,
                        "event_date": happened,
                        "event_type": spec.event_type,
                        "industry": key,
                        "confirmed_by": "联合核查组现场核实",
                        "arrived_at": datetime.combine(
                            happened + timedelta(days=14), datetime.min.time()
                        ),
                    }
                )
    write_history_and_outcomes(settings, rows, events)


@pytest.fixture(scope="module")
def workdir(declaration, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("ews_pool")
    write_two_industries(Settings(workdir=root), seed=3)
    return str(root)


@pytest.fixture(scope="module")
def first(prefect_harness, workdir) -> dict:
    return train_flow(workdir=workdir, industries=list(POOLED))


def test_the_pool_registers_one_model_per_member(first, workdir):
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    boosters = []
    for key in POOLED:
        assert first["models"][key]["name"] == f"ews-{key}"
        assert first["models"][key]["version"] == 1
        model, info = tracker.load_version(key, 1)
        indicators = tuple(f"industry_is_{k}" for k in POOLED)
        assert model.feature_names[-len(POOLED) :] == indicators
        assert {"stress_signal", "unrelated_signal"} <= set(model.feature_names)
        assert model.metadata[FIXED_INPUTS] == {f"industry_is_{k}": int(k == key) for k in POOLED}
        assert info.reason  # gated like any candidate
        boosters.append(bytes(model.booster.save_raw("ubj")))
    assert len(set(boosters)) == 1  # one booster, trained once


def test_metrics_say_each_member_was_trained_pooled_on_its_own_test_rows(first):
    metrics = io.read_json(Path(first["metrics"]))
    for key in POOLED:
        trained = metrics[key]["trained"]
        assert trained["mode"] == "pooled" and trained["members"] == list(POOLED)
        assert set(trained["rows"]) == set(POOLED)
        assert trained["rows"][key]["train_events"] > 0
        assert metrics[key]["roc_auc"] > 0.6
    assert len({(metrics[k]["n_test"], metrics[k]["positives"]) for k in POOLED}) == len(POOLED)


def test_each_members_card_says_it_was_trained_pooled(first, workdir):
    settings = Settings(workdir=Path(workdir))
    cards = model_cards_flow(workdir=workdir)
    assert set(POOLED) <= set(cards)
    for key in POOLED:
        # v1 is the member's pooled candidate (a baseline the gate let serve comes after it).
        card_file = settings.model_cards / key / "v1.json"
        built = json.loads(card_file.read_text(encoding="utf-8"))
        mode = built["model_details"]["training_mode"]
        assert mode.startswith("pooled: one booster trained on the rows of finance (")
        assert f"fixes to {key}" in mode
        assert "industry_is_education" in built["training_data"]["features"]


def test_a_member_asked_for_alone_trains_the_pool_and_registers_only_itself(first, workdir):
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    finance_before = [v.version for v in tracker.versions("finance")]
    education_before = max(v.version for v in tracker.versions("education"))
    again = train_flow(workdir=workdir, industries=["education"])
    assert list(again["models"]) == ["education"]
    version = again["models"]["education"]["version"]
    assert version == education_before + 1
    assert [v.version for v in tracker.versions("finance")] == finance_before
    model, _ = tracker.load_version("education", version)
    assert model.metadata["pool"]["members"] == list(POOLED)


def test_a_pool_member_without_rows_of_its_own_is_refused_by_name(
    prefect_harness, declaration, tmp_path
):
    settings = Settings(workdir=tmp_path)
    write_two_industries(settings, seed=5)
    history = pl.read_parquet(settings.features / "history.parquet")
    history.filter(pl.col("sector") != "教育培训").write_parquet(
        settings.features / "history.parquet"
    )
    with pytest.raises(ValueError, match="education: no labelled snapshots"):
        train_flow(workdir=str(tmp_path), industries=["finance"])
