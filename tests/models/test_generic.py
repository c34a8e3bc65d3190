"""The generic benchmark's features and booster (models.generic), on tiny hand-built frames."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from data_contracts.catalog import load_all
from models.generic import feature_matrix, fit_generic, generic_table, source_features

FIRM, OTHER = "91320594MA1XXXXXX1", "91320594MA1XXXXXX2"
AS_OF = date(2026, 6, 1)


@pytest.fixture(scope="module")
def contracts():
    return load_all()


def keys(*rows: tuple[str, date]) -> pl.DataFrame:
    return pl.DataFrame(
        {"uscc": [r[0] for r in rows], "as_of": [r[1] for r in rows]},
        schema={"uscc": pl.String, "as_of": pl.Date},
    )


def orders(*rows: tuple[str, date, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "uscc": [r[0] for r in rows],
            "order_date": [r[1] for r in rows],
            "arrived_at": [r[2] for r in rows],
        }
    )


def vat(*rows: tuple[str, date, float, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "uscc": [r[0] for r in rows],
            "period": [r[1] for r in rows],
            "sales_revenue": [r[2] for r in rows],
            "vat_unpaid": [r[3] for r in rows],
            "arrived_at": [datetime(r[1].year, r[1].month, 20) for r in rows],
        }
    )


def test_events_count_the_last_365_days_known_by_the_date(contracts):
    frame = orders(
        (FIRM, date(2025, 6, 2), datetime(2025, 6, 5)),  # 364 days before: counted
        (FIRM, date(2025, 6, 1), datetime(2025, 6, 5)),  # 365 days before: out of the window
        (FIRM, date(2026, 5, 20), datetime(2026, 6, 2)),  # arrived the day after: not yet known
        (FIRM, date(2026, 6, 1), datetime(2026, 6, 1)),  # on the date, arrived by it: counted
    )
    out = source_features(contracts["court_property_preservation"], frame, keys((FIRM, AS_OF)))
    assert out.to_dicts() == [{"uscc": FIRM, "as_of": AS_OF, "court_property_preservation_365d": 2}]


def test_monthly_panel_arrears_share_and_trend_of_each_measure(contracts):
    recent = [date(2026, m, 1) for m in (1, 2, 3, 4)]  # within six months of the date
    older = [date(2025, m, 1) for m in (9, 10)]  # the six months before
    frame = vat(
        *[(FIRM, d, 50.0, 10.0 if i == 0 else 0.0) for i, d in enumerate(recent)],
        *[(FIRM, d, 100.0, 0.0) for d in older],
    )
    out = source_features(contracts["tax_vat_declaration"], frame, keys((FIRM, AS_OF)))
    row = out.row(0, named=True)
    assert row["tax_vat_declaration_vat_unpaid_share"] == pytest.approx(0.25)
    assert row["tax_vat_declaration_sales_revenue_trend"] == pytest.approx(0.5)


def test_a_trend_over_a_zero_base_is_unknown_in_the_matrix(contracts):
    frame = vat((FIRM, date(2026, 3, 1), 40.0, 0.0), (FIRM, date(2025, 9, 1), 0.0, 0.0))
    table = generic_table(keys((FIRM, AS_OF)), [(contracts["tax_vat_declaration"], frame)])
    values = feature_matrix(table, ["tax_vat_declaration_sales_revenue_trend"])
    assert np.isnan(values[0, 0])


def test_linked_firms_count_links_no_longer_in_their_first_status(contracts):
    frame = pl.DataFrame(
        {
            "uscc": [FIRM, FIRM, FIRM],
            "linked_uscc": ["A", "B", "C"],
            "linked_status": ["存续", "注销", "吊销"],
            "status_date": [date(2026, 1, 1)] * 3,
            "arrived_at": [datetime(2026, 1, 5)] * 3,
        }
    )
    out = source_features(contracts["related_guarantee_links"], frame, keys((FIRM, AS_OF)))
    assert out.get_column("related_guarantee_links_closed").to_list() == [2]


def test_table_keeps_the_keys_order_and_leaves_unknown_firms_null(contracts):
    frame = orders((OTHER, date(2026, 1, 1), datetime(2026, 1, 2)))
    grid = keys((FIRM, AS_OF), (OTHER, AS_OF), (OTHER, date(2025, 12, 1)))
    table = generic_table(grid, [(contracts["court_property_preservation"], frame)])
    assert table.select("uscc", "as_of").equals(grid)
    assert table.get_column("court_property_preservation_365d").to_list() == [None, 1, None]


def test_a_source_of_no_generic_kind_yields_nothing(contracts):
    annual = next(c for c in contracts.values() if c.simulation.generator == "annual")
    assert source_features(annual, pl.DataFrame(), keys((FIRM, AS_OF))) is None


def test_generic_booster_refuses_one_class_and_mismatched_labels():
    table = pl.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="both classes"):
        fit_generic(table, ["x"], np.zeros(4), seed=0)
    with pytest.raises(ValueError, match="3 labels for 4 rows"):
        fit_generic(table, ["x"], np.array([0, 1, 0]), seed=0)


def test_generic_booster_ranks_a_planted_signal_and_is_seeded():
    rng = np.random.default_rng(7)
    x = rng.normal(size=400)
    y = (x + rng.normal(scale=0.5, size=400) > 1.0).astype(int)
    table = pl.DataFrame({"x": x, "noise": rng.normal(size=400)})
    first = fit_generic(table, ["x", "noise"], y, seed=3, n_jobs=1)
    again = fit_generic(table, ["x", "noise"], y, seed=3, n_jobs=1)
    scores = first.predict_proba(feature_matrix(table, ["x", "noise"]))[:, 1]
    assert roc_auc_score(y, scores) > 0.85
    assert np.array_equal(scores, again.predict_proba(feature_matrix(table, ["x", "noise"]))[:, 1])
