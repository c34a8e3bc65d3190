"""The list's SHAP beeswarm (a firm's waterfall is an SVG: ``pipelines/svg_charts.py``).

The only module that imports ``shap`` (its import costs seconds), and only for drawing: the
values are the ones the publish flow already computed with xgboost's ``pred_contribs`` and wrote
to explanations.parquet, wrapped in a ``shap.Explanation``. PNGs are byte-reproducible: Agg
backend, fixed size and dpi, no software/time metadata, a fixed seed for the beeswarm's jitter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Source Han Sans SC")
MAX_DISPLAY = 12
DPI = 90
LABEL_CHARS = 16


def chinese_font() -> str | None:
    """The first installed font that can draw Chinese (Debian: fonts-noto-cjk), else None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def _setup() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = chinese_font()
    plt.rcParams["font.family"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def draw_beeswarm(
    values: np.ndarray,
    base_values: np.ndarray,
    data: np.ndarray,
    labels: list[str],
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
        shap.plots.beeswarm(explanation, max_display=MAX_DISPLAY, show=False, plot_size=(9.0, 6.0))
    finally:
        np.random.set_state(state)
    figure = plt.gcf()
    figure.axes[0].set_xlabel(
        "SHAP 值（对数几率）/ SHAP value (log-odds)" if chinese_font() else "SHAP value (log-odds)"
    )
    figure.subplots_adjust(left=0.42, right=0.9, top=0.97, bottom=0.1)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(figure)
    return path
