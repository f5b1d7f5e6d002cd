"""(being built)"""

from __future__ import annotations

import reflex as rx


def register(app: rx.App) -> None:
    """Add this area's pages to the app."""
