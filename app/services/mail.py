"""Outgoing mail: every message is recorded; with SMTP settings it is also sent.

A message is written in the same transaction as the change that caused them, together with
an outbox job (`mail.send`) when SMTP is configured; a worker sends it and records `sent`,
or retries with backoff and finally records `failed`. A rolled-back change sends nothing,
and a job that runs twice sends once (the row's status is checked first).

Links that sign someone in or give them a role (password resets, invites, sign-up
confirmations) never reach the mail log: the caller puts `LINK_SLOT` where the link goes and
passes the link as `secret_link`. The log keeps the body with `REDACTED` in its place; the
real body is sealed (encrypted with a key derived from the app's secret) only until the
SMTP job has sent it or given up. Without SMTP nothing is delivered, so the real body of
such a message (and of any message of no org, which no org's log shows) is written to the
server's console once the transaction commits (only whoever runs the server reads it) and
nothing of the link is stored.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from sqlalchemy import event
from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.mail import OutboundEmail
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.services import audit, org_config, outbox
from app.services.authz import Permission, require
from app.services.errors import ServiceError
from app.services.security import seal, unseal
from app.services.tenancy import OrgContext, count_rows, mark_scoped, scoped
from app.settings import get_settings

SEND_JOB = "mail.send"
PLATFORM = "Guildhall"
# Where a secret link goes in a body passed to `queue`, and what the mail log shows instead.
LINK_SLOT = "<<secret-link>>"
REDACTED = "[link removed from this log: only the recipient's copy has it]"
_CONSOLE_KEY = "guildhall.mail.console"

log = logging.getLogger("guildhall.mail")


def queue(
    session: Session,
    *,
    org_id: uuid.UUID | None,
    to: str,
    subject: str,
    body: str,
    kind: str,
    secret_link: str | None = None,
) -> OutboundEmail:
    """Add a message to the session; `logged` in embedded mode, `pending` with SMTP.

    The org's branding signs the message: its site name (or the org's name) closes the body
    and is the sender's display name, and "sent with Guildhall" is left out when the org
    hides platform branding. With `secret_link`, `body` holds `LINK_SLOT` where the link
    goes, and only the recipient ever sees the link (see the module docstring).
    """
    if (secret_link is None) != (LINK_SLOT not in body):
        raise ValueError("A secret link needs exactly one LINK_SLOT in the body, and back.")
    sender, footer = _branding(session, org_id)
    status = "pending" if get_settings().smtp_host else "logged"
    text = f"{body.rstrip()}\n\n-- \n{footer}\n"
    msg = OutboundEmail(
        org_id=org_id,
        to_email=to,
        subject=subject[:200],
        body_text=text.replace(LINK_SLOT, REDACTED),
        kind=kind,
        status=status,
    )
    real = text.replace(LINK_SLOT, secret_link or "")
    if secret_link is not None and status == "pending":
        msg.sealed_body = seal(real)
    if status == "logged" and (secret_link is not None or org_id is None):
        # Nobody could read it otherwise: no org's log shows mail of no org.
        _print_after_commit(session, to=to, subject=msg.subject, body=real)
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


def _print_after_commit(session: Session, *, to: str, subject: str, body: str) -> None:
    """Without SMTP, a message carrying a secret link goes to the server's console, once
    the change that made it commits (a rolled-back invite prints nothing)."""
    session.connection()  # tie the message to this transaction
    pending: list[tuple[str, str, str]] | None = session.info.get(_CONSOLE_KEY)
    if pending is None:
        pending = session.info[_CONSOLE_KEY] = []
        event.listen(session, "after_commit", _flush_console)
        event.listen(session, "after_rollback", lambda s: s.info.get(_CONSOLE_KEY, []).clear())
    pending.append((to, subject, body))


def _flush_console(session: Session) -> None:
    batch = list(session.info.get(_CONSOLE_KEY, []))
    session.info.get(_CONSOLE_KEY, []).clear()
    for to, subject, body in batch:
        log.warning(
            "Mail not sent (no SMTP configured); the mail log shows it without its link.\n"
            "To: %s\nSubject: %s\n\n%s",
            to,
            subject,
            body,
        )


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
    body = row.body_text
    if row.sealed_body is not None:
        body = unseal(row.sealed_body) or ""
        if not body:  # sealed under another secret key: the link cannot be recovered
            row.status, row.sealed_body = "failed", None
            row.error = "The message could not be unsealed (the secret key changed)."
            session.add(row)
            return
    try:
        smtp_send(row.to_email, row.subject, body, from_name=str(job.payload.get("from_name", "")))
    except (OSError, smtplib.SMTPException, RuntimeError) as exc:
        row.error = (str(exc) or type(exc).__name__)[:500]
        if job.attempts >= job.max_attempts:
            row.status, row.sealed_body = "failed", None
        session.add(row)
        session.commit()  # keep the error visible in the mail log while retries go on
        raise
    row.status, row.error, row.sent_at, row.sealed_body = "sent", "", utcnow(), None
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
    """The active org's mail log, newest first (links that sign in are redacted)."""
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


def do_record_view(session: Session, ctx: OrgContext) -> None:
    """Audit that the viewer opened the mail log (it names people and what they were sent)."""
    require(ctx, Permission.mail_view)
    audit.record(session, action="mail.viewed", org_id=ctx.org_id, ctx=ctx, target="mail log")
    session.commit()
