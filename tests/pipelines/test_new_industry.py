"""An industry is declared once: construction added to a copy of models/industries.yaml (and
nothing else) is simulated, accepted by the contracts, trained, published and gets a model card."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from data_contracts import catalog
from data_contracts.simulate.config import world_params
from models.config import load_industries
from pipelines import datasets
from pipelines.flows.audit import model_cards_flow
from pipelines.flows.features import build_features_flow
from pipelines.flows.ingest import ingest_flow
from pipelines.flows.publish import publish_flow
from pipelines.flows.simulate import simulate_flow
from pipelines.flows.train import train_flow
from tests.declarations import changed_declaration_in_force

pytestmark = pytest.mark.slow

END = "2026-11-29"
WEEK = "2026-W49"  # its as-of date is END
CONSTRUCTION = {
    "sector_value": "建筑业",
    "name": {"zh": "建筑业", "en": "Construction"},
    "regulator": {"zh": "园区规划建设委员会", "en": "SIP Planning and Construction Committee"},
    "event_type": "停工欠薪",
    "horizon_days": 180,
    "capacity_k": 8,
    "tiers": {"B": 0.03, "C": 0.08, "D": 0.20},
    "promotion": {"metric": "pr_auc", "margin": 0.005},
    # The simulated park has no construction profile: it borrows manufacturing's.
    "simulation": {
        "profile": "manufacturing",
        "populations": {"tiny": 200, "small": 900, "sip": 900, "province": 900},
    },
}


@pytest.fixture(scope="module")
def declaration(tmp_path_factory):
    def add_construction(declared: dict) -> None:
        declared["industries"]["construction"] = CONSTRUCTION

    folder = tmp_path_factory.mktemp("declaration")
    with changed_declaration_in_force(folder, add_construction) as path:
        yield path


def test_the_declaration_reaches_contracts_simulator_and_models(declaration):
    master = catalog.get("reg_enterprise_master")
    assert master.column("sector").allowed == ["金融", "制造业", "教育培训", "建筑业", "其他"]
    outcomes = catalog.get("outcome_distress_event")
    assert outcomes.column("event_type").allowed[-1] == "停工欠薪"
    assert outcomes.column("industry").allowed[-1] == "construction"
    world = world_params()
    assert list(world.industries)[-2:] == ["construction", "other"]
    assert world.scale("tiny").populations["construction"] == 200
    assert (
        world.coverage("si_pension")["construction"]
        == world.coverage("si_pension")["manufacturing"]
    )
    assert load_industries()["construction"].capacity_k == 8


def test_a_fourth_industry_trains_publishes_and_gets_a_card(declaration, prefect_harness, tmp_path):
    workdir = str(tmp_path)
    simulate_flow(workdir=workdir, scale="tiny", seed=7, end_date=END)
    firms = pl.read_parquet(datasets.SIM_FIRMS.path(tmp_path))
    assert firms.filter(pl.col("industry") == "construction").height == 200
    ingest_flow(workdir=workdir, as_of=END)
    build_features_flow(workdir=workdir, as_of=END)
    trained = train_flow(workdir=workdir)
    assert "construction" in trained["models"]
    published = publish_flow(workdir=workdir, week=WEEK)
    manifest = json.loads(Path(published["lists"]["construction"]).read_text(encoding="utf-8"))
    assert manifest["industry"] == "construction"
    scores = pl.read_parquet(datasets.SCORES.path(tmp_path, week=WEEK, industry="construction"))
    assert scores.height > 0 and scores.get_column("listed").sum() <= 8
    cards = model_cards_flow(workdir=workdir)
    assert any("construction" in str(path) for path in cards.values())
    card_folder = tmp_path / datasets.MODEL_CARDS / "construction"
    assert sorted(p.suffix for p in card_folder.glob("v1.*")) == [".html", ".json", ".md"]
