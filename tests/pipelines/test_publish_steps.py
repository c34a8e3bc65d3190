"""The publish steps without Prefect: the week, scoring and explaining, the list table, the
master lookup, PII scrubbing of facts, and the site's small helpers."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from models.baseline import fit_baseline
from models.explain import BASE_COLUMN, MARGIN_COLUMN
from pipelines.io import lake_sources
from pipelines.site import change_label, find_publications, history_svg
from pipelines.timeline import previous_week, resolve_week
from pipelines.weekly_list import (
    LIST_HEADERS,
    industry_rows,
    masked_profiles,
    master_at,
    risk_list,
    score_rows,
    scrubber_for,
)
from tests.pipelines.publish_world import AS_OF, build_world, world_config


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("steps"), seed=3)


def test_week_is_published_with_the_data_as_of_the_sunday_before_its_monday():
    assert resolve_week("2026-W47") == ("2026-W47", dt.date(2026, 11, 15))
    assert dt.date(2026, 11, 15).weekday() == 6


def test_default_week_is_the_one_containing_today():
    assert resolve_week(None, today=dt.date(2026, 11, 21)) == ("2026-W47", dt.date(2026, 11, 15))
    assert resolve_week(None, today=dt.date(2026, 11, 16))[0] == "2026-W47"  # its Monday


def test_week_53_and_the_turn_of_the_year():
    assert resolve_week("2026-W53") == ("2026-W53", dt.date(2026, 12, 27))
    assert previous_week("2027-W01") == "2026-W53"
    assert previous_week("2026-W01") == "2025-W52"


@pytest.mark.parametrize("bad", ["2026-47", "2026W47", "W47", "2026-W7", "2025-W53"])
def test_malformed_or_missing_week_is_rejected_with_its_text(bad):
    with pytest.raises(ValueError, match=bad):
        resolve_week(bad)


def test_industry_rows_keep_only_the_sector(world):
    table = pl.read_parquet(world.settings.features / f"as_of={AS_OF.isoformat()}.parquet")
    spec = world_config().industries["education"]
    rows = industry_rows(table, spec)
    assert set(rows["sector"]) == {"教育培训"}
    assert rows["uscc"].is_sorted()


def test_scoring_explains_only_firms_with_enough_data(world):
    table = pl.read_parquet(world.settings.features / f"as_of={AS_OF.isoformat()}.parquet")
    model, _ = world.tracker.load_model("finance")
    rows = industry_rows(table, world_config().industries["finance"])
    scored, explanations = score_rows(model, rows)
    assert scored.height == rows.height
    flagged = set(scored.filter(pl.col("insufficient_data"))["uscc"])
    assert flagged and not flagged & set(explanations["uscc"])
    assert explanations.columns[:3] == ["uscc", MARGIN_COLUMN, BASE_COLUMN]


def test_a_serving_logistic_baseline_scores_and_explains_like_a_booster(world):
    # When the gate makes the baseline champion, publish scores with it: its exact linear
    # contributions pass the same additivity check, its margin orders the list.
    table = pl.read_parquet(world.settings.features / f"as_of={AS_OF.isoformat()}.parquet")
    booster, _ = world.tracker.load_model("finance")
    rows = industry_rows(table, world_config().industries["finance"])
    labelled = rows.with_columns(label=(pl.int_range(pl.len()) % 3 == 0).cast(pl.Int8))
    baseline = fit_baseline(labelled, booster.feature_names)
    scored, explanations = score_rows(baseline, rows)
    assert scored["probability"].to_list() == pytest.approx(baseline.predict_proba(rows).tolist())
    assert scored["margin"].to_list() == pytest.approx(baseline.margin(rows).tolist())
    explained = set(explanations["uscc"])
    assert explained == set(scored.filter(~pl.col("insufficient_data"))["uscc"])


def test_scoring_an_industry_with_no_firms_gives_empty_frames(world):
    table = pl.read_parquet(world.settings.features / f"as_of={AS_OF.isoformat()}.parquet")
    model, _ = world.tracker.load_model("finance")
    scored, explanations = score_rows(model, table.head(0))
    assert scored.height == 0 and explanations.height == 0


def test_master_lookup_takes_the_snapshot_usable_at_the_as_of_date(world):
    sources = lake_sources(world.settings.lake)
    uscc = world.firms["uscc"].head(3).to_list()
    assert master_at(sources, uscc, AS_OF)["uscc"].to_list() == uscc
    # The only snapshot is dated 2026-11-09: a week earlier nothing is known yet.
    assert master_at(sources, uscc, dt.date(2026, 11, 1)).height == 0


def test_profiles_mask_personal_data_and_leave_out_the_id_number(world):
    sources = lake_sources(world.settings.lake)
    master = master_at(sources, world.firms["uscc"].head(2).to_list(), AS_OF)
    profiles = masked_profiles(master)
    assert "legal_rep_id_number" not in profiles.columns
    raw = world.firms.row(0, named=True)
    assert profiles["legal_rep_name"][0] == raw["legal_rep_name"][0] + "***"
    assert (
        profiles["legal_rep_phone"][0]
        == raw["legal_rep_phone"][:3] + "****" + raw["legal_rep_phone"][-4:]
    )


def test_scrubber_masks_pii_of_the_firms_from_any_source(world):
    sources = lake_sources(world.settings.lake)
    firm = world.firms.row(0, named=True)
    scrub = scrubber_for(sources, [firm["uscc"]])
    text = f"新任法定代表人{firm['new_legal_rep_name']}，来电{firm['caller_phone']}"
    cleaned = scrub(text)
    assert firm["new_legal_rep_name"] not in cleaned and firm["caller_phone"] not in cleaned
    assert cleaned.startswith("新任法定代表人" + firm["new_legal_rep_name"][0] + "*")


def test_risk_list_puts_listed_firms_in_rank_order_with_reasons_side_by_side():
    ranked = pl.DataFrame(
        {
            "uscc": ["b", "a", "c"],
            "probability": [0.3, 0.2, 0.1],
            "insufficient_data": [False, False, False],
            "rank": pl.Series([1, 2, 3], dtype=pl.UInt32),
            "tier": ["D", "D", "C"],
            "listed": [True, True, False],
        }
    )
    profiles = pl.DataFrame(
        {"uscc": ["a", "b"], "name": ["甲", "乙"], "district": ["湖西", "湖东"]}
    )
    reasons = pl.DataFrame(
        {
            "uscc": ["b", "b", "a"],
            "reason_rank": pl.Series([1, 2, 1], dtype=pl.UInt8),
            "reason_zh": ["原因一", "原因二", "原因甲"],
            "reason_en": ["one", "two", "first"],
        }
    )
    table = risk_list(ranked, profiles, reasons, "金融", ["↑1", "新上榜"])
    assert table["uscc"].to_list() == ["b", "a"]
    assert table["name"].to_list() == ["乙", "甲"]
    assert table["change"].to_list() == ["↑1", "新上榜"]
    assert table.row(0, named=True)["reason_2_zh"] == "原因二"
    assert table.row(1, named=True)["reason_2_zh"] is None
    assert list(LIST_HEADERS) == table.columns[: len(LIST_HEADERS)]


def test_risk_list_needs_one_change_label_per_listed_firm():
    ranked = pl.DataFrame(
        {
            "uscc": ["a"],
            "probability": [0.2],
            "rank": pl.Series([1], dtype=pl.UInt32),
            "tier": ["D"],
            "listed": [True],
            "insufficient_data": [False],
        }
    )
    with pytest.raises(ValueError, match="0 change labels for 1 listed firms"):
        risk_list(
            ranked,
            pl.DataFrame({"uscc": ["a"], "name": ["甲"], "district": ["湖西"]}),
            pl.DataFrame(
                schema={
                    "uscc": pl.String,
                    "reason_rank": pl.UInt8,
                    "reason_zh": pl.String,
                    "reason_en": pl.String,
                }
            ),
            "金融",
            [],
        )


@pytest.mark.parametrize(
    ("change", "new", "has_previous", "expected"),
    [
        (3, False, True, "↑3"),
        (-2, False, True, "↓2"),
        (0, False, True, "持平"),
        (None, True, True, "新上榜"),
        (None, None, False, "—"),
    ],
)
def test_change_label_reads_as_the_regulator_expects(change, new, has_previous, expected):
    assert change_label(change, new, has_previous).zh == expected


def test_history_chart_marks_each_week_and_skips_weeks_without_a_score():
    tiers = {"B": 0.03, "C": 0.08, "D": 0.2}
    points = [
        {"as_of": dt.date(2026, 11, 1), "probability": 0.05},
        {"as_of": dt.date(2026, 11, 8), "probability": None},
        {"as_of": dt.date(2026, 11, 15), "probability": 0.31},
    ]
    svg = history_svg(points, tiers)
    assert svg.count("<circle") == 2
    assert "31.0%" in svg and "D ≥ 20%" in svg
    assert history_svg([{"as_of": dt.date(2026, 11, 1), "probability": None}], tiers) is None


def test_publications_being_written_are_not_on_the_site(tmp_path):
    config = world_config()
    done = tmp_path / "2026-W47" / "finance"
    done.mkdir(parents=True)
    (done / "manifest.json").write_text("{}")
    (tmp_path / "2026-W47" / ".finance.partial-x").mkdir()
    (tmp_path / "2026-W46" / "education").mkdir(parents=True)  # no manifest: not complete
    (tmp_path / "drafts" / "finance").mkdir(parents=True)  # not a week
    found = find_publications(tmp_path, config)
    assert [(p.week, p.industry) for p in found] == [("2026-W47", "finance")]


def test_a_pooled_members_list_has_no_indicator_columns_to_read_and_cites_none(world, tmp_path):
    """A pooled model (models.pooled) fixes its industry indicators: the week's table has none,
    their contributions stay in each firm's additive sum, and no reason names one even when
    the indicator raises every firm's risk most."""
    import numpy as np
    import xgboost as xgb

    from models.calibrate import Calibrator
    from models.train import FIXED_INPUTS, RiskModel
    from pipelines import publish_io, publish_list
    from tests.pipelines.publish_world import WEEK

    champion, _ = world.tracker.load_model("finance")
    names = [*champion.feature_names, "industry_is_finance", "industry_is_education"]
    rng = np.random.default_rng(9)
    x = rng.poisson(1.0, size=(900, len(names))).astype(np.float64)
    finance = rng.integers(0, 2, 900)
    x[:, -2], x[:, -1] = finance, 1 - finance
    logit = x[:, names.index("si_arrears_months_6m")] * 0.9 - 4.0 + 3.0 * finance
    y = (rng.random(900) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": 1}
    booster = xgb.train(params, xgb.DMatrix(x, label=y, feature_names=names), 25)
    fixed = {"industry_is_finance": 1, "industry_is_education": 0}
    model = RiskModel(booster, Calibrator("none"), tuple(names), {FIXED_INPUTS: fixed})
    table = pl.read_parquet(world.settings.features / f"as_of={AS_OF.isoformat()}.parquet")
    assert "industry_is_finance" not in table.columns
    folder = tmp_path / WEEK / "finance"
    folder.mkdir(parents=True)
    publish_list.write_tables(
        folder,
        spec=world_config().industries["finance"],
        week=WEEK,
        as_of=AS_OF,
        table=table,
        model=model,
        sources=lake_sources(world.settings.lake),
        publish_root=tmp_path,
    )
    explanations = pl.read_parquet(folder / publish_io.EXPLANATIONS)
    assert explanations["industry_is_finance"].min() > 0  # it does raise every firm's risk
    reasons = pl.read_parquet(folder / publish_io.REASONS)
    assert reasons.height > 0
    assert not reasons["feature"].str.starts_with("industry_is_").any()
