"""The train-table run's data report (HTML) and model card (Markdown, HTML) from their dicts.

Column names, categories and file names come from the analyst's table: HTML escapes them
(autoescape) and Markdown gets them with the characters that would break a table or start
markup escaped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from models.table_report import LEAKAGE_AUC

TEMPLATES = Path(__file__).resolve().parents[1] / "reports" / "templates"


def render_data_report(report: Mapping[str, Any]) -> str:
    return _render("table_report.html.j2", html=True, report=report, leakage_auc=LEAKAGE_AUC)


def render_table_card(card: Mapping[str, Any], *, html: bool) -> str:
    name = "table_card.html.j2" if html else "table_card.md.j2"
    return _render(name, html=html, card=card)


def _render(name: str, *, html: bool, **context: Any) -> str:
    environment = jinja2.Environment(
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(num=_num, pct=_pct, signed=_signed, md=markdown_text)
    template = (TEMPLATES / name).read_text(encoding="utf-8")
    return environment.from_string(template).render(**context)


def markdown_text(value: Any) -> str:
    """Untrusted text safe inside a Markdown table cell: one line, markup characters escaped."""
    text = re.sub(r"\s+", " ", str(value))
    return re.sub(r"([\\`*_{}\[\]()#+!|<>~])", r"\\\1", text)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _pct(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}%}"


def _signed(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:+.{digits}f}"
