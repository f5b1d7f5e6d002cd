"""SQLModel tables. Importing this package registers every table on `SQLModel.metadata`."""

from app.models.audit import AuditEvent
from app.models.invite import Invite
from app.models.mail import OutboundEmail
from app.models.org import Organization, OrgKind, OrgSettings
from app.models.user import AuthSession, LoginTicket, Membership, PasswordReset, Role, User

# Tables whose rows belong to one org: scoped by the services and by row-level security.
TENANT_TABLES: tuple[str, ...] = (
    "organizations",
    "org_settings",
    "memberships",
    "invites",
    "audit_events",
    "outbound_emails",
)

__all__ = [
    "TENANT_TABLES",
    "AuditEvent",
    "AuthSession",
    "Invite",
    "LoginTicket",
    "Membership",
    "OrgKind",
    "OrgSettings",
    "Organization",
    "OutboundEmail",
    "PasswordReset",
    "Role",
    "User",
]
