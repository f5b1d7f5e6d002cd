"""A course without an uploaded cover still gets one: its category's colour, its initials."""

from __future__ import annotations

from app.state import covers


def test_a_category_always_gets_the_same_colour_and_titles_give_initials() -> None:
    assert covers.cover_tint("Safety") == covers.cover_tint(" safety ")
    assert covers.cover_tint("Safety") in covers.TINTS
    assert len({covers.cover_tint(c) for c in ("Safety", "Office", "Trades", "Care", "IT")}) > 1
    assert covers.initials("Forklift safety refresher") == "FS"
    assert covers.initials("first-aid basics") == "FA"
    assert covers.initials("  ") == "?"
