"""The training rows of an industry read back from the weekly feature history.

Training, the promotion gate and the model cards all need a candidate's labelled test rows; they
live here, not in a flow module, so that no module imports from a flow.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.config import IndustrySpec
from models.labels import LABEL


def read_history(path: Path, spec: IndustrySpec) -> pl.DataFrame:
    return pl.scan_parquet(path).filter(pl.col("sector") == spec.sector_value).collect()


def test_rows(history: Path, predictions: pl.DataFrame, spec: IndustrySpec) -> pl.DataFrame:
    """The candidate's labelled test snapshots rebuilt from the history, in prediction order."""
    keys = predictions.select("uscc", "as_of", LABEL)
    frame = keys.join(
        read_history(history, spec), on=["uscc", "as_of"], how="inner", maintain_order="left"
    )
    if frame.height != keys.height:
        lost = keys.join(frame, on=["uscc", "as_of"], how="anti").row(0, named=True)
        raise ValueError(
            f"{spec.key}: the feature history {history} lacks {keys.height - frame.height} of "
            f"the candidate's {keys.height} test rows (first: uscc {lost['uscc']} at as-of "
            f"{lost['as_of']}); was it rebuilt with different data?"
        )
    return frame
