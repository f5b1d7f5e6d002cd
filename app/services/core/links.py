"""Links in text people wrote or were sent: the one place a URL in a body is recognised."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}*_"  # a sentence's punctuation after a link is not part of it


def split_links(body: str) -> list[tuple[str, str]]:
    """`body` as (text, href) parts, href "" for plain text: only http(s) URLs become links,
    trailing punctuation stays text. The page shows every part as text (never as HTML)."""
    parts: list[tuple[str, str]] = []
    pos = 0
    for match in URL.finditer(body):
        url = match.group(0).rstrip(TRAILING)
        start, end = match.start(), match.start() + len(url)
        parsed = urlsplit(url)
        if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
            continue
        if start > pos:
            parts.append((body[pos:start], ""))
        parts.append((url, url))
        pos = end
    if pos < len(body):
        parts.append((body[pos:], ""))
    return parts


def first_link(body: str) -> str:
    """The first http(s) link in `body` ("…/certificates." gives "…/certificates"), or ""."""
    return next((href for _text, href in split_links(body) if href), "")
