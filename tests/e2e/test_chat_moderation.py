"""Chat moderation in Chromium: a moderator mutes a learner from the members panel; the
learner's open page shows the muted notice above a disabled composer without a reload; the
moderator unmutes and the notice clears and the composer opens, again without a reload (in
the scaled mode the two tabs may live on different backend workers)."""

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


def test_a_mute_reaches_the_learner_s_open_page_and_an_unmute_clears_it(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lee Loud")
        with tenant_session(admin.ctx) as session:
            general = str(chat_channels.org_channel(session, admin.ctx).id)
    uid = str(learner.user_id)

    reader = new_context().new_page()
    sign_in(reader, learner.email, learner.password)
    reader.goto(f"/chat/{general}")
    wait_ready(reader)
    expect(reader.locator("#chat-channel-name")).to_have_text("General")
    expect(reader.locator("#chat-composer")).to_be_enabled()
    expect(reader.locator("#chat-muted-notice")).to_have_count(0)
    reader.evaluate("window.__stillTheSamePage = true")

    moderator = new_context().new_page()
    sign_in(moderator, admin.email, admin.password)
    moderator.goto(f"/chat/{general}")
    wait_ready(moderator)
    moderator.click("#members-toggle")
    expect(moderator.locator(f"#member-{uid}")).to_contain_text("Lee Loud")
    moderator.click(f"#mute-{uid}")
    moderator.click(f"#mute-{uid}-60")
    expect(moderator.locator(f"#muted-{uid}")).to_be_visible()

    # the learner's open page: notice above a disabled composer, no reload
    expect(reader.locator("#chat-muted-notice")).to_contain_text(
        "You are muted in this channel until", timeout=10_000
    )
    expect(reader.locator("#chat-composer")).to_be_disabled()
    expect(reader.locator("#chat-send")).to_be_disabled()

    moderator.click(f"#unmute-{uid}")
    expect(moderator.locator(f"#muted-{uid}")).to_have_count(0)

    expect(reader.locator("#chat-muted-notice")).to_have_count(0, timeout=10_000)
    expect(reader.locator("#chat-composer")).to_be_enabled()
    assert reader.evaluate("window.__stillTheSamePage") is True
    reader.fill("#chat-composer", "thanks for unmuting")
    reader.press("#chat-composer", "Enter")
    expect(moderator.locator("#chat-messages")).to_contain_text(
        "thanks for unmuting", timeout=10_000
    )
