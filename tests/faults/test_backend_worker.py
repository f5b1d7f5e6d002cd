"""A backend worker killed outright (a crash, an out-of-memory kill) is replaced within
seconds, the app keeps serving, and the tabs it held reconnect by themselves, still signed in
and still live."""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_ready
from tests.e2e.launch import Launched
from tests.faults.conftest import ChatRoom, backend_workers, send, wait_health

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_a_killed_backend_worker_is_replaced_and_its_tabs_carry_on(
    launched: Launched, chat_room: ChatRoom
) -> None:
    reader = chat_room.open(chat_room.learner)
    writer = chat_room.open(chat_room.admin)

    workers = backend_workers(launched)
    assert len(workers) == 2, f"expected two backend workers, found {workers}"
    killed = time.monotonic()
    for pid in workers:  # both, a few seconds apart (each one's tabs lose their socket)
        with contextlib.suppress(ProcessLookupError):  # gone if the first kill stopped the app
            os.kill(pid, signal.SIGKILL)
        time.sleep(6)  # granian treats two deaths of one slot within 5.5 s as a crash loop
        assert launched.proc.poll() is None, "the app stopped when a backend worker was killed"

    replaced_in = wait_health(launched.app, 200, timeout=30)
    assert launched.proc.poll() is None, "the app stopped when its workers were killed"
    deadline = time.monotonic() + 30
    while len(backend_workers(launched)) != 2 or set(backend_workers(launched)) & set(workers):
        assert time.monotonic() < deadline, f"workers not replaced: {backend_workers(launched)}"
        time.sleep(0.2)
    print(f"workers replaced; /health 200 {time.monotonic() - killed:.1f} s after the first kill")
    assert replaced_in < 30

    # Both tabs reconnected by themselves, still signed in, on their channel, and live.
    for page in (reader, writer):
        wait_ready(page)
        expect(page.locator("#chat-channel-name")).to_have_text("General")
    send(writer, "still here after the crash")
    expect(reader.locator("#chat-messages")).to_contain_text(
        "still here after the crash", timeout=15_000
    )
    expect(reader.locator(".gh-chat-message")).to_have_count(1)
