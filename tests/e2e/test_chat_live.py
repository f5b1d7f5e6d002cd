"""Chat in Chromium: two members of one org open the same channel in two browsers; one posts
and the other's open page shows it within seconds, without a reload (in the scaled mode the
two tabs may live on different backend workers), once, and HTML in it shows as text."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.user import Role
from app.services.comms import chat_channels
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests.e2e.conftest import sign_in, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]

BODY = '<b id="injected">bold?</b><script>window.__pwned = true</script> see https://example.org/x'


def test_a_message_reaches_the_other_member_live_and_html_stays_text(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        with tenant_session(admin.ctx) as session:
            general = str(chat_channels.org_channel(session, admin.ctx).id)

    reader = new_context().new_page()
    sign_in(reader, learner.email, learner.password)
    reader.goto(f"/chat/{general}")
    wait_ready(reader)
    expect(reader.locator("#chat-channel-name")).to_have_text("General")
    expect(reader.locator(".gh-chat-message")).to_have_count(0)
    reader.evaluate("window.__stillTheSamePage = true")

    writer = new_context().new_page()
    sign_in(writer, admin.email, admin.password)
    writer.goto(f"/chat/{general}")
    wait_ready(writer)
    writer.fill("#chat-composer", BODY)
    writer.press("#chat-composer", "Enter")
    expect(writer.locator("#chat-messages")).to_contain_text('<b id="injected">bold?</b>')

    # the reader's open page shows it, without a reload, exactly once
    expect(reader.locator("#chat-messages")).to_contain_text(
        '<b id="injected">bold?</b><script>window.__pwned = true</script>', timeout=10_000
    )
    expect(reader.locator(".gh-chat-message")).to_have_count(1)
    assert reader.evaluate("window.__stillTheSamePage") is True
    # the markup is text: no element was created and no script ran; the URL is a link
    assert reader.locator("#injected").count() == 0
    assert reader.evaluate("window.__pwned === undefined") is True
    expect(reader.locator("#chat-messages a[href='https://example.org/x']")).to_have_count(1)
