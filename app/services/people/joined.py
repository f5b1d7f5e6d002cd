"""Telling the other packages that someone joined an org, changed role or came back."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.models.base import utcnow
from app.services.core import events
from app.services.infra import outbox


def member_joined(session: Session, *, org_id: uuid.UUID, user_id: uuid.UUID, role: str) -> None:
    """Enqueue MEMBER_JOINED in the caller's transaction (no commit): it happens only if the
    membership change does, and never fails it. Compliance enrolls the member in the org's
    mandatory courses for the role, due counted from now."""
    payload = events.MemberJoined(user_id=user_id, role=role, since=utcnow())
    outbox.enqueue(
        session, kind=events.MEMBER_JOINED, payload=payload.model_dump(mode="json"), org_id=org_id
    )
