"""The config cache: invalidation on commit and on broker messages, races, scope."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.services.config import cache, gates, inheritance, writes
from app.services.core import topics
from app.services.core.errors import NotFound
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests.services.config.helpers import family, update

pytestmark = pytest.mark.usefixtures("backend")


def test_cache_is_invalidated_at_once_after_an_update(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    parent, child_id, _ = family()
    ctx = parent.ctx
    with tenant_session(ctx) as session:
        assert gates.feature_enabled(session, ctx.org_id, "chat") is True  # type: ignore[arg-type]
        assert gates.feature_enabled(session, child_id, "chat") is True
        assert gates.branding(session, child_id).primary_color == "indigo"
    update(ctx, parent.org_id, "features", chat=False)
    update(ctx, parent.org_id, "branding", primary_color="ruby")
    with tenant_session(ctx) as session:
        assert gates.feature_enabled(session, parent.org_id, "chat") is False
        # The child inherits: its cached entry went too.
        assert gates.feature_enabled(session, child_id, "chat") is False
        assert gates.branding(session, child_id).primary_color == "ruby"
    update(ctx, parent.org_id, "features", chat=True)
    with tenant_session(ctx) as session:
        assert gates.feature_enabled(session, child_id, "chat") is True


def test_cache_serves_repeated_reads_and_drops_on_a_broker_message() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert gates.feature_enabled(session, admin.org_id, "events") is True
    # A write the cache does not see (another process, here a raw overwrite of the row
    # through a second session that skips the hooks): the entry still answers...
    other = cache.ConfigCache()
    with tenant_session(admin.ctx) as session:
        other.get(session, admin.org_id)
        session.info["org_config_written"] = set()
        writes._write(session, admin.org_id, {"features": {"events": False}})
        session.info.pop("org_config_written", None)
        session.commit()
    with tenant_session(admin.ctx) as session:
        assert other.get(session, admin.org_id).features.events is True  # cached
    # ...until that process's message arrives on the broker.
    other._on_message(
        topics.CONFIG.name(org=admin.org_id), {"org_id": str(admin.org_id), "section": "*"}
    )
    with tenant_session(admin.ctx) as session:
        assert other.get(session, admin.org_id).features.events is False


def test_a_read_that_raced_a_write_is_not_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = f.new_admin()
    fresh = cache.ConfigCache()
    original = inheritance.load_layers

    def racing(s: Any, org_id: uuid.UUID) -> Any:
        layers = original(s, org_id)
        fresh.invalidate(org_id)  # a write commits while this read is under way
        return layers

    with tenant_session(admin.ctx) as session:
        monkeypatch.setattr(inheritance, "load_layers", racing)
        fresh.get(session, admin.org_id)
    assert len(fresh) == 0


def test_cached_helpers_refuse_orgs_outside_the_scope() -> None:
    t = f.two_tenants()
    with tenant_session(t.b.ctx) as session, pytest.raises(NotFound):
        gates.feature_enabled(session, t.a.org_id, "chat")


def test_low_level_writes_invalidate_on_commit_only() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert gates.feature_enabled(session, admin.org_id, "chat") is True
    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"features": {"chat": False}})
        # This session's own open write is never served from (or put into) the cache.
        assert gates.feature_enabled(session, admin.org_id, "chat") is False
        session.rollback()
    with tenant_session(admin.ctx) as session:
        assert gates.feature_enabled(session, admin.org_id, "chat") is True
        writes.set_overrides(session, admin.org_id, {"features": {"chat": False}})
        session.commit()
    with tenant_session(admin.ctx) as session:
        assert gates.feature_enabled(session, admin.org_id, "chat") is False
