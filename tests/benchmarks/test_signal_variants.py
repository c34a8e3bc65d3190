"""signal_variants' levers on the production path: a lever's overrides reach the pooled
training, and a lever that names no setting fails rather than measuring the production path
under another name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from pydantic import ValidationError

from models.config import load_industries
from models.split import TrainingRows
from tests.benchmarks.scripts import load_script, shipped_training


@pytest.fixture(scope="module")
def bench():
    return load_script("signal_variants")


@pytest.fixture(scope="module")
def shared():
    return shipped_training()


def test_every_pooled_variant_names_real_settings(bench, shared):
    for name, lever in bench.POOLED.items():
        config = lever.config(shared)
        assert isinstance(lever.training_rows(), TrainingRows), name
        for key, value in lever.training.items():
            assert getattr(config, key) == value, name


def test_a_lever_replaces_only_its_own_keys(bench, shared):
    config = bench.POOLED["pooled_stop_aucpr"].config(shared)
    assert config.stopping_metric == "aucpr"
    assert config.model_copy(update={"stopping_metric": shared.stopping_metric}) == shared
    assert bench.POOLED["pooled_bagged_3"].config(shared) == shared
    assert bench.POOLED["pooled_gap_180"].training_rows() == TrainingRows(gap_days=180)
    assert bench.POOLED["pooled_unconstrained"].constrained is False


def test_screening_replaces_every_levers_boosters(bench, shared):
    assert shared.seeds == 3  # the production path this screens against
    assert bench.POOLED["pooled_bagged_3"].config(shared, boosters=1).seeds == 1
    assert (
        bench.POOLED["pooled_patience_200"].config(shared, boosters=1).early_stopping_rounds == 200
    )


def test_a_training_key_that_names_no_setting_fails(bench, shared):
    with pytest.raises(ValidationError, match="early_stopping"):
        bench.Lever(training={"early_stopping": 100}).config(shared)


def test_a_rows_key_that_names_no_setting_fails(bench):
    with pytest.raises(ValidationError, match="valid_gap_days"):
        bench.Lever(rows={"valid_gap_days": 180}).training_rows()


def test_the_pooled_path_trains_with_the_levers_overrides(bench, shared, monkeypatch):
    seen = {}

    class Stop(Exception):
        pass

    def recorder(members, **kwargs):
        seen.update(kwargs, members=dict(members))
        raise Stop

    history = pl.DataFrame({"uscc": ["a"], "as_of": [date(2026, 1, 4)], "f_drop": [1.0]})
    monkeypatch.setattr(bench, "read_history", lambda path, spec: history)
    monkeypatch.setattr(bench, "pool_member", lambda settings, spec, rows, until: rows)
    monkeypatch.setattr(bench, "train_pooled", recorder)
    lever = bench.Lever(
        training={"early_stopping_rounds": 200},
        rows={"horizon_days": 90},
        constrained=False,
        drop=("f_drop",),
    )
    with pytest.raises(Stop):
        bench.pooled(bench.Settings(workdir=Path("unused")), 5, lever, boosters=1)
    assert seen["config"] == shared.model_copy(update={"early_stopping_rounds": 200, "seeds": 1})
    assert seen["training_rows"] == TrainingRows(horizon_days=90)
    assert seen["directions"] is None
    assert seen["seed"] == 5
    assert list(seen["members"]) == list(load_industries())
    assert all("f_drop" not in rows.columns for rows in seen["members"].values())
