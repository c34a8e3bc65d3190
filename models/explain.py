"""From per-feature contributions to the reasons a regulator reads.

Pure: the contributions come from ``RiskModel.contributions`` (xgboost's exact TreeSHAP,
``pred_contribs``; the last column is the bias), values from the scoring table. A reason is a
feature that pushed this firm's risk *up*, worded by the feature registry's template with the
firm's own value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from features.registry import render_reason, spec
from models.train import ADDITIVITY_TOLERANCE, AdditivityError

BASE_COLUMN = "base_value"
MARGIN_COLUMN = "margin"
REASON_COLUMNS = (
    "uscc",
    "reason_rank",
    "feature",
    "contribution",
    "value",
    "reason_zh",
    "reason_en",
)

Renderer = Callable[[str, float | None, str], str]


def reason_text(name: str, value: float | None, lang: str) -> str:
    """The registry's template with the firm's value; a missing value is said plainly.

    A template reads "only {value} of social insurance due was paid"; with no value it would say
    "only unknown ... was paid". When the absence itself is what raised the risk, the reason
    names the feature and says there is no data.
    """
    if value is None:
        description = spec(name).description
        return f"{description.zh}：无数据" if lang == "zh" else f"{description.en}: no data"
    return render_reason(name, value, lang)


def check_additivity(
    contributions: np.ndarray,
    margin: np.ndarray,
    ids: Sequence[str],
    tolerance: float = ADDITIVITY_TOLERANCE,
) -> None:
    """Every row's contributions (bias included) must sum to its margin; else name the firm.

    An explanation that does not add up to the score would tell the regulator a different story
    from the one the model used, so a gap is an error, never a warning.
    """
    if contributions.ndim != 2 or not contributions.shape[0] == len(margin) == len(ids):
        raise AdditivityError(
            f"contributions of shape {contributions.shape} do not match {len(margin)} margins "
            f"for {len(ids)} firms"
        )
    if not len(margin):
        return
    gap = np.abs(contributions.sum(axis=1) - margin)
    if not np.all(np.isfinite(gap)):
        row = int(np.flatnonzero(~np.isfinite(gap))[0])
        raise AdditivityError(f"firm {ids[row]}: contributions or margin are not finite")
    worst = int(np.argmax(gap))
    if gap[worst] > tolerance:
        raise AdditivityError(
            f"firm {ids[worst]}: contributions sum to {contributions[worst].sum():.6f} but the "
            f"model's margin is {margin[worst]:.6f} (gap {gap[worst]:.2e} > {tolerance:g})"
        )


def explanation_frame(
    uscc: Sequence[str], feature_names: Sequence[str], contributions: np.ndarray
) -> pl.DataFrame:
    """One row per firm: ``uscc``, ``margin``, ``base_value`` and every feature's contribution.

    ``contributions`` is the (n, p + 1) matrix with the bias last. Rows are sorted by uscc.
    """
    names = list(feature_names)
    if contributions.shape != (len(uscc), len(names) + 1):
        raise ValueError(
            f"contributions have shape {contributions.shape}, expected "
            f"({len(uscc)}, {len(names) + 1}) for {len(names)} features plus the bias"
        )
    clash = {BASE_COLUMN, MARGIN_COLUMN, "uscc"} & set(names)
    if clash:
        raise ValueError(f"feature names {sorted(clash)} collide with explanation columns")
    values = np.asarray(contributions, dtype=np.float64)
    frame = pl.DataFrame(
        {
            "uscc": list(uscc),
            MARGIN_COLUMN: values.sum(axis=1),
            BASE_COLUMN: values[:, -1],
            **{name: values[:, j] for j, name in enumerate(names)},
        },
        schema={
            "uscc": pl.String,
            MARGIN_COLUMN: pl.Float64,
            BASE_COLUMN: pl.Float64,
            **dict.fromkeys(names, pl.Float64),
        },
    )
    return frame.sort("uscc")


def top_reasons(
    explanations: pl.DataFrame,
    values: pl.DataFrame,
    feature_names: Sequence[str],
    k: int = 3,
    render: Renderer = reason_text,
) -> pl.DataFrame:
    """The ``k`` features that raised each firm's risk the most, worded in Chinese and English.

    ``explanations`` is an ``explanation_frame``; ``values`` has ``uscc`` and the feature columns
    (the scoring table). Only positive contributions are reasons: a firm whose every feature
    lowers its risk gets no reason rows. Ties in contribution go to the feature listed first.
    Returns ``REASON_COLUMNS``, sorted by uscc then reason_rank.
    """
    names = list(feature_names)
    empty = pl.DataFrame(
        schema={
            "uscc": pl.String,
            "reason_rank": pl.UInt8,
            "feature": pl.String,
            "contribution": pl.Float64,
            "value": pl.Float64,
            "reason_zh": pl.String,
            "reason_en": pl.String,
        }
    )
    if explanations.height == 0 or not names or k < 1:
        return empty
    missing = [n for n in ("uscc", *names) if n not in values.columns]
    if missing:
        raise ValueError(f"feature values lack columns {missing[:10]}")
    aligned = explanations.select("uscc").join(
        values.select("uscc", *names), on="uscc", how="left", maintain_order="left"
    )
    contribution = explanations.select(names).to_numpy().astype(np.float64)
    feature_values = aligned.select(pl.col(n).cast(pl.Float64) for n in names).to_numpy()
    # A stable sort on the negated contributions: largest first, ties in feature order.
    order = np.argsort(-contribution, axis=1, kind="stable")[:, :k]
    rows = []
    firms = explanations.get_column("uscc").to_list()
    for i, firm in enumerate(firms):
        for rank, j in enumerate(order[i], start=1):
            if not contribution[i, j] > 0:
                break
            value = feature_values[i, j]
            value = None if np.isnan(value) else float(value)
            rows.append(
                (
                    firm,
                    rank,
                    names[j],
                    float(contribution[i, j]),
                    value,
                    render(names[j], value, "zh"),
                    render(names[j], value, "en"),
                )
            )
    if not rows:
        return empty
    return pl.DataFrame(rows, schema=empty.schema, orient="row").sort("uscc", "reason_rank")
