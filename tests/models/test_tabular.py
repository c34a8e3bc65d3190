from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.tabular import (
    BIAS_COLUMN,
    ROW,
    SEARCHES,
    Budget,
    Search,
    TableLayout,
    fit_tuned,
    outer_folds,
    prepare_table,
    segment_frame,
    train_segment,
)
from models.train import TrainConfig

SMALL_SEARCH = Search(
    "small",
    (
        TrainConfig(max_depth=2, max_rounds=40, early_stopping_rounds=10, learning_rate=0.3),
        TrainConfig(max_depth=4, max_rounds=40, early_stopping_rounds=10, learning_rate=0.3),
    ),
    inner_folds=3,
    bag=2,
)
# The same two candidates, the deeper one first when a budget keeps only one.
PRIORITISED = Search("prioritised", SMALL_SEARCH.candidates, inner_folds=3, bag=2, priority=(1, 0))


def table(seed: int, n: int = 300) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pl.DataFrame(
        {
            "firm": [f"F{i % 60}" for i in range(n)],
            "year": [2015 + i % 6 for i in range(n)],
            "region": ["north" if i % 2 else "south" for i in range(n)],
            "x": x,
            "noise": rng.normal(size=n),
            "comment": ["text"] * n,
            "bad": (rng.random(n) < 1 / (1 + np.exp(-(2 * x - 1.5)))).astype(np.int64),
        }
    )


def layout(**kwargs) -> TableLayout:
    return TableLayout(name="firms.csv", label="bad", **kwargs)


def test_missing_label_column_names_the_table_and_column():
    with pytest.raises(ValueError, match=r"table firms\.csv: label column 'default' not found"):
        prepare_table(table(0), TableLayout(name="firms.csv", label="default"))


def test_non_binary_label_names_the_table_column_and_row():
    bad = table(0).with_columns(
        pl.when(pl.int_range(pl.len()) == 41).then(7).otherwise(pl.col("bad")).alias("bad")
    )
    with pytest.raises(
        ValueError, match=r"table firms\.csv: label column 'bad' must be binary.*row 42"
    ):
        prepare_table(bad, layout())


def test_empty_label_names_the_row():
    bad = table(0).with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(None).otherwise(pl.col("bad")).alias("bad")
    )
    with pytest.raises(ValueError, match="label column 'bad' is empty at row 5"):
        prepare_table(bad, layout())


def test_text_labels_true_false_and_zero_one_are_understood():
    frame = pl.DataFrame({"bad": ["True", " 0", "false", "1"], "x": [1.0, 2.0, 3.0, 4.0]})
    assert prepare_table(frame, layout())["bad"].to_list() == [1, 0, 0, 1]


def test_missing_segment_column_is_named():
    with pytest.raises(ValueError, match="segment column 'sector' not found"):
        prepare_table(table(0), layout(segment="sector"))


def test_single_class_segment_names_the_table_column_and_value():
    frame = prepare_table(
        table(0).with_columns(
            pl.when(pl.col("region") == "north").then(0).otherwise(pl.col("bad")).alias("bad")
        ),
        layout(segment="region"),
    )
    with pytest.raises(ValueError, match=r"table firms\.csv: segment region='north'.*single class"):
        segment_frame(frame, layout(segment="region"), "north")


def test_text_time_column_that_is_not_a_date_is_refused_with_its_row():
    frame = table(0).with_columns(pl.col("year").cast(pl.String))
    frame = frame.with_columns(pl.lit("2020-01-01").alias("year")).with_columns(
        pl.when(pl.int_range(pl.len()) == 9).then(pl.lit("soon")).otherwise("year").alias("year")
    )
    with pytest.raises(ValueError, match="time column 'year' row 10 \\('soon'\\)"):
        prepare_table(frame, layout(time_col="year"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_outer_folds_keep_each_firm_on_one_side(seed):
    spec = layout(id_col="firm")
    frame = prepare_table(table(seed), spec)
    folds = outer_folds(frame, spec, 5, seed)
    firms = frame["firm"].to_numpy()
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(frame.height))
    for train, test in folds:
        assert not set(firms[train]) & set(firms[test])


def test_out_of_time_folds_test_strictly_after_training_times():
    spec = layout(time_col="year")
    frame = prepare_table(table(3), spec)
    years = frame["year"].to_numpy()
    folds = outer_folds(frame, spec, 4, 0)
    assert len(folds) == 4
    for number, (train, test) in enumerate(folds, start=1):
        assert len(test) > 0
        assert years[train].max() < years[test].min()
        if number > 1:
            assert years[train].max() >= years[folds[number - 2][1]].max()


def test_out_of_time_folds_survive_one_time_value_holding_most_rows():
    base = date(2020, 1, 1)
    times = [base] * 90 + [base + timedelta(days=d) for d in range(1, 11)]
    frame = pl.DataFrame({"t": times, "bad": [i % 2 for i in range(100)], "x": range(100)})
    spec = TableLayout(name="skewed", label="bad", time_col="t")
    folds = outer_folds(prepare_table(frame, spec), spec, 5, 0)
    assert all(len(test) > 0 and len(train) > 0 for train, test in folds)


def test_too_few_time_values_for_the_folds_are_refused():
    spec = layout(time_col="year")
    with pytest.raises(ValueError, match="6 distinct values; 6 out-of-time folds need at least 7"):
        outer_folds(prepare_table(table(0), spec), spec, 6, 0)


def test_too_few_positives_for_the_folds_are_refused():
    frame = pl.DataFrame({"bad": [1, 1] + [0] * 20, "x": range(22)})
    with pytest.raises(ValueError, match="5-fold cross-validation needs at least 5 rows of each"):
        outer_folds(prepare_table(frame, layout()), layout(), 5, 0)


def test_tuning_sees_only_the_training_rows_it_is_given():
    spec = layout()
    frame = prepare_table(table(4, n=400), spec)
    model = fit_tuned(frame.head(250), ["x", "noise"], spec, seed=4, search=SMALL_SEARCH, nthread=1)
    assert model.metadata["train_rows"] == 250
    assert len(model.metadata["candidate_inner_auc"]) == len(SMALL_SEARCH.candidates)
    assert model.metadata["inner_folds"] == 3


def test_out_of_time_tuning_holds_out_the_latest_training_period():
    spec = layout(time_col="year")
    frame = prepare_table(table(5, n=600), spec)
    model = fit_tuned(frame, ["x", "noise"], spec, seed=5, search=SMALL_SEARCH, nthread=1)
    latest_year_rows = frame.filter(pl.col("year") == 2020).height
    assert model.metadata["valid_rows"] == latest_year_rows
    assert model.metadata["train_rows"] == 600 - latest_year_rows


def test_segment_training_predicts_every_row_once_and_reports_each_fold():
    seed = 6
    spec = layout(id_col="firm")
    frame = prepare_table(table(seed, n=400), spec)
    result = train_segment(
        frame, ["x", "noise"], spec, folds=3, seed=seed, search=SMALL_SEARCH, nthread=1
    )
    assert result.folds["fold"].to_list() == [1, 2, 3]
    assert result.predictions[ROW].to_list() == list(range(1, 401))
    assert result.auc_mean > 0.7
    assert result.auc_std >= 0
    assert result.model.metadata["train_rows"] == 400
    # The reference was fitted on the same folds, and both sides were timed.
    against = result.against_reference()
    assert against["folds"] == 3 and 0.5 < against["reference_auc_mean"] <= 1
    assert against["auc_gain_mean"] == pytest.approx(
        result.auc_mean - against["reference_auc_mean"]
    )
    assert against["ews_seconds"] > 0 and against["reference_seconds"] > 0
    assert set(result.predictions.columns) == {ROW, "bad", "fold", "p", "margin", "p_reference"}


def test_out_of_fold_shap_values_add_up_to_the_out_of_fold_margin_and_can_be_sampled():
    spec = layout(id_col="firm")
    frame = prepare_table(table(9, n=300), spec)
    result = train_segment(
        frame,
        ["x", "noise"],
        spec,
        folds=3,
        seed=9,
        search=SMALL_SEARCH,
        nthread=1,
        explain_limit=120,
    )
    shap = result.contributions
    assert shap.height == 120 and shap[ROW].is_sorted() and shap[ROW].n_unique() == 120
    joined = shap.join(result.predictions.select(ROW, "margin", "fold"), on=ROW, suffix="_p")
    total = joined.select(pl.sum_horizontal("x", "noise", BIAS_COLUMN)).to_series().to_numpy()
    np.testing.assert_allclose(total, joined["margin"].to_numpy(), atol=1e-4)
    assert (joined["fold"] == joined["fold_p"]).all()


def test_every_search_is_a_real_search():
    assert set(SEARCHES) == {"full", "quick"}
    full, quick = SEARCHES["full"], SEARCHES["quick"]
    assert len(quick.candidates) == len(full.candidates)
    assert (quick.inner_folds, quick.bag) == (full.inner_folds, full.bag)
    for slow, fast in zip(full.candidates, quick.candidates, strict=True):
        assert fast.learning_rate == max(slow.learning_rate, 0.1)
        # Patience in rounds shrinks with the rate, so it covers the same learning.
        assert fast.early_stopping_rounds * fast.learning_rate == pytest.approx(
            slow.early_stopping_rounds * slow.learning_rate, rel=0.05
        )
        assert fast.model_copy(
            update={"learning_rate": 0, "early_stopping_rounds": 1}
        ) == slow.model_copy(update={"learning_rate": 0, "early_stopping_rounds": 1})


def test_out_of_time_tuning_without_events_in_the_latest_period_says_so():
    spec = layout(time_col="year")
    frame = prepare_table(
        table(8, n=600).with_columns(
            pl.when(pl.col("year") == 2020).then(0).otherwise(pl.col("bad")).alias("bad")
        ),
        spec,
    )
    with pytest.raises(ValueError, match=r"the latest part .* >= 2020\) has a single class"):
        fit_tuned(frame, ["x", "noise"], spec, seed=8, search=SMALL_SEARCH, nthread=1)


def test_a_candidate_budget_searches_the_same_first_candidates_in_every_fit():
    spec = layout(id_col="firm")
    frame = prepare_table(table(10, n=300), spec)
    result = train_segment(
        frame,
        ["x", "noise"],
        spec,
        folds=3,
        seed=10,
        search=PRIORITISED,
        nthread=1,
        budget=Budget(candidates=1),
    )
    assert result.folds["configurations"].to_list() == ["1", "1", "1"]
    assert result.model.metadata["searched"] == [1]
    record = result.search_record
    assert record["candidates_searched"] == [1] and record["candidates_skipped"] == [0]
    assert record["cut_by_budget"] is True and record["over_time_budget"] is None
    assert record["repeat_with"] == "--search prioritised --candidates 1"


def test_a_tiny_time_budget_cuts_the_search_and_is_repeated_exactly_by_its_candidate_count():
    spec = layout()
    frame = prepare_table(table(11, n=300), spec)
    common = dict(folds=3, seed=11, search=PRIORITISED, nthread=1)
    timed = train_segment(frame, ["x", "noise"], spec, budget=Budget(seconds=1e-6), **common)
    record = timed.search_record
    assert record["time_budget_seconds"] == 1e-6 and record["cut_by_budget"] is True
    assert record["candidates_searched"] == [1] and record["over_time_budget"] is True
    assert 0 < record["first_fold_share_seconds"] < 1e-6 < record["first_fold_seconds"]
    repeated = train_segment(frame, ["x", "noise"], spec, budget=Budget(candidates=1), **common)
    assert timed.predictions.equals(repeated.predictions)
    assert timed.model.to_bytes() == repeated.model.to_bytes()


def test_a_generous_time_budget_searches_everything_like_no_budget():
    spec = layout(time_col="year")
    frame = prepare_table(table(12, n=600), spec)
    common = dict(folds=2, seed=12, search=PRIORITISED, nthread=1)
    timed = train_segment(frame, ["x", "noise"], spec, budget=Budget(seconds=1e6), **common)
    plain = train_segment(frame, ["x", "noise"], spec, **common)
    assert timed.search_record["candidates_searched"] == [0, 1]
    assert timed.search_record["cut_by_budget"] is False
    assert plain.search_record["repeat_with"] is None
    assert timed.predictions.equals(plain.predictions)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        ({"seconds": 0}, "time budget must be a positive number of seconds, got 0"),
        ({"seconds": -5.0}, "positive number of seconds, got -5.0"),
        ({"seconds": float("nan")}, "positive number of seconds, got nan"),
        ({"candidates": 0}, "candidates must be at least 1, got 0"),
        ({"seconds": 60.0, "candidates": 1}, "not both"),
    ],
)
def test_a_budget_that_cannot_be_honoured_is_refused(budget, message):
    with pytest.raises(ValueError, match=message):
        Budget(**budget)


def test_a_search_keeps_no_more_candidates_than_it_has():
    with pytest.raises(ValueError, match="search prioritised has 2 candidates; cannot keep 3"):
        PRIORITISED.first(3)
    with pytest.raises(ValueError, match=r"priority \(0,\) must order all 2 candidates"):
        Search("broken", SMALL_SEARCH.candidates, priority=(0,))
