"""Helpers for the HTTP route tests."""

from __future__ import annotations

from starlette.testclient import TestClient

from app.settings import get_settings
from tests import factories as f

BASE = "http://localhost:3000"
"""The app's own origin, as the tests' client sends it."""


def as_user(client: TestClient, who: f.SignedIn | None) -> TestClient:
    """The client carrying `who`'s session cookie (none for None: signed out)."""
    client.cookies.clear()
    if who is not None:
        client.cookies.set(get_settings().session_cookie_name, who.token)
    return client
