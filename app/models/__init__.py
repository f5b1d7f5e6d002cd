"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from app.models.audit import AuditEvent
from app.models.invite import Invite
from app.models.mail import OutboundEmail
from app.models.member_import import MemberImport
from app.models.org import Organization, OrgKind, OrgSettings
from app.models.outbox import OutboxJob
from app.models.user import AuthSession, LoginTicket, Membership, PasswordReset, Role, User

# Tables whose rows belong to one org: scoped by the services and by row-level security.
TENANT_TABLES: tuple[str, ...] = (
    "organizations",
    "org_settings",
    "memberships",
    "invites",
    "audit_events",
    "outbound_emails",
    "member_imports",
    "outbox_jobs",
)

__all__ = [
    "TENANT_TABLES",
    "AuditEvent",
    "AuthSession",
    "Invite",
    "LoginTicket",
    "MemberImport",
    "Membership",
    "OrgKind",
    "OrgSettings",
    "Organization",
    "OutboundEmail",
    "OutboxJob",
    "PasswordReset",
    "Role",
    "User",
]
