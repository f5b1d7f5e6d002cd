"""How counts read in messages and on pages: "1 course", "2 courses"."""

from __future__ import annotations


def counted(n: int, one: str, many: str | None = None) -> str:
    """`n` with the noun in the number it needs: `counted(1, "lesson")` is "1 lesson",
    `counted(3, "person", "people")` is "3 people"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
