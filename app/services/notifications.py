"""In-app notifications: written by jobs and services, read by their recipient (the bell)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models.base import as_utc, utcnow
from app.models.notification import Notification
from app.services.broker import publish_after_commit
from app.services.errors import NotFound
from app.services.tenancy import OrgContext, count_rows, mark_scoped


def inbox_topic(user_id: uuid.UUID | str) -> str:
    """The broker topic a user's open tabs follow for new notifications."""
    return f"user:{user_id}:inbox"


def notify(
    session: Session,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_key: str | None = None,
) -> Notification | None:
    """Add a notification for `user_id` to the caller's transaction (no commit).

    With `dedupe_key`, a second call for the same cause adds nothing (jobs may run twice).
    Returns the new row, or None when it was a duplicate.
    """
    if dedupe_key is not None:
        seen = session.exec(
            mark_scoped(select(Notification.id).where(Notification.dedupe_key == dedupe_key))
        ).first()
        if seen is not None:
            return None
    row = Notification(
        org_id=org_id,
        user_id=user_id,
        kind=kind,
        title=title[:200],
        body=body[:1000],
        link=link[:500],
        dedupe_key=dedupe_key,
    )
    session.add(row)
    publish_after_commit(session, inbox_topic(user_id), {"kind": kind, "title": row.title})
    return row


# --------------------------------------------------------------------------- the recipient


@dataclass(frozen=True)
class NotificationRow:
    """A notification as the bell and the notifications page show it."""

    id: str
    kind: str
    title: str
    body: str
    link: str
    created: datetime
    read: bool


@dataclass(frozen=True)
class NotificationPage:
    """A page of the user's notifications, how many there are, and how many are unread."""

    rows: list[NotificationRow]
    total: int
    unread: int
    page: int
    page_size: int


def _mine(ctx: OrgContext) -> SelectOfScalar[Notification]:
    """The recipient's own rows, in every org (row-level security lets them read by user)."""
    return mark_scoped(select(Notification).where(Notification.user_id == ctx.user_id))


def list_for_user(
    session: Session, ctx: OrgContext, *, page: int = 1, page_size: int = 25
) -> NotificationPage:
    """The signed-in user's notifications, newest first, a page at a time."""
    stmt = _mine(ctx)
    total = count_rows(session, stmt)
    unread = count_rows(session, stmt.where(col(Notification.read_at).is_(None)))
    page = max(page, 1)
    rows = session.exec(
        stmt.order_by(col(Notification.created).desc(), col(Notification.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return NotificationPage(
        rows=[
            NotificationRow(
                id=str(r.id),
                kind=r.kind,
                title=r.title,
                body=r.body,
                link=r.link,
                created=as_utc(r.created),
                read=r.read_at is not None,
            )
            for r in rows
        ],
        total=total,
        unread=unread,
        page=page,
        page_size=page_size,
    )


def unread_count(session: Session, ctx: OrgContext) -> int:
    """How many of the user's notifications are unread (the bell's badge)."""
    return count_rows(session, _mine(ctx).where(col(Notification.read_at).is_(None)))


def mark_read(session: Session, ctx: OrgContext, notification_id: uuid.UUID | str) -> None:
    """Mark one of the user's own notifications read; anyone else's id is `NotFound`."""
    try:
        key = (
            notification_id
            if isinstance(notification_id, uuid.UUID)
            else uuid.UUID(str(notification_id))
        )
    except ValueError as exc:
        raise NotFound() from exc
    row = session.exec(_mine(ctx).where(Notification.id == key)).first()
    if row is None:
        raise NotFound()
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
        publish_after_commit(session, inbox_topic(ctx.user_id), {"kind": "read"})
        session.commit()


def mark_all_read(session: Session, ctx: OrgContext) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = session.execute(
        update(Notification)
        .where(col(Notification.user_id) == ctx.user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    publish_after_commit(session, inbox_topic(ctx.user_id), {"kind": "read"})
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
