"""The credit risk class (A-D) of every enterprise, and which part of the policy set it.

Pure: frames and the policy in, frames out. The policy is ``models/tiering.yaml`` (package data,
read by ``load_tier_policy``); its header says how the four steps combine. ``tier_firms`` applies
it to one row per firm of *components* (what the model, the credit evaluation and the lists say
about the firm at the as-of date) and adds the class, the step that set it (``basis``) and, for a
list, which list. ``basis_text`` turns a row into the sentence a firm's page shows.

How the components are read from the lake at an as-of date: ``models.tier_inputs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from data_contracts.schema import Bilingual
from models.config import TIER_ORDER

# What set a firm's class (``basis``), in the order the steps run.
MODEL = "model"
CREDIT_LIMIT = "credit_limit"
CREDIT_EVALUATION = "credit_evaluation"
DEFAULT = "default"
FLOOR = "floor"
CAP = "cap"
OVERRIDE = "override"
BASES = (MODEL, CREDIT_LIMIT, CREDIT_EVALUATION, DEFAULT, CAP, FLOOR, OVERRIDE)

COMPONENT_SCHEMA = {
    "uscc": pl.String,
    "model": pl.String,  # the key of the model that scored the firm (null: none did)
    "probability": pl.Float64,  # its calibrated probability (null: not scored)
    "model_tier": pl.String,  # the class that probability falls in, by the model's own bounds
    "credit_grade": pl.String,  # the latest public credit evaluation's grade in force
    "credit_year": pl.Date,  # that evaluation's year (1 January)
}
OVERRIDE_SCHEMA = {"uscc": pl.String, "tier": pl.String, "reason": pl.String}
Tier = Literal["A", "B", "C", "D"]


class TieringInputError(ValueError):
    """Components the policy cannot be applied to (names the column and the firm)."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CreditEvaluation(Frozen):
    source: str
    grade_column: str
    grades: dict[str, Tier]  # delivered grade -> class
    max_age_days: int = Field(gt=0)


class CreditList(Frozen):
    name: Bilingual
    source: str
    effect: Literal["floor", "cap"]
    tier: Tier
    in_force_days: int = Field(gt=0)
    valid_until_column: str | None = None


class Population(Frozen):
    exclude_uscc_prefixes: dict[str, Bilingual] = Field(default_factory=dict)


class TierPolicy(Frozen):
    classes: dict[Tier, Bilingual]
    default_tier: Tier
    max_steps_from_credit: int = Field(ge=0, le=3)
    population: Population = Population()
    credit_evaluation: CreditEvaluation
    lists: dict[str, CreditList] = Field(default_factory=dict)
    bases: dict[str, Bilingual]

    @model_validator(mode="after")
    def _complete(self) -> TierPolicy:
        if tuple(self.classes) != TIER_ORDER:
            raise ValueError(f"classes must be {list(TIER_ORDER)} in that order")
        missing = sorted(set(BASES) - set(self.bases))
        if missing:
            raise ValueError(f"bases lacks the text of {missing}")
        return self

    def list_column(self, key: str) -> str:
        """The component column holding the date a list's listing came into force."""
        return f"listed_{key}"

    def component_schema(self) -> dict[str, pl.DataType]:
        return {**COMPONENT_SCHEMA, **{self.list_column(k): pl.Date for k in self.lists}}

    def excluded(self, uscc: pl.Expr) -> pl.Expr:
        """True for an entity the policy gives no class (by its credit code's kind)."""
        prefixes = list(self.population.exclude_uscc_prefixes)
        if not prefixes:
            return pl.lit(False)
        return pl.any_horizontal(uscc.str.starts_with(p) for p in prefixes)


def parse_tier_policy(data: Mapping[str, Any]) -> TierPolicy:
    return TierPolicy.model_validate(data)


@cache
def load_tier_policy() -> TierPolicy:
    text = (resources.files("models") / "tiering.yaml").read_text(encoding="utf-8")
    return parse_tier_policy(yaml.safe_load(text))


def tier_firms(
    components: pl.DataFrame, policy: TierPolicy, overrides: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Every component row with ``credit_tier``, ``base_tier`` (after steps 1-2), ``tier``,
    ``basis`` (one of ``BASES``), ``basis_list`` (the list, for a floor or a cap) and
    ``override_reason``; sorted by uscc.

    ``overrides`` (uscc, tier, reason): an analyst's class for a firm, which wins over the rest.
    """
    _check(components, policy)
    rank = {tier: number for number, tier in enumerate(TIER_ORDER)}
    credit = pl.col("credit_grade").replace_strict(
        policy.credit_evaluation.grades, default=None, return_dtype=pl.String
    )
    frame = components.with_columns(credit_tier=credit).with_columns(
        _model_rank=pl.col("model_tier").replace_strict(rank, default=None, return_dtype=pl.Int8),
        _credit_rank=pl.col("credit_tier").replace_strict(rank, default=None, return_dtype=pl.Int8),
    )
    frame = frame.with_columns(_base_and_basis(policy, rank)).unnest("_base")
    frame = _apply_lists(frame, policy, CAP)
    frame = _apply_lists(frame, policy, FLOOR)
    frame = _apply_overrides(frame, overrides, rank)
    letters = dict(enumerate(TIER_ORDER))
    return (
        frame.with_columns(
            base_tier=pl.col("_base_rank").replace_strict(letters, return_dtype=pl.String),
            tier=pl.col("_rank").replace_strict(letters, return_dtype=pl.String),
        )
        .drop(pl.selectors.starts_with("_"))
        .sort("uscc")
    )


def _base_and_basis(policy: TierPolicy, rank: dict[str, int]) -> pl.Expr:
    """Steps 1 and 2: the model within reach of the credit evaluation, or whichever exists."""
    model, credit = pl.col("_model_rank"), pl.col("_credit_rank")
    steps = policy.max_steps_from_credit
    bounded = pl.min_horizontal(pl.max_horizontal(model, credit - steps), credit + steps)
    base = (
        pl.when(model.is_not_null() & credit.is_not_null())
        .then(bounded)
        .when(model.is_not_null())
        .then(model)
        .when(credit.is_not_null())
        .then(credit)
        .otherwise(pl.lit(rank[policy.default_tier]))
        .cast(pl.Int8)
    )
    basis = (
        pl.when(model.is_not_null() & credit.is_not_null())
        .then(pl.when(bounded == model).then(pl.lit(MODEL)).otherwise(pl.lit(CREDIT_LIMIT)))
        .when(model.is_not_null())
        .then(pl.lit(MODEL))
        .when(credit.is_not_null())
        .then(pl.lit(CREDIT_EVALUATION))
        .otherwise(pl.lit(DEFAULT))
    )
    return pl.struct(
        base.alias("_base_rank"),
        base.alias("_rank"),
        basis.alias("basis"),
        pl.lit(None, dtype=pl.String).alias("basis_list"),
    ).alias("_base")


def _apply_lists(frame: pl.DataFrame, policy: TierPolicy, effect: str) -> pl.DataFrame:
    """Step 3 for one effect: the strictest list of that effect in force binds, if it changes
    the class (the first such list in the policy's order when several are as strict)."""
    members = [(k, lst) for k, lst in policy.lists.items() if lst.effect == effect]
    if not members:
        return frame
    rank = {tier: number for number, tier in enumerate(TIER_ORDER)}
    # Strictest first: the highest floor, the lowest cap; config order breaks ties.
    members.sort(key=lambda item: -rank[item[1].tier] if effect == FLOOR else rank[item[1].tier])
    limit = pl.lit(None, dtype=pl.Int8)
    which = pl.lit(None, dtype=pl.String)
    for key, lst in reversed(members):  # the strictest is applied last, so it wins
        in_force = pl.col(policy.list_column(key)).is_not_null()
        limit = pl.when(in_force).then(pl.lit(rank[lst.tier], dtype=pl.Int8)).otherwise(limit)
        which = pl.when(in_force).then(pl.lit(key)).otherwise(which)
    binds = limit.is_not_null() & (
        (pl.col("_rank") < limit) if effect == FLOOR else (pl.col("_rank") > limit)
    )
    return frame.with_columns(
        _rank=pl.when(binds).then(limit).otherwise(pl.col("_rank")),
        basis=pl.when(binds).then(pl.lit(effect)).otherwise(pl.col("basis")),
        basis_list=pl.when(binds).then(which).otherwise(pl.col("basis_list")),
    )


def _apply_overrides(
    frame: pl.DataFrame, overrides: pl.DataFrame | None, rank: dict[str, int]
) -> pl.DataFrame:
    if overrides is None or overrides.height == 0:
        return frame.with_columns(override_reason=pl.lit(None, dtype=pl.String))
    _check_overrides(overrides)
    pinned = overrides.select(
        "uscc",
        _override=pl.col("tier").replace_strict(rank, return_dtype=pl.Int8),
        override_reason=pl.col("reason"),
    )
    joined = frame.join(pinned, on="uscc", how="left", maintain_order="left")
    pinned_here = pl.col("_override").is_not_null()
    return joined.with_columns(
        _rank=pl.when(pinned_here).then(pl.col("_override")).otherwise(pl.col("_rank")),
        basis=pl.when(pinned_here).then(pl.lit(OVERRIDE)).otherwise(pl.col("basis")),
        basis_list=pl.when(pinned_here).then(None).otherwise(pl.col("basis_list")),
    ).drop("_override")


def _check(components: pl.DataFrame, policy: TierPolicy) -> None:
    schema = policy.component_schema()
    missing = [c for c in schema if c not in components.columns]
    if missing:
        raise TieringInputError(f"tier components lack column(s) {missing}")
    repeated = components.filter(pl.col("uscc").is_duplicated())["uscc"].unique().sort()
    if len(repeated):
        raise TieringInputError(f"column uscc repeats firm(s) {repeated.head(5).to_list()}")
    for column, allowed in (
        ("model_tier", TIER_ORDER),
        ("credit_grade", tuple(policy.credit_evaluation.grades)),
    ):
        bad = components.filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(allowed))
        if bad.height:
            row = bad.row(0, named=True)
            raise TieringInputError(
                f"column {column} is {row[column]!r} for firm {row['uscc']}; "
                f"expected one of {list(allowed)} or null"
            )
    unscored = components.filter(pl.col("model_tier").is_null() != pl.col("probability").is_null())
    if unscored.height:
        raise TieringInputError(
            f"firm {unscored['uscc'][0]}: columns probability and model_tier must both be set "
            "or both be null"
        )


def _check_overrides(overrides: pl.DataFrame) -> None:
    missing = [c for c in OVERRIDE_SCHEMA if c not in overrides.columns]
    if missing:
        raise TieringInputError(f"overrides lack column(s) {missing}")
    if overrides["uscc"].is_duplicated().any():
        uscc = overrides.filter(pl.col("uscc").is_duplicated())["uscc"][0]
        raise TieringInputError(f"overrides: firm {uscc} has more than one override")
    bad = overrides.filter(
        ~pl.col("tier").is_in(TIER_ORDER)
        | pl.col("reason").is_null()
        | (pl.col("reason").str.strip_chars() == "")
    )
    if bad.height:
        row = bad.row(0, named=True)
        raise TieringInputError(
            f"overrides: firm {row['uscc']} needs a class in {list(TIER_ORDER)} and a reason "
            f"(got tier {row['tier']!r}, reason {row['reason']!r})"
        )


def basis_text(
    row: Mapping[str, Any],
    policy: TierPolicy,
    lang: Literal["zh", "en"],
    model_names: Mapping[str, str],
) -> str:
    """What set one firm's class, as a sentence in ``lang`` (``model_names``: model key -> its
    name in that language)."""
    chinese = lang == "zh"
    basis = row["basis"]
    template = policy.bases[basis].zh if chinese else policy.bases[basis].en
    listed = policy.lists.get(row.get("basis_list") or "")
    since = row.get(policy.list_column(row["basis_list"])) if listed else None
    year = row.get("credit_year")
    probability = row.get("probability")
    return template.format(
        model=model_names.get(row.get("model") or "", row.get("model") or ""),
        probability="" if probability is None else f"{probability:.1%}",
        model_tier=row.get("model_tier") or "",
        credit_grade=row.get("credit_grade") or "",
        credit_year="" if year is None else str(year)[:4],
        steps=policy.max_steps_from_credit,
        default_tier=policy.default_tier,
        list=(listed.name.zh if chinese else listed.name.en) if listed else "",
        since="" if since is None else str(since),
        tier=row.get("tier") or "",
        reason=row.get("override_reason") or "",
    )
