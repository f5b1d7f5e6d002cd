"""The append-only audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field


class AuditEvent(SQLModel, table=True):
    """Who did what, where, when and from which IP. `org_id` is null for platform events."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org_created", "org_id", "created"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    actor_email: str = Field(default="", max_length=254)
    action: str = Field(max_length=60, index=True)
    target: str = Field(default="", max_length=200)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ip: str = Field(default="", max_length=64)
    created: datetime = created_field()
