"""The world model's parameters (world.yaml) and word lists (vocabulary.yaml), validated.

Both files ship inside the package and are read once through importlib.resources.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_contracts import industries

SIZE_BANDS = ("micro", "small", "medium", "large")

Share = Annotated[float, Field(ge=0, le=1)]
Weights = dict[str, Annotated[float, Field(ge=0)]]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _interval(lo: float, hi: float, label: str) -> None:
    if lo > hi:
        raise ValueError(f"{label}: lower bound {lo} above upper bound {hi}")


class SimScale(_Frozen):
    """How big the park is: entities per industry, non-enterprise entities, months of history."""

    name: str
    populations: dict[str, Annotated[int, Field(ge=0)]]
    individual_businesses: int = Field(default=0, ge=0)
    branches: int = Field(default=0, ge=0)
    history_months: int = Field(default=36, ge=6, le=120)

    @model_validator(mode="after")
    def _all_industries(self) -> SimScale:
        expected = industries.keys_and_other()
        if set(self.populations) != set(expected):
            raise ValueError(f"scale {self.name}: populations needs exactly {expected}")
        return self

    @property
    def enterprises(self) -> int:
        return sum(self.populations.values())

    @property
    def entities(self) -> int:
        return self.enterprises + self.individual_businesses + self.branches


class SizeBand(_Frozen):
    employees: tuple[int, int]
    capital_factor: float = Field(ge=0)
    hazard: float = Field(gt=0)


class IndustryParams(_Frozen):
    # From the industry's declaration (data_contracts/industries.py), not from world.yaml.
    sector: str
    distress_event_type: str | None
    annual_hazard: Share
    school_share: Share = 0.0
    size_bands: Weights
    capital_median_wan: float = Field(ge=0)
    ownership: Weights
    districts: Weights
    name_terms: list[str] = Field(min_length=1)
    # Share of the industry's firms each source (by id) knows at all; a source no profile lists
    # knows every firm (before the entity kinds' factors).
    coverage: dict[str, Share] = Field(default_factory=dict)


class NonEnterpriseParams(_Frozen):
    annual_hazard: Share
    size_bands: Weights
    capital_median_wan: float = Field(ge=0)


class EntityKind(_Frozen):
    uscc_prefix: str = Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}$")
    name_zh: str


class Park(_Frozen):
    registration_region: str = Field(pattern=r"^[0-9]{6}$")
    founded: dt.date
    name_prefixes: Weights


class Age(_Frozen):
    gamma_shape: float = Field(gt=0)
    gamma_scale_years: float = Field(gt=0)


class LegalReps(_Frozen):
    firms_per_person: dict[int, Annotated[float, Field(ge=0)]]
    age_years: tuple[int, int]
    contagion: Share
    contagion_lag_months: tuple[int, int]


class Stress(_Frozen):
    lead_months: int = Field(ge=0)
    future_months: int = Field(ge=0)
    baseline_beta: tuple[float, float]
    noise_sd: float = Field(ge=0)
    sector_factor_sd: float = Field(ge=0)
    episodes_per_year: float = Field(ge=0)
    episode_peak: tuple[float, float]
    episode_rise_months: tuple[int, int]
    episode_recover_months: tuple[int, int]
    ramp_months: tuple[int, int]
    ramp_peak: tuple[float, float]
    ramp_power: float = Field(gt=0)
    silent_share: Share
    silent_peak: tuple[float, float]
    frailty_shape: float = Field(gt=0)
    young_firm_years: float = Field(ge=0)
    young_hazard: float = Field(gt=0)

    @model_validator(mode="after")
    def _intervals(self) -> Stress:
        for name in (
            "episode_peak",
            "episode_rise_months",
            "episode_recover_months",
            "ramp_months",
            "ramp_peak",
            "silent_peak",
        ):
            _interval(*getattr(self, name), f"stress.{name}")
        if self.ramp_months[0] < 1 or self.episode_rise_months[0] < 1:
            raise ValueError("stress ramps and episodes last at least one month")
        return self


class Exits(_Frozen):
    vanish_months_after_distress: tuple[int, int]
    revoked_share: Share
    revoked_after_months: tuple[int, int]
    cancelled_share: Share
    cancelled_after_months: tuple[int, int]
    healthy_exit_per_year: Share
    moved_out_share: Share

    @model_validator(mode="after")
    def _shares(self) -> Exits:
        if self.revoked_share + self.cancelled_share > 1:
            raise ValueError("exits: revoked_share + cancelled_share exceeds 1")
        return self


class Signals(_Frozen):
    measure_noise_int: float = Field(ge=0)
    measure_noise_float: float = Field(ge=0)
    measure_response: float = Field(ge=0)
    trend_sd_per_year: float = Field(ge=0)
    due_per_employee_yuan: float = Field(gt=0)
    amount_base_yuan: float = Field(gt=0)
    arrears_intercept: float
    arrears_slope: float
    event_propensity_shape: float = Field(gt=0)
    missing_month_share: Share
    annual_missing_base: Share
    annual_missing_stress: Share
    null_share: Share
    pii_null_share: Share


class Arrivals(_Frozen):
    delay_sigma: float = Field(ge=0)
    late_share: Share
    late_extra_days: tuple[int, int]


class Deliveries(_Frozen):
    weekly_deliveries: int = Field(ge=1)
    week_days: int = Field(ge=1)


class Returns(_Frozen):
    inspected_share: Share
    reported_not_share: Share
    delay_median_days: float = Field(gt=0)
    delay_sigma: float = Field(ge=0)
    joint_share: Share
    double_random_share: Share


class Inspections(_Frozen):
    at_risk_days: int = Field(gt=0)
    sensitivity: Share
    silent_sensitivity: Share
    rectification_at_risk: Share
    false_alarm: Share
    rectification: Share
    unreachable: Share
    closed_after_event: Share
    returns: Returns

    @model_validator(mode="after")
    def _shares_fit(self) -> Inspections:
        for name, total in (
            ("at risk", self.sensitivity + self.rectification_at_risk),
            ("silent and at risk", self.silent_sensitivity + self.rectification_at_risk),
            ("not at risk", self.false_alarm + self.rectification + self.unreachable),
            ("visits", self.returns.joint_share + self.returns.double_random_share),
        ):
            if total > 1:
                raise ValueError(f"inspections: the shares for {name} add up to {total} > 1")
        return self


class Objections(_Frozen):
    rightful_share: Share
    wrongful_share: Share
    min_rightful: int = Field(ge=0)


class WorldParams(_Frozen):
    scales: dict[str, SimScale]
    park: Park
    entity_kinds: dict[str, EntityKind]
    kind_coverage: dict[str, dict[str, Share]]
    size_bands: dict[str, SizeBand]
    ownership_hazard: Weights
    industries: dict[str, IndustryParams]
    non_enterprises: dict[str, NonEnterpriseParams]
    age: Age
    legal_reps: LegalReps
    stress: Stress
    exits: Exits
    signals: Signals
    arrivals: Arrivals
    deliveries: Deliveries
    inspections: Inspections
    objections: Objections

    @model_validator(mode="after")
    def _consistent(self) -> WorldParams:
        expected = industries.keys_and_other()
        if list(self.industries) != expected:
            raise ValueError(f"industries must be exactly {expected}, in that order")
        if set(self.size_bands) != set(SIZE_BANDS):
            raise ValueError(f"size_bands must be exactly {list(SIZE_BANDS)}")
        if set(self.entity_kinds) != {"enterprise", "school", "individual", "branch"}:
            raise ValueError("entity_kinds must be enterprise, school, individual and branch")
        if set(self.non_enterprises) != {"individual", "branch"}:
            raise ValueError("non_enterprises must be individual and branch")
        districts = set(self.industries["other"].districts)
        for key, params in self.industries.items():
            if set(params.districts) != districts:
                raise ValueError(f"industry {key}: districts differ from the other industries'")
            if not set(params.ownership) <= set(self.ownership_hazard):
                raise ValueError(f"industry {key}: ownership without a hazard multiplier")
        for label, bands in [(k, p.size_bands) for k, p in self.industries.items()] + [
            (k, p.size_bands) for k, p in self.non_enterprises.items()
        ]:
            if not set(bands) <= set(SIZE_BANDS):
                raise ValueError(
                    f"{label}: unknown size bands {sorted(set(bands) - set(SIZE_BANDS))}"
                )
        for name, scale in self.scales.items():
            if scale.name != name:
                raise ValueError(f"scale {name!r} declares name {scale.name!r}")
        return self

    @property
    def districts(self) -> list[str]:
        return list(self.industries["other"].districts)

    def coverage(self, source_id: str) -> dict[str, float]:
        """The source's coverage by industry (empty: the source knows every firm)."""
        return {
            key: profile.coverage[source_id]
            for key, profile in self.industries.items()
            if source_id in profile.coverage
        }

    def scale(self, name: str) -> SimScale:
        if name not in self.scales:
            raise KeyError(f"unknown scale {name!r}; known: {sorted(self.scales)}")
        return self.scales[name]


class Vocabulary(_Frozen):
    surnames: Weights
    given_name_chars: str = Field(min_length=10)
    trade_name_chars: str = Field(min_length=10)
    individual_shops: list[str] = Field(min_length=1)
    branch_cities: list[str] = Field(min_length=1)
    branch_suffixes: list[str] = Field(min_length=1)
    school_terms: list[str] = Field(min_length=1)
    foreign_marker: str
    org_forms: Weights
    roads: dict[str, list[str]]
    buildings: list[str] = Field(min_length=1)
    birth_regions: Weights
    mobile_prefixes: list[int] = Field(min_length=1)
    free_text: list[str] = Field(min_length=1)


def _read_yaml(name: str) -> dict:
    text = (resources.files("data_contracts.simulate") / name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def world_params() -> WorldParams:
    """world.yaml for the declared industries (cached per declaration)."""
    return _world_params(industries.declaration_path())


@cache
def _world_params(declaration: Path) -> WorldParams:
    data = _read_yaml("world.yaml")
    profiles = data["industries"]
    declared = {i.key: i for i in industries.declared()}
    merged = {}
    for key in industries.keys_and_other():
        entry = declared.get(key)
        simulation = entry.simulation if entry else {}
        borrowed = simulation.get("profile", key)
        if borrowed not in profiles:
            raise ValueError(
                f"industry {key}: world.yaml has no profile {borrowed!r}; declare "
                f"simulation.profile (one of {sorted(profiles)}) in {declaration}"
            )
        merged[key] = {
            **profiles[borrowed],
            "sector": entry.sector_value if entry else industries.OTHER_SECTOR,
            "distress_event_type": entry.event_type if entry else None,
        }
    data["industries"] = merged
    scales = {}
    for name, scale in data["scales"].items():
        populations = dict(scale["populations"])
        for key, entry in declared.items():
            if key not in populations:
                given = entry.simulation.get("populations", {})
                if name not in given:
                    raise ValueError(
                        f"industry {key}: world.yaml's scale {name} has no population for it; "
                        f"declare simulation.populations.{name} in {declaration}"
                    )
                populations[key] = given[name]
        populations = {k: populations[k] for k in industries.keys_and_other()}
        scales[name] = {**scale, "populations": populations, "name": name}
    data["scales"] = scales
    return WorldParams.model_validate(data)


@cache
def vocabulary() -> Vocabulary:
    vocab = Vocabulary.model_validate(_read_yaml("vocabulary.yaml"))
    missing = set(world_params().districts) - set(vocab.roads)
    if missing:
        raise ValueError(f"vocabulary.yaml: no roads for districts {sorted(missing)}")
    return vocab
