"""Inheritance: defaults, ancestors' and own overrides, and where each value comes from."""

from __future__ import annotations

from typing import Any

import pytest

from app.services.config import schema, writes
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests.conftest import Backend
from tests.services.config.helpers import family, stored, update, view_of

pytestmark = pytest.mark.usefixtures("backend")


def test_defaults_show_as_default() -> None:
    admin = f.new_admin()
    views = view_of(admin.ctx, admin.org_id)
    assert set(views) == set(schema.SECTIONS)
    chat = views["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (True, "default", False)
    assert views["branding"]["primary_color"].value == "indigo"


def test_child_inherits_parent_override_with_the_parent_named() -> None:
    parent, child_id, _ = family()
    update(parent.ctx, parent.org_id, "features", chat=False)
    update(parent.ctx, parent.org_id, "branding", primary_color="crimson")

    mine = view_of(parent.ctx, parent.org_id)
    assert (mine["features"]["chat"].source, mine["features"]["chat"].overridden) == ("own", True)

    child = view_of(parent.ctx, child_id)
    chat = child["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (False, parent.ctx.org_name, False)
    assert chat.source_org_id == str(parent.org_id)
    assert child["branding"]["primary_color"].value == "crimson"
    assert child["features"]["events"].source == "default"


def test_child_override_wins_and_reset_returns_to_inherited() -> None:
    parent, child_id, _ = family()
    update(parent.ctx, parent.org_id, "features", chat=False)
    update(parent.ctx, child_id, "features", chat=True)
    chat = view_of(parent.ctx, child_id)["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (True, "own", True)

    with tenant_session(parent.ctx) as session:
        config = writes.do_reset_override(
            session, parent.ctx, org_id=child_id, section="features", field="chat"
        )
    assert config.features.chat is False
    chat = view_of(parent.ctx, child_id)["features"]["chat"]
    assert (chat.value, chat.source, chat.overridden) == (False, parent.ctx.org_name, False)


def test_grandchild_sees_the_nearest_ancestor(backend: Backend) -> None:
    parent, child_id, child_name = family()
    grandchild = f.child_org(parent.ctx, parent_id=child_id, kind="local")
    parent = f.refresh(parent)
    update(parent.ctx, parent.org_id, "branding", primary_color="jade", site_name="Top")
    update(parent.ctx, child_id, "branding", primary_color="amber")
    views = view_of(parent.ctx, grandchild.id)["branding"]
    assert (views["primary_color"].value, views["primary_color"].source) == ("amber", child_name)
    assert (views["site_name"].value, views["site_name"].source) == (
        "Top",
        parent.ctx.org_name,
    )


def test_a_value_equal_to_the_inherited_one_is_not_stored(peek: Any) -> None:
    parent, child_id, _ = family()
    update(parent.ctx, parent.org_id, "delivery", modes=["online"])
    update(parent.ctx, child_id, "delivery", modes=["online"])  # same as the parent's
    data, _ = stored(peek, child_id)
    assert "delivery" not in data
    # ...so the child keeps following the parent.
    update(parent.ctx, parent.org_id, "delivery", modes=["hybrid"])
    assert view_of(parent.ctx, child_id)["delivery"]["modes"].value == ["hybrid"]
