"""User-written Markdown never renders raw HTML: Reflex's `rx.markdown` enables rehype-raw by
default, so the app renders through `safe_markdown`, and nothing else calls `rx.markdown`."""

from __future__ import annotations

import re
from pathlib import Path

import reflex as rx

from app.components.ui import safe_markdown

APP = Path(__file__).resolve().parent.parent / "app"


def test_safe_markdown_has_no_raw_html_plugin() -> None:
    rendered = str(safe_markdown("<img src=x onerror=alert(1)>").render())
    assert "rehypeRaw" not in rendered
    assert "rehypeRaw" in str(rx.markdown("x").render())  # what the default would do


def test_no_page_calls_rx_markdown_directly() -> None:
    offenders = [
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if path.name != "ui.py" and re.search(r"\brx\.markdown\(", path.read_text())
    ]
    assert offenders == []
