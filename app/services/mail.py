"""Outgoing mail: every message is recorded; with SMTP settings it is also sent.

Messages are written in the same transaction as the change that caused them. With SMTP
configured they are sent right after that transaction commits (a rolled-back change sends
nothing) and their row records `sent` or `failed`. The background worker of the learning
core will take delivery over, with retries, through the outbox.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import event
from sqlmodel import Session, col, select

from app.db import Scope, open_session
from app.models.base import as_utc, utcnow
from app.models.mail import OutboundEmail
from app.services.authz import Permission, require
from app.services.tenancy import OrgContext, count_rows, mark_scoped, scoped
from app.settings import get_settings


def queue(
    session: Session,
    *,
    org_id: uuid.UUID | None,
    to: str,
    subject: str,
    body: str,
    kind: str,
) -> OutboundEmail:
    """Add a message to the session; `logged` in embedded mode, `pending` with SMTP."""
    status = "pending" if get_settings().smtp_host else "logged"
    msg = OutboundEmail(
        org_id=org_id, to_email=to, subject=subject[:200], body_text=body, kind=kind, status=status
    )
    session.add(msg)
    if status == "pending":
        _deliver_after_commit(session, msg)
    return msg


_PENDING_KEY = "mail_pending"


def _deliver_after_commit(session: Session, msg: OutboundEmail) -> None:
    session.connection()  # tie the message to this transaction, so a rollback drops it
    pending: list[OutboundEmail] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _on_commit)
        event.listen(session, "after_rollback", _on_rollback)
    pending.append(msg)


def _on_rollback(session: Session) -> None:
    session.info.get(_PENDING_KEY, []).clear()


def _on_commit(session: Session) -> None:
    pending: list[OutboundEmail] = session.info.get(_PENDING_KEY, [])
    batch = [(m.id, m.org_id, m.to_email, m.subject, m.body_text) for m in pending]
    pending.clear()
    if batch:
        deliver(batch)


def deliver(batch: list[tuple[uuid.UUID, uuid.UUID | None, str, str, str]]) -> int:
    """Send committed messages (id, org, to, subject, body) by SMTP; record the outcome."""
    settings = get_settings()
    if not settings.smtp_host:
        return 0
    outcomes: dict[uuid.UUID, str] = {}
    for msg_id, _org, to, subject, body in batch:
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                smtp.send_message(message)
            outcomes[msg_id] = ""
        except (OSError, smtplib.SMTPException) as exc:
            outcomes[msg_id] = str(exc)[:500] or type(exc).__name__
    org_ids = {org for _id, org, *_ in batch if org is not None}
    with open_session(Scope(org_ids=org_ids)) as session:
        rows = session.exec(
            mark_scoped(select(OutboundEmail).where(col(OutboundEmail.id).in_(outcomes)))
        ).all()
        for row in rows:
            error = outcomes[row.id]
            row.status, row.error = ("failed", error) if error else ("sent", "")
            row.sent_at = None if error else utcnow()
            session.add(row)
        session.commit()
    return sum(1 for error in outcomes.values() if not error)


@dataclass(frozen=True)
class MailRow:
    """A message as the mail log shows it."""

    id: str
    created: datetime
    to_email: str
    subject: str
    body_text: str
    kind: str
    status: str


def list_mail(
    session: Session, ctx: OrgContext, *, page: int = 1, page_size: int = 20
) -> tuple[list[MailRow], int]:
    """The active org's mail log, newest first."""
    require(ctx, Permission.mail_view)
    stmt = scoped(ctx, OutboundEmail, org_ids=[ctx.org_id] if ctx.org_id else [])
    total = count_rows(session, stmt)
    rows = session.exec(
        stmt.order_by(col(OutboundEmail.created).desc())
        .offset((max(page, 1) - 1) * page_size)
        .limit(page_size)
    ).all()
    return (
        [
            MailRow(
                id=str(r.id),
                created=as_utc(r.created),
                to_email=r.to_email,
                subject=r.subject,
                body_text=r.body_text,
                kind=r.kind,
                status=r.status,
            )
            for r in rows
        ],
        int(total),
    )
