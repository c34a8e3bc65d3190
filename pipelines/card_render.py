"""A model card as Markdown or HTML, with the templates under ``reports/templates/``.

Kept apart from the card building so that the site can re-render cards without importing the
tracking and training stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from models import card

TEMPLATES = Path(__file__).resolve().parents[1] / "reports" / "templates"
MARKDOWN_TEMPLATE = "model_card.md.j2"
HTML_TEMPLATE = "model_card.html.j2"


def render_card(built: Mapping[str, Any], *, html: bool, back_link: str | None = None) -> str:
    template = (TEMPLATES / (HTML_TEMPLATE if html else MARKDOWN_TEMPLATE)).read_text("utf-8")
    return card.render(built, template, html=html, back_link=back_link)
