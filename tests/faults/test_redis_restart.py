"""Redis restarted with every key lost (the tabs' stored states, the socket records, the
rate-limit counters): open tabs come back showing the truth (still signed in, their page
reloaded from the database) without a reload by the user, pushes reach them live again, and
a message sent around the restart is stored once or kept in the composer with an error,
never silently dropped."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.launch import Launched
from tests.faults.conftest import ChatRoom, FaultServices, send, wait_health

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_after_a_redis_restart_open_tabs_show_the_truth_and_stay_live(
    launched: Launched, fault_services: FaultServices, chat_room: ChatRoom
) -> None:
    reader = chat_room.open(chat_room.learner)
    writer = chat_room.open(chat_room.admin)
    send(writer, "before the restart")
    expect(reader.locator("#chat-messages")).to_contain_text("before the restart")
    reader.evaluate("window.__stillTheSamePage = true")

    fault_services.restart_redis()
    wait_health(launched.app, 200, timeout=30)
    restarted = time.monotonic()

    # A message sent right after the restart is stored, or still in the box with a reason.
    send(writer, "right after the restart")
    sent = writer.locator(".gh-chat-message", has_text="right after the restart")
    kept = writer.locator("#chat-composer-error")
    expect(sent.or_(kept)).to_be_visible(timeout=20_000)
    if not sent.count():
        expect(writer.locator("#chat-composer")).to_have_value("right after the restart")
        send(writer, "right after the restart")
        expect(sent).to_be_visible()

    # The reader's tab was not reloaded by anyone, shows who is signed in and its channel,
    # and gets what is posted now, live, once.
    for page, person in ((reader, chat_room.learner), (writer, chat_room.admin)):
        expect(page.locator("#user-name")).to_have_text(person.ctx.full_name, timeout=30_000)
        expect(page.locator("#chat-channel-name")).to_have_text("General")
    expect(reader.locator("#chat-messages")).to_contain_text("right after the restart")
    send(writer, "live again")
    expect(reader.locator("#chat-messages")).to_contain_text("live again", timeout=15_000)
    print(f"the reader's tab was live again {time.monotonic() - restarted:.1f} s after Redis")
    for text in ("before the restart", "right after the restart", "live again"):
        expect(reader.locator(".gh-chat-message", has_text=text)).to_have_count(1)
    assert reader.evaluate("window.__stillTheSamePage") is True
