"""The cached questions: limits, seat usage, license and feature gates."""

from __future__ import annotations

import pytest

from app.models.user import Role
from app.services.config import gates, writes
from app.services.core.errors import LimitReached, PermissionDenied
from app.services.core.tenancy import tenant_session
from app.services.people import seats
from tests import factories as f
from tests.services.config.helpers import update

pytestmark = pytest.mark.usefixtures("backend")


def test_limits_helpers() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert gates.within_limit(session, admin.org_id, "max_programs", 10_000)
    update(admin.ctx, admin.org_id, "limits", max_programs=2)
    with tenant_session(admin.ctx) as session:
        assert gates.within_limit(session, admin.org_id, "max_programs", 1)
        assert not gates.within_limit(session, admin.org_id, "max_programs", 2)
        assert gates.within_limit(session, admin.org_id, "max_programs", 2, adding=0)
        gates.check_limit(session, admin.org_id, "max_programs", 1)
        with pytest.raises(LimitReached) as refused:
            gates.check_limit(session, admin.org_id, "max_programs", 2)
    assert "2 of its 2 programs" in refused.value.message
    assert refused.value.field == "max_programs"


def test_usage_counts_seats_and_allows_over_limit() -> None:
    admin = f.new_admin()
    f.invite_and_accept(admin.ctx, Role.learner)
    f.invite(admin.ctx, Role.learner)  # a pending invite holds a seat too
    update(admin.ctx, admin.org_id, "limits", max_students=1)  # lowered below usage: allowed
    with tenant_session(admin.ctx) as session:
        used = seats.usage(session, admin.ctx, org_id=admin.org_id)
    assert used["max_students"] == (2, 1)
    assert used["max_staff"] == (1, None)  # the admin
    assert used["max_programs"] == (0, None)


def test_license_allows_learning_always_and_admin_only_when_not_restricted() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert gates.license_allows(session, admin.org_id, "admin")
        writes.set_overrides(session, admin.org_id, {"license": {"state": "restricted"}})
        session.commit()
    with tenant_session(admin.ctx) as session:
        assert gates.license_allows(session, admin.org_id, "learning")
        assert gates.license_allows(session, admin.org_id, "billing")
        assert not gates.license_allows(session, admin.org_id, "admin")
        with pytest.raises(PermissionDenied) as refused:
            writes.do_update_section(
                session, admin.ctx, org_id=admin.org_id, section="features", values={"chat": False}
            )
    assert "restricted" in refused.value.message


def test_feature_gate_refuses_with_the_feature_named() -> None:
    admin = f.new_admin()
    update(admin.ctx, admin.org_id, "features", events=False)
    with tenant_session(admin.ctx) as session, pytest.raises(PermissionDenied) as refused:
        gates.require_feature(session, admin.org_id, "events")
    assert "Events" in refused.value.message
