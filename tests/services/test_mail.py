"""Mail delivery over SMTP: sent after commit to a real SMTP server (aiosmtpd), outcome
recorded in the mail log; nothing is sent for a change that rolled back."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.services import auth, invites, mail
from app.services.tenancy import public_session, tenant_session
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp(settings_env: Callable[..., None]) -> Iterator[_Inbox]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings_env(smtp_host="127.0.0.1", smtp_port=controller.port)
    try:
        yield inbox
    finally:
        controller.stop()


def _mail_rows(ctx: Any) -> list[mail.MailRow]:
    with tenant_session(ctx) as session:
        return mail.list_mail(session, ctx)[0]


def test_an_invite_is_sent_by_smtp_and_marked_sent(smtp: _Inbox) -> None:
    admin = f.new_admin()
    email = f.unique_email("smtp")
    with tenant_session(admin.ctx) as session:
        invites.create_invite(session, admin.ctx, email=email, role="learner")
    (message,) = [m for m in smtp.messages if m["To"] == email]
    assert "invited you to join" in message.get_payload()
    assert "/invite/" in message.get_payload()
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "sent"


def test_a_password_reset_is_sent_by_smtp(smtp: _Inbox) -> None:
    admin = f.new_admin()
    with public_session() as session:
        auth.request_password_reset(session, email=admin.email)
    assert any(m["To"] == admin.email and "/reset/" in m.get_payload() for m in smtp.messages)


def test_an_unreachable_smtp_server_marks_the_mail_failed_and_keeps_the_invite(
    settings_env: Callable[..., None],
) -> None:
    settings_env(smtp_host="127.0.0.1", smtp_port=_free_port())  # nothing listens there
    admin = f.new_admin()
    email = f.unique_email("down")
    with tenant_session(admin.ctx) as session:
        invites.create_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "failed"
    with tenant_session(admin.ctx) as session:
        assert any(i.email == email for i in invites.list_invites(session, admin.ctx))


def test_mail_of_a_rolled_back_change_is_never_sent(smtp: _Inbox) -> None:
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
    assert [m["To"] for m in smtp.messages] == ["real@example.com"]


def test_without_smtp_mail_is_only_logged() -> None:
    admin = f.new_admin()
    email = f.unique_email("logged")
    with tenant_session(admin.ctx) as session:
        invites.create_invite(session, admin.ctx, email=email, role="learner")
    (row,) = [r for r in _mail_rows(admin.ctx) if r.to_email == email]
    assert row.status == "logged"
