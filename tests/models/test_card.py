"""Model cards from tiny hand-built inputs: sections, numbers, subgroups, rendering."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from features import registry
from models import card
from models.config import load_industries

TEMPLATES = Path(__file__).resolve().parents[2] / "reports" / "templates"
SPEC = load_industries()["finance"]
FEATURES = registry.feature_names()[:3]


def _version(version: int = 2, **changes) -> card.VersionFacts:
    facts = {
        "name": "ews-finance",
        "version": version,
        "run_id": f"run{version}",
        "created_at": datetime(2026, 11, version, 8, 30),
        "aliases": ("champion",),
        "owner": "analyst-1",
        "data_snapshot": "ab" * 32,
        "code_version": "c0ffee",
        "promotion_reason": "promoted: candidate pr_auc=0.3000 vs champion 0.2500",
        "status": "READY",
    }
    return card.VersionFacts(**{**facts, **changes})


def _training() -> card.TrainingFacts:
    return card.TrainingFacts(
        split={"train_start": "2024-01-01", "test_start": "2025-09-01", "test_end": "2026-05-01"},
        class_balance={
            "test": {
                "rows": 400,
                "positives": 20,
                "positive_rate": 0.05,
                "firms": 200,
                "positive_firms": 19,
            }
        },
        feature_names=FEATURES,
        calibration_method="platt",
    )


def _predictions(rows: int = 400, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    weeks = [date(2026, 1, 5), date(2026, 1, 12)]
    return pl.DataFrame(
        {
            "uscc": [f"F{i % (rows // 2):05d}" for i in range(rows)],
            "as_of": [weeks[i // (rows // 2)] for i in range(rows)],
            "label": (rng.random(rows) < 0.1).astype(np.int8),
            "probability": rng.random(rows) * 0.3,
        }
    )


def _facts(predictions: pl.DataFrame) -> pl.DataFrame:
    n = predictions.height
    return predictions.select("uscc", "as_of").with_columns(
        district=pl.Series(["east" if i % 2 else "west" for i in range(n)]),
        ownership_type=pl.lit("私营"),
        size_band=pl.lit("small"),
        firm_age_years=pl.Series([float(i % 15) for i in range(n)]),
        n_sources_known=pl.Series([i % 30 for i in range(n)], dtype=pl.Int64),
    )


def _calibration() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "bin": [0, 1],
            "rows": [300, 100],
            "positives": [6, 14],
            "mean_predicted": [0.02, 0.15],
            "observed_rate": [0.02, 0.14],
        }
    )


def _perf(**changes) -> card.Performance:
    model = {
        "roc_auc": {"value": 0.81, "ci_low": 0.74, "ci_high": 0.88},
        "brier": {"value": 0.04, "ci_low": 0.03, "ci_high": 0.05},
        "pr_auc": {"value": 0.3, "ci_low": math.nan, "ci_high": math.nan},
    }
    baseline = {"roc_auc": {"value": 0.7, "ci_low": 0.6, "ci_high": 0.8}}
    return card.Performance(**{"model": model, "baseline": baseline, **changes})


def _card(**changes) -> dict:
    predictions = _predictions()
    inputs = {
        "spec": SPEC,
        "version": _version(),
        "training": _training(),
        "perf": _perf(),
        "predictions": predictions,
        "firm_facts": _facts(predictions),
        "calibration_table": _calibration(),
        "contributions": np.tile([0.1, -0.5, 0.2, -3.0], (predictions.height, 1)),
        "history": [_version(1, aliases=()), _version(2)],
        "simulated": True,
        "plots": {"calibration": "v2_calibration.png", "explanation": "v2_shap.png"},
    }
    return card.build_card(**{**inputs, **changes})


def test_card_has_every_section_and_is_strict_json() -> None:
    built = _card()
    assert set(card.SECTIONS) <= set(built)
    json.dumps(built, allow_nan=False)


def test_metrics_are_passed_through_with_nan_as_null_and_differences() -> None:
    previous = {"roc_auc": {"value": 0.79, "ci_low": 0.7, "ci_high": 0.85}}
    built = _card(perf=_perf(previous_champion=previous, previous_champion_version=1))
    performance = built["performance"]
    assert performance["model"]["roc_auc"] == {"value": 0.81, "ci_low": 0.74, "ci_high": 0.88}
    assert performance["model"]["pr_auc"] == {"value": 0.3, "ci_low": None, "ci_high": None}
    row = next(r for r in performance["comparison"] if r["metric"] == "roc_auc")
    assert row["vs_baseline"] == pytest.approx(0.11)
    assert row["vs_previous_champion"] == pytest.approx(0.02)
    brier = next(r for r in performance["comparison"] if r["metric"] == "brier")
    assert brier["higher_is_better"] is False
    assert brier["baseline"] is None and brier["vs_baseline"] is None
    assert performance["previous_champion_version"] == 1


def test_without_previous_champion_comparison_is_null() -> None:
    row = _card()["performance"]["comparison"][0]
    assert row["previous_champion"] is None and row["vs_previous_champion"] is None


def test_version_of_another_industry_is_rejected() -> None:
    with pytest.raises(card.CardInputError, match="not a model of industry 'finance'"):
        _card(version=_version(name="ews-education"))


def test_flag_top_k_is_per_week_and_ties_break_by_uscc() -> None:
    frame = pl.DataFrame(
        {
            "uscc": ["B", "A", "C", "D"],
            "as_of": [date(2026, 1, 5)] * 3 + [date(2026, 1, 12)],
            "label": [0, 0, 1, 0],
            "probability": [0.5, 0.5, 0.1, 0.01],
        }
    )
    flagged = card.flag_top_k(frame, k=1)
    assert flagged.filter(pl.col("flagged"))["uscc"].to_list() == ["A", "D"]


def test_flag_top_k_skips_insufficient_data_rows_without_using_a_place() -> None:
    frame = pl.DataFrame(
        {
            "uscc": ["A", "B", "C"],
            "as_of": [date(2026, 1, 5)] * 3,
            "label": [0, 0, 1],
            "probability": [0.9, 0.5, 0.1],
            "insufficient_data": [True, False, None],
        }
    )
    flagged = card.flag_top_k(frame, k=2)
    assert flagged.filter(pl.col("flagged"))["uscc"].to_list() == ["B", "C"]


def test_subgroup_over_flagged_group_is_named_in_the_note() -> None:
    # "east" has the same event rate as "west" but every flag: it is over-selected.
    n = 200
    predictions = pl.DataFrame(
        {
            "uscc": [f"F{i:04d}" for i in range(n)],
            "as_of": [date(2026, 1, 5)] * n,
            "label": [1 if i % 10 == 0 else 0 for i in range(n)],
            "probability": [0.9 - i * 0.001 if i < 100 else 0.01 for i in range(n)],
        }
    )
    facts = _facts(predictions).with_columns(district=pl.Series(["east"] * 100 + ["west"] * 100))
    result = card.subgroups(predictions, facts, k=40)
    district = result["dimensions"]["district"]
    east = next(g for g in district["groups"] if g["group"] == "east")
    assert east["flagged"] == 40 and east["flag_rate"] == pytest.approx(0.4)
    assert east["positive_rate"] == pytest.approx(0.1)
    assert "flagged more often than their event rate explains: east" in district["disparity_note"]
    assert "flagged less often than their event rate suggests: west" in district["disparity_note"]


def test_subgroup_smaller_than_minimum_is_listed_but_not_judged() -> None:
    predictions = _predictions(rows=60)
    facts = _facts(predictions).with_columns(district=pl.lit("only"))
    district = card.subgroups(predictions, facts, k=5)["dimensions"]["district"]
    assert [g["group"] for g in district["groups"]] == ["only"]
    assert "not judged" in district["disparity_note"]


def test_subgroup_missing_facts_become_unknown_groups() -> None:
    predictions = _predictions(rows=100)
    facts = _facts(predictions).head(50)
    district = card.subgroups(predictions, facts, k=5)["dimensions"]["district"]
    unknown = next(g for g in district["groups"] if g["group"] == card.UNKNOWN)
    assert unknown["rows"] == 50


def test_firm_age_band_edges_and_null_age() -> None:
    predictions = _predictions(rows=4)
    facts = _facts(predictions).with_columns(
        firm_age_years=pl.Series([2.99, 3.0, 10.0, None], dtype=pl.Float64)
    )
    groups = card.subgroups(predictions, facts, k=1)["dimensions"]["firm_age"]["groups"]
    assert sorted(g["group"] for g in groups) == [
        "10 years or more",
        "3 to 10 years",
        "under 3 years",
        "unknown",
    ]


def test_coverage_with_one_distinct_count_makes_one_band() -> None:
    predictions = _predictions(rows=10)
    facts = _facts(predictions).with_columns(n_sources_known=pl.lit(7, dtype=pl.Int64))
    groups = card.subgroups(predictions, facts, k=1)["dimensions"]["data_coverage"]["groups"]
    assert [g["group"] for g in groups] == ["7 or fewer sources"]


def test_subgroup_auc_needs_enough_events() -> None:
    predictions = _predictions(rows=40).with_columns(label=pl.lit(0, dtype=pl.Int8))
    result = card.subgroups(predictions, _facts(predictions), k=5)
    assert result["overall"]["auc"] is None
    assert result["overall"]["positive_rate"] == 0


def test_subgroups_name_the_missing_column() -> None:
    predictions = _predictions(rows=10)
    with pytest.raises(card.CardInputError, match="size_band"):
        card.subgroups(predictions, _facts(predictions).drop("size_band"), k=1)


def test_tier_bands_count_rows_and_put_the_threshold_in_the_upper_tier() -> None:
    predictions = pl.DataFrame(
        {
            "uscc": ["A", "B", "C", "D"],
            "as_of": [date(2026, 1, 5)] * 4,
            "label": [0, 0, 1, 1],
            "probability": [0.0, SPEC.tiers["B"], SPEC.tiers["C"], SPEC.tiers["D"]],
        }
    )
    bands = card.tiers(predictions, SPEC)["bands"]
    assert [b["tier"] for b in bands] == ["A", "B", "C", "D"]
    assert [b["test_rows"] for b in bands] == [1, 1, 1, 1]
    assert bands[3]["observed_rate"] == 1.0
    assert bands[3]["probability_from"] == SPEC.tiers["D"] and bands[3]["probability_to"] == 1.0
    assert bands[0]["inspection"]["en"] == "random check once in three years"


def test_explanation_ranks_by_mean_absolute_contribution_with_registry_text() -> None:
    contributions = np.array([[0.1, -0.5, 0.2, -3.0], [0.1, 0.5, -0.2, -3.0]])
    result = card.explanation(contributions, FEATURES, plot=None)
    top = result["top_features"]
    assert [f["feature"] for f in top] == [FEATURES[1], FEATURES[2], FEATURES[0]]
    assert top[0]["mean_abs_contribution"] == pytest.approx(0.5)
    assert top[0]["share"] == pytest.approx(0.5 / 0.8)
    assert top[0]["mean_contribution"] == pytest.approx(0.0)
    described = registry.spec(FEATURES[1])
    assert top[0]["description"] == {"zh": described.description.zh, "en": described.description.en}
    assert top[0]["card_line"]["en"] == described.card_line("en")


def test_explanation_of_feature_unknown_to_the_registry_has_no_text() -> None:
    result = card.explanation(np.array([[1.0, 0.0]]), ["brought_in_column"], plot=None)
    assert result["top_features"][0]["description"] is None


def test_explanation_rejects_contributions_without_the_bias_column() -> None:
    with pytest.raises(card.CardInputError, match=r"\(rows, 4\) with the bias last"):
        card.explanation(np.zeros((2, 3)), FEATURES, plot=None)


def test_calibration_names_missing_columns_and_weights_the_error_by_rows() -> None:
    result = card.calibration(_calibration(), "platt", plot=None)
    assert result["expected_calibration_error"] == pytest.approx(100 * 0.01 / 400)
    with pytest.raises(card.CardInputError, match="observed_rate"):
        card.calibration(_calibration().drop("observed_rate"), "platt", plot=None)


def test_simulated_data_leads_the_limitations_only_when_simulated() -> None:
    assert _card()["limitations"][0].startswith("Simulated data")
    assert not any(i.startswith("Simulated") for i in _card(simulated=False)["limitations"])


def test_change_log_is_newest_first_with_the_promotion_reason() -> None:
    log = _card()["change_log"]
    assert [entry["version"] for entry in log] == [2, 1]
    assert log[0]["promotion_reason"].startswith("promoted")


def test_training_sources_come_from_the_registry() -> None:
    sources = _card()["training_data"]["sources"]
    expected = sorted({s for name in FEATURES for s in registry.spec(name).sources})
    assert sources == expected
    by_domain = _card()["training_data"]["sources_by_domain"]
    assert sum(by_domain.values()) == len(sources)
    assert by_domain["registration"] >= 1  # reg_enterprise_master, behind firm_age_years


def test_markdown_and_html_show_the_numbers_and_escape_text() -> None:
    built = _card(version=_version(owner="<script>x</script>"))
    markdown = card.render(built, (TEMPLATES / "model_card.md.j2").read_text(), html=False)
    html = card.render(
        built, (TEMPLATES / "model_card.html.j2").read_text(), html=True, back_link="../x.html"
    )
    for text in (markdown, html):
        assert "ews-finance" in text and "0.810 [0.740, 0.880]" in text
        assert "v2_calibration.png" in text and "v2_shap.png" in text
        assert "Simulated data" in text
    assert "## Results by subgroup" in markdown
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html
    assert 'href="../x.html"' in html


def _pooled_training() -> card.TrainingFacts:
    rows = {
        "finance": {
            "train_rows": 12000,
            "train_events": 40,
            "stopping_rows": 3000,
            "stopping_events": 9,
        },
        "education": {
            "train_rows": 30000,
            "train_events": 210,
            "stopping_rows": 7000,
            "stopping_events": 50,
        },
    }
    facts = _training()
    return card.TrainingFacts(
        split=facts.split,
        class_balance=facts.class_balance,
        feature_names=(*FEATURES, "industry_is_finance", "industry_is_education"),
        calibration_method="platt",
        params={"pool": {"members": ["finance", "education"], "rows": rows}},
    )


def test_a_pooled_models_card_names_the_pool_and_each_members_rows_and_events() -> None:
    contributions = np.tile([0.1, -0.5, 0.2, 0.05, 0.0, -3.0], (_predictions().height, 1))
    built = _card(training=_pooled_training(), contributions=contributions)
    mode = built["model_details"]["training_mode"]
    assert mode.startswith("pooled: one booster trained on the rows of finance (12,000 train")
    assert "education (30,000 train rows, 210 events; 7,000 early-stopping rows, 50 events)" in mode
    assert "fixes to finance" in mode
    markdown = card.render(built, (TEMPLATES / "model_card.md.j2").read_text(), html=False)
    assert "| Training | pooled: one booster" in markdown
    # The indicator, in the card's feature lists, says what it is and that it is no reason.
    top = {f["feature"]: f for f in built["explanation"]["top_features"]}
    assert "no reason" in top["industry_is_finance"]["description"]["en"]
    assert "行业标识" in top["industry_is_finance"]["card_line"]["zh"]


def test_a_model_trained_alone_says_so() -> None:
    assert _card()["model_details"]["training_mode"] == "alone, on finance's own rows"


def test_the_algorithm_names_the_averaged_seeds_only_when_there_are_several() -> None:
    one = card.model_details(_version(), SPEC, replace(_training(), seeds=(7,)))
    several = card.model_details(_version(), SPEC, replace(_training(), seeds=(7, 8, 9)))
    assert "seed" not in one["algorithm"]
    assert "3 boosters averaged over the training seeds 7, 8, 9" in several["algorithm"]
