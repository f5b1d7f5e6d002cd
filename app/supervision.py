"""Backend workers that come back: a crashed or killed worker is replaced, not fatal.

`reflex run --env prod` builds granian's `Server` without `respawn_failed_workers`, so one
worker's crash (or out-of-memory kill) made granian stop every worker and Reflex exit: a full
outage. Reflex looks the class up in `granian.server` when it starts the backend, so
`rxconfig.py` swaps in a subclass whose defaults respawn failed workers (and, when
`GUILDHALL_WORKER_MAX_RSS_MB` is set, recycle a worker that grows past it). Granian still
exits on a crash loop (a respawned worker dying again within seconds); the process manager
around it (systemd, see docs/operations.md) restarts the whole app then.
"""

from __future__ import annotations

from typing import Any

from app.settings import get_settings

# How long granian waits between respawns of a worker that keeps failing, and how long a
# worker may take to stop before it is killed.
RESPAWN_INTERVAL_SECONDS = 1.0
WORKER_KILL_TIMEOUT_SECONDS = 30


def respawning_server_class(base: type[Any]) -> type[Any]:
    """A subclass of granian's `base` server whose workers are respawned when they die."""

    class RespawningServer(base):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("respawn_failed_workers", True)
            kwargs.setdefault("respawn_interval", RESPAWN_INTERVAL_SECONDS)
            kwargs.setdefault("workers_kill_timeout", WORKER_KILL_TIMEOUT_SECONDS)
            max_rss = get_settings().worker_max_rss_mb
            if max_rss:
                kwargs.setdefault("workers_max_rss", max_rss)
            super().__init__(*args, **kwargs)

    RespawningServer.__name__ = RespawningServer.__qualname__ = f"Respawning{base.__name__}"
    return RespawningServer


def install_respawning_workers() -> None:
    """Make the granian server Reflex starts respawn failed workers (idempotent)."""
    try:
        import granian.server as granian_server
    except ImportError:  # uvicorn fallback or a dev install without granian
        return
    current = granian_server.Server
    if getattr(current, "_guildhall_respawns", False):
        return
    server = respawning_server_class(current)
    server._guildhall_respawns = True
    granian_server.Server = server
