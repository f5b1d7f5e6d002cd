"""Health of the parts the app depends on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.db import get_engine
from app.services.storage import get_storage
from app.settings import get_settings


def check() -> tuple[bool, dict[str, Any]]:
    """(all healthy, per-part status) for the database, Redis (when configured) and file
    storage."""
    parts: dict[str, Any] = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        parts["database"] = {"ok": True, "backend": get_engine().dialect.name}
    except Exception as exc:  # any driver error means "down"
        parts["database"] = {"ok": False, "error": type(exc).__name__}
    url = get_settings().redis_url
    if url:
        import redis

        try:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            client.ping()
            client.close()
            parts["redis"] = {"ok": True}
        except redis.RedisError as exc:
            parts["redis"] = {"ok": False, "error": type(exc).__name__}
    else:
        parts["redis"] = {"ok": True, "configured": False}
    try:
        get_storage().exists("health/probe")
        parts["storage"] = {"ok": True, "backend": type(get_storage()).__name__}
    except Exception as exc:  # unreachable bucket, unreadable directory
        parts["storage"] = {"ok": False, "error": type(exc).__name__}
    healthy = all(p["ok"] for p in parts.values())
    return healthy, parts
