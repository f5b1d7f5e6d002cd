"""Links in bodies: chat messages and the mail log turn http(s) URLs into links, and a
sentence's closing punctuation is never part of one."""

from __future__ import annotations

import pytest

from app.services.core import links


def test_a_link_keeps_its_path_and_drops_the_full_stop() -> None:
    body = "Your certificate is ready: https://guildhall.example/certificates. Well done!"
    assert links.split_links(body) == [
        ("Your certificate is ready: ", ""),
        ("https://guildhall.example/certificates", "https://guildhall.example/certificates"),
        (". Well done!", ""),
    ]
    assert links.first_link(body) == "https://guildhall.example/certificates"


@pytest.mark.parametrize(
    ("body", "href"),
    [
        ("see (https://a.example/x?y=1).", "https://a.example/x?y=1"),
        ("HTTPS://A.example/path, then", "HTTPS://A.example/path"),
        ("two: https://a.example/1 and https://b.example/2", "https://a.example/1"),
        ("javascript:alert(1) is not a link", ""),
        ("http:// with no host", ""),
        ("no link here.", ""),
    ],
)
def test_only_http_links_with_a_host_count(body: str, href: str) -> None:
    assert links.first_link(body) == href
    assert "".join(text for text, _href in links.split_links(body)) == body  # nothing lost


def test_markup_around_a_link_is_text_not_part_of_it() -> None:
    parts = links.split_links('<a href="https://evil.example/">x</a>')
    assert [href for _t, href in parts if href] == ["https://evil.example/"]
    assert "".join(t for t, _h in parts) == '<a href="https://evil.example/">x</a>'
