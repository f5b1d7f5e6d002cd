"""Outgoing mail: every message is recorded; with SMTP settings it is also sent.

A message is written in the same transaction as the change that caused them, together with
an outbox job (`mail.send`) when SMTP is configured; a worker sends it and records `sent`,
or retries with backoff and finally records `failed`. A rolled-back change sends nothing,
and a job that runs twice sends once (the row's status is checked first).
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.mail import OutboundEmail
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.services import org_config, outbox
from app.services.authz import Permission, require
from app.services.errors import ServiceError
from app.services.tenancy import OrgContext, count_rows, mark_scoped, scoped
from app.settings import get_settings

SEND_JOB = "mail.send"
PLATFORM = "Guildhall"


def queue(
    session: Session,
    *,
    org_id: uuid.UUID | None,
    to: str,
    subject: str,
    body: str,
    kind: str,
) -> OutboundEmail:
    """Add a message to the session; `logged` in embedded mode, `pending` with SMTP.

    The org's branding signs the message: its site name (or the org's name) closes the body
    and is the sender's display name, and "sent with Guildhall" is left out when the org
    hides platform branding.
    """
    sender, footer = _branding(session, org_id)
    status = "pending" if get_settings().smtp_host else "logged"
    msg = OutboundEmail(
        org_id=org_id,
        to_email=to,
        subject=subject[:200],
        body_text=f"{body.rstrip()}\n\n-- \n{footer}\n",
        kind=kind,
        status=status,
    )
    session.add(msg)
    if status == "pending":
        outbox.enqueue(
            session,
            kind=SEND_JOB,
            payload={"email_id": str(msg.id), "from_name": sender},
            org_id=org_id,
            dedupe_key=f"{SEND_JOB}:{msg.id}",
        )
    return msg


def _branding(session: Session, org_id: uuid.UUID | None) -> tuple[str, str]:
    """(sender display name, signature) from the org's effective branding."""
    if org_id is None:
        return PLATFORM, PLATFORM
    try:
        branding = org_config.branding(session, org_id)
        org = session.exec(
            mark_scoped(select(Organization).where(Organization.id == org_id))
        ).first()
    except ServiceError:  # outside the session's scope: sign as the platform
        return PLATFORM, PLATFORM
    name = branding.site_name or (org.name if org else PLATFORM)
    footer = name if branding.hide_platform_branding else f"{name} · sent with {PLATFORM}"
    return name, footer


def smtp_send(to: str, subject: str, body: str, *, from_name: str = "") -> None:
    """Hand one message to the SMTP server (raises on failure)."""
    settings = get_settings()
    if not settings.smtp_host:
        raise RuntimeError("SMTP is not configured")
    message = EmailMessage()
    _default_name, address = parseaddr(settings.mail_from)
    message["From"] = formataddr((from_name, address)) if from_name else settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


@outbox.handler(SEND_JOB)
def _send_job(session: Session, job: OutboxJob) -> None:
    email_id = uuid.UUID(str(job.payload["email_id"]))
    row = session.exec(
        mark_scoped(select(OutboundEmail).where(OutboundEmail.id == email_id))
    ).first()
    if row is None or row.status == "sent":
        return  # already done by an earlier run of this job
    try:
        smtp_send(
            row.to_email,
            row.subject,
            row.body_text,
            from_name=str(job.payload.get("from_name", "")),
        )
    except (OSError, smtplib.SMTPException, RuntimeError) as exc:
        row.error = (str(exc) or type(exc).__name__)[:500]
        if job.attempts >= job.max_attempts:
            row.status = "failed"
        session.add(row)
        session.commit()  # keep the error visible in the mail log while retries go on
        raise
    row.status, row.error, row.sent_at = "sent", "", utcnow()
    session.add(row)


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
    error: str = ""


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
                error=r.error,
            )
            for r in rows
        ],
        int(total),
    )
