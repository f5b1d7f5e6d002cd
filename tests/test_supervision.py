"""The granian server Reflex starts replaces failed workers (the faults suite kills them for
real: tests/faults/test_backend_worker.py)."""

from __future__ import annotations

from typing import Any

import pytest

from app import supervision


class _Server:
    def __init__(self, target: str, **kwargs: Any) -> None:
        self.target, self.kwargs = target, kwargs


def test_workers_are_respawned_and_recycled_past_the_memory_ceiling(
    settings_env: Any,
) -> None:
    settings_env(worker_max_rss_mb=900)
    server = supervision.respawning_server_class(_Server)("app:app", workers=2)
    assert server.kwargs["respawn_failed_workers"] is True
    assert server.kwargs["workers_max_rss"] == 900
    assert server.kwargs["workers"] == 2


def test_an_explicit_choice_is_kept_and_no_ceiling_by_default(settings_env: Any) -> None:
    settings_env(worker_max_rss_mb=0)
    server = supervision.respawning_server_class(_Server)("t", respawn_failed_workers=False)
    assert server.kwargs["respawn_failed_workers"] is False
    assert "workers_max_rss" not in server.kwargs


def test_installing_swaps_the_class_reflex_looks_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import granian.server as granian_server

    monkeypatch.setattr(granian_server, "Server", _Server)
    supervision.install_respawning_workers()
    supervision.install_respawning_workers()
    installed = granian_server.Server
    assert issubclass(installed, _Server) and installed.__mro__[1] is _Server
    assert installed("t").kwargs["respawn_failed_workers"] is True
