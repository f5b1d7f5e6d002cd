"""`ChatState` and the chat page: loading a channel, sending (once, even when resent),
the composer's refusals, live pushes merged by id, a tab losing a channel it may no longer
see, the topics a tab watches, and messages rendered as text (never raw HTML)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlmodel import col

from app.models.chat import ChatMessage
from app.models.user import Role
from app.pages.chat import chat_page
from app.pages.chat_messages import message_item
from app.services.comms import chat_channels, chat_history
from app.services.comms import chat_messages as msgs
from app.services.config import writes
from app.services.core import topics
from app.services.core.tenancy import OrgContext, count_rows, scoped, tenant_session
from app.state import chat as chat_state
from app.state.chat import ChatState
from app.state.chat_rows import ChatMsg, to_msg
from app.state.live import hub
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)> read https://example.org/a.'


@pytest.fixture(autouse=True)
def _roomy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(msgs, "RATE_COUNT", 1000)


def general(ctx: OrgContext) -> str:
    with tenant_session(ctx) as session:
        return str(chat_channels.org_channel(session, ctx).id)


def post(ctx: OrgContext, channel_id: str, body: str) -> chat_history.MessageRow:
    with tenant_session(ctx) as session:
        return msgs.do_post_message(session, ctx, channel_id=channel_id, body=body)


def push(tab: StateHarness, topic: str, message: dict[str, Any] | None) -> None:
    """What the live hub does when the broker delivers `message` on `topic` to this tab:
    parse it by the topic's family (None on a resync) and run the chat refresher."""
    family = topics.topic_of(topic)
    assert family is not None, topic
    state = tab.bare_state(ChatState)
    tab._runner.run(chat_state._channel_changed(state, [(topic, family.parse(message))]))


def stored(ctx: OrgContext, channel_id: str) -> list[str]:
    with tenant_session(ctx) as session:
        page = chat_history.history(session, ctx, channel_id=channel_id, limit=100)
    return [r.body for r in page.rows]


def test_load_opens_general_and_watches_only_the_user_s_channels() -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    post(admin.ctx, gid, "welcome")
    other = f.new_admin()
    other_gid = general(other.ctx)
    with StateHarness(cookie=admin.token, path="/chat") as tab:
        tab.dispatch(ChatState.load())
        s = tab.state(ChatState)
        assert s.found and s.channel["name"] == "General" and s.channel["id"] == gid
        assert [m.body for m in s.messages] == ["welcome"]
        assert [c["name"] for c in s.channels] == ["General"]
        watched = hub.watching(tab.token)
        assert topics.CHANNEL.name(org=admin.org_id, channel=gid) in watched
        assert topics.CHAT_LIST.name(org=admin.org_id, user=admin.user_id) in watched
        assert not any(str(other.org_id) in t for t in watched)
        assert not any(other_gid in t for t in watched)


def test_send_shows_the_message_as_text_parts_and_a_resend_is_stored_once() -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        key = tab.state(ChatState).send_key
        form = {"body": EVIL, "client_key": key}
        tab.dispatch(ChatState.send(form))
        tab.dispatch(ChatState.send(form))  # the same event again (a reconnect resends it)
        s = tab.state(ChatState)
        assert s.send_key != key
        (m,) = s.messages
        assert m.body == EVIL.strip()
        assert [(p.text, p.href) for p in m.parts] == [
            ('<script>alert("x")</script><img src=x onerror=alert(1)> read ', ""),
            ("https://example.org/a", "https://example.org/a"),
            (".", ""),
        ]
    assert stored(admin.ctx, gid) == [EVIL.strip()]


def test_the_composer_refuses_empty_and_oversized_messages_beside_the_box() -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        tab.dispatch(ChatState.send({"body": "   ", "client_key": "a"}))
        assert "Write a message" in tab.state(ChatState).composer_error
        tab.dispatch(ChatState.send({"body": "x" * 20_000, "client_key": "b"}))
        assert "at most 4,000" in tab.state(ChatState).composer_error
        assert tab.state(ChatState).messages == []
    assert stored(admin.ctx, gid) == []


def test_flooding_answers_with_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(msgs, "RATE_COUNT", 2)
    admin = f.new_admin()
    gid = general(admin.ctx)
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        for i in range(2):
            tab.dispatch(ChatState.send({"body": f"m{i}", "client_key": f"k{i}"}))
        reply = tab.dispatch(ChatState.send({"body": "m2", "client_key": "k2"}))
        assert reply.toast("error", "You are sending messages too fast; try again in")
    assert stored(admin.ctx, gid) == ["m0", "m1"]


def test_a_push_adds_a_message_once_and_applies_edits_and_deletes() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    topic = topics.CHANNEL.name(org=admin.org_id, channel=gid)
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        row = post(learner.ctx, gid, "hi from the learner")
        push(tab, topic, {"message_id": row.id, "kind": "new"})
        push(tab, topic, {"message_id": row.id, "kind": "new"})  # delivered twice
        assert [m.body for m in tab.state(ChatState).messages] == ["hi from the learner"]
        with tenant_session(learner.ctx) as session:
            msgs.do_edit_message(session, learner.ctx, message_id=row.id, body="hi, edited")
        push(tab, topic, {"message_id": row.id, "kind": "edit"})
        (m,) = tab.state(ChatState).messages
        assert m.body == "hi, edited" and m.edited
        with tenant_session(learner.ctx) as session:
            msgs.do_delete_message(session, learner.ctx, message_id=row.id)
        push(tab, topic, {"message_id": row.id, "kind": "delete"})
        (m,) = tab.state(ChatState).messages
        assert m.deleted and m.body == "" and m.parts == []


def test_a_push_on_another_channel_updates_its_unread_badge() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    with tenant_session(learner.ctx) as session:
        dm = str(chat_channels.do_open_direct(session, learner.ctx, user_id=admin.user_id).id)
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        assert topics.CHANNEL.name(org=admin.org_id, channel=dm) in hub.watching(tab.token)
        row = post(learner.ctx, dm, "psst")
        push(
            tab,
            topics.CHANNEL.name(org=admin.org_id, channel=dm),
            {"message_id": row.id, "kind": "new"},
        )
        badges = {c["id"]: c["unread"] for c in tab.state(ChatState).channels}
        assert badges[dm] == "1" and badges[gid] == "0"
        assert tab.state(ChatState).messages == []  # the open channel is still General


def test_a_new_direct_message_channel_reaches_the_list_live() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=admin.token, path="/chat") as tab:
        tab.dispatch(ChatState.load())
        with tenant_session(learner.ctx) as session:
            dm = str(chat_channels.do_open_direct(session, learner.ctx, user_id=admin.user_id).id)
        push(
            tab,
            topics.CHAT_LIST.name(org=admin.org_id, user=admin.user_id),
            {"kind": "channels"},
        )
        assert dm in [c["id"] for c in tab.state(ChatState).channels]
        assert topics.CHANNEL.name(org=admin.org_id, channel=dm) in hub.watching(tab.token)


def test_a_removed_member_s_tab_loses_the_channel_on_the_next_push() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(learner.ctx) as session:
        cid = str(
            chat_channels.do_create_interest_channel(session, learner.ctx, name=f.unique("Club")).id
        )
    post(learner.ctx, cid, "my club")
    topic = topics.CHANNEL.name(org=admin.org_id, channel=cid)
    with StateHarness(cookie=learner.token, path=f"/chat/{cid}") as tab:
        tab.dispatch(ChatState.load())
        assert tab.state(ChatState).found
        with tenant_session(admin.ctx) as session:
            chat_channels.do_remove_member(
                session, admin.ctx, channel_id=cid, user_id=learner.user_id
            )
        push(tab, topic, {"kind": "members"})
        s = tab.state(ChatState)
        assert not s.found and s.messages == []
        assert topic not in hub.watching(tab.token)
        reply = tab.dispatch(ChatState.send({"body": "still here?", "client_key": "z"}))
        assert reply.toast("error")
    assert stored(admin.ctx, cid) == ["my club"]


def test_leaving_makes_the_channel_read_only_in_the_tab() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(learner.ctx) as session:
        cid = str(
            chat_channels.do_create_interest_channel(session, learner.ctx, name=f.unique("Club")).id
        )
    with StateHarness(cookie=learner.token, path=f"/chat/{cid}") as tab:
        tab.dispatch(ChatState.load())
        assert tab.state(ChatState).can_leave
        tab.dispatch(ChatState.leave())
        s = tab.state(ChatState)
        assert not s.can_post and "You left" in s.channel["refusal"] and s.can_join
        reply = tab.dispatch(ChatState.send({"body": "hello?", "client_key": "q"}))
        assert reply.toast("error", "You left this channel")
    assert stored(admin.ctx, cid) == []


def test_editing_someone_else_s_message_through_the_handler_is_refused() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    row = post(admin.ctx, gid, "admin's words")
    with StateHarness(cookie=learner.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        tab.dispatch(ChatState.start_edit(row.id))
        assert tab.state(ChatState).editing_id == ""  # no edit box for others' messages
        tab.bare_state(ChatState).editing_id = row.id  # a crafted event gets no further
        tab.dispatch(ChatState.save_edit({"body": "rewritten"}))
        assert "your own" in tab.state(ChatState).edit_error
        reply = tab.dispatch(ChatState.delete(row.id))
        assert reply.toast("error", "your own")
    assert stored(admin.ctx, gid) == ["admin's words"]


def test_history_loads_earlier_pages() -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    for i in range(35):
        post(admin.ctx, gid, f"m{i:02d}")
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        s = tab.state(ChatState)
        assert len(s.messages) == 30 and s.has_more and s.messages[0].body == "m05"
        tab.dispatch(ChatState.load_earlier())
        s = tab.state(ChatState)
        assert [m.body for m in s.messages] == [f"m{i:02d}" for i in range(35)]
        assert not s.has_more


def test_search_and_direct_messages_from_the_page() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lena Lindqvist")
    gid = general(admin.ctx)
    post(learner.ctx, gid, "The fire drill is at noon")
    with StateHarness(cookie=admin.token, path="/chat") as tab:
        tab.dispatch(ChatState.load())
        tab.dispatch(ChatState.search({"query": "FIRE"}))
        s = tab.state(ChatState)
        assert s.search_total == 1 and s.search_results[0]["channel_id"] == gid
        tab.dispatch(ChatState.find_people("lindq"))
        (person,) = tab.state(ChatState).people
        reply = tab.dispatch(ChatState.start_dm(person["id"]))
        (target,) = reply.redirects
        assert target.startswith("/chat/")
        tab.navigate(target)
        tab.dispatch(ChatState.load())
        assert tab.state(ChatState).channel["name"] == "Lena Lindqvist"


def test_chat_switched_off_shows_nothing_and_refuses_handlers() -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    post(admin.ctx, gid, "before")
    with tenant_session(admin.ctx) as session:
        writes.do_update_section(
            session, admin.ctx, org_id=admin.org_id, section="features", values={"chat": False}
        )
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        s = tab.state(ChatState)
        assert not s.found and s.messages == [] and s.channels == []
        assert "chat" not in s.features  # the shell shows "turned off"
        assert not any(gid in t for t in hub.watching(tab.token))
        reply = tab.dispatch(ChatState.send({"body": "after", "client_key": "x"}))
        assert reply.toast("error", "Chat is turned off")
        reply = tab.dispatch(ChatState.search({"query": "before"}))
        assert reply.toast("error", "Chat is turned off")
    assert stored_raw_count(admin.ctx, gid) == 1


def stored_raw_count(ctx: OrgContext, channel_id: str) -> int:
    """Messages in the channel, read past the (switched-off) services."""
    with tenant_session(ctx) as session:
        return count_rows(
            session,
            scoped(ctx, ChatMessage).where(col(ChatMessage.channel_id) == uuid.UUID(channel_id)),
        )


# --------------------------------------------------------------------------- rendering


def _walk(node: Any) -> list[str]:
    """Every component name and prop in a rendered tree, flattened to strings."""
    out: list[str] = []
    if isinstance(node, dict):
        out.append(str(node.get("name", "")))
        if "contents" in node:
            out.append(str(node["contents"]))
        out.extend(str(p) for p in node.get("props", []))
        for value in node.values():
            if isinstance(value, (dict, list)):
                out.extend(_walk(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(_walk(item))
    return out


def test_a_message_renders_as_text_with_no_raw_html_component() -> None:
    tree = message_item(ChatState.messages[0])  # type: ignore[arg-type]
    flat = _walk(tree.render())
    joined = json.dumps(flat)
    assert "dangerouslySetInnerHTML" not in joined
    assert not any("Markdown" in name or name == "RawHtml" for name in flat)
    # the text itself is a React child expression (escaped by React), never markup
    assert any(item.endswith('?.["text"]') for item in flat)
    page = json.dumps(_walk(chat_page().render()))
    assert "dangerouslySetInnerHTML" not in page and "Markdown" not in page


def test_to_msg_keeps_only_http_links() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    row = chat_history.MessageRow(
        id="1",
        channel_id="c",
        user_id="u",
        author="A",
        body="javascript:alert(1) data:text/html,x https://ok.example/x",
        created=now,
        edited=False,
        deleted=False,
        mine=False,
        mentions_me=False,
        changed=now,
    )
    m: ChatMsg = to_msg(row)
    assert [p.href for p in m.parts if p.href] == ["https://ok.example/x"]
    assert "".join(p.text for p in m.parts) == row.body
