"""In-app notifications: written by jobs and services, read by their recipient (the bell).

Every kind of notification is listed in `KINDS` with the label people see (the filter on
/notifications and the "Email me about" switches). `notify()` adds a notification to the
caller's transaction and, when the recipient's email preferences in that org include its
kind, the matching email too (`mail.queue`, the same transaction: a rolled-back change sends
nothing, and a duplicate notification, refused by its `dedupe_key`, sends no second email).
Preferences are per member per org (`NotificationPreference.email_kinds`); a member without
a row gets `DEFAULT_EMAIL_KINDS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models.base import as_utc, utcnow
from app.models.invite import Invite
from app.models.notification import Notification, NotificationPreference
from app.models.user import User
from app.services.comms import mail
from app.services.core import topics
from app.services.core.authz import ROLE_LABELS
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, mark_scoped, parse_id
from app.services.infra.broker import publish_after_commit
from app.settings import get_settings

# --------------------------------------------------------------------------- kinds

ENROLLED = "enrollment.created"  # an instructor: a learner enrolled in their course
APPLICATION_APPROVED = "enrollment.approved"
APPLICATION_REJECTED = "enrollment.rejected"
DUE_SOON = "lesson.due_soon"  # a mandatory course is due within a few days
OVERDUE = "mandatory.overdue"  # a mandatory course is past its due date
QUIZ_PASSED = "quiz.passed"  # an instructor: a learner passed a quiz
CERTIFICATE_ISSUED = "certificate.issued"
CERTIFICATE_REVOKED = "certificate.revoked"
RECERTIFICATION_DUE = "recertification.due"  # mandatory: the course reopened to recertify
CERTIFICATE_EXPIRING = "certificate.expiring"  # not mandatory: the certificate expires soon
INVITE_ACCEPTED = "invite.accepted"  # the inviter: their invite was accepted
CHAT_MENTION = "chat.mention"
ANNOUNCEMENT = "announcement"


@dataclass(frozen=True)
class Kind:
    """One kind of notification: its key and the words people see for it."""

    key: str
    label: str


KINDS: dict[str, Kind] = {
    k.key: k
    for k in (
        Kind(ENROLLED, "Someone enrolled in my course"),
        Kind(APPLICATION_APPROVED, "Application approved"),
        Kind(APPLICATION_REJECTED, "Application rejected"),
        Kind(DUE_SOON, "Mandatory training due soon"),
        Kind(OVERDUE, "Mandatory training overdue"),
        Kind(QUIZ_PASSED, "A learner passed a quiz"),
        Kind(CERTIFICATE_ISSUED, "Certificate issued"),
        Kind(CERTIFICATE_REVOKED, "Certificate revoked"),
        Kind(RECERTIFICATION_DUE, "Recertification due"),
        Kind(CERTIFICATE_EXPIRING, "Certificate expiring"),
        Kind(INVITE_ACCEPTED, "Invite accepted"),
        Kind(CHAT_MENTION, "Mentioned in chat"),
        Kind(ANNOUNCEMENT, "Announcements"),
    )
}

DEFAULT_EMAIL_KINDS: frozenset[str] = frozenset(
    {
        CERTIFICATE_ISSUED,
        APPLICATION_APPROVED,
        APPLICATION_REJECTED,
        OVERDUE,
        RECERTIFICATION_DUE,
        CERTIFICATE_EXPIRING,
        ANNOUNCEMENT,
    }
)

# Kinds whose callers (enrollments, certificates) still queue their own, richer email: for
# these, `notify()` sends its email only when the caller hands it the content
# (`email_subject`/`email_body`), so nobody gets the same news twice. Once those callers pass
# their content to `notify()` instead of calling `mail.queue`, the preference decides alone.
CALLER_MAILED: frozenset[str] = frozenset(
    {APPLICATION_APPROVED, APPLICATION_REJECTED, CERTIFICATE_ISSUED}
)


def kind_label(kind: str) -> str:
    """The words for `kind` (unknown kinds, e.g. from tests, show their key)."""
    found = KINDS.get(kind)
    return found.label if found else kind


# --------------------------------------------------------------------------- preferences


def _preference_row(
    session: Session, *, org_id: uuid.UUID, user_id: uuid.UUID
) -> NotificationPreference | None:
    return session.exec(
        mark_scoped(
            select(NotificationPreference).where(
                NotificationPreference.org_id == org_id, NotificationPreference.user_id == user_id
            )
        )
    ).first()


def email_kinds_for(session: Session, *, org_id: uuid.UUID, user_id: uuid.UUID) -> frozenset[str]:
    """The kinds `user_id` also wants by email in `org_id` (the defaults without a choice)."""
    row = _preference_row(session, org_id=org_id, user_id=user_id)
    return DEFAULT_EMAIL_KINDS if row is None else frozenset(row.email_kinds)


def get_preferences(session: Session, ctx: OrgContext) -> list[str]:
    """The signed-in member's email kinds in their active org, in `KINDS` order."""
    if ctx.org_id is None:
        raise NotFound()
    chosen = email_kinds_for(session, org_id=ctx.org_id, user_id=ctx.user_id)
    return [k for k in KINDS if k in chosen]


def check_email_kinds(kinds: Iterable[str]) -> list[str]:
    """Known kinds only, each once, in `KINDS` order; anything else is `ValidationFailed`."""
    wanted = set(kinds)
    unknown = sorted(wanted - set(KINDS))
    if unknown:
        raise ValidationFailed(
            f"Unknown kind of notification: {', '.join(unknown)[:100]}.", field="email_kinds"
        )
    return [k for k in KINDS if k in wanted]


def do_set_preferences(
    session: Session, ctx: OrgContext, *, email_kinds: Iterable[str]
) -> list[str]:
    """Choose which kinds the signed-in member also gets by email in their active org.

    Returns the saved list. Commits.
    """
    if ctx.org_id is None:
        raise NotFound()
    clean = check_email_kinds(email_kinds)
    row = _preference_row(session, org_id=ctx.org_id, user_id=ctx.user_id)
    if row is None:
        row = NotificationPreference(org_id=ctx.org_id, user_id=ctx.user_id, email_kinds=clean)
    else:
        row.email_kinds = clean
        row.modified = utcnow()
    session.add(row)
    session.commit()
    return clean


# --------------------------------------------------------------------------- writing


def _email_text(title: str, body: str, link: str) -> str:
    base = get_settings().base_url.rstrip("/")
    parts = [title]
    if body:
        parts.append(body)
    if link.startswith("/") and not link.startswith("//"):
        parts.append(f"Open it: {base}{link}")
    parts.append(f"Choose which notifications you get by email: {base}/notifications")
    return "\n\n".join(parts) + "\n"


def _add(
    session: Session,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str,
    link: str,
    dedupe_key: str | None,
    email_to: str | None,
    email_subject: str | None = None,
    email_body: str | None = None,
) -> Notification:
    """The row, its email when `email_to` is given, and the live push (no checks)."""
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
    if email_to:
        mail.queue(
            session,
            org_id=org_id,
            to=email_to,
            subject=email_subject or row.title,
            body=email_body or _email_text(row.title, row.body, row.link),
            kind=kind,
        )
    publish_after_commit(
        session,
        topics.INBOX.name(user=user_id),
        topics.InboxChanged(kind=kind, title=row.title, id=str(row.id)),
    )
    return row


def wants_email(kind: str, chosen: frozenset[str], *, has_content: bool = False) -> bool:
    """Whether a notification of `kind` goes out by email for someone who chose `chosen`."""
    if kind not in chosen:
        return False
    return kind not in CALLER_MAILED or has_content


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
    email_subject: str | None = None,
    email_body: str | None = None,
) -> Notification | None:
    """Add a notification for `user_id` to the caller's transaction (no commit).

    With `dedupe_key`, a second call for the same cause adds nothing (jobs may run twice).
    When the recipient's email preferences in `org_id` include `kind`, the email is queued in
    the same transaction (its text made from title, body and link unless `email_subject` /
    `email_body` are given). Returns the new row, or None when it was a duplicate.
    """
    if dedupe_key is not None:
        seen = session.exec(
            mark_scoped(select(Notification.id).where(Notification.dedupe_key == dedupe_key))
        ).first()
        if seen is not None:
            return None
    email_to: str | None = None
    chosen = email_kinds_for(session, org_id=org_id, user_id=user_id)
    if wants_email(kind, chosen, has_content=email_body is not None):
        user = session.get(User, user_id)
        if user is not None and user.is_active:
            email_to = user.email
    return _add(
        session,
        org_id=org_id,
        user_id=user_id,
        kind=kind,
        title=title,
        body=body,
        link=link,
        dedupe_key=dedupe_key,
        email_to=email_to,
        email_subject=email_subject,
        email_body=email_body,
    )


def notify_many(
    session: Session,
    *,
    org_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    dedupe_prefix: str,
) -> int:
    """`notify()` for many recipients at once (no commit): one query for the duplicates, one
    for the preferences, one for the addresses. Each recipient's dedupe key is
    `{dedupe_prefix}:{user_id}`, so a retry adds nothing twice. Returns how many were added."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return 0
    keys = {uid: f"{dedupe_prefix}:{uid}"[:200] for uid in ids}
    seen = set(
        session.exec(
            mark_scoped(
                select(Notification.dedupe_key).where(
                    col(Notification.dedupe_key).in_(list(keys.values()))
                )
            )
        ).all()
    )
    todo = [uid for uid in ids if keys[uid] not in seen]
    if not todo:
        return 0
    prefs = {
        p.user_id: frozenset(p.email_kinds)
        for p in session.exec(
            mark_scoped(
                select(NotificationPreference).where(
                    NotificationPreference.org_id == org_id,
                    col(NotificationPreference.user_id).in_(todo),
                )
            )
        ).all()
    }
    emailed = [uid for uid in todo if wants_email(kind, prefs.get(uid, DEFAULT_EMAIL_KINDS))]
    addresses = (
        {
            u.id: u.email
            for u in session.exec(
                select(User).where(col(User.id).in_(emailed), col(User.is_active))
            ).all()
        }
        if emailed
        else {}
    )
    for uid in todo:
        _add(
            session,
            org_id=org_id,
            user_id=uid,
            kind=kind,
            title=title,
            body=body,
            link=link,
            dedupe_key=keys[uid],
            email_to=addresses.get(uid),
        )
    return len(todo)


def invite_accepted(session: Session, *, invite: Invite, who: str) -> Notification | None:
    """Tell the inviter that `who` accepted their invite (once per invite; no commit)."""
    role = ROLE_LABELS.get(invite.role, invite.role)
    return notify(
        session,
        org_id=invite.org_id,
        user_id=invite.invited_by,
        kind=INVITE_ACCEPTED,
        title=f"{who} accepted your invite"[:200],
        body=f"They joined as {role}." if role else "",
        link="/admin/members",
        dedupe_key=f"{INVITE_ACCEPTED}:{invite.id}",
    )


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
    session: Session,
    ctx: OrgContext,
    *,
    page: int = 1,
    page_size: int = 25,
    kind: str = "",
    unread_only: bool = False,
) -> NotificationPage:
    """The signed-in user's notifications, newest first, a page at a time.

    `kind` keeps one kind (an unknown kind finds nothing); `unread_only` keeps unread ones.
    `total` counts what the filter keeps; `unread` counts all the user's unread ones.
    """
    stmt = _mine(ctx)
    unread = count_rows(session, stmt.where(col(Notification.read_at).is_(None)))
    if kind:
        stmt = stmt.where(Notification.kind == kind)
    if unread_only:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    total = count_rows(session, stmt)
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


def _own(session: Session, ctx: OrgContext, notification_id: uuid.UUID | str) -> Notification:
    key = parse_id(notification_id)
    row = session.exec(_mine(ctx).where(Notification.id == key)).first()
    if row is None:
        raise NotFound()
    return row


def do_mark_read(session: Session, ctx: OrgContext, notification_id: uuid.UUID | str) -> None:
    """Mark one of the user's own notifications read; anyone else's id is `NotFound`."""
    row = _own(session, ctx, notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
        publish_after_commit(
            session, topics.INBOX.name(user=ctx.user_id), topics.InboxChanged(kind="read")
        )
        session.commit()


def do_mark_unread(session: Session, ctx: OrgContext, notification_id: uuid.UUID | str) -> None:
    """Mark one of the user's own notifications unread again; anyone else's is `NotFound`."""
    row = _own(session, ctx, notification_id)
    if row.read_at is not None:
        row.read_at = None
        session.add(row)
        publish_after_commit(
            session, topics.INBOX.name(user=ctx.user_id), topics.InboxChanged(kind="read")
        )
        session.commit()


def do_mark_all_read(session: Session, ctx: OrgContext) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    result = session.execute(
        update(Notification)
        .where(col(Notification.user_id) == ctx.user_id, col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    publish_after_commit(
        session, topics.INBOX.name(user=ctx.user_id), topics.InboxChanged(kind="read")
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def relative_time(when: datetime, now: datetime | None = None) -> str:
    """`when` as people say it: "just now", "5 min ago", "3 h ago", "2 days ago", or a date."""
    delta = (now or utcnow()) - as_utc(when)
    if delta < timedelta(minutes=1):
        return "just now"
    if delta < timedelta(hours=1):
        return f"{int(delta.total_seconds() // 60)} min ago"
    if delta < timedelta(days=1):
        return f"{int(delta.total_seconds() // 3600)} h ago"
    if delta < timedelta(days=7):
        days = delta.days
        return "yesterday" if days == 1 else f"{days} days ago"
    return as_utc(when).strftime("%Y-%m-%d")


__all__ = [
    "ANNOUNCEMENT",
    "APPLICATION_APPROVED",
    "APPLICATION_REJECTED",
    "CALLER_MAILED",
    "CERTIFICATE_ISSUED",
    "CERTIFICATE_REVOKED",
    "CHAT_MENTION",
    "DEFAULT_EMAIL_KINDS",
    "DUE_SOON",
    "ENROLLED",
    "INVITE_ACCEPTED",
    "KINDS",
    "OVERDUE",
    "QUIZ_PASSED",
    "Kind",
    "NotificationPage",
    "NotificationRow",
    "check_email_kinds",
    "do_mark_all_read",
    "do_mark_read",
    "do_mark_unread",
    "do_set_preferences",
    "email_kinds_for",
    "get_preferences",
    "invite_accepted",
    "kind_label",
    "list_for_user",
    "notify",
    "notify_many",
    "relative_time",
    "unread_count",
    "wants_email",
]
