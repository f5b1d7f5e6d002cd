"""Authoring tests store lesson media and covers in a directory of their own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _files(settings_env: Callable[..., None], tmp_path: Path) -> None:
    settings_env(storage_dir=tmp_path / "files")
