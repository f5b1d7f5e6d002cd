"""What the HTTP route tests share: a client on the app's own origin and a throwaway file store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app.api.routes import build_api
from tests.api.helpers import BASE


@pytest.fixture
def client() -> Iterator[TestClient]:
    """The API on the app's origin, redirects left for the test to see."""
    with TestClient(build_api(), base_url=BASE, follow_redirects=False) as c:
        yield c


@pytest.fixture
def local_files(tmp_path: Path, settings_env: Callable[..., None]) -> None:
    """The app stores files in a fresh local directory for this test."""
    settings_env(storage_dir=str(tmp_path / "files"))
