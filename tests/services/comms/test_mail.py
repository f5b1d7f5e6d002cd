"""Mail delivery over SMTP: sent after commit to a real SMTP server (aiosmtpd), outcome
recorded in the mail log; nothing is sent for a change that rolled back; at most once, with
one Message-ID per message, whatever happens to the worker mid-send."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from app.db import Scope, open_session
from app.models.base import utcnow
from app.models.mail import OutboundEmail
from app.models.outbox import OutboxJob
from app.services.comms import mail
from app.services.config import writes
from app.services.core.tenancy import mark_scoped, public_session, tenant_session
from app.services.infra import outbox
from app.services.people import auth, invites
from tests import factories as f
from tests import outbox_helpers as oh
from tests.mailbox import Mailbox
from tests.smtp_sink import Inbox, SlowSmtpSink, SmtpSink, free_port

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def smtp(settings_env: Callable[..., None]) -> Iterator[Inbox]:
    sink = SmtpSink()
    settings_env(smtp_host="127.0.0.1", smtp_port=sink.port)
    try:
        yield sink.inbox
    finally:
        sink.stop()


def _mail_rows(ctx: Any) -> list[mail.MailRow]:
    with tenant_session(ctx) as session:
        return mail.list_mail(session, ctx)[0]


def test_an_invite_is_sent_by_smtp_and_marked_sent(smtp: Inbox) -> None:
    admin = f.new_admin()
    email = f.unique_email("smtp")
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "pending", "sent before the worker ran"
    outbox.run_due()
    (message,) = [m for m in smtp.messages if m["To"] == email]
    assert "invited you to join" in message.get_payload()
    assert "/invite/" in message.get_payload()
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "sent"


def test_a_password_reset_is_sent_by_smtp(smtp: Inbox) -> None:
    admin = f.new_admin()
    with public_session() as session:
        auth.do_request_password_reset(session, email=admin.email)
    outbox.run_due()
    assert any(m["To"] == admin.email and "/reset/" in m.get_payload() for m in smtp.messages)


def test_an_unreachable_smtp_server_is_retried_then_marked_failed_and_keeps_the_invite(
    settings_env: Callable[..., None],
) -> None:
    settings_env(smtp_host="127.0.0.1", smtp_port=free_port())  # nothing listens there
    admin = f.new_admin()
    email = f.unique_email("down")
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
    outbox.run_due()
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "pending" and row.error, "the first failure is retried, not final"
    with tenant_session(admin.ctx) as session:
        assert any(i.email == email for i in invites.list_invites(session, admin.ctx))
        # Exhaust the retries: the job is dead and the mail log says the mail failed.
        job = session.exec(
            mark_scoped(select(OutboxJob).where(OutboxJob.org_id == admin.ctx.org_id))
        ).one()
    for _ in range(job.max_attempts):
        oh.make_due(job.id)
        outbox.run_due()
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "failed"


def test_mail_of_a_rolled_back_change_is_never_sent(smtp: Inbox) -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        mail.queue(
            session,
            org_id=admin.ctx.org_id,
            to="ghost@example.com",
            subject="s",
            body="b",
            kind="test",
        )
        session.flush()
        session.rollback()  # the change that queued it failed
        mail.queue(
            session,
            org_id=admin.ctx.org_id,
            to="real@example.com",
            subject="s",
            body="b",
            kind="test",
        )
        session.commit()
    outbox.run_due()
    assert [m["To"] for m in smtp.messages] == ["real@example.com"]


def test_a_job_that_runs_twice_sends_once(smtp: Inbox) -> None:
    admin = f.new_admin()
    email = f.unique_email("once")
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
        job = session.exec(
            mark_scoped(select(OutboxJob).where(OutboxJob.org_id == admin.ctx.org_id))
        ).one()
    outbox.run_due()
    # A worker that died after sending but before marking the job done: it runs again.
    oh.update_job(job.id, status="pending", run_after=utcnow())
    outbox.run_due()
    assert [m["To"] for m in smtp.messages].count(email) == 1


def test_without_smtp_mail_is_only_logged() -> None:
    admin = f.new_admin()
    email = f.unique_email("logged")
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "logged"


def test_the_mail_log_links_to_the_page_not_to_the_sentence_s_full_stop() -> None:
    admin = f.new_admin()
    email = f.unique_email("linked")
    with tenant_session(admin.ctx) as session:
        mail.queue(
            session,
            org_id=admin.org_id,
            to=email,
            subject="Your certificate",
            body="Download it from https://guildhall.example/certificates.",
            kind="certificate",
        )
        session.commit()
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.link == "https://guildhall.example/certificates"
    assert row.body_text.startswith("Download it from https://guildhall.example/certificates.")


def test_an_invite_s_secret_link_never_shows_in_the_mail_log() -> None:
    admin = f.new_admin()
    email = f.unique_email("secret")
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert "/invite/" not in row.body_text and "/invite/" not in row.link


def test_mail_is_signed_with_the_org_branding(smtp: Inbox) -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        writes.do_update_section(
            session,
            admin.ctx,
            org_id=admin.ctx.org_id,
            section="branding",
            values={"site_name": "Riverbank Skills", "hide_platform_branding": True},
        )
    email = f.unique_email("branded")
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
    outbox.run_due()
    (message,) = [m for m in smtp.messages if m["To"] == email]
    assert message["From"].startswith("Riverbank Skills <")
    body = message.get_payload()
    assert body.rstrip().endswith("Riverbank Skills")
    assert "Guildhall" not in body.split("-- ")[-1]


def test_without_a_site_name_mail_is_signed_with_the_org_name() -> None:
    admin = f.new_admin()
    email = f.unique_email("plain")
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.body_text.rstrip().endswith(f"{admin.ctx.org_name} · sent with Guildhall")


def test_a_child_org_signs_with_the_site_name_it_inherits(smtp: Inbox) -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        writes.do_update_section(
            session,
            admin.ctx,
            org_id=admin.ctx.org_id,
            section="branding",
            values={"site_name": "Northern Network"},
        )
    child = f.child_org(admin.ctx)
    parent = f.refresh(admin)
    email = f.unique_email("child")
    with tenant_session(parent.ctx) as session:
        invites.do_invite(session, parent.ctx, email=email, role="learner", org_id=child.id)
    outbox.run_due()
    (message,) = [m for m in smtp.messages if m["To"] == email]
    assert message["From"].startswith("Northern Network <")


# --------------------------------------------------------------------------- secret links


def _queue_secret(org_id: Any, to: str, link: str, *, commit: bool = True) -> None:
    with public_session() as session:
        mail.queue(
            session,
            org_id=org_id,
            to=to,
            subject="Your link",
            body=f"Open it:\n\n{mail.LINK_SLOT}\n",
            kind="test_secret",
            secret_link=link,
        )
        if commit:
            session.commit()
        else:
            session.rollback()


def test_a_secret_link_is_sealed_until_smtp_sends_it(smtp: Inbox, peek) -> None:
    to = f.unique_email("sealed")
    link = "http://localhost:3000/reset/" + "s3cr3t-token-value"
    _queue_secret(None, to, link)
    ((body, sealed, status),) = peek(
        "SELECT body_text, sealed_body, status FROM outbound_emails WHERE to_email = :to", to=to
    )
    assert status == "pending" and mail.REDACTED in body and "s3cr3t" not in body
    assert sealed and "s3cr3t" not in sealed, "kept only in sealed form until it is sent"

    outbox.run_due()
    (message,) = smtp.to(to)
    assert link in message.get_payload() and mail.REDACTED not in message.get_payload()
    ((body, sealed, status),) = peek(
        "SELECT body_text, sealed_body, status FROM outbound_emails WHERE to_email = :to", to=to
    )
    assert status == "sent" and sealed is None, "nothing of the link is kept once sent"
    assert "s3cr3t" not in body


def test_a_sealed_mail_under_another_secret_key_fails_with_a_reason(
    smtp: Inbox, settings_env: Callable[..., None], peek
) -> None:
    to = f.unique_email("rotated")
    _queue_secret(None, to, "http://localhost:3000/reset/old-key-token")
    settings_env(secret_key="a-rotated-secret-key")
    outbox.run_due()
    assert smtp.to(to) == [], "a message that cannot be unsealed is not sent half-empty"
    ((status, error, sealed),) = peek(
        "SELECT status, error, sealed_body FROM outbound_emails WHERE to_email = :to", to=to
    )
    assert status == "failed" and "secret key" in error and sealed is None


def test_without_smtp_a_secret_link_reaches_only_the_console_after_commit(
    mailbox: Mailbox, peek
) -> None:
    kept, dropped = f.unique_email("console"), f.unique_email("rolledback")
    _queue_secret(None, dropped, "http://localhost:3000/reset/rolled-back", commit=False)
    _queue_secret(None, kept, "http://localhost:3000/reset/committed-token")
    assert mailbox.link(kept, "/reset/").endswith("/reset/committed-token")
    assert mailbox.to(dropped) == [], "a rolled-back change delivers nothing"
    ((body, sealed, status),) = peek(
        "SELECT body_text, sealed_body, status FROM outbound_emails WHERE to_email = :to",
        to=kept,
    )
    assert status == "logged" and sealed is None and "committed-token" not in body


def test_a_secret_link_needs_its_slot() -> None:
    with public_session() as session, pytest.raises(ValueError):
        mail.queue(
            session,
            org_id=None,
            to="x@example.com",
            subject="s",
            body="no slot",
            kind="t",
            secret_link="http://localhost:3000/reset/x",
        )


# --------------------------------------------------------------------------- at most once


def _row(peek: Callable[..., list[Any]], to: str) -> dict[str, Any]:
    ((row),) = peek(
        "SELECT status, message_id, sealed_body, send_attempt, handed_over_at, error"
        " FROM outbound_emails WHERE to_email = :to",
        to=to,
    )
    return dict(row._mapping)


def _set_row(to: str, **values: Any) -> None:
    """Change a platform message's row as a worker would (mail of no org: system scope)."""
    with open_session(Scope(system=True)) as session:
        session.execute(
            update(OutboundEmail).where(col(OutboundEmail.to_email) == to).values(**values)
        )
        session.commit()


def test_every_message_gets_one_message_id_which_every_attempt_sends(
    settings_env: Callable[..., None], peek: Callable[..., list[Any]]
) -> None:
    settings_env(smtp_host="127.0.0.1", smtp_port=free_port())  # down at first
    to = f.unique_email("msgid")
    _queue_secret(None, to, "http://localhost:3000/reset/first-try")
    queued = _row(peek, to)
    assert queued["message_id"].startswith("<") and queued["message_id"].endswith(">")
    outbox.run_due()
    failed = _row(peek, to)
    assert (failed["status"], failed["send_attempt"]) == ("pending", 1) and failed["error"]
    assert failed["sealed_body"], "kept sealed for the retry"

    sink = SmtpSink()
    try:
        settings_env(smtp_port=sink.port)
        _make_mail_job_due(peek, to)
        outbox.run_due()
        (message,) = sink.inbox.to(to)
    finally:
        sink.stop()
    sent = _row(peek, to)
    assert message["Message-ID"] == queued["message_id"] == sent["message_id"]
    assert (sent["status"], sent["send_attempt"], sent["sealed_body"]) == ("sent", 2, None)


def test_logged_mail_has_a_message_id_too(peek: Callable[..., list[Any]]) -> None:
    to = f.unique_email("logged-id")
    _queue_secret(None, to, "http://localhost:3000/reset/console")
    assert _row(peek, to)["message_id"]


def test_a_message_a_dead_worker_was_handing_over_is_not_sent_again(
    smtp: Inbox, peek: Callable[..., list[Any]]
) -> None:
    """A worker died after it marked the hand-over (the server may have the message): the
    next run settles it as unconfirmed, sends nothing and drops the sealed link."""
    to = f.unique_email("handed")
    _queue_secret(None, to, "http://localhost:3000/reset/maybe-sent")
    _set_row(to, status="sending", send_attempt=1, handed_over_at=utcnow())
    outbox.run_due()
    assert smtp.to(to) == []
    row = _row(peek, to)
    assert (row["status"], row["sealed_body"], row["send_attempt"]) == ("unconfirmed", None, 1)
    assert "not sent again" in row["error"]
    outbox.run_due()
    assert smtp.to(to) == []


def test_a_message_a_dead_worker_had_not_handed_over_is_sent_once_with_its_message_id(
    smtp: Inbox, peek: Callable[..., list[Any]]
) -> None:
    """A worker died while it talked to the server, before the end of the message: the
    server kept nothing, so the next run sends it, with the same Message-ID."""
    to = f.unique_email("not-handed")
    _queue_secret(None, to, "http://localhost:3000/reset/send-me")
    _set_row(to, status="sending", send_attempt=1)
    outbox.run_due()
    (message,) = smtp.to(to)
    row = _row(peek, to)
    assert message["Message-ID"] == row["message_id"]
    assert "/reset/send-me" in message.get_payload()
    assert (row["status"], row["sealed_body"], row["send_attempt"]) == ("sent", None, 2)


def test_no_answer_to_the_end_of_a_message_leaves_it_unconfirmed_and_not_retried(
    settings_env: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    peek: Callable[..., list[Any]],
) -> None:
    """The server has the message but its "250 OK" never comes (a timeout): it may have
    been delivered, so it is not sent again."""
    to = f.unique_email("no-answer")
    sink = SlowSmtpSink(stall="data", recipient=to, max_stall=10)
    try:
        settings_env(smtp_host="127.0.0.1", smtp_port=sink.port)
        monkeypatch.setattr(mail, "SMTP_TIMEOUT_SECONDS", 1.0)
        _queue_secret(None, to, "http://localhost:3000/reset/slow-server")
        outbox.run_due()
        sink.slow.release()
        row = _row(peek, to)
        assert (row["status"], row["sealed_body"]) == ("unconfirmed", None)
        assert row["handed_over_at"] is not None
        assert _mail_job(peek, to).status == "done", "not retried"
        outbox.run_due()
        assert len(sink.inbox.to(to)) == 1
    finally:
        sink.stop()


class _RefusesFirst(Inbox):
    """Answers the end of the first message with a refusal (it keeps nothing)."""

    refused = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if not self.refused:
            self.refused += 1
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


def test_a_refused_message_is_retried_with_the_same_message_id(
    settings_env: Callable[..., None], peek: Callable[..., list[Any]]
) -> None:
    """A refusal at the end of the message is an answer: nothing was delivered, so the
    message is retried (not left unconfirmed)."""
    inbox = _RefusesFirst()
    sink = SmtpSink(inbox)
    try:
        settings_env(smtp_host="127.0.0.1", smtp_port=sink.port)
        to = f.unique_email("refused")
        _queue_secret(None, to, "http://localhost:3000/reset/again")
        outbox.run_due()
        row = _row(peek, to)
        assert (row["status"], row["handed_over_at"]) == ("pending", None)
        assert "try again later" in row["error"] and row["sealed_body"]
        _make_mail_job_due(peek, to)
        outbox.run_due()
        (message,) = inbox.to(to)
        assert message["Message-ID"] == _row(peek, to)["message_id"]
        assert _row(peek, to)["status"] == "sent"
    finally:
        sink.stop()


def test_an_attempt_another_has_taken_over_hangs_up_without_ending_the_message(
    settings_env: Callable[..., None], peek: Callable[..., list[Any]]
) -> None:
    """While a worker waits on the server, a newer attempt takes the message over (the
    first worker's lease ran out): the first one does not end the message, so the server
    keeps nothing from it."""
    to = f.unique_email("superseded")
    sink = SlowSmtpSink(stall="rcpt", recipient=to)
    try:
        settings_env(smtp_host="127.0.0.1", smtp_port=sink.port)
        _queue_secret(None, to, "http://localhost:3000/reset/taken-over")
        worker = threading.Thread(target=outbox.run_due, kwargs={"worker": "slow"})
        worker.start()
        try:
            assert sink.slow.stalled.wait(20)
            _set_row(to, send_attempt=2)  # another worker's attempt
            sink.slow.release()
        finally:
            worker.join(timeout=30)
        assert sink.inbox.to(to) == []
        row = _row(peek, to)
        assert (row["status"], row["send_attempt"], row["handed_over_at"]) == ("sending", 2, None)
        assert row["sealed_body"], "the attempt that took over still has the message"
    finally:
        sink.stop()


def _email_id(peek: Callable[..., list[Any]], to: str) -> str:
    ((found,),) = peek("SELECT id FROM outbound_emails WHERE to_email = :to", to=to)
    return str(uuid.UUID(str(found)))


def _mail_job(peek: Callable[..., list[Any]], to: str) -> OutboxJob:
    email_id = _email_id(peek, to)
    with open_session(Scope(system=True)) as session:
        jobs = session.exec(
            mark_scoped(select(OutboxJob).where(OutboxJob.kind == mail.SEND_JOB))
        ).all()
    (job,) = [j for j in jobs if j.payload.get("email_id") == email_id]
    return job


def _make_mail_job_due(peek: Callable[..., list[Any]], to: str) -> None:
    oh.make_due(_mail_job(peek, to).id)


def test_a_message_queued_before_message_ids_gets_one_when_it_is_sent(
    smtp: Inbox, peek: Callable[..., list[Any]]
) -> None:
    to = f.unique_email("old-row")
    _queue_secret(None, to, "http://localhost:3000/reset/from-before")
    _set_row(to, message_id=None)
    outbox.run_due()
    (message,) = smtp.to(to)
    row = _row(peek, to)
    assert row["message_id"] and message["Message-ID"] == row["message_id"]
    assert row["status"] == "sent"
