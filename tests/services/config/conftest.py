"""Org config tests capture what the broker publishes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.services.infra import broker


@pytest.fixture
def published() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every broker message of the test, captured by a LocalBroker listener."""
    broker.reset_broker()
    seen: list[tuple[str, dict[str, Any]]] = []
    broker.get_broker().listen(lambda topic, payload: seen.append((topic, payload)))
    yield seen
    broker.reset_broker()
