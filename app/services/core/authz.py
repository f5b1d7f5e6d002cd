"""The one permission table: what each role may do. Pages, handlers and routes all ask it."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

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
