"""One booster from several: the margin of the result is the (weighted) mean of theirs.

Averaging boosters trained on the same rows (different seeds, or different configurations)
keeps the result an ordinary booster: one margin, exact per-feature contributions, one file.
Used by ``models.train.fit_risk_model`` (boosters over consecutive seeds) and
``models.ensemble.fit_risk_model_cv`` (its chosen configurations and their bags). Pure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import xgboost as xgb


def average_boosters(
    boosters: Sequence[xgb.Booster], weights: Sequence[float] | None = None
) -> xgb.Booster:
    """One booster whose margin is the (weighted) mean of ``boosters``' margins.

    Their trees, each leaf scaled by its booster's weight (default 1/k), are put in one model.
    Weights must be positive and sum to 1. The boosters must share their base score (they do
    when trained on the same rows with the same objective and class weight, or with the same
    explicit ``base_score``), so the bias is shared too. Per-feature contributions of the result
    are the same mean of the boosters' own.
    """
    if not boosters:
        raise ValueError("average_boosters needs at least one booster")
    if weights is None:
        weights = [1.0 / len(boosters)] * len(boosters)
    if len(weights) != len(boosters):
        raise ValueError(f"{len(boosters)} boosters to average but {len(weights)} weights")
    if min(weights) <= 0 or not np.isclose(sum(weights), 1.0):
        raise ValueError(f"averaging weights must be positive and sum to 1, got {list(weights)}")
    if len(boosters) == 1:
        return boosters[0]
    documents = [json.loads(bytes(booster.save_raw("json"))) for booster in boosters]
    base_scores = {doc["learner"]["learner_model_param"]["base_score"] for doc in documents}
    if len(base_scores) != 1:
        raise ValueError(f"boosters to average have different base scores: {base_scores}")
    trees = []
    for document, scale in zip(documents, weights, strict=True):
        for tree in document["learner"]["gradient_booster"]["model"]["trees"]:
            leaves = {i for i, left in enumerate(tree["left_children"]) if left == -1}
            tree["split_conditions"] = [
                value * scale if i in leaves else value
                for i, value in enumerate(tree["split_conditions"])
            ]
            tree["base_weights"] = [value * scale for value in tree["base_weights"]]
            tree["id"] = len(trees)
            trees.append(tree)
    merged = documents[0]
    model = merged["learner"]["gradient_booster"]["model"]
    model["trees"] = trees
    model["tree_info"] = [0] * len(trees)
    model["iteration_indptr"] = list(range(len(trees) + 1))
    model["gbtree_model_param"]["num_trees"] = str(len(trees))
    booster = xgb.Booster()
    booster.load_model(bytearray(json.dumps(merged).encode("utf-8")))
    return booster
