"""Industry configuration: the model settings of the industries declared in models/industries.yaml
(read through data_contracts.industries, which also gives the contracts and the simulator their
part of the same declaration)."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import date
from functools import cache
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_contracts import industries
from data_contracts.schema import Bilingual
from models.evaluate import COMPARED
from models.train import TrainConfig

TIER_ORDER = ("A", "B", "C", "D")
GENERAL = "general"  # the declaration's block (and model key) of the general model


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


class HistorySample(BaseModel):
    """Which snapshots of a large population the training history keeps (the general model's):
    every ``every_weeks``-th weekly as-of date, counted back from the last, and at most
    ``max_firms`` firms, those with the smallest SHA-256 of ``salt`` + credit code."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    every_weeks: int = Field(default=1, ge=1)
    max_firms: int | None = Field(default=None, gt=0)
    salt: str = ""

    def dates(self, weekly: Sequence[date]) -> list[date]:
        """The kept as-of dates of ``weekly`` (ascending): the last, and every ``every_weeks``-th
        before it."""
        return sorted(weekly)[::-1][:: self.every_weeks][::-1]

    def firms(self, uscc: Sequence[str]) -> list[str]:
        """The kept firms of ``uscc`` (sorted): all, or the ``max_firms`` with the smallest
        SHA-256 of salt + code, so a firm's membership never depends on the run or the order."""
        unique = sorted(set(uscc))
        if self.max_firms is None or len(unique) <= self.max_firms:
            return unique

        def digest(code: str) -> str:
            return hashlib.sha256(f"{self.salt}{code}".encode()).hexdigest()

        return sorted(sorted(unique, key=digest)[: self.max_firms])


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
    # The label's events from lake sources (source -> {column: values kept}) instead of the
    # label source outcome_distress_event; the general model's generic distress event.
    label: dict[str, dict[str, list[str]]] | None = None
    # The training history's sample (the general model's); None: every firm, every week.
    history: HistorySample | None = None

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

    def tier_expression(self, probability: pl.Expr) -> pl.Expr:
        """``tier`` of a column of probabilities at once; a null probability has no tier."""
        expression = pl.lit("A")
        for name in ("B", "C", "D"):
            expression = (
                pl.when(probability >= self.tiers[name]).then(pl.lit(name)).otherwise(expression)
            )
        return pl.when(probability.is_not_null()).then(expression)


class Pool(BaseModel):
    """Industries whose labelled rows train one booster together (models.pooled), each row
    marked by industry indicators; every member keeps its own split, baseline, calibration,
    evaluation and registered model. Empty: every industry trains alone."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    members: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _distinct(self) -> Pool:
        repeated = sorted({key for key in self.members if self.members.count(key) > 1})
        if repeated:
            raise ValueError(f"pool.members names {repeated} more than once")
        if len(self.members) == 1:
            raise ValueError(
                f"pool.members has only {self.members[0]!r}: a pool needs two industries or none"
            )
        return self


class IndustryConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    # The supervised industries: a model, a regulator's weekly list, a credit class each.
    industries: dict[str, IndustrySpec]
    inspection_frequency: dict[str, Bilingual]
    # The general model of every other enterprise (sector ``other``): trained, gated and
    # registered like an industry's, it scores for the credit classes only (no list).
    general: IndustrySpec | None = None
    pool: Pool = Pool()

    @model_validator(mode="after")
    def _general_apart(self) -> IndustryConfig:
        if self.general is not None and self.general.key in self.industries:
            raise ValueError(f"{self.general.key!r} is the general model, not an industry")
        return self

    @model_validator(mode="after")
    def _pool_of_industries(self) -> IndustryConfig:
        for key in self.pool.members:
            if key == GENERAL or (self.general is not None and key == self.general.key):
                raise ValueError(
                    f"pool.members: {key!r} is the general model; only industries can be pooled"
                )
            if key not in self.industries:
                raise ValueError(
                    f"pool.members: {key!r} is not a declared industry "
                    f"(models/industries.yaml has {sorted(self.industries)})"
                )
        return self

    def pooled(self, keys: Collection[str]) -> tuple[str, ...]:
        """The pool's members among ``keys`` (the models being trained), in the pool's order."""
        return tuple(key for key in self.pool.members if key in set(keys))

    def models(self) -> dict[str, IndustrySpec]:
        """Every trained model: the industries', then the general one."""
        general = {self.general.key: self.general} if self.general is not None else {}
        return {**self.industries, **general}


def parse_industries(data: dict) -> IndustryConfig:
    shared = data.get("training") or {}
    pool = data.get("pool") or {}
    for key in pool.get("members") or ():
        own = ((data.get("industries") or {}).get(key) or {}).get("training")
        if own:
            # One booster has one set of settings: a member's own keys would be silently
            # ignored for it (or imposed on the others).
            raise ValueError(
                f"pool.members: {key!r} has its own training settings {sorted(own)}; pooled "
                "industries train one booster with the file's shared `training:` block only"
            )

    def entry(key: str, fields: dict) -> dict:
        # ``simulation`` is the simulator's part of the declaration (data_contracts.industries).
        return {
            **{f: value for f, value in fields.items() if f != "simulation"},
            "key": key,
            "training": {**shared, **(fields.get("training") or {})},
        }

    entries = {k: entry(k, v) for k, v in data["industries"].items()}
    general = None
    if data.get(GENERAL):
        # Its firms are every firm of no declared industry: the sector the contracts give them.
        general = {**entry(GENERAL, data[GENERAL]), "sector_value": industries.OTHER_SECTOR}
    return IndustryConfig(
        industries=entries,
        inspection_frequency=data["inspection_frequency"],
        general=general,
        pool=pool,
    )


def load_config() -> IndustryConfig:
    return _load_config(industries.declaration_path())


@cache
def _load_config(declaration: Path) -> IndustryConfig:
    return parse_industries(industries.declaration())


def load_industries() -> dict[str, IndustrySpec]:
    return dict(load_config().industries)


def load_models() -> dict[str, IndustrySpec]:
    """Every model to train: the industries', then the general model (when declared)."""
    return load_config().models()
