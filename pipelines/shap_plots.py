"""SHAP charts for the published lists: a waterfall per listed firm, a beeswarm per list.

The only module that imports ``shap`` (its import costs seconds), and only for drawing: the
values are the ones the publish flow already computed with xgboost's ``pred_contribs`` and wrote
to explanations.parquet, wrapped in a ``shap.Explanation``. Waterfalls are SVG with their text
kept as text (smaller than a PNG, sharp at any zoom, the browser draws the Chinese labels);
the beeswarm is a PNG. Both are byte-reproducible: Agg backend, fixed size and dpi, no
software/date metadata, fixed SVG ids, a fixed seed for the beeswarm's jitter.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC")
MAX_DISPLAY = 10
DPI = 90
LABEL_CHARS = 16
# Below this many charts a worker pool costs more (each worker imports shap) than it saves.
PARALLEL_FROM = 60


# File names of those fonts' files, to find one installed after matplotlib cached its font list.
CJK_FONT_FILES = ("NotoSansCJK", "NotoSansSC", "wqy-zenhei", "SourceHanSans")


@cache
def chinese_font() -> str | None:
    """The first installed font that can draw Chinese (Debian: fonts-noto-cjk), else None.

    matplotlib lists the system's fonts once and keeps the list in its cache, so a font
    installed afterwards is not in it: without one in the list, the system's font files are
    searched for one and added (once per process)."""
    from matplotlib import font_manager

    def listed() -> str | None:
        names = {font.name for font in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in names), None)

    if (name := listed()) is not None:
        return name
    for path in font_manager.findSystemFonts():
        if any(stem in Path(path).name for stem in CJK_FONT_FILES):
            font_manager.fontManager.addfont(path)
    return listed()


def _setup() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = chinese_font()
    plt.rcParams["font.family"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: ~1/3 of the size, selectable
    plt.rcParams["svg.hashsalt"] = "ews"  # element ids from a fixed salt, not a random one


@contextmanager
def _fresh_figure() -> Iterator[None]:
    """A new current figure for shap, which draws on whatever figure is current; every figure
    opened inside is closed afterwards, also when drawing fails, so no half-drawn figure is left
    for the next chart (or a notebook's own figure drawn on)."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    plt.figure()
    try:
        yield
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


@dataclass(frozen=True)
class Waterfall:
    """One firm's chart: its contributions, bias, feature values as shown, and where to write it.

    ``shown`` is each value as a reader should see it (e.g. "无数据" for a missing value, which
    shap would print as "nan").
    """

    values: np.ndarray
    base_value: float
    shown: Sequence[str]
    path: Path


def draw_waterfalls(charts: Sequence[Waterfall], labels: Sequence[str]) -> list[Path]:
    """Draw every chart (in two worker processes when there are many); returns the paths."""
    labels = [_short(label) for label in labels]
    workers = min(2, os.cpu_count() or 1)
    if len(charts) < PARALLEL_FROM or workers < 2:
        return _draw_chunk(list(charts), labels)
    chunks = [list(charts[i::workers]) for i in range(workers)]
    # spawn, not fork: the parent holds polars and Prefect threads that a fork would copy
    # mid-flight.
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            list(pool.map(_draw_chunk, chunks, [labels] * workers))
    except BrokenProcessPool:
        # A worker could not start (e.g. the main program was read from stdin): draw here.
        _draw_chunk(list(charts), labels)
    return [chart.path for chart in charts]


def _draw_chunk(charts: list[Waterfall], labels: list[str]) -> list[Path]:
    _setup()
    import matplotlib.pyplot as plt
    import shap

    for chart in charts:
        explanation = shap.Explanation(
            values=np.asarray(chart.values, dtype=np.float64),
            base_values=float(chart.base_value),
            display_data=np.asarray(chart.shown, dtype=object),
            feature_names=labels,
        )
        with _fresh_figure():
            shap.plots.waterfall(explanation, max_display=MAX_DISPLAY, show=False)
            figure = plt.gcf()
            figure.set_size_inches(9.0, 0.42 * MAX_DISPLAY + 1.4)
            figure.subplots_adjust(left=0.47, right=0.9, top=0.9, bottom=0.13)
            chart.path.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(chart.path, format="svg", metadata={"Creator": None, "Date": None})
    return [chart.path for chart in charts]


def draw_beeswarm(
    values: np.ndarray,
    base_values: np.ndarray,
    data: np.ndarray,
    labels: Sequence[str],
    path: Path,
) -> Path:
    """One list's beeswarm: each feature's contribution for every listed firm, coloured by value."""
    _setup()
    import matplotlib.pyplot as plt
    import shap

    explanation = shap.Explanation(
        values=np.asarray(values, dtype=np.float64),
        base_values=np.asarray(base_values, dtype=np.float64),
        data=np.asarray(data, dtype=np.float64),
        feature_names=[_short(label) for label in labels],
    )
    # shap jitters overlapping dots with numpy's global generator: seed it for identical bytes,
    # and give the caller's state back afterwards.
    state = np.random.get_state()
    np.random.seed(0)
    try:
        with _fresh_figure(), warnings.catch_warnings():
            # A feature no listed firm has a value for (all missing) gets grey dots; shap takes
            # its colour range with nanpercentile first, which warns on the all-NaN column.
            warnings.filterwarnings("ignore", "All-NaN slice encountered", RuntimeWarning)
            shap.plots.beeswarm(explanation, max_display=12, show=False, plot_size=(9.0, 6.0))
            figure = plt.gcf()
            figure.axes[0].set_xlabel(
                "SHAP 值（对数几率）/ SHAP value (log-odds)"
                if chinese_font()
                else "SHAP value (log-odds)"
            )
            figure.subplots_adjust(left=0.42, right=0.9, top=0.97, bottom=0.1)
            path.parent.mkdir(parents=True, exist_ok=True)
            figure.savefig(path, dpi=DPI, metadata={"Software": None})
    finally:
        np.random.set_state(state)
    return path
