"""HTTP routes: reports (see build_api in app/api/routes.py)."""

from __future__ import annotations

from starlette.routing import BaseRoute

ROUTES: list[BaseRoute] = []
