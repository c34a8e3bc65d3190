"""One enforcing department's "double random" draw for a month (pure).

Random firms, randomly assigned inspectors, reproducible by anyone from the published seed and
the published inputs. Every random choice comes from a *key*: the first 8 bytes (big-endian) of
the SHA-256 of ``"<seed>|<department>|<name>"``, read as an integer below 2**64. A key depends on
nothing but the seed and the name, so the draw needs no random-number library, and the same
firm's key does not change with the order or the number of other firms.

The draw, for one department and month (``draw_department``):

1. **Scope.** The department's firms: the tier snapshot's firms of its industries. A firm it
   inspected or drew in the last ``exclude_inspected_months`` months (``recent``) is excluded;
   the rest are *eligible*, in one stratum per credit risk class.
2. **Mandatory classes** (D): every eligible firm is planned. When the department's capacity is
   smaller, the plan says so, takes them by model score (highest first; a firm without a score
   after every scored one; then by credit code) up to the capacity, lists the rest as deferred
   and samples nothing else.
3. **Sampled classes**: a class with N eligible firms and rate r expects r x N firms. That count
   is rounded up with probability equal to its fraction (the stratum's own key), so the expected
   count is exactly r x N and each eligible firm's chance is exactly r. When the expected counts
   exceed what the capacity leaves, every rate is scaled down by the same factor and the whole
   remainder is shared by largest fractions: the plan says so and records the rates it used.
   Within a class, the firms with the smallest keys are drawn (a simple random sample).
4. **Inspectors**: ``inspectors_per_firm`` per firm from the department's inspectors on duty,
   never one with a declared conflict with the firm (``conflicts``) or who inspected it last time
   (``last_inspectors``). Firms are taken in key order; each takes the least-loaded allowed
   inspectors, ties broken by a seeded order of the roster turned by the firm's own key, so the
   work is shared evenly and who goes where is random.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.config import TIER_ORDER

FIRM_COLUMNS = ("uscc", "name", "industry", "district", "tier", "basis", "probability")
MANDATORY = "mandatory"
RANDOM = "random"
# How a stratum's firms were chosen: all of them, a simple random sample, or by score when the
# capacity could not take every mandatory firm (then not a random sample).
CENSUS = "census"
SAMPLE = "random_sample"
BY_SCORE = "by_score"
KEY_BITS = 64


class PlanInputError(ValueError):
    """Inputs a plan cannot be drawn from (names the department and what is wrong)."""


class PlanPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rates: dict[Literal["A", "B", "C", "D"], float]
    mandatory: list[Literal["A", "B", "C", "D"]]
    exclude_inspected_months: int = Field(ge=0)
    inspectors_per_firm: int = Field(ge=1)
    on_duty: list[str] = Field(min_length=1)
    snapshot_max_age_days: int = Field(gt=0)

    @model_validator(mode="after")
    def _rates(self) -> PlanPolicy:
        if set(self.rates) != set(TIER_ORDER):
            raise ValueError(f"rates needs a rate for each of {list(TIER_ORDER)}")
        for tier, rate in self.rates.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"rate of class {tier} must be in [0, 1], not {rate}")
        for tier in self.mandatory:
            if self.rates[tier] != 1.0:
                raise ValueError(f"class {tier} is mandatory: its rate must be 1.0")
        return self


def parse_plan_policy(data: Mapping[str, Any]) -> PlanPolicy:
    return PlanPolicy.model_validate(data)


@cache
def load_plan_policy() -> PlanPolicy:
    text = (resources.files("models") / "inspection.yaml").read_text(encoding="utf-8")
    return parse_plan_policy(yaml.safe_load(text))


def draw_keys(seed: int, department: str, names: Sequence[str]) -> np.ndarray:
    """The key of each name: SHA-256 of ``"<seed>|<department>|<name>"``, first 8 bytes, as an
    unsigned integer (big-endian)."""
    prefix = f"{seed}|{department}|".encode()
    return np.array(
        [
            int.from_bytes(hashlib.sha256(prefix + name.encode("utf-8")).digest()[:8], "big")
            for name in names
        ],
        dtype=np.uint64,
    )


def draw_uniform(seed: int, department: str, name: str) -> float:
    """One key as a number in [0, 1)."""
    return float(draw_keys(seed, department, [name])[0]) / 2.0**KEY_BITS


@dataclass(frozen=True)
class Warning_:
    """Something the department must know about its plan, in both languages."""

    code: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class DepartmentDraw:
    plan: pl.DataFrame  # the firms to inspect, with their inspectors
    deferred: pl.DataFrame  # mandatory firms beyond the capacity, in score order
    strata: pl.DataFrame  # one row per class: counts, rates and how its firms were chosen
    warnings: list[Warning_] = field(default_factory=list)


def draw_department(
    firms: pl.DataFrame,
    *,
    department: str,
    industries: Sequence[str],
    month: str,
    capacity: int,
    roster: Sequence[str],
    recent: Sequence[str],
    last_inspectors: pl.DataFrame,
    conflicts: pl.DataFrame,
    policy: PlanPolicy,
    seed: int,
) -> DepartmentDraw:
    """Draw one department's plan (see the module docstring).

    ``firms``: the tier snapshot (``FIRM_COLUMNS``). ``roster``: the department's inspectors on
    duty (ids). ``recent``: credit codes excluded as recently inspected or drawn.
    ``last_inspectors`` and ``conflicts``: (uscc, inspector_id) pairs never to assign.
    """
    _check_firms(firms, department)
    if capacity < 0:
        raise PlanInputError(f"department {department}: capacity {capacity} is negative")
    warnings: list[Warning_] = []
    scope = firms.filter(pl.col("industry").is_in(list(industries)))
    recently = set(recent)
    scope = scope.with_columns(
        excluded=pl.col("uscc").is_in(list(recently)),
        _key=pl.Series(draw_keys(seed, department, scope["uscc"].to_list()), dtype=pl.UInt64),
    )
    eligible = scope.filter(~pl.col("excluded"))
    if eligible.height == 0:
        warnings.append(
            Warning_(
                "no_firms",
                f"{month} 本部门所辖行业（{'、'.join(industries)}）没有可抽取的企业。",
                f"no eligible firm in the department's industries ({', '.join(industries)}) "
                f"for {month}",
            )
        )
    mandatory = eligible.filter(pl.col("tier").is_in(policy.mandatory))
    sampled_tiers = [t for t in TIER_ORDER if t not in policy.mandatory]
    counts = {t: eligible.filter(pl.col("tier") == t).height for t in TIER_ORDER}
    drawn: dict[str, int] = dict.fromkeys(TIER_ORDER, 0)
    design = {t: (CENSUS if t in policy.mandatory else SAMPLE) for t in TIER_ORDER}
    deferred = mandatory.head(0)
    if mandatory.height > capacity:
        by_score = mandatory.sort(
            ["probability", "uscc"], descending=[True, False], nulls_last=True
        )
        planned_mandatory, deferred = by_score.head(capacity), by_score.slice(capacity)
        for tier in policy.mandatory:
            design[tier] = BY_SCORE
        warnings.append(
            Warning_(
                "capacity_below_mandatory",
                f"本月检查能力 {capacity} 户，少于必查的 {mandatory.height} 家"
                f"{'、'.join(policy.mandatory)}级企业：按模型评分从高到低安排 {capacity} 家，"
                f"其余 {deferred.height} 家顺延，其他等级本月不抽取。",
                f"capacity {capacity} is below the {mandatory.height} mandatory class "
                f"{'/'.join(policy.mandatory)} firms: the {capacity} with the highest model score "
                f"are planned, {deferred.height} deferred, no other class is sampled",
            )
        )
        sizes = dict.fromkeys(sampled_tiers, 0)
    else:
        planned_mandatory = mandatory
        sizes = _sample_sizes(
            {t: counts[t] for t in sampled_tiers},
            policy,
            capacity - mandatory.height,
            seed,
            department,
            warnings,
        )
    for tier in policy.mandatory:
        drawn[tier] = planned_mandatory.filter(pl.col("tier") == tier).height
    samples = [
        eligible.filter(pl.col("tier") == tier).sort("_key").head(size)
        for tier, size in sizes.items()
    ]
    for tier, size in sizes.items():
        drawn[tier] = size
    chosen = pl.concat(
        [
            planned_mandatory.with_columns(selection=pl.lit(MANDATORY)),
            *(s.with_columns(selection=pl.lit(RANDOM)) for s in samples),
        ],
        how="vertical",
    )
    inspectors, short = _assign_inspectors(
        chosen, roster, last_inspectors, conflicts, policy.inspectors_per_firm, seed, department
    )
    if chosen.height and not roster:
        raise PlanInputError(
            f"department {department}: no inspector on duty in the roster, so none of its "
            f"{chosen.height} planned firms can be assigned"
        )
    if short:
        warnings.append(
            Warning_(
                "inspectors_short",
                f"{len(short)} 家企业可派检查人员不足 {policy.inspectors_per_firm} 名"
                f"（回避或上次已检查）：{'、'.join(short[:10])}",
                f"{len(short)} firm(s) have fewer than {policy.inspectors_per_firm} allowed "
                f"inspectors (conflicts or last time's inspectors): {', '.join(short[:10])}",
            )
        )
    rank = {t: i for i, t in enumerate(TIER_ORDER)}
    plan = (
        chosen.join(inspectors, on="uscc", how="left")
        .with_columns(
            department=pl.lit(department),
            month=pl.lit(month),
            draw_key=pl.col("_key").map_elements(lambda k: f"{k:016x}", return_dtype=pl.String),
            _rank=pl.col("tier").replace_strict(rank, return_dtype=pl.Int8),
        )
        .sort(["_rank", "uscc"], descending=[True, False])
        .select(
            "department",
            "month",
            *FIRM_COLUMNS,
            "selection",
            "draw_key",
            *[f"inspector_{i}" for i in range(1, policy.inspectors_per_firm + 1)],
        )
    )
    strata = _strata(scope, counts, drawn, deferred.height, design, policy, department, month)
    deferred_out = deferred.select(
        pl.lit(department).alias("department"), pl.lit(month).alias("month"), *FIRM_COLUMNS
    )
    return DepartmentDraw(plan, deferred_out, strata, warnings)


def _sample_sizes(
    eligible: dict[str, int],
    policy: PlanPolicy,
    room: int,
    seed: int,
    department: str,
    warnings: list[Warning_],
) -> dict[str, int]:
    """How many firms of each sampled class: randomised rounding of rate x eligible, scaled
    down when the capacity left after the mandatory firms is smaller."""
    expected = {t: policy.rates[t] * n for t, n in eligible.items()}
    total = sum(expected.values())
    if total <= room:
        sizes = {}
        for tier, value in expected.items():
            up = draw_uniform(seed, department, f"stratum:{tier}") < value - math.floor(value)
            sizes[tier] = min(math.floor(value) + int(up), eligible[tier])
        # Rounding up may overshoot a capacity that fits the expectation: give back the units
        # rounded up furthest from their expectation.
        while sum(sizes.values()) > room:
            tier = max(sizes, key=lambda t: (sizes[t] - expected[t], -TIER_ORDER.index(t)))
            sizes[tier] -= 1
        return sizes
    factor = room / total if total else 0.0
    scaled = {t: v * factor for t, v in expected.items()}
    sizes = {t: math.floor(v) for t, v in scaled.items()}
    left = room - sum(sizes.values())
    by_fraction = sorted(scaled, key=lambda t: (-(scaled[t] - sizes[t]), TIER_ORDER.index(t)))
    for tier in by_fraction[:left]:
        sizes[tier] += 1
    warnings.append(
        Warning_(
            "capacity_scaled",
            f"必查企业之后剩余检查能力 {room} 户，少于按比例应抽的 {total:.1f} 户："
            f"各等级抽查比例同比例下调为原来的 {factor:.1%}。",
            f"the {room} inspections left after the mandatory firms are fewer than the "
            f"{total:.1f} the rates expect: every rate is scaled to {factor:.1%} of its value",
        )
    )
    return sizes


def _assign_inspectors(
    chosen: pl.DataFrame,
    roster: Sequence[str],
    last_inspectors: pl.DataFrame,
    conflicts: pl.DataFrame,
    per_firm: int,
    seed: int,
    department: str,
) -> tuple[pl.DataFrame, list[str]]:
    """Inspector ids per planned firm (``inspector_1`` ...) and the firms that got fewer."""
    columns = [f"inspector_{i}" for i in range(1, per_firm + 1)]
    schema = {"uscc": pl.String, **dict.fromkeys(columns, pl.String)}
    inspectors = sorted(set(roster))
    if chosen.height == 0 or not inspectors:
        return pl.DataFrame(schema=schema), []
    n = len(inspectors)
    position = {inspector: i for i, inspector in enumerate(inspectors)}
    order = np.argsort(
        draw_keys(seed, department, [f"inspector:{i}" for i in inspectors]), kind="stable"
    )
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    banned: dict[str, set[int]] = {}
    for frame in (last_inspectors, conflicts):
        for uscc, inspector in frame.select("uscc", "inspector_id").iter_rows():
            if inspector in position:
                banned.setdefault(uscc, set()).add(position[inspector])
    loads = np.zeros(n, dtype=np.int64)
    rows, short = [], []
    for uscc, key in chosen.sort("_key").select("uscc", "_key").iter_rows():
        allowed = np.ones(n, dtype=bool)
        allowed[list(banned.get(uscc, ()))] = False
        turned = (rank + int(key) % n) % n
        score = np.where(allowed, loads * n + turned, np.iinfo(np.int64).max)
        take = min(per_firm, int(allowed.sum()))
        picked = np.argsort(score, kind="stable")[:take]
        loads[picked] += 1
        names = [inspectors[i] for i in picked] + [None] * (per_firm - take)
        rows.append([uscc, *names])
        if take < per_firm:
            short.append(uscc)
    return pl.DataFrame(rows, schema=schema, orient="row"), sorted(short)


def _strata(
    scope: pl.DataFrame,
    eligible: dict[str, int],
    drawn: dict[str, int],
    deferred: int,
    design: dict[str, str],
    policy: PlanPolicy,
    department: str,
    month: str,
) -> pl.DataFrame:
    rows = []
    for tier in TIER_ORDER:
        in_scope = scope.filter(pl.col("tier") == tier)
        mandatory = tier in policy.mandatory
        rows.append(
            {
                "department": department,
                "month": month,
                "tier": tier,
                "firms": in_scope.height,
                "excluded": in_scope.filter(pl.col("excluded")).height,
                "eligible": eligible[tier],
                "rate": policy.rates[tier],
                "mandatory": mandatory,
                "expected": float(eligible[tier])
                if mandatory
                else policy.rates[tier] * eligible[tier],
                "drawn": drawn[tier],
                "deferred": deferred if mandatory else 0,
                "inclusion": drawn[tier] / eligible[tier] if eligible[tier] else None,
                "design": design[tier],
            }
        )
    return pl.DataFrame(rows).cast({"firms": pl.Int64, "eligible": pl.Int64, "drawn": pl.Int64})


def _check_firms(firms: pl.DataFrame, department: str) -> None:
    missing = [c for c in FIRM_COLUMNS if c not in firms.columns]
    if missing:
        raise PlanInputError(f"department {department}: the tier snapshot lacks {missing}")
    repeated = firms.filter(pl.col("uscc").is_duplicated())["uscc"]
    if len(repeated):
        raise PlanInputError(f"the tier snapshot repeats firm {repeated[0]}")
    bad = firms.filter(pl.col("tier").is_null() | ~pl.col("tier").is_in(TIER_ORDER))
    if bad.height:
        raise PlanInputError(
            f"the tier snapshot gives firm {bad['uscc'][0]} the class {bad['tier'][0]!r}"
        )
