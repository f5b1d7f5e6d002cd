"""The per-process cache of effective configs, dropped on commit and on broker messages."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from app.db import Scope
from app.services.config import inheritance
from app.services.config.schema import OrgConfig
from app.services.core import topics
from app.services.core.errors import NotFound
from app.services.infra import broker

CACHE_TTL_SECONDS = 60.0  # a safety net for a lost broker message; invalidation is the rule


@dataclass(frozen=True)
class _Entry:
    config: OrgConfig
    chain: frozenset[uuid.UUID]
    stored_at: float


class ConfigCache:
    """Effective configs per org for this process.

    `invalidate(org)` drops every entry whose chain contains `org` (its descendants inherit
    from it) and bumps `generation`; a resolution that started before a bump is returned
    but not stored, so a read racing a write cannot put the old value back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[uuid.UUID, _Entry] = {}
        self.generation = 0
        self._listening_on: object = None

    def _ensure_listening(self) -> None:
        current = broker.get_broker()
        if current is self._listening_on:
            return
        with self._lock:
            if current is self._listening_on:
                return
            self._listening_on = current
        current.listen(self._on_message)

    def _on_message(self, topic: str, payload: dict[str, Any]) -> None:
        ids = topics.CONFIG.ids(topic)
        if ids is not None:
            try:
                self.invalidate(uuid.UUID(ids["org"]))
            except ValueError:
                return

    def get(self, session: Session, org_id: uuid.UUID) -> OrgConfig:
        self._ensure_listening()
        if not _config_written(session):
            with self._lock:
                entry = self._entries.get(org_id)
            if entry is not None and time.monotonic() - entry.stored_at < CACHE_TTL_SECONDS:
                return entry.config
        with self._lock:
            generation = self.generation
        layers = inheritance.load_layers(session, org_id)
        config = inheritance.resolve([data for _, data in layers])
        if layers and not _config_written(session):
            entry = _Entry(config, frozenset(o.id for o, _ in layers), time.monotonic())
            with self._lock:
                if self.generation == generation:
                    self._entries[org_id] = entry
        return config

    def invalidate(self, org_id: uuid.UUID | None = None) -> None:
        """Forget `org_id` and every org below it (everything when None)."""
        with self._lock:
            self.generation += 1
            if org_id is None:
                self._entries.clear()
            else:
                for key in [k for k, e in self._entries.items() if org_id in e.chain]:
                    del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


_cache = ConfigCache()


def cache() -> ConfigCache:
    """The process's config cache (tests inspect it)."""
    return _cache


def invalidate(org_id: uuid.UUID | None = None) -> None:
    """Drop cached config for `org_id` and its descendants (all orgs when None)."""
    _cache.invalidate(org_id)


_WRITTEN_KEY = "org_config_written"


def _config_written(session: Session) -> bool:
    """Whether this session changed config in its open transaction (it must not cache)."""
    return bool(session.info.get(_WRITTEN_KEY))


def _after_commit(session: Session) -> None:
    for org_id in session.info.pop(_WRITTEN_KEY, set()):
        _cache.invalidate(org_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN_KEY, None)


def mark_written(session: Session, org_id: uuid.UUID) -> None:
    """Note that this session wrote the org's config: it stops caching until the
    transaction ends, and the org's entries are dropped when it commits."""
    written: set[uuid.UUID] | None = session.info.get(_WRITTEN_KEY)
    if written is None:
        written = session.info[_WRITTEN_KEY] = set()
    if not session.info.get("org_config_hooked"):
        session.info["org_config_hooked"] = True
        # First in line: the cache forgets the old value before the broker tells anyone.
        event.listen(session, "after_commit", _after_commit, insert=True)
        event.listen(session, "after_rollback", _after_rollback)
    written.add(org_id)


def _readable(session: Session, org_id: uuid.UUID) -> None:
    """The cached helpers answer only for orgs the session's scope covers (own subtree or
    ancestors), as an uncached read under row-level security would."""
    scope = session.info.get("scope")
    if isinstance(scope, Scope) and (
        scope.system or org_id in scope.org_ids or org_id in scope.ancestor_ids
    ):
        return
    raise NotFound()


def cached_config(session: Session, org_id: uuid.UUID) -> OrgConfig:
    """The effective config of an org in the session's scope, from the cache when fresh."""
    _readable(session, org_id)
    return _cache.get(session, org_id)
