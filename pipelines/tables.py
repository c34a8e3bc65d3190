"""Reading a user's feature table (CSV, Parquet or ARFF) into a polars frame.

ARFF goes through scipy.io.arff: numeric attributes become Float64 and nominal ones strings, with
ARFF's '?' as null in both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from scipy.io import arff

READERS = {".csv", ".parquet", ".pq", ".arff"}


def read_table(path: str | Path) -> pl.DataFrame:
    """The table at ``path``; the format follows the file suffix."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"table {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # Read every row before fixing a column's type: a late decimal must not fail the parse.
        return pl.read_csv(path, infer_schema_length=None, null_values=["NA"], try_parse_dates=True)
    if suffix in {".parquet", ".pq"}:
        return pl.read_parquet(path)
    if suffix == ".arff":
        return read_arff(path)
    raise ValueError(f"table {path}: unsupported format {suffix!r}; use one of {sorted(READERS)}")


def read_arff(path: str | Path) -> pl.DataFrame:
    try:
        data, meta = arff.loadarff(str(path))
    except (arff.ArffError, ValueError, NotImplementedError) as error:
        raise ValueError(f"table {path}: cannot parse ARFF: {error}") from error
    columns = {}
    for name, kind in zip(meta.names(), meta.types(), strict=True):
        values = data[name]
        if kind == "nominal":
            text = [value.decode("utf-8") for value in values]
            columns[name] = pl.Series(name, [None if v == "?" else v for v in text], pl.String)
        elif kind == "numeric":
            columns[name] = pl.Series(name, values.astype(np.float64)).fill_nan(None)
        else:
            raise ValueError(f"table {path}: attribute {name!r} has unsupported type {kind}")
    return pl.DataFrame(columns)
