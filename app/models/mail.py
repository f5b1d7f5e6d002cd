"""Outgoing mail: recorded always, sent by SMTP when it is configured."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, ts_field


class OutboundEmail(SQLModel, table=True):
    """One email. `status` is `logged` (no SMTP), `pending` (waiting for the worker),
    `sending` (a worker is handing it to SMTP), `sent`, `failed`, or `unconfirmed` (the
    worker stopped while the server was taking it: it may have arrived, and it is not sent
    again; see `app.services.comms.mail`)."""

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
    # The Message-ID header, given once when the message is queued: every attempt sends
    # the same one, so a receiver can tell a repeat.
    message_id: str | None = Field(default=None, max_length=255)
    # Attempts to hand the message to SMTP so far: each is committed (status `sending`)
    # before the worker connects, and only the worker of the latest attempt may go on.
    send_attempt: int = 0
    # Committed just before the end of the message goes to the server, the moment after
    # which the server may have it: a `sending` row with this set is never sent again.
    handed_over_at: datetime | None = ts_field()
    sent_at: datetime | None = ts_field()
    created: datetime = created_field()
