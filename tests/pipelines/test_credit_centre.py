"""Which listed firm the demo's simulated credit centre repairs: chosen from the week's feature
table, so a model that does not use a repairable feature still leaves a firm to repair."""

from __future__ import annotations

import polars as pl
import pytest

from pipelines.flows.credit_centre import candidates, credit_centre_flow
from pipelines.flows.regulators import regulators_flow
from pipelines.publish_io import EXPLANATIONS, REASONS, SCORES


def _week(tmp_path, shap_columns: dict[str, list[float]], reasons: list[tuple[str, str]]):
    folder = tmp_path / "publish" / "2026-W48" / "finance"
    folder.mkdir(parents=True)
    pl.DataFrame(
        {"uscc": ["F1", "F2", "F3", "F4"], "rank": [1, 2, 3, 4], "listed": [True] * 3 + [False]}
    ).write_parquet(folder / SCORES)
    pl.DataFrame({"uscc": ["F1", "F2", "F3", "F4"], **shap_columns}).write_parquet(
        folder / EXPLANATIONS
    )
    pl.DataFrame(
        [{"uscc": u, "feature": f} for u, f in reasons],
        schema={"uscc": pl.String, "feature": pl.String},
    ).write_parquet(folder / REASONS)
    table = tmp_path / "as_of=2026-11-22.parquet"
    pl.DataFrame(
        {
            "uscc": ["F1", "F2", "F3", "F4"],
            "penalty_count_365d": [0, 2, 1, 5],
            "black_list_count": [0, 0, 1, 0],
            "arrears_months": [3, 0, 0, 0],
        }
    ).write_parquet(table)
    return folder.parent, table


def test_a_model_without_repairable_inputs_still_leaves_a_listed_firm_with_records(tmp_path):
    # The model uses no repairable feature: its SHAP frame has none of them.
    week, table = _week(tmp_path, {"arrears_months": [0.4, 0.1, 0.1, 0.0]}, [("F1", "x")])
    found = candidates(week, table)
    # F1 has no repairable record and F4 is not listed; with neither SHAP nor a reason to go
    # by, the rank decides (F2 before F3), then the feature's name.
    assert found["uscc"].to_list() == ["F2", "F3", "F3"]
    assert found["shap"].is_null().all()
    assert found.row(0, named=True)["feature"] == "penalty_count_365d"
    assert (found["value"] > 0).all()


def test_a_top_reason_then_a_raising_contribution_come_first(tmp_path):
    shap = {"penalty_count_365d": [0.0, 0.05, -0.02, 0.3], "black_list_count": [0.0, 0.0, 0.2, 0.0]}
    week, table = _week(tmp_path, shap, [("F2", "penalty_count_365d")])
    found = candidates(week, table)
    assert found.select("uscc", "feature").rows() == [
        ("F2", "penalty_count_365d"),  # among its reasons
        ("F3", "black_list_count"),  # raises its score
        ("F3", "penalty_count_365d"),  # lowers it: last
    ]
    assert found["in_reasons"].to_list() == [True, False, False]


def test_no_listed_firm_with_records_gives_no_candidate(tmp_path):
    week, table = _week(tmp_path, {"arrears_months": [0.4, 0.1, 0.1, 0.0]}, [])
    pl.read_parquet(table).with_columns(
        pl.lit(0).alias("penalty_count_365d"), pl.lit(0).alias("black_list_count")
    ).write_parquet(table)
    assert candidates(week, table).height == 0


@pytest.mark.parametrize(
    ("flow", "day_parameter"),
    [(credit_centre_flow, "repaired_on"), (regulators_flow, "returned_on")],
)
def test_the_simulated_parties_refuse_a_bad_day_or_week_by_name(tmp_path, flow, day_parameter):
    """Both flows parse their week and day once, at the edge, before reading anything."""
    with pytest.raises(ValueError, match=f"{day_parameter} '2026-11-31' is not a date"):
        flow.fn(workdir=str(tmp_path), week="2026-W47", **{day_parameter: "2026-11-31"})
    with pytest.raises(ValueError, match="week '2026-47' is not an ISO week"):
        flow.fn(workdir=str(tmp_path), week="2026-47", **{day_parameter: "2026-11-13"})
