"""Counts read as people write them: "1 course", "2 courses", "0 courses"."""

from __future__ import annotations

from app.services.core.wording import counted


def test_one_is_singular_and_everything_else_plural() -> None:
    assert [counted(n, "course") for n in (0, 1, 2)] == ["0 courses", "1 course", "2 courses"]
    assert counted(1, "person", "people") == "1 person"
    assert counted(7, "person", "people") == "7 people"
