"""Section updates and resets: validation, audit and version, who may edit, publishing."""

from __future__ import annotations

from typing import Any

import pytest

from app.models.user import Role
from app.services.config import inheritance, schema, writes
from app.services.core import audit, topics
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import tenant_session
from app.services.people import seats
from tests import factories as f
from tests.services.config.helpers import family, stored, update, view_of

pytestmark = pytest.mark.usefixtures("backend")


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
    before = stored(peek, admin.org_id)
    # A valid field beside the invalid one is not half-saved either.
    extra = {"site_name": "Half"} if section == "branding" else {}
    with (
        tenant_session(admin.ctx) as session,
        pytest.raises(ValidationFailed) as refused,
    ):
        writes.do_update_section(
            session, admin.ctx, org_id=admin.org_id, section=section, values={**extra, **values}
        )
    assert refused.value.field == field
    assert words in refused.value.message
    assert stored(peek, admin.org_id) == before
    assert not [t for t, _ in published if t == topics.CONFIG.name(org=admin.org_id)]
    with tenant_session(admin.ctx) as session:
        page = audit.list_events(session, admin.ctx, action="config.")
    assert page.total == 0


def test_license_section_is_read_only() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session, pytest.raises(ValidationFailed) as refused:
        writes.do_update_section(
            session, admin.ctx, org_id=admin.org_id, section="license", values={"state": "active"}
        )
    assert refused.value.field == "license"
    assert "read-only" in refused.value.message


def test_custom_funding_sources_and_normalized_values(peek: Any) -> None:
    admin = f.new_admin()
    update(
        admin.ctx,
        admin.org_id,
        "funding",
        custom=[{"slug": "State_Grant", "label": "  State   grant "}],
        sources=["wioa", "state_grant", "wioa"],
    )
    funding = view_of(admin.ctx, admin.org_id)["funding"]
    assert funding["custom"].value == [{"slug": "state_grant", "label": "State grant"}]
    assert funding["sources"].value == ["wioa", "state_grant"]
    update(admin.ctx, admin.org_id, "limits", max_students="12", max_staff="")
    data, _ = stored(peek, admin.org_id)
    assert data["limits"] == {"max_students": 12}  # "" is unlimited: the default, not stored


def test_parent_cannot_drop_a_custom_source_a_child_still_uses() -> None:
    parent, child_id, child_name = family()
    custom = [{"slug": "county_fund", "label": "County fund"}]
    update(parent.ctx, parent.org_id, "funding", custom=custom, sources=["county_fund"])
    update(parent.ctx, child_id, "funding", sources=["county_fund", "wioa"])
    with tenant_session(parent.ctx) as session, pytest.raises(ValidationFailed) as refused:
        writes.do_update_section(
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
    _, version = stored(peek, admin.org_id)
    update(admin.ctx, admin.org_id, "branding", primary_color="grass", site_name="Riverside")
    _, after_version = stored(peek, admin.org_id)
    assert after_version == version + 1
    with tenant_session(admin.ctx) as session:
        (event,) = audit.list_events(session, admin.ctx, action="config.changed").rows
    assert event.actor_email == admin.email
    assert event.detail["section"] == "branding"
    assert event.detail["before"] == {"primary_color": "indigo", "site_name": ""}
    assert event.detail["after"] == {"primary_color": "grass", "site_name": "Riverside"}

    with tenant_session(admin.ctx) as session:
        writes.do_reset_override(
            session, admin.ctx, org_id=admin.org_id, section="branding", field="site_name"
        )
        (reset,) = audit.list_events(session, admin.ctx, action="config.reset").rows
    assert reset.detail["before"] == {"site_name": "Riverside"}
    assert reset.detail["after"] == {"site_name": ""}


def test_saving_the_same_values_twice_changes_nothing(peek: Any) -> None:
    admin = f.new_admin()
    update(admin.ctx, admin.org_id, "features", chat=False)
    _, version = stored(peek, admin.org_id)
    update(admin.ctx, admin.org_id, "features", chat=False)
    assert stored(peek, admin.org_id)[1] == version
    with tenant_session(admin.ctx) as session:
        assert audit.list_events(session, admin.ctx, action="config.changed").total == 1


# --------------------------------------------------------------------------- who may edit


def test_child_admin_cannot_edit_or_read_the_parent() -> None:
    parent, child_id, _ = family()
    child_admin = f.invite_and_accept_member(parent.ctx, Role.org_admin, org_id=child_id)
    with tenant_session(child_admin.ctx) as session:
        with pytest.raises(NotFound):
            writes.do_update_section(
                session,
                child_admin.ctx,
                org_id=parent.org_id,
                section="features",
                values={"chat": False},
            )
        with pytest.raises(NotFound):
            writes.do_reset_override(
                session, child_admin.ctx, org_id=parent.org_id, section="features", field="chat"
            )
        with pytest.raises(NotFound):
            inheritance.effective_with_sources(session, child_admin.ctx, org_id=parent.org_id)
    # ...but edits its own org, which the parent's admin then sees.
    update(child_admin.ctx, child_id, "features", events=False)
    assert view_of(parent.ctx, child_id)["features"]["events"].value is False
    assert view_of(parent.ctx, parent.org_id)["features"]["events"].value is True


def test_parent_admin_edits_a_child() -> None:
    parent, child_id, _ = family()
    update(parent.ctx, child_id, "limits", max_staff=3)
    view = view_of(parent.ctx, child_id)["limits"]["max_staff"]
    assert (view.value, view.source) == (3, "own")


@pytest.mark.parametrize("role", [Role.staff, Role.learner, Role.auditor])
def test_other_roles_cannot_edit_or_read(role: str) -> None:
    admin = f.new_admin()
    member = f.invite_and_accept(admin.ctx, role)
    with tenant_session(member) as session:
        with pytest.raises(PermissionDenied):
            writes.do_update_section(
                session, member, org_id=admin.org_id, section="features", values={"chat": False}
            )
        with pytest.raises(PermissionDenied):
            inheritance.effective_with_sources(session, member, org_id=admin.org_id)
        with pytest.raises(PermissionDenied):
            seats.usage(session, member, org_id=admin.org_id)


# --------------------------------------------------------------------------- publishing


def test_update_publishes_on_the_config_topic_after_commit(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    admin = f.new_admin()
    update(admin.ctx, admin.org_id, "features", chat=False)
    assert (
        topics.CONFIG.name(org=admin.org_id),
        {"org_id": str(admin.org_id), "section": "features"},
    ) in published
    published.clear()
    with tenant_session(admin.ctx) as session:
        writes.do_reset_override(
            session, admin.ctx, org_id=admin.org_id, section="features", field="chat"
        )
    assert [t for t, _ in published] == [topics.CONFIG.name(org=admin.org_id)]


def test_failed_or_refused_update_publishes_nothing(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    parent, child_id, _ = family()
    child_admin = f.invite_and_accept_member(parent.ctx, Role.org_admin, org_id=child_id)
    with tenant_session(parent.ctx) as session, pytest.raises(ValidationFailed):
        writes.do_update_section(
            session,
            parent.ctx,
            org_id=parent.org_id,
            section="branding",
            values={"primary_color": "plaid"},
        )
    with tenant_session(child_admin.ctx) as session, pytest.raises(NotFound):
        writes.do_update_section(
            session,
            child_admin.ctx,
            org_id=parent.org_id,
            section="features",
            values={"chat": False},
        )
    # (accepting the child admin's invite told the inviter, on their inbox: not a config event)
    assert [topic for topic, _ in published if not topic.startswith("user:")] == []


GARBAGE: list[Any] = [None, "", "x" * 500, -1, 3.5, True, [], {}, ["nope"], "<script>"]


def test_any_value_is_saved_valid_or_refused_with_its_field() -> None:
    """Whatever a form (or a forged event) sends: a clean refusal naming the field, or a
    stored value the whole config still validates with. Never a crash."""
    admin = f.new_admin()
    for section in schema.EDITABLE_SECTIONS:
        for name in schema.SECTIONS[section].model_fields:
            for value in GARBAGE:
                with tenant_session(admin.ctx) as session:
                    try:
                        writes.do_update_section(
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
                    layers = inheritance.load_layers(session, admin.org_id)
                schema.OrgConfig.model_validate(inheritance.merge_overrides([d for _, d in layers]))
