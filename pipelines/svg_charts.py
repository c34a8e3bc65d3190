"""Small SVG charts for the browsable lists: a firm's SHAP waterfall and its score history.

Plain text, drawn in microseconds, the same bytes for the same input, and the browser renders
the Chinese labels with whatever CJK font the reader has (no font needed where the list is
published). ``pipelines/shap_plots.py`` keeps shap for the list's beeswarm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

WATERFALL_ROWS = 10
RAISES, LOWERS = "#c81e1e", "#1f6fd1"  # red raises the risk, blue lowers it (as shap draws)
FONT = "'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif"


def waterfall_svg(
    values: Sequence[float],
    base_value: float,
    shown: Sequence[str],
    labels: Sequence[str],
    max_rows: int = WATERFALL_ROWS,
) -> str:
    """One firm's SHAP waterfall from the expected score (log-odds) to its own score.

    The largest contributions by absolute value get a row each, largest first; the rest share
    one last row. Bars stack from the bottom: the expected value, then each row's contribution,
    so the top bar ends at the firm's score. ``shown`` is each feature's value as a reader should
    read it, ``labels`` each feature's name.
    """
    if not (len(values) == len(shown) == len(labels)) or not values:
        raise ValueError(
            f"waterfall needs one value, shown value and label per feature, got {len(values)}, "
            f"{len(shown)} and {len(labels)}"
        )
    if max_rows < 2:
        raise ValueError(f"max_rows must be at least 2, got {max_rows}")
    order = sorted(range(len(values)), key=lambda i: (-abs(values[i]), i))
    own = order if len(order) <= max_rows else order[: max_rows - 1]
    rest = order[len(own) :]
    rows = [(f"{labels[i]} = {shown[i]}", float(values[i])) for i in own]
    if rest:
        n = len(rest)
        rows.append((f"其他 {n} 项特征 / {n} other features", math.fsum(values[i] for i in rest)))

    # From the bottom row up: each bar starts where the one below it ended.
    starts, level = [0.0] * len(rows), float(base_value)
    for k in range(len(rows) - 1, -1, -1):
        starts[k] = level
        level += rows[k][1]
    score = level
    ends = [start + value for start, (_, value) in zip(starts, rows, strict=True)]
    low = min(base_value, score, *starts, *ends)
    high = max(base_value, score, *starts, *ends)
    span = (high - low) or 1.0
    low, high = low - 0.08 * span, high + 0.08 * span

    width, left, right, row_h, top_pad, bottom_pad = 760, 330, 70, 26, 34, 40
    height = top_pad + row_h * len(rows) + bottom_pad
    inner = width - left - right

    def x(v: float) -> float:
        return left + inner * (v - low) / (high - low)

    parts = [
        f'<svg class="waterfall" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" '
        f'role="img" aria-label="SHAP waterfall" data-base="{base_value:.6f}" '
        f'data-score="{score:.6f}">',
        f'<text x="{x(score):.1f}" y="16" font-size="12" text-anchor="middle" fill="#323f4b">'
        f"f(x) = {score:.3f}</text>",
        f'<line x1="{x(score):.1f}" y1="20" x2="{x(score):.1f}" y2="{top_pad}" '
        'stroke="#9aa5b1" stroke-dasharray="3 2"/>',
    ]
    for k, ((label, value), start) in enumerate(zip(rows, starts, strict=True)):
        y = top_pad + k * row_h
        x0, x1 = sorted((x(start), x(start + value)))
        colour, kind = (RAISES, "raises") if value >= 0 else (LOWERS, "lowers")
        parts += [
            f'<text x="{left - 8}" y="{y + 17}" font-size="12" text-anchor="end" '
            f'fill="#323f4b">{escape(label)}</text>',
            f'<rect class="{kind}" x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1.0):.1f}" '
            f'height="{row_h - 8}" fill="{colour}"><title>{value:+.4f}</title></rect>',
            f'<text x="{width - right + 6}" y="{y + 17}" font-size="12" fill="{colour}">'
            f"{value:+.3f}</text>",
        ]
    axis_y = top_pad + row_h * len(rows) + 4
    parts += [
        f'<line x1="{left}" y1="{axis_y}" x2="{left + inner}" y2="{axis_y}" stroke="#9aa5b1"/>',
        f'<line x1="{x(base_value):.1f}" y1="{top_pad}" x2="{x(base_value):.1f}" y2="{axis_y}" '
        'stroke="#9aa5b1" stroke-dasharray="3 2"/>',
        f'<text x="{x(base_value):.1f}" y="{axis_y + 15}" font-size="11" text-anchor="middle" '
        f'fill="#616e7c">E[f(x)] = {base_value:.3f}</text>',
        f'<text x="{left + inner / 2:.1f}" y="{axis_y + 31}" font-size="11" '
        'text-anchor="middle" fill="#616e7c">SHAP 值（对数几率）/ SHAP value (log-odds)</text>',
        "</svg>",
    ]
    return "".join(parts)


def history_svg(points: list[dict[str, Any]], tiers: dict[str, float]) -> str | None:
    """A small inline SVG line of probability by as-of date, with the tier bounds dashed."""
    points = [p for p in points if p.get("probability") is not None]
    if not points:
        return None
    width, height, pad_left, pad_right, pad_y = 560, 170, 44, 76, 18
    values = [float(p["probability"]) for p in points]
    top = max(max(values), tiers["D"]) * 1.15
    inner_w, inner_h = width - pad_left - pad_right, height - 2 * pad_y

    def x(i: int) -> float:
        return pad_left + (inner_w * i / (len(points) - 1) if len(points) > 1 else inner_w / 2)

    def y(v: float) -> float:
        return pad_y + inner_h * (1 - v / top)

    parts = [
        f'<svg class="history" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="score history">',
        f'<line x1="{pad_left}" y1="{y(0):.1f}" x2="{pad_left + inner_w}" y2="{y(0):.1f}" '
        'stroke="#9aa5b1"/>',
    ]
    last_label = float("inf")
    for name in ("B", "C", "D"):
        level = y(tiers[name])
        parts.append(
            f'<line x1="{pad_left}" y1="{level:.1f}" x2="{pad_left + inner_w}" y2="{level:.1f}" '
            'stroke="#d9e2ec" stroke-dasharray="4 3"/>'
        )
        if last_label - level >= 12:  # bounds close together would print on top of each other
            parts.append(
                f'<text x="{pad_left + inner_w + 6}" y="{level + 4:.1f}" font-size="11" '
                f'fill="#616e7c">{name} ≥ {100 * tiers[name]:g}%</text>'
            )
            last_label = level
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline fill="none" stroke="#0b5cab" stroke-width="2" points="{line}"/>')
    for i, (point, value) in enumerate(zip(points, values, strict=True)):
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="#0b5cab">'
            f"<title>{point['as_of']}: {100 * value:.1f}%</title></circle>"
        )
    label_every = max(1, len(points) // 6)
    for i, point in enumerate(points):
        if i % label_every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 2}" font-size="10" text-anchor="middle" '
                f'fill="#616e7c">{str(point["as_of"])[5:]}</text>'
            )
    parts.append(
        f'<text x="{x(len(points) - 1):.1f}" y="{y(values[-1]) - 8:.1f}" font-size="12" '
        f'text-anchor="middle" font-weight="bold" fill="#0b5cab">{100 * values[-1]:.1f}%</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
