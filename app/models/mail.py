"""Outgoing mail: recorded always, sent by SMTP when it is configured."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, ts_field


class OutboundEmail(SQLModel, table=True):
    """One email. `status` is `logged` (no SMTP), `pending`, `sent` or `failed`."""

    __tablename__ = "outbound_emails"
    __table_args__ = (Index("ix_outbound_emails_org_created", "org_id", "created"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    to_email: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body_text: str
    kind: str = Field(default="", max_length=40)
    status: str = Field(default="logged", max_length=20)
    error: str = Field(default="", max_length=500)
    # The real body of a message with a secret link, sealed (`security.seal`) until it is
    # sent or given up; `body_text` is the redacted copy the mail log shows.
    sealed_body: str | None = Field(default=None)
    sent_at: datetime | None = ts_field()
    created: datetime = created_field()
