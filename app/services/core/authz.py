"""The one permission table: what each role may do. Pages, handlers and routes all ask it."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from app.models.chat import ChannelKind
from app.models.user import Role
from app.services.core.errors import PermissionDenied

if TYPE_CHECKING:
    from app.services.core.tenancy import OrgContext


class Permission(enum.StrEnum):
    """Everything a page, handler or route can be guarded by."""

    dashboard_view = "dashboard.view"
    org_manage = "org.manage"  # create, rename and move child orgs; appoint their admins
    members_view = "members.view"
    members_invite = "members.invite"
    members_manage = "members.manage"  # change roles, deactivate, reactivate
    audit_view = "audit.view"
    mail_view = "mail.view"  # org admins only: it names people and what they were sent
    config_edit = "config.edit"
    learning_view = "learning.view"  # the catalog, enrolling, the player, my learning
    courses_author = "courses.author"  # create, edit, publish and archive the org's courses
    enrollments_manage = "enrollments.manage"  # approve or reject applications
    compliance_view = "compliance.view"  # mandatory-training status (managers: their team)
    compliance_manage = "compliance.manage"  # make courses mandatory
    certificates_manage = "certificates.manage"  # see the org's certificates, revoke them
    announce_org = "announce.org"  # announce to the whole org or to a role in it


P = Permission

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.org_admin: frozenset(P),
    Role.staff: frozenset(
        {
            P.dashboard_view,
            P.members_view,
            P.members_invite,
            P.learning_view,
            P.courses_author,
            P.enrollments_manage,
            P.compliance_view,
            P.compliance_manage,
            P.announce_org,
        }
    ),
    Role.instructor: frozenset(
        {P.dashboard_view, P.members_view, P.learning_view, P.courses_author}
    ),
    Role.manager: frozenset({P.dashboard_view, P.members_view, P.learning_view, P.compliance_view}),
    Role.employer_partner: frozenset({P.dashboard_view, P.learning_view}),
    Role.auditor: frozenset(
        {P.dashboard_view, P.members_view, P.audit_view, P.learning_view, P.compliance_view}
    ),
    Role.learner: frozenset({P.dashboard_view, P.learning_view}),
}

# Roles whose holders see the whole subtree below their org (reports, members, audit).
SUBTREE_ROLES: frozenset[str] = frozenset({Role.org_admin, Role.auditor})

# Only these roles may grant these roles (staff may invite, but not appoint admins).
ROLES_ONLY_ADMINS_GRANT: frozenset[str] = frozenset({Role.org_admin, Role.auditor, Role.staff})

ROLE_LABELS: dict[str, str] = {
    Role.org_admin: "Org admin",
    Role.staff: "Staff",
    Role.instructor: "Instructor",
    Role.manager: "Manager",
    Role.employer_partner: "Employer partner",
    Role.auditor: "Auditor",
    Role.learner: "Learner",
}

# Seat classes for `limits.max_students` and `limits.max_staff`.
STUDENT_ROLES: frozenset[str] = frozenset({Role.learner})

# The role an org never runs out of: its last active holder cannot be demoted or deactivated.
# Only its holders (and super admins) grant `ROLES_ONLY_ADMINS_GRANT`.
ORG_ADMIN_ROLES: frozenset[str] = frozenset({Role.org_admin})

# Course staff: the roles that author the org's courses or manage its enrollments
# (instructors, staff, org admins). They see every course and cohort channel of their org,
# the live class view of its courses, and manage its cohorts.
COURSE_STAFF_PERMISSIONS: frozenset[Permission] = frozenset(
    {P.courses_author, P.enrollments_manage}
)
COURSE_STAFF_ROLES: frozenset[str] = frozenset(
    role for role, granted in ROLE_PERMISSIONS.items() if granted & COURSE_STAFF_PERMISSIONS
)

# Who may be a learner's manager (team views follow `Membership.manager_id`), and who may
# have one.
MANAGER_ROLES: frozenset[str] = frozenset({Role.manager, Role.org_admin, Role.staff})
MANAGED_ROLES: frozenset[str] = frozenset({Role.learner})

# Roles whose compliance report shows only the learners they manage (their team).
TEAM_ONLY_ROLES: frozenset[str] = frozenset({Role.manager})

# Chat: these roles moderate every channel of their org and archive its interest channels;
# course staff also moderate the channels of these kinds.
MODERATOR_ROLES: frozenset[str] = frozenset({Role.org_admin, Role.staff})
STAFF_MODERATED_KINDS: frozenset[str] = frozenset({ChannelKind.course, ChannelKind.cohort})


def permissions_for(role: str | None) -> frozenset[Permission]:
    """The permissions a role holds (none for no role)."""
    return ROLE_PERMISSIONS.get(role or "", frozenset())


def has(ctx: OrgContext, permission: Permission) -> bool:
    """Whether the context's role in its active org grants `permission`."""
    if ctx.org_id is None:
        return False
    return ctx.is_super_admin or permission in permissions_for(ctx.role)


def require(ctx: OrgContext, permission: Permission) -> None:
    """Refuse with `PermissionDenied` unless the context holds `permission`."""
    if not has(ctx, permission):
        raise PermissionDenied()


def effective_role(ctx: OrgContext) -> str:
    """The role the context acts with in its active org, as `has` sees it: a super admin acts
    as an org admin; without an active org there is no role ("")."""
    if ctx.org_id is None:
        return ""
    return Role.org_admin if ctx.is_super_admin else ctx.role


def is_org_admin(ctx: OrgContext) -> bool:
    """Whether the context acts as an org admin of its active org (super admins do)."""
    return effective_role(ctx) in ORG_ADMIN_ROLES


def is_org_admin_role(role: str | None) -> bool:
    """Whether `role` is the one an org must keep an active holder of (the last org admin
    can be neither demoted nor deactivated)."""
    return role in ORG_ADMIN_ROLES


def is_course_staff(role: str | None) -> bool:
    """Whether `role` is course staff of its org (instructors, staff, org admins: holders of
    `courses.author` or `enrollments.manage`). For a context, pass `effective_role(ctx)`."""
    return role in COURSE_STAFF_ROLES


def may_manage_learners(role: str | None) -> bool:
    """Whether a member holding `role` may be a learner's manager (managers, staff, org
    admins)."""
    return role in MANAGER_ROLES


def may_have_manager(role: str | None) -> bool:
    """Whether a member (or an invite) holding `role` can have a manager (learners only)."""
    return role in MANAGED_ROLES


def sees_team_only(ctx: OrgContext) -> bool:
    """Whether the context's compliance view is limited to its own team (managers; never a
    super admin)."""
    return effective_role(ctx) in TEAM_ONLY_ROLES


def moderates(role: str | None, channel_kind: str) -> bool:
    """Whether someone holding `role` in a channel's org moderates a channel of
    `channel_kind`: org admins and staff every channel, course staff also course and cohort
    channels. (The caller checks the channel is in that org.)"""
    if role in MODERATOR_ROLES:
        return True
    return channel_kind in STAFF_MODERATED_KINDS and is_course_staff(role)


def may_archive_channels(role: str | None) -> bool:
    """Whether `role` may archive its org's interest channels (org admins and staff)."""
    return role in MODERATOR_ROLES


def sees_org_progress(ctx: OrgContext) -> bool:
    """Whether the context's cross-course live view is its whole scope, not a team: those
    who manage enrollments, and those who read compliance beyond a team (auditors)."""
    return has(ctx, Permission.enrollments_manage) or (
        has(ctx, Permission.compliance_view) and not sees_team_only(ctx)
    )


def may_open_team_view(ctx: OrgContext) -> bool:
    """Whether `/team/live` has anything for the context: the org (those who manage
    enrollments) or a team (those who see compliance)."""
    return has(ctx, Permission.enrollments_manage) or has(ctx, Permission.compliance_view)
