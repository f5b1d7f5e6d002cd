"""People, their org memberships, and their sign-in sessions and tokens."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, modified_field, ts_field


class Role(enum.StrEnum):
    """Roles a membership can hold. `super_admin` is a platform flag on the user instead."""

    org_admin = "org_admin"
    staff = "staff"
    instructor = "instructor"
    manager = "manager"
    employer_partner = "employer_partner"
    auditor = "auditor"
    learner = "learner"


class User(SQLModel, table=True):
    """A person. Global (not a tenant table): what they may see comes from memberships."""

    __tablename__ = "users"

    id: uuid.UUID = id_field()
    email: str = Field(max_length=254, unique=True, index=True)
    full_name: str = Field(max_length=120)
    password_hash: str
    is_active: bool = True
    is_super_admin: bool = False
    created: datetime = created_field()
    modified: datetime = modified_field()


class Membership(SQLModel, table=True):
    """A user's role in one org. Deactivated rather than deleted."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_membership_org_user"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    role: str = Field(max_length=30)
    is_active: bool = True
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created: datetime = created_field()
    modified: datetime = modified_field()


class AuthSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie token is stored."""

    __tablename__ = "auth_sessions"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    active_org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    created: datetime = created_field()
    last_seen: datetime = created_field()
    expires_at: datetime = created_field()
    revoked_at: datetime | None = ts_field()


class LoginTicket(SQLModel, table=True):
    """A one-time, short-lived ticket a sign-in handler hands to the cookie-setting route."""

    __tablename__ = "login_tickets"

    id: uuid.UUID = id_field()
    ticket_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    active_org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    ip: str = Field(default="", max_length=64)
    user_agent: str = Field(default="", max_length=300)
    expires_at: datetime = created_field()
    used_at: datetime | None = ts_field()
    created: datetime = created_field()


class PasswordReset(SQLModel, table=True):
    """A password-reset token (hashed); one use, expires."""

    __tablename__ = "password_resets"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = created_field()
    used_at: datetime | None = ts_field()
    created: datetime = created_field()


class SignupRequest(SQLModel, table=True):
    """A sign-up waiting for its email to be confirmed (the link carries a hashed token).

    Nothing of the account or its organization exists until the link is used, so a sign-up
    answers the same whether or not the address already has an account.
    """

    __tablename__ = "signup_requests"

    id: uuid.UUID = id_field()
    email: str = Field(max_length=254, index=True)
    full_name: str = Field(max_length=120)
    password_hash: str = Field(max_length=255)
    org_name: str = Field(max_length=120)
    org_kind: str = Field(max_length=30)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    ip: str = Field(default="", max_length=64)
    expires_at: datetime = created_field()
    used_at: datetime | None = ts_field()
    created: datetime = created_field()
