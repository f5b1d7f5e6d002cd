"""The cover a course shows when none was uploaded: a colour picked by its category, and its
initials, so a catalog without images still reads as a catalog (and no card is blank)."""

from __future__ import annotations

import hashlib

# Radix colour scales that carry white initials at step 9 (contrast >= 4.5:1).
TINTS = ("indigo", "teal", "crimson", "violet", "cyan", "plum", "jade", "ruby", "iris", "bronze")


def cover_tint(category: str) -> str:
    """The same colour for every course of a category (and for uncategorised courses)."""
    digest = hashlib.sha256(category.strip().casefold().encode()).digest()
    return TINTS[digest[0] % len(TINTS)]


def initials(title: str) -> str:
    """Up to two letters from the title's first words ("Forklift safety" gives "FS")."""
    words = [w for w in title.replace("-", " ").split() if w[:1].isalnum()]
    return "".join(w[0] for w in words[:2]).upper() or "?"
