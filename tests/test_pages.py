"""Every page builds: its components and event bindings are checked the way the compiler
checks them (a handler whose argument types do not fit its trigger, or a Var used wrongly,
fails here in seconds rather than in the e2e build)."""

from __future__ import annotations

import pytest
import reflex as rx

from app.app import app

PAGES = sorted(app._unevaluated_pages.items())


@pytest.mark.parametrize(("route", "page"), PAGES, ids=[route for route, _ in PAGES])
def test_page_builds(route: str, page: object) -> None:
    component = page.component  # type: ignore[attr-defined]
    built = component() if callable(component) else component
    assert isinstance(built, rx.Component)
    assert built.render(), f"{route} rendered nothing"
