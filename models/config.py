"""Industry configuration: the model settings of the industries declared in models/industries.yaml
(read through data_contracts.industries, which also gives the contracts and the simulator their
part of the same declaration)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_contracts import industries
from data_contracts.schema import Bilingual
from models.evaluate import COMPARED
from models.train import TrainConfig

TIER_ORDER = ("A", "B", "C", "D")


class Promotion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    # The candidate must beat the champion on ``metric`` by ``margin``.
    metric: str = "pr_auc"
    margin: float = Field(default=0.005, ge=0)
    # Every serving model must be shown better than its logistic baseline on ``baseline_metric``
    # (the paired 95% interval of the difference above zero, models.promotion.beats_baseline).
    # PR-AUC: a regulator acts on the top of the list, which PR-AUC weighs and ROC-AUC does not.
    # On the demo park ROC-AUC's paired interval crossed zero for all three models while
    # PR-AUC's showed finance and education 1.8-2.2 times better than their baselines.
    baseline_metric: str = "pr_auc"

    @model_validator(mode="after")
    def _compared_metric(self) -> Promotion:
        if self.baseline_metric not in COMPARED:
            raise ValueError(
                f"promotion.baseline_metric must be one of {COMPARED}, got {self.baseline_metric!r}"
            )
        return self


class IndustrySpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    sector_value: str
    name: Bilingual
    regulator: Bilingual
    event_type: str
    horizon_days: int = Field(gt=0)
    capacity_k: int = Field(gt=0)
    tiers: dict[str, float]
    promotion: Promotion = Promotion()
    # Booster settings: the file's ``training`` block, then the industry's own ``training`` keys.
    training: TrainConfig = TrainConfig()

    @model_validator(mode="after")
    def _tiers_ordered(self) -> IndustrySpec:
        if set(self.tiers) != {"B", "C", "D"}:
            raise ValueError(f"{self.key}: tiers needs lower bounds for B, C and D")
        if not 0 < self.tiers["B"] < self.tiers["C"] < self.tiers["D"] < 1:
            raise ValueError(f"{self.key}: tier bounds must rise strictly within (0, 1)")
        return self

    def tier(self, probability: float) -> str:
        """A/B/C/D for one calibrated probability (A = lowest risk)."""
        for name in ("D", "C", "B"):
            if probability >= self.tiers[name]:
                return name
        return "A"


class IndustryConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    industries: dict[str, IndustrySpec]
    inspection_frequency: dict[str, Bilingual]


def parse_industries(data: dict) -> IndustryConfig:
    shared = data.get("training") or {}
    # ``simulation`` is the simulator's part of the declaration (data_contracts.industries).
    entries = {
        k: {
            **{f: value for f, value in v.items() if f != "simulation"},
            "key": k,
            "training": {**shared, **(v.get("training") or {})},
        }
        for k, v in data["industries"].items()
    }
    return IndustryConfig(industries=entries, inspection_frequency=data["inspection_frequency"])


def load_config() -> IndustryConfig:
    return _load_config(industries.declaration_path())


@cache
def _load_config(declaration: Path) -> IndustryConfig:
    return parse_industries(industries.declaration())


def load_industries() -> dict[str, IndustrySpec]:
    return dict(load_config().industries)
