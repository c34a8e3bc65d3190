"""Pooled training: one booster over several industries' rows, one calibrated model per industry.

The members declared under ``pool:`` in models/industries.yaml each label and split their own
rows as ``models.pipeline.train_industry`` does. One booster then learns from the union of their
train rows, each row marked by ``industry_is_<key>`` indicators (Int8), and stops early on the
union of their purged valid rows: an industry with few events borrows the others' patterns. Each
member's model is that booster with its indicators fixed to its own industry
(``models.train.FIXED_INPUTS``), calibrated on its OWN valid rows' margins, then evaluated like
any industry's (its own baseline, test rows and oracle). Its frames need no indicator columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import date

import polars as pl

from models.calibrate import choose_calibrator
from models.config import IndustrySpec
from models.labels import LABEL
from models.pipeline import IndustryResult, Prepared, evaluate_industry, prepare
from models.split import TrainingRows
from models.train import FIXED_INPUTS, RiskModel, TrainConfig, fit_risk_model

INDICATOR_PREFIX = "industry_is_"
POOL = "pool"  # model metadata: the members and what each contributed to the booster


@dataclasses.dataclass(frozen=True)
class Member:
    """One pooled industry's inputs, as ``train_industry`` takes them."""

    history: pl.DataFrame
    outcomes: pl.DataFrame
    spec: IndustrySpec
    # Simulated parks only: the simulator's latent stress, scoring the test rows as the oracle.
    stress: pl.DataFrame | None = None


def indicator(key: str) -> str:
    return f"{INDICATOR_PREFIX}{key}"


def is_indicator(name: str) -> bool:
    return name.startswith(INDICATOR_PREFIX)


def train_pooled(
    members: Mapping[str, Member],
    *,
    known_until: date,
    directions: Mapping[str, str] | None = None,
    descriptors: Collection[str] = (),
    seed: int = 0,
    config: TrainConfig | None = None,
    wanted: Collection[str] | None = None,
    training_rows: TrainingRows | None = None,
) -> dict[str, IndustryResult]:
    """One booster over every member's rows; one ``IndustryResult`` per wanted member (all by
    default), in the members' order.

    Every member's rows train the booster whichever are wanted, so a member's model is the same
    whether it is trained alone or with the others. Only the wanted members are calibrated and
    evaluated: a member that is not wanted may hold too few events of its own for that (a tiny
    park's valid weeks without one), which must not stop the others.

    ``config`` defaults to the members' shared training settings (models.config refuses a
    member with its own), which must then be the same for all. ``training_rows``
    (models.split.TrainingRows) changes every member's training rows alike.
    """
    if len(members) < 2:
        raise ValueError(f"a pool needs two industries or more, got {list(members)}")
    wanted = list(members) if wanted is None else list(wanted)
    strangers = [key for key in wanted if key not in members]
    if strangers:
        raise ValueError(f"{strangers} are not members of the pool {list(members)}")
    prepared = {
        key: prepare(
            m.history,
            m.outcomes,
            m.spec,
            known_until=known_until,
            descriptors=descriptors,
            training_rows=training_rows,
        )
        for key, m in members.items()
    }
    names = shared_inputs(prepared)
    indicators = tuple(indicator(key) for key in members)
    clash = sorted(set(indicators) & set(names))
    if clash:
        raise ValueError(f"the feature history already has columns named {clash}")
    if config is None:
        settings = {key: m.spec.training for key, m in members.items()}
        if len(set(settings.values())) > 1:
            raise ValueError(
                f"pooled industries must share their training settings, got {settings}"
            )
        config = next(iter(settings.values()))
    config = config.model_copy(update={"seed": seed})
    booster_model = fit_risk_model(
        _marked(prepared, "train", names),
        _marked(prepared, "stopping", names),
        (*names, *indicators),
        directions=directions,
        config=config,
    )
    contributed = {key: _contribution(p) for key, p in prepared.items()}
    results = {}
    for key, part in prepared.items():
        if key not in wanted:
            continue
        model = member_model(booster_model, key, part, list(members), contributed, config)
        results[key] = evaluate_industry(
            part, model, known_until=known_until, seed=seed, stress=members[key].stress
        )
    return results


def member_model(
    pooled: RiskModel,
    key: str,
    part: Prepared,
    keys: list[str],
    contributed: Mapping[str, Mapping[str, int]],
    config: TrainConfig,
) -> RiskModel:
    """``pooled``'s booster as ``key``'s model: indicators fixed to ``key``, calibrated on the
    margins of ``key``'s own valid rows."""
    fixed = {indicator(other): int(other == key) for other in keys}
    with_fixed = dataclasses.replace(pooled, metadata={**pooled.metadata, FIXED_INPUTS: fixed})
    valid = part.split.valid
    y = valid.get_column(LABEL).cast(pl.Int64).to_numpy()
    calibrator = choose_calibrator(
        with_fixed.margin(valid), y, folds=config.calibration_folds, seed=config.seed
    )
    return dataclasses.replace(
        with_fixed,
        calibrator=calibrator,
        metadata={
            **with_fixed.metadata,
            "calibration_rows": len(y),
            "calibration_positives": int(y.sum()),
            POOL: {"members": list(keys), "rows": dict(contributed)},
        },
    )


def shared_inputs(prepared: Mapping[str, Prepared]) -> tuple[str, ...]:
    """The members' model inputs, which must be the same columns (one feature history)."""
    first_key, first = next(iter(prepared.items()))
    for key, part in prepared.items():
        if part.names != first.names:
            only_here = sorted(set(part.names) - set(first.names))
            only_there = sorted(set(first.names) - set(part.names))
            raise ValueError(
                f"pooled industries need the same inputs: {key} has {only_here[:10]} that "
                f"{first_key} lacks and lacks {only_there[:10]}"
                if only_here or only_there
                else f"pooled industries need their inputs in one order: {key} differs from "
                f"{first_key}"
            )
    return first.names


def _marked(prepared: Mapping[str, Prepared], part: str, names: tuple[str, ...]) -> pl.DataFrame:
    """Every member's ``part`` rows (train or stopping) with its indicators, stacked in order."""
    frames = []
    for key, p in prepared.items():
        rows = p.split.train if part == "train" else p.stopping
        frames.append(
            rows.select(*names, LABEL).with_columns(
                pl.lit(int(other == key), dtype=pl.Int8).alias(indicator(other))
                for other in prepared
            )
        )
    return pl.concat(frames, how="vertical_relaxed")


def _contribution(part: Prepared) -> dict[str, int]:
    train, stopping = part.split.train, part.stopping
    return {
        "train_rows": train.height,
        "train_events": int(train.get_column(LABEL).sum()),
        "stopping_rows": stopping.height,
        "stopping_events": int(stopping.get_column(LABEL).sum()),
    }
