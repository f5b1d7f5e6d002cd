"""Invitations to join an org with a role."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, ts_field


class Invite(SQLModel, table=True):
    """An emailed invite. The link carries a secret whose SHA-256 is stored here."""

    __tablename__ = "invites"

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    email: str = Field(max_length=254, index=True)
    role: str = Field(max_length=30)
    # The name the admin gave (a CSV import), offered on the invite page; never the
    # account's own name, which the inviting org only sees once the invite is accepted.
    full_name: str = Field(default="", max_length=120)
    # The learner's manager from an import, applied on acceptance if still a valid one.
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    invited_by: uuid.UUID = Field(foreign_key="users.id")
    expires_at: datetime = created_field()
    accepted_at: datetime | None = ts_field()
    accepted_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    revoked_at: datetime | None = ts_field()
    created: datetime = created_field()
