"""The mail log: for org admins only, and every opening is audited."""

from __future__ import annotations

import pytest

from app.models.user import Role
from app.services.comms import mail
from app.services.core import audit
from app.services.core.errors import PermissionDenied
from app.services.core.tenancy import tenant_session
from app.state.logs import MailState
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def test_only_org_admins_read_the_mail_log_and_each_opening_is_audited() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    with tenant_session(staff.ctx) as session, pytest.raises(PermissionDenied):
        mail.list_mail(session, staff.ctx)
    with StateHarness(cookie=staff.token, path="/admin/mail") as tab:
        tab.dispatch(MailState.load())
        assert tab.state(MailState).messages == []
    with StateHarness(cookie=admin.token, path="/admin/mail") as tab:
        tab.dispatch(MailState.load())
        assert tab.state(MailState).messages, "the admin sees the staff member's invite mail"
    with tenant_session(admin.ctx) as session:
        views = audit.list_events(session, admin.ctx, action="mail.viewed").rows
    assert [v.actor_email for v in views] == [admin.email], "the staff attempt read nothing"
