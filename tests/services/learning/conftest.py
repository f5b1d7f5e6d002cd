"""Fixtures the learning service tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.services.infra import broker


@pytest.fixture
def heard() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """What the in-process broker publishes during the test."""
    broker.reset_broker()
    got: list[tuple[str, dict[str, Any]]] = []
    broker.get_broker().listen(lambda t, p: got.append((t, p)))
    yield got
    broker.reset_broker()
