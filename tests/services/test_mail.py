"""Mail delivery over SMTP: sent after commit to a real SMTP server (aiosmtpd), outcome
recorded in the mail log; nothing is sent for a change that rolled back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import select

from app.models.base import utcnow
from app.models.outbox import OutboxJob
from app.services import auth, invites, mail, org_config, outbox
from app.services.tenancy import mark_scoped, public_session, tenant_session
from tests import factories as f
from tests import outbox_helpers as oh
from tests.mailbox import Mailbox
from tests.smtp_sink import Inbox, SmtpSink, free_port

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
        invites.create_invite(session, admin.ctx, email=email, role="learner")
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
        auth.request_password_reset(session, email=admin.email)
    outbox.run_due()
    assert any(m["To"] == admin.email and "/reset/" in m.get_payload() for m in smtp.messages)


def test_an_unreachable_smtp_server_is_retried_then_marked_failed_and_keeps_the_invite(
    settings_env: Callable[..., None],
) -> None:
    settings_env(smtp_host="127.0.0.1", smtp_port=free_port())  # nothing listens there
    admin = f.new_admin()
    email = f.unique_email("down")
    with tenant_session(admin.ctx) as session:
        invites.create_invite(session, admin.ctx, email=email, role="learner")
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
        invites.create_invite(session, admin.ctx, email=email, role="learner")
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
        invites.create_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "logged"


def test_mail_is_signed_with_the_org_branding(smtp: Inbox) -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        org_config.update_section(
            session,
            admin.ctx,
            org_id=admin.ctx.org_id,
            section="branding",
            values={"site_name": "Riverbank Skills", "hide_platform_branding": True},
        )
    email = f.unique_email("branded")
    with tenant_session(admin.ctx) as session:
        invites.create_invite(session, admin.ctx, email=email, role="learner")
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
        invites.create_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.body_text.rstrip().endswith(f"{admin.ctx.org_name} · sent with Guildhall")


def test_a_child_org_signs_with_the_site_name_it_inherits(smtp: Inbox) -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        org_config.update_section(
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
        invites.create_invite(session, parent.ctx, email=email, role="learner", org_id=child.id)
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
