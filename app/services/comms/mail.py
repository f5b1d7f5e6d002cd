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

Sending is at most once. Each message gets its Message-ID when it is queued, and every
attempt sends that same one. The job commits the row as `sending` (with its attempt number)
before it connects, and commits `handed_over_at` just before the end of the message goes to
the server: an SMTP server takes a message only once that end-of-data marker arrives. A
worker killed before that mark sent nothing the server kept, so the next attempt sends the
message again (same Message-ID). A worker killed after it, or left without the server's
answer (a timeout), cannot know: the message may have arrived, so the row is settled as
`unconfirmed` and never sent again. A worker that finds another attempt has taken over
(its mark is no longer the latest) hangs up without ending the message.
"""

from __future__ import annotations

import contextlib
import email.policy
import io
import logging
import re
import smtplib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any

from sqlalchemy import CursorResult, event, update
from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.mail import OutboundEmail
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.services.config import gates
from app.services.core import audit, links
from app.services.core.authz import Permission, require
from app.services.core.errors import ServiceError
from app.services.core.security import seal, unseal
from app.services.core.tenancy import OrgContext, count_rows, mark_scoped, scoped
from app.services.infra import outbox
from app.settings import get_settings

SEND_JOB = "mail.send"
PLATFORM = "Guildhall"
# Where a secret link goes in a body passed to `queue`, and what the mail log shows instead.
LINK_SLOT = "<<secret-link>>"
REDACTED = "[link removed from this log: only the recipient's copy has it]"
_CONSOLE_KEY = "guildhall.mail.console"
# Each wait on the SMTP server (connecting, each answer) gives up after this long.
SMTP_TIMEOUT_SECONDS = 10.0
# Statuses after which a message is never handed to SMTP again.
FINAL = ("sent", "unconfirmed")
UNCONFIRMED_ERROR = (
    "The mail server never confirmed it took this message (the worker stopped, or its "
    "answer did not come): it may have arrived, and it is not sent again."
)

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
        message_id=new_message_id(),
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
        branding = gates.branding(session, org_id)
        org = session.exec(
            mark_scoped(select(Organization).where(Organization.id == org_id))
        ).first()
    except ServiceError:  # outside the session's scope: sign as the platform
        return PLATFORM, PLATFORM
    name = branding.site_name or (org.name if org else PLATFORM)
    footer = name if branding.hide_platform_branding else f"{name} · sent with {PLATFORM}"
    return name, footer


def new_message_id() -> str:
    """A Message-ID (`<unique@domain>`, the domain of `mail_from`), unique per message."""
    domain = parseaddr(get_settings().mail_from)[1].rpartition("@")[2] or "guildhall.invalid"
    return make_msgid(domain=domain)


class Unconfirmed(Exception):
    """The end of the message went to the server but its answer never came: it may have
    been delivered."""


def smtp_send(
    to: str,
    subject: str,
    body: str,
    *,
    from_name: str = "",
    message_id: str | None = None,
    before_end: Callable[[], None] | None = None,
) -> None:
    """Hand one message to the SMTP server (raises on failure).

    `before_end` runs after the server has the whole message but its end-of-data marker,
    the last moment at which hanging up still delivers nothing; if it raises, the
    connection is dropped without ending the message. After the marker, a missing answer
    raises `Unconfirmed`; a refusal raises as before the marker (nothing was delivered).
    """
    settings = get_settings()
    if not settings.smtp_host:
        raise RuntimeError("SMTP is not configured")
    message = EmailMessage()
    _default_name, address = parseaddr(settings.mail_from)
    message["From"] = formataddr((from_name, address)) if from_name else settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(body)
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        _transmit(smtp, message, sender=address, to=to, before_end=before_end)
    except BaseException:
        smtp.close()  # no QUIT: in the middle of DATA it would be read as part of the body
        raise
    with contextlib.suppress(OSError):  # delivered: a failed goodbye changes nothing
        smtp.quit()


def _transmit(
    smtp: smtplib.SMTP,
    message: EmailMessage,
    *,
    sender: str,
    to: str,
    before_end: Callable[[], None] | None,
) -> None:
    """`smtplib.SMTP.send_message` for one recipient, with a pause before the end-of-data
    marker (smtplib sends the body and the marker in one go)."""
    smtp.ehlo_or_helo_if_needed()
    options: list[str] = []
    policy = None  # the message's own
    if not (sender + to).isascii():
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("The server does not accept non-ASCII addresses")
        options, policy = ["SMTPUTF8", "BODY=8BITMIME"], email.policy.SMTPUTF8
    with io.BytesIO() as buffer:
        BytesGenerator(buffer, policy=policy).flatten(message, linesep="\r\n")
        data = re.sub(rb"(?m)^\.", b"..", buffer.getvalue())  # dot-stuffing (RFC 5321)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    if smtp.does_esmtp and smtp.has_extn("size"):
        options.append(f"size={len(data)}")
    code, reply = smtp.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.rcpt(to)
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
    code, reply = smtp.docmd("DATA")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    smtp.send(data)
    if before_end is not None:
        before_end()
    try:
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
    except Exception as exc:
        raise Unconfirmed(str(exc) or type(exc).__name__) from exc
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


class _Superseded(RuntimeError):
    """Another attempt to send the message has started since this one did."""


def _mark(session: Session, email_id: uuid.UUID, *where: Any, **values: Any) -> bool:
    """Update the row if it still matches `where`; committed. Whether it matched."""
    result = session.execute(
        update(OutboundEmail)
        .where(col(OutboundEmail.id) == email_id, *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return isinstance(result, CursorResult) and result.rowcount > 0


@outbox.handler(SEND_JOB)
def _send_job(session: Session, job: OutboxJob) -> None:
    email_id = uuid.UUID(str(job.payload["email_id"]))
    row = session.exec(
        mark_scoped(select(OutboundEmail).where(OutboundEmail.id == email_id))
    ).first()
    if row is None or row.status in FINAL:
        return  # already done by an earlier run of this job
    if row.status == "sending" and row.handed_over_at is not None:
        # An earlier attempt died after the server could have taken the message (if that
        # worker still lives and hears "250 OK", its "sent" wins: same attempt).
        _mark(
            session,
            email_id,
            col(OutboundEmail.send_attempt) == row.send_attempt,
            col(OutboundEmail.status) == "sending",
            status="unconfirmed",
            error=UNCONFIRMED_ERROR,
            sealed_body=None,
        )
        return
    body = _body_to_send(session, row)
    if body is None:
        return
    attempt = row.send_attempt + 1
    message_id = row.message_id or new_message_id()  # queued before Message-IDs were kept
    if not _mark(
        session,
        email_id,
        col(OutboundEmail.send_attempt) == row.send_attempt,
        col(OutboundEmail.handed_over_at).is_(None),
        col(OutboundEmail.status).not_in(FINAL),
        status="sending",
        send_attempt=attempt,
        message_id=message_id,
    ):
        raise _Superseded("Another worker started sending this message.")
    _hand_to_server(session, job, row, body=body, attempt=attempt, message_id=message_id)


def _body_to_send(session: Session, row: OutboundEmail) -> str | None:
    """The text to send, unsealing a secret link; None (and the row failed) when the seal
    was made under another secret key, so the link cannot be recovered."""
    if row.sealed_body is None:
        return row.body_text
    body = unseal(row.sealed_body) or ""
    if not body:
        row.status, row.sealed_body = "failed", None
        row.error = "The message could not be unsealed (the secret key changed)."
        session.add(row)
        return None
    return body


def _hand_to_server(
    session: Session,
    job: OutboxJob,
    row: OutboundEmail,
    *,
    body: str,
    attempt: int,
    message_id: str,
) -> None:
    """Send attempt `attempt` over SMTP and record how it ended: sent, unconfirmed (no
    answer after the end of the message), or failed/pending again (nothing delivered)."""
    email_id = row.id
    latest = col(OutboundEmail.send_attempt) == attempt

    def hand_over() -> None:
        if not _mark(
            session,
            email_id,
            latest,
            col(OutboundEmail.status) == "sending",
            handed_over_at=utcnow(),
        ):
            raise _Superseded("Another worker started sending this message.")

    try:
        smtp_send(
            row.to_email,
            row.subject,
            body,
            from_name=str(job.payload.get("from_name", "")),
            message_id=message_id,
            before_end=hand_over,
        )
    except Unconfirmed as exc:
        log.warning("mail %s: no answer to the end of the message (%s)", email_id, exc)
        _mark(
            session,
            email_id,
            latest,
            status="unconfirmed",
            error=UNCONFIRMED_ERROR,
            sealed_body=None,
        )
        return
    except _Superseded:
        raise
    except (OSError, smtplib.SMTPException, RuntimeError) as exc:
        # Nothing was delivered (the server refused it, or never had all of it): keep the
        # error visible in the mail log while retries go on.
        final = job.attempts >= job.max_attempts
        _mark(
            session,
            email_id,
            latest,
            status="failed" if final else "pending",
            error=(str(exc) or type(exc).__name__)[:500],
            handed_over_at=None,
            **({"sealed_body": None} if final else {}),
        )
        raise
    _mark(
        session,
        email_id,
        latest,
        status="sent",
        error="",
        sent_at=utcnow(),
        sealed_body=None,
    )


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
    link: str = ""  # the body's first link, for "Open link" (never the secret invite link)


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
                link=links.first_link(r.body_text),
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
