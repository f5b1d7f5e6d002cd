"""Invites: preview, acceptance (new and existing accounts), refusals and seat limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.models.base import utcnow
from app.models.invite import Invite
from app.models.user import Role
from app.services.comms import mail
from app.services.config import writes
from app.services.core import audit
from app.services.core.errors import Conflict, LimitReached, NotFound, ValidationFailed
from app.services.core.security import token_hash
from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.people import auth, invites, members
from tests import factories as f
from tests.mailbox import Mailbox

pytestmark = pytest.mark.usefixtures("backend")


def _accept_new(token: str, name: str = "New Person") -> tuple[object, object]:
    return invites.do_accept_invite(token, full_name=name, password=f.PASSWORD, ip=f.IP)


def _invite_id(ctx: OrgContext, email: str) -> str:
    with tenant_session(ctx) as session:
        rows = invites.list_invites(session, ctx)
    (row,) = [r for r in rows if r.email == email]
    return row.id


def _set_limits(ctx: OrgContext, **limits: int) -> None:
    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        writes.set_overrides(session, ctx.org_id, {"limits": limits})
        session.commit()


def test_invite_preview_and_accept_with_a_new_account() -> None:
    admin = f.new_admin()
    email, token = f.invite(admin.ctx, Role.instructor)

    shown = invites.preview(token)
    assert (shown.org_name, shown.email, shown.role) == (admin.ctx.org_name, email, "instructor")
    assert (shown.status, shown.has_account) == ("pending", False)

    user_id, org_id = _accept_new(token, "Ada Lovelace")
    assert org_id == admin.org_id

    ctx, _ = f.signed_in_ctx(email)
    assert (ctx.user_id, ctx.org_id, ctx.role, ctx.full_name) == (
        user_id,
        admin.org_id,
        Role.instructor,
        "Ada Lovelace",
    )
    assert invites.preview(token).status == "accepted"
    with tenant_session(admin.ctx) as session:
        statuses = {r.email: r.status for r in invites.list_invites(session, admin.ctx)}
    assert statuses[email] == "accepted"


def test_unknown_invite_token_is_not_found() -> None:
    with pytest.raises(NotFound):
        invites.preview("no-such-token")
    with pytest.raises(NotFound):
        _accept_new("no-such-token")


def test_new_account_by_invite_must_have_a_strong_password() -> None:
    admin = f.new_admin()
    _, token = f.invite(admin.ctx, Role.learner)
    with pytest.raises(ValidationFailed) as err:
        invites.do_accept_invite(token, full_name="Weak Pass", password="password123")
    assert err.value.field == "password"
    assert invites.preview(token).status == "pending", "a refused acceptance uses nothing"
    _accept_new(token)


def test_accept_links_the_signed_in_account_with_matching_email() -> None:
    inviter = f.new_admin()
    existing = f.new_admin()
    _, token = f.invite(inviter.ctx, Role.learner, email=existing.email.upper())
    assert invites.preview(token).has_account is True

    # Not signed in: told to sign in first, and the invite stays usable.
    with pytest.raises(Conflict) as err:
        _accept_new(token)
    assert "Sign in" in err.value.message
    user_id, org_id = invites.do_accept_invite(token, signed_in_user_id=existing.user_id)
    assert (user_id, org_id) == (existing.user_id, inviter.org_id)
    with public_session() as session:
        roles = {c.id: c.role for c in auth.user_orgs(session, existing.user_id)}
    assert roles == {str(existing.org_id): Role.org_admin, str(inviter.org_id): Role.learner}


def test_accept_while_signed_in_with_another_email_is_refused() -> None:
    admin = f.new_admin()
    stranger = f.new_admin()
    email, token = f.invite(admin.ctx, Role.learner)
    with pytest.raises(ValidationFailed) as err:
        invites.do_accept_invite(token, signed_in_user_id=stranger.user_id)
    assert email in err.value.message
    assert invites.preview(token).status == "pending"


def test_expired_invite_is_refused() -> None:
    admin = f.new_admin()
    _, token = f.invite(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        session.execute(
            update(Invite)
            .where(col(Invite.token_hash) == token_hash(token))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        session.commit()
    assert invites.preview(token).status == "expired"
    with pytest.raises(ValidationFailed, match="This invite has expired"):
        _accept_new(token)


def test_revoked_invite_is_refused() -> None:
    admin = f.new_admin()
    email, token = f.invite(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        invites.do_revoke_invite(session, admin.ctx, _invite_id(admin.ctx, email))
    assert invites.preview(token).status == "revoked"
    with pytest.raises(ValidationFailed, match="This invite was revoked"):
        _accept_new(token)


def test_used_invite_is_refused() -> None:
    admin = f.new_admin()
    _, token = f.invite(admin.ctx, Role.learner)
    _accept_new(token)
    with pytest.raises(Conflict, match="already used"):
        _accept_new(token, "Someone Else")


def test_second_acceptance_racing_the_first_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tabs both pass the status check; only the conditional claim decides."""
    admin = f.new_admin()
    existing = f.new_admin()
    _, token = f.invite(admin.ctx, Role.learner, email=existing.email)
    invites.do_accept_invite(token, signed_in_user_id=existing.user_id)
    # The second request read the invite before the first one committed.
    monkeypatch.setattr(invites, "_refuse_unusable", lambda invite: None)
    with pytest.raises(Conflict, match="already used"):
        invites.do_accept_invite(token, signed_in_user_id=existing.user_id)
    with public_session() as session:
        roles = [c.role for c in auth.user_orgs(session, existing.user_id)]
    assert sorted(roles) == [Role.learner, Role.org_admin]


def test_invite_for_a_current_member_or_a_pending_email_is_refused() -> None:
    admin = f.new_admin()
    member = f.invite_and_accept_member(admin.ctx, Role.learner)
    with pytest.raises(Conflict, match="already a member"):
        f.invite(admin.ctx, Role.learner, email=member.email)
    email, _ = f.invite(admin.ctx, Role.learner)
    with pytest.raises(Conflict, match="pending invite"):
        f.invite(admin.ctx, Role.instructor, email=email)


def test_invite_mail_appears_in_the_mail_log_without_its_link(mailbox: Mailbox) -> None:
    """Staff read the mail log; a link there would let them accept an org-admin invite
    themselves. The log shows the mail, the invitee's copy has the link."""
    admin = f.new_admin()
    email, token = f.invite(admin.ctx, Role.org_admin)
    with tenant_session(admin.ctx) as session:
        rows, total = mail.list_mail(session, admin.ctx)
    assert total >= 1
    sent = [r for r in rows if r.to_email == email]
    assert len(sent) == 1
    assert sent[0].kind == "invite"
    assert admin.ctx.org_name in sent[0].subject
    assert token not in sent[0].body_text and "/invite/" not in sent[0].body_text
    assert mail.REDACTED in sent[0].body_text
    assert mailbox.token(email, "/invite/") == token
    # The other tenant's mail log does not show it.
    other = f.new_admin()
    with tenant_session(other.ctx) as session:
        other_rows, _ = mail.list_mail(session, other.ctx)
    assert email not in {r.to_email for r in other_rows}


# --------------------------------------------------------------------------- who may invite


def test_staff_may_invite_learners_but_not_admins() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept(admin.ctx, Role.staff)
    f.invite(staff, Role.learner)
    for role in (Role.org_admin, Role.staff, Role.auditor):
        with pytest.raises(ValidationFailed) as err:
            f.invite(staff, role)
        assert err.value.field == "role"
        assert "Only an org admin" in err.value.message
    # The admin may.
    f.invite(admin.ctx, Role.org_admin)


def test_roles_without_the_invite_permission_are_refused() -> None:
    from app.services.core.errors import PermissionDenied

    admin = f.new_admin()
    for role in (Role.learner, Role.instructor, Role.auditor):
        ctx = f.invite_and_accept(admin.ctx, role)
        with pytest.raises(PermissionDenied):
            f.invite(ctx, Role.learner)


def test_unknown_role_is_refused() -> None:
    admin = f.new_admin()
    with pytest.raises(ValidationFailed) as err:
        f.invite(admin.ctx, "overlord")
    assert err.value.field == "role"


# --------------------------------------------------------------------------- seat limits


def test_staff_seat_limit_blocks_the_invite() -> None:
    admin = f.new_admin()
    _set_limits(admin.ctx, max_staff=1)  # the admin holds the only staff seat
    with pytest.raises(LimitReached) as err:
        f.invite(admin.ctx, Role.instructor)
    assert "all 1 of its staff seats" in err.value.message
    assert err.value.field == "role"
    # Learners are counted separately (no student limit set).
    f.invite(admin.ctx, Role.learner)


def test_learners_count_against_the_student_limit() -> None:
    admin = f.new_admin()
    _set_limits(admin.ctx, max_students=1, max_staff=5)
    f.invite_and_accept(admin.ctx, Role.learner)
    with pytest.raises(LimitReached) as err:
        f.invite(admin.ctx, Role.learner)
    assert "learner seats" in err.value.message
    f.invite(admin.ctx, Role.instructor)  # staff seats are separate


def test_a_pending_invite_holds_a_seat_until_revoked() -> None:
    admin = f.new_admin()
    _set_limits(admin.ctx, max_staff=2)
    email, _ = f.invite(admin.ctx, Role.instructor)  # admin + this pending invite = 2
    with pytest.raises(LimitReached, match="seats"):
        f.invite(admin.ctx, Role.instructor)
    with tenant_session(admin.ctx) as session:
        invites.do_revoke_invite(session, admin.ctx, _invite_id(admin.ctx, email))
    f.invite(admin.ctx, Role.instructor)


def test_limits_inherited_from_the_parent_apply_to_children() -> None:
    admin = f.new_admin("national")
    region = f.child_org(admin.ctx, kind="regional")
    admin = f.refresh(admin)
    _set_limits(admin.ctx, max_students=0)
    with pytest.raises(LimitReached):
        f.invite(admin.ctx, Role.learner, org_id=region.id)


def test_seat_limit_is_checked_when_reactivating() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        (row,) = members.list_members(session, admin.ctx, search=learner.email).rows
        members.do_set_active(session, admin.ctx, row.membership_id, False)
    _set_limits(admin.ctx, max_students=1)
    f.invite(admin.ctx, Role.learner)  # takes the freed seat
    with tenant_session(admin.ctx) as session, pytest.raises(LimitReached):
        members.do_set_active(session, admin.ctx, row.membership_id, True)


# --------------------------------------------------------------------------- other tenants


def test_inviting_an_account_of_another_org_is_like_inviting_anyone() -> None:
    """Nothing of another tenant shows: the account is not added (it gets an invite like
    an unknown address) and the refusals speak of this org only."""
    admin, other = f.new_admin(), f.new_admin()
    unknown = f.unique_email("nobody")
    made = []
    for email in (other.email, unknown):
        with tenant_session(admin.ctx) as session:
            invite, _ = invites.do_invite(session, admin.ctx, email=email, role=Role.learner)
            made.append((invite.role, invite.accepted_at, invite.revoked_at))
    assert made == [(Role.learner, None, None)] * 2
    with public_session() as session:
        assert [c.id for c in auth.user_orgs(session, other.user_id)] == [str(other.org_id)]
    for email in (other.email, unknown):
        with pytest.raises(Conflict) as err:
            f.invite(admin.ctx, Role.instructor, email=email)
        assert err.value.message == (
            f"{email} already has a pending invite. Revoke it to send a new one."
        )
        assert other.ctx.org_name not in err.value.message


# --------------------------------------------------------------------------- resending


def test_resending_mails_a_fresh_link_and_the_old_one_stops_working(mailbox: Mailbox) -> None:
    admin = f.new_admin()
    email, old_token = f.invite(admin.ctx, Role.instructor)
    with tenant_session(admin.ctx) as session:
        (row,) = [i for i in invites.list_invites(session, admin.ctx) if i.email == email]
        invites.do_resend_invite(session, admin.ctx, row.id)
    new_token = mailbox.token(email, "/invite/")
    assert new_token != old_token
    with pytest.raises(NotFound):
        invites.preview(old_token)
    assert invites.preview(new_token).status == "pending"
    with tenant_session(admin.ctx) as session:
        actions = [
            e.action for e in audit.list_events(session, admin.ctx, action="invite.resent").rows
        ]
    assert actions == ["invite.resent"]


def test_resending_is_refused_for_used_invites_and_for_roles_the_sender_may_not_grant() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept(admin.ctx, Role.staff)
    email, token = f.invite(admin.ctx, Role.org_admin)
    with tenant_session(staff) as session:
        (row,) = [i for i in invites.list_invites(session, staff) if i.email == email]
        with pytest.raises(ValidationFailed):
            invites.do_resend_invite(session, staff, row.id)
    invites.do_accept_invite(token, full_name="New Admin", password=f.PASSWORD, ip=f.IP)
    with tenant_session(admin.ctx) as session, pytest.raises(Conflict, match="accepted"):
        invites.do_resend_invite(session, admin.ctx, row.id)
