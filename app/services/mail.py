"""Outgoing mail: every message is recorded; with SMTP settings it is also sent.

Messages are written in the same transaction as the change that caused them and delivered
after commit by `deliver_pending`, so a rolled-back change sends nothing.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlmodel import Session, col, select

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
    return msg


def deliver_pending(session: Session, ids: list[uuid.UUID]) -> int:
    """Send the given pending messages over SMTP (after their transaction committed)."""
    settings = get_settings()
    if not settings.smtp_host or not ids:
        return 0
    sent = 0
    rows = session.exec(
        mark_scoped(select(OutboundEmail).where(col(OutboundEmail.id).in_(ids)))
    ).all()
    for row in rows:
        if row.status != "pending":
            continue
        message = EmailMessage()
        message["From"] = settings.mail_from
        message["To"] = row.to_email
        message["Subject"] = row.subject
        message.set_content(row.body_text)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                smtp.send_message(message)
            row.status, row.sent_at = "sent", utcnow()
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            row.status, row.error = "failed", str(exc)[:500]
        session.add(row)
    session.commit()
    return sent


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
