"""The org config engine: inheritance with sources, validated section updates, audit,
publishing, the cached helpers and their invalidation, limits, license and usage."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from app.models.user import Role
from app.services.config import org_config
from app.services.core import audit
from app.services.core.errors import LimitReached, NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra import broker
from app.services.people import seats
from tests import factories as f
from tests.conftest import Backend

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def published() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every broker message of the test, captured by a LocalBroker listener."""
    broker.reset_broker()
    seen: list[tuple[str, dict[str, Any]]] = []
    broker.get_broker().listen(lambda topic, payload: seen.append((topic, payload)))
    yield seen
    broker.reset_broker()


def _family() -> tuple[f.SignedIn, uuid.UUID, str]:
    """A parent admin (refreshed, so the child is in scope), the child id and name."""
    parent = f.new_admin()
    name = f.unique("Child")
    child = f.child_org(parent.ctx, name=name)
    return f.refresh(parent), child.id, name


def _update(ctx: OrgContext, org_id: uuid.UUID, section: str, **values: Any) -> None:
    with tenant_session(ctx) as session:
        org_config.update_section(session, ctx, org_id=org_id, section=section, values=values)


def _views(ctx: OrgContext, org_id: uuid.UUID) -> org_config.SectionsView:
    with tenant_session(ctx) as session:
        return org_config.effective_with_sources(session, ctx, org_id=org_id)


def _stored(peek: Any, org_id: uuid.UUID) -> tuple[Any, int]:
    rows = peek("SELECT data, version FROM org_settings WHERE org_id = :o", o=_key(peek, org_id))
    assert len(rows) == 1
    data = rows[0][0]
    if isinstance(data, str):
        data = json.loads(data)
    return data, rows[0][1]


def _key(peek: Any, org_id: uuid.UUID) -> str:
    # SQLite stores UUIDs as 32 hex digits; PostgreSQL as uuid.
    return org_id.hex if _is_sqlite(peek) else str(org_id)


def _is_sqlite(peek: Any) -> bool:
    try:
        peek("SELECT sqlite_version()")
    except Exception:
        return False
    return True


# --------------------------------------------------------------------------- inheritance


def test_defaults_show_as_default() -> None:
    admin = f.new_admin()
    views = _views(admin.ctx, admin.org_id)
    assert set(views) == set(org_config.SECTIONS)
    chat = views["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (True, "default", False)
    assert views["branding"]["primary_color"].value == "indigo"


def test_child_inherits_parent_override_with_the_parent_named() -> None:
    parent, child_id, _ = _family()
    _update(parent.ctx, parent.org_id, "features", chat=False)
    _update(parent.ctx, parent.org_id, "branding", primary_color="crimson")

    mine = _views(parent.ctx, parent.org_id)
    assert (mine["features"]["chat"].source, mine["features"]["chat"].overridden) == ("own", True)

    child = _views(parent.ctx, child_id)
    chat = child["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (False, parent.ctx.org_name, False)
    assert chat.source_org_id == str(parent.org_id)
    assert child["branding"]["primary_color"].value == "crimson"
    assert child["features"]["events"].source == "default"


def test_child_override_wins_and_reset_returns_to_inherited() -> None:
    parent, child_id, _ = _family()
    _update(parent.ctx, parent.org_id, "features", chat=False)
    _update(parent.ctx, child_id, "features", chat=True)
    chat = _views(parent.ctx, child_id)["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (True, "own", True)

    with tenant_session(parent.ctx) as session:
        config = org_config.reset_override(
            session, parent.ctx, org_id=child_id, section="features", field="chat"
        )
    assert config.features.chat is False
    chat = _views(parent.ctx, child_id)["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (False, parent.ctx.org_name, False)


def test_grandchild_sees_the_nearest_ancestor(backend: Backend) -> None:
    parent, child_id, child_name = _family()
    grandchild = f.child_org(parent.ctx, parent_id=child_id, kind="local")
    parent = f.refresh(parent)
    _update(parent.ctx, parent.org_id, "branding", primary_color="jade", site_name="Top")
    _update(parent.ctx, child_id, "branding", primary_color="amber")
    views = _views(parent.ctx, grandchild.id)["branding"]
    assert (views["primary_color"].value, views["primary_color"].source) == ("amber", child_name)
    assert (views["site_name"].value, views["site_name"].source) == (
        "Top",
        parent.ctx.org_name,
    )


def test_a_value_equal_to_the_inherited_one_is_not_stored(peek: Any) -> None:
    parent, child_id, _ = _family()
    _update(parent.ctx, parent.org_id, "delivery", modes=["online"])
    _update(parent.ctx, child_id, "delivery", modes=["online"])  # same as the parent's
    data, _ = _stored(peek, child_id)
    assert "delivery" not in data
    # ...so the child keeps following the parent.
    _update(parent.ctx, parent.org_id, "delivery", modes=["hybrid"])
    assert _views(parent.ctx, child_id)["delivery"]["modes"].value == ["hybrid"]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("section", "values", "field", "words"),
    [
        ("branding", {"primary_color": "chartreuse"}, "branding.primary_color", "indigo"),
        ("branding", {"site_name": "x" * 81}, "branding.site_name", "80"),
        ("branding", {"logo_url": "javascript:alert(1)"}, "branding.logo_url", "https"),
        ("limits", {"max_students": -1}, "limits.max_students", "0 or more"),
        ("limits", {"max_staff": "lots"}, "limits.max_staff", "whole number"),
        ("delivery", {"modes": []}, "delivery.modes", "at least one"),
        ("delivery", {"modes": ["carrier_pigeon"]}, "delivery.modes", "not a delivery mode"),
        ("funding", {"sources": []}, "funding.sources", "at least one"),
        ("funding", {"sources": ["bitcoin"]}, "funding.sources", "not a standard"),
        (
            "funding",
            {"custom": [{"slug": "a b!", "label": "Bad"}], "sources": ["wioa"]},
            "funding.custom",
            "letters, digits",
        ),
        (
            "funding",
            {"custom": [{"slug": "wioa", "label": "Again"}], "sources": ["wioa"]},
            "funding.custom",
            "standard source already",
        ),
        ("features", {"teleport": True}, "features.teleport", "no such setting"),
    ],
)
def test_invalid_values_are_refused_with_the_field_and_nothing_is_saved(
    peek: Any,
    published: list[tuple[str, dict[str, Any]]],
    section: str,
    values: dict[str, Any],
    field: str,
    words: str,
) -> None:
    admin = f.new_admin()
    before = _stored(peek, admin.org_id)
    # A valid field beside the invalid one is not half-saved either.
    extra = {"site_name": "Half"} if section == "branding" else {}
    with (
        tenant_session(admin.ctx) as session,
        pytest.raises(ValidationFailed) as refused,
    ):
        org_config.update_section(
            session, admin.ctx, org_id=admin.org_id, section=section, values={**extra, **values}
        )
    assert refused.value.field == field
    assert words in refused.value.message
    assert _stored(peek, admin.org_id) == before
    assert not [t for t, _ in published if t == broker.config_topic(admin.org_id)]
    with tenant_session(admin.ctx) as session:
        page = audit.list_events(session, admin.ctx, action="config.")
    assert page.total == 0


def test_license_section_is_read_only() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed) as refused:
        org_config.update_section(
            session, admin.ctx, org_id=admin.org_id, section="license", values={"state": "active"}
        )
    assert refused.value.field == "license"
    assert "read-only" in refused.value.message


def test_custom_funding_sources_and_normalized_values(peek: Any) -> None:
    admin = f.new_admin()
    _update(
        admin.ctx,
        admin.org_id,
        "funding",
        custom=[{"slug": "State_Grant", "label": "  State   grant "}],
        sources=["wioa", "state_grant", "wioa"],
    )
    funding = _views(admin.ctx, admin.org_id)["funding"]
    assert funding["custom"].value == [{"slug": "state_grant", "label": "State grant"}]
    assert funding["sources"].value == ["wioa", "state_grant"]
    _update(admin.ctx, admin.org_id, "limits", max_students="12", max_staff="")
    data, _ = _stored(peek, admin.org_id)
    assert data["limits"] == {"max_students": 12}  # "" is unlimited: the default, not stored


def test_parent_cannot_drop_a_custom_source_a_child_still_uses() -> None:
    parent, child_id, child_name = _family()
    custom = [{"slug": "county_fund", "label": "County fund"}]
    _update(parent.ctx, parent.org_id, "funding", custom=custom, sources=["county_fund"])
    _update(parent.ctx, child_id, "funding", sources=["county_fund", "wioa"])
    with tenant_session(parent.ctx) as session, pytest.raises(ValidationFailed) as refused:
        org_config.update_section(
            session,
            parent.ctx,
            org_id=parent.org_id,
            section="funding",
            values={"custom": [], "sources": ["wioa"]},
        )
    assert child_name in refused.value.message


# --------------------------------------------------------------------------- audit, version


def test_change_is_audited_with_before_and_after_and_bumps_the_version(peek: Any) -> None:
    admin = f.new_admin()
    _, version = _stored(peek, admin.org_id)
    _update(admin.ctx, admin.org_id, "branding", primary_color="grass", site_name="Riverside")
    _, after_version = _stored(peek, admin.org_id)
    assert after_version == version + 1
    with tenant_session(admin.ctx) as session:
        (event,) = audit.list_events(session, admin.ctx, action="config.changed").rows
    assert event.actor_email == admin.email
    assert event.detail["section"] == "branding"
    assert event.detail["before"] == {"primary_color": "indigo", "site_name": ""}
    assert event.detail["after"] == {"primary_color": "grass", "site_name": "Riverside"}

    with tenant_session(admin.ctx) as session:
        org_config.reset_override(
            session, admin.ctx, org_id=admin.org_id, section="branding", field="site_name"
        )
        (reset,) = audit.list_events(session, admin.ctx, action="config.reset").rows
    assert reset.detail["before"] == {"site_name": "Riverside"}
    assert reset.detail["after"] == {"site_name": ""}


def test_saving_the_same_values_twice_changes_nothing(peek: Any) -> None:
    admin = f.new_admin()
    _update(admin.ctx, admin.org_id, "features", chat=False)
    _, version = _stored(peek, admin.org_id)
    _update(admin.ctx, admin.org_id, "features", chat=False)
    assert _stored(peek, admin.org_id)[1] == version
    with tenant_session(admin.ctx) as session:
        assert audit.list_events(session, admin.ctx, action="config.changed").total == 1


# --------------------------------------------------------------------------- who may edit


def test_child_admin_cannot_edit_or_read_the_parent() -> None:
    parent, child_id, _ = _family()
    child_admin = f.invite_and_accept_member(parent.ctx, Role.org_admin, org_id=child_id)
    with tenant_session(child_admin.ctx) as session:
        with pytest.raises(NotFound):
            org_config.update_section(
                session,
                child_admin.ctx,
                org_id=parent.org_id,
                section="features",
                values={"chat": False},
            )
        with pytest.raises(NotFound):
            org_config.reset_override(
                session, child_admin.ctx, org_id=parent.org_id, section="features", field="chat"
            )
        with pytest.raises(NotFound):
            org_config.effective_with_sources(session, child_admin.ctx, org_id=parent.org_id)
    # ...but edits its own org, which the parent's admin then sees.
    _update(child_admin.ctx, child_id, "features", events=False)
    assert _views(parent.ctx, child_id)["features"]["events"].value is False
    assert _views(parent.ctx, parent.org_id)["features"]["events"].value is True


def test_parent_admin_edits_a_child() -> None:
    parent, child_id, _ = _family()
    _update(parent.ctx, child_id, "limits", max_staff=3)
    view = _views(parent.ctx, child_id)["limits"]["max_staff"]
    assert (view.value, view.source) == (3, "own")


@pytest.mark.parametrize("role", [Role.staff, Role.learner, Role.auditor])
def test_other_roles_cannot_edit_or_read(role: str) -> None:
    admin = f.new_admin()
    member = f.invite_and_accept(admin.ctx, role)
    with tenant_session(member) as session:
        with pytest.raises(PermissionDenied):
            org_config.update_section(
                session, member, org_id=admin.org_id, section="features", values={"chat": False}
            )
        with pytest.raises(PermissionDenied):
            org_config.effective_with_sources(session, member, org_id=admin.org_id)
        with pytest.raises(PermissionDenied):
            seats.usage(session, member, org_id=admin.org_id)


# --------------------------------------------------------------------------- publishing


def test_update_publishes_on_the_config_topic_after_commit(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    admin = f.new_admin()
    _update(admin.ctx, admin.org_id, "features", chat=False)
    assert (
        broker.config_topic(admin.org_id),
        {"org_id": str(admin.org_id), "section": "features"},
    ) in published
    published.clear()
    with tenant_session(admin.ctx) as session:
        org_config.reset_override(
            session, admin.ctx, org_id=admin.org_id, section="features", field="chat"
        )
    assert [t for t, _ in published] == [broker.config_topic(admin.org_id)]


def test_failed_or_refused_update_publishes_nothing(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    parent, child_id, _ = _family()
    child_admin = f.invite_and_accept_member(parent.ctx, Role.org_admin, org_id=child_id)
    with tenant_session(parent.ctx) as session, pytest.raises(ValidationFailed):
        org_config.update_section(
            session,
            parent.ctx,
            org_id=parent.org_id,
            section="branding",
            values={"primary_color": "plaid"},
        )
    with tenant_session(child_admin.ctx) as session, pytest.raises(NotFound):
        org_config.update_section(
            session,
            child_admin.ctx,
            org_id=parent.org_id,
            section="features",
            values={"chat": False},
        )
    # (accepting the child admin's invite told the inviter, on their inbox: not a config event)
    assert [topic for topic, _ in published if not topic.startswith("user:")] == []


# --------------------------------------------------------------------------- cached helpers


def test_cache_is_invalidated_at_once_after_an_update(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    parent, child_id, _ = _family()
    ctx = parent.ctx
    with tenant_session(ctx) as session:
        assert org_config.feature_enabled(session, ctx.org_id, "chat") is True  # type: ignore[arg-type]
        assert org_config.feature_enabled(session, child_id, "chat") is True
        assert org_config.branding(session, child_id).primary_color == "indigo"
    _update(ctx, parent.org_id, "features", chat=False)
    _update(ctx, parent.org_id, "branding", primary_color="ruby")
    with tenant_session(ctx) as session:
        assert org_config.feature_enabled(session, parent.org_id, "chat") is False
        # The child inherits: its cached entry went too.
        assert org_config.feature_enabled(session, child_id, "chat") is False
        assert org_config.branding(session, child_id).primary_color == "ruby"
    _update(ctx, parent.org_id, "features", chat=True)
    with tenant_session(ctx) as session:
        assert org_config.feature_enabled(session, child_id, "chat") is True


def test_cache_serves_repeated_reads_and_drops_on_a_broker_message() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert org_config.feature_enabled(session, admin.org_id, "events") is True
    # A write the cache does not see (another process, here a raw overwrite of the row
    # through a second session that skips the hooks): the entry still answers...
    other = org_config.ConfigCache()
    with tenant_session(admin.ctx) as session:
        other.get(session, admin.org_id)
        session.info["org_config_written"] = set()
        org_config._write(session, admin.org_id, {"features": {"events": False}})
        session.info.pop("org_config_written", None)
        session.commit()
    with tenant_session(admin.ctx) as session:
        assert other.get(session, admin.org_id).features.events is True  # cached
    # ...until that process's message arrives on the broker.
    other._on_message(broker.config_topic(admin.org_id), {"org_id": str(admin.org_id)})
    with tenant_session(admin.ctx) as session:
        assert other.get(session, admin.org_id).features.events is False


def test_a_read_that_raced_a_write_is_not_stored() -> None:
    admin = f.new_admin()
    cache = org_config.ConfigCache()
    with tenant_session(admin.ctx) as session:
        original = org_config._layers

        def racing(s: Any, org_id: uuid.UUID) -> Any:
            layers = original(s, org_id)
            cache.invalidate(org_id)  # a write commits while this read is under way
            return layers

        org_config._layers = racing  # type: ignore[assignment]
        try:
            cache.get(session, admin.org_id)
        finally:
            org_config._layers = original  # type: ignore[assignment]
    assert len(cache) == 0


def test_cached_helpers_refuse_orgs_outside_the_scope() -> None:
    t = f.two_tenants()
    with tenant_session(t.b.ctx) as session, pytest.raises(NotFound):
        org_config.feature_enabled(session, t.a.org_id, "chat")


def test_limits_helpers() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert org_config.within_limit(session, admin.org_id, "max_programs", 10_000)
    _update(admin.ctx, admin.org_id, "limits", max_programs=2)
    with tenant_session(admin.ctx) as session:
        assert org_config.within_limit(session, admin.org_id, "max_programs", 1)
        assert not org_config.within_limit(session, admin.org_id, "max_programs", 2)
        assert org_config.within_limit(session, admin.org_id, "max_programs", 2, adding=0)
        org_config.check_limit(session, admin.org_id, "max_programs", 1)
        with pytest.raises(LimitReached) as refused:
            org_config.check_limit(session, admin.org_id, "max_programs", 2)
    assert "2 of its 2 programs" in refused.value.message
    assert refused.value.field == "max_programs"


def test_usage_counts_seats_and_allows_over_limit() -> None:
    admin = f.new_admin()
    f.invite_and_accept(admin.ctx, Role.learner)
    f.invite(admin.ctx, Role.learner)  # a pending invite holds a seat too
    _update(admin.ctx, admin.org_id, "limits", max_students=1)  # lowered below usage: allowed
    with tenant_session(admin.ctx) as session:
        used = seats.usage(session, admin.ctx, org_id=admin.org_id)
    assert used["max_students"] == (2, 1)
    assert used["max_staff"] == (1, None)  # the admin
    assert used["max_programs"] == (0, None)


def test_license_allows_learning_always_and_admin_only_when_not_restricted() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert org_config.license_allows(session, admin.org_id, "admin")
        org_config.set_overrides(session, admin.org_id, {"license": {"state": "restricted"}})
        session.commit()
    with tenant_session(admin.ctx) as session:
        assert org_config.license_allows(session, admin.org_id, "learning")
        assert org_config.license_allows(session, admin.org_id, "billing")
        assert not org_config.license_allows(session, admin.org_id, "admin")
        with pytest.raises(PermissionDenied) as refused:
            org_config.update_section(
                session, admin.ctx, org_id=admin.org_id, section="features", values={"chat": False}
            )
    assert "restricted" in refused.value.message


def test_feature_gate_refuses_with_the_feature_named() -> None:
    admin = f.new_admin()
    _update(admin.ctx, admin.org_id, "features", events=False)
    with tenant_session(admin.ctx) as session, pytest.raises(PermissionDenied) as refused:
        org_config.require_feature(session, admin.org_id, "events")
    assert "Events" in refused.value.message


def test_low_level_writes_invalidate_on_commit_only() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert org_config.feature_enabled(session, admin.org_id, "chat") is True
    with tenant_session(admin.ctx) as session:
        org_config.set_overrides(session, admin.org_id, {"features": {"chat": False}})
        # This session's own open write is never served from (or put into) the cache.
        assert org_config.feature_enabled(session, admin.org_id, "chat") is False
        session.rollback()
    with tenant_session(admin.ctx) as session:
        assert org_config.feature_enabled(session, admin.org_id, "chat") is True
        org_config.set_overrides(session, admin.org_id, {"features": {"chat": False}})
        session.commit()
    with tenant_session(admin.ctx) as session:
        assert org_config.feature_enabled(session, admin.org_id, "chat") is False


# --------------------------------------------------------------------------- the logo

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def storage_dir(tmp_path: Any, settings_env: Any) -> Any:
    settings_env(storage_dir=str(tmp_path / "files"))
    return tmp_path / "files"


def test_logo_upload_stores_a_public_file_and_sets_the_url(storage_dir: Any) -> None:
    from app.services.infra import storage

    parent, child_id, _ = _family()
    with tenant_session(parent.ctx) as session:
        config = org_config.set_logo(session, parent.ctx, org_id=parent.org_id, data=PNG)
    url = config.branding.logo_url
    assert url.startswith(f"/files/public/org/{parent.org_id}/logo-") and url.endswith(".png")
    data, content_type = storage.get_storage().get(url.removeprefix("/files/"))
    assert (data, content_type) == (PNG, "image/png")
    # The child inherits the logo like any branding value.
    logo = _views(parent.ctx, child_id)["branding"]["logo_url"]
    assert (logo.value, logo.source) == (url, parent.ctx.org_name)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (SVG, "SVG is not accepted"),
        (b"GIF89a" + b"\x00" * 20, "PNG, JPEG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 1_000_000, "too large"),
    ],
)
def test_logo_upload_refuses_other_content(storage_dir: Any, data: bytes, words: str) -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed) as refused:
        org_config.set_logo(session, admin.ctx, org_id=admin.org_id, data=data)
    assert refused.value.field == "branding.logo_url"
    assert words in refused.value.message
    assert _views(admin.ctx, admin.org_id)["branding"]["logo_url"].value == ""
    assert not storage_dir.exists() or not any(p.is_file() for p in storage_dir.rglob("*"))


GARBAGE: list[Any] = [None, "", "x" * 500, -1, 3.5, True, [], {}, ["nope"], "<script>"]


def test_any_value_is_saved_valid_or_refused_with_its_field() -> None:
    """Whatever a form (or a forged event) sends: a clean refusal naming the field, or a
    stored value the whole config still validates with. Never a crash."""
    admin = f.new_admin()
    for section in org_config.EDITABLE_SECTIONS:
        for name in org_config.SECTIONS[section].model_fields:
            for value in GARBAGE:
                with tenant_session(admin.ctx) as session:
                    try:
                        org_config.update_section(
                            session,
                            admin.ctx,
                            org_id=admin.org_id,
                            section=section,
                            values={name: value},
                        )
                    except ValidationFailed as exc:
                        assert exc.field == f"{section}.{name}", (section, name, value, exc)
                        assert exc.message and "Value error" not in exc.message
                with tenant_session(admin.ctx) as session:
                    layers = org_config._layers(session, admin.org_id)
                org_config.OrgConfig.model_validate(org_config._merge([d for _, d in layers]))
