"""The reliability chart of a model: predicted against observed event rate per bin.

Drawn for the training run's MLflow record and for the model card; tracking only logs what it is
given.
"""

from __future__ import annotations

import polars as pl


def calibration_figure(calibration: pl.DataFrame, title: str):
    """Predicted vs observed event rate per bin (reads ``mean_predicted``, ``observed_rate``)."""
    # Figure without pyplot: no global backend state, renders with Agg in any thread.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 5), dpi=100)
    axes = figure.add_subplot()
    predicted = calibration.get_column("mean_predicted").to_list()
    observed = calibration.get_column("observed_rate").to_list()
    top = max([*predicted, *observed, 0.01]) * 1.05
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect calibration")
    axes.plot(predicted, observed, marker="o", label="model (test period)")
    axes.set_xlim(0, top)
    axes.set_ylim(0, top)
    axes.set_xlabel("mean predicted probability")
    axes.set_ylabel("observed event rate")
    axes.set_title(title)
    axes.legend(loc="upper left")
    return figure
