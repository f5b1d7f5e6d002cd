"""`/chat` and `/chat/[channel_id]`: the channel list with unread counts, one open channel,
and live updates.

Live: the load handler refreshes the session first (which clears the tab's page topics),
then watches the topics of the channels the user may see (decided by the services, never
by an argument) plus the user's own chat-list topic. A push on the open channel reads what
changed from the database with `chat_messages.since` (re-checking access: a removed user's
tab loses the channel) and merges it by id, so a repeated or overlapping push never shows a
message twice; a push on another channel recounts the unread badges. A reconnecting tab
runs the load handler again (Reflex re-sends the page's load on reconnect), so it reloads
from the database.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

import reflex as rx
from sqlmodel import Session

from app.services import chat
from app.services import chat_messages as msgs
from app.services.authz import Permission
from app.services.errors import NotFound, PermissionDenied, ServiceError, Unauthenticated
from app.services.tenancy import OrgContext, tenant_session
from app.state.learn import path_ids
from app.state.live import hub
from app.state.session import SessionState

MAX_SHOWN = 300  # messages kept in a tab's state; older ones reload with "Load earlier"
KIND_ICONS = {
    "org": "building_2",
    "course": "graduation_cap",
    "interest": "hash",
    "event": "calendar",
    "direct": "user",
}


@dataclasses.dataclass
class MsgPart:
    """A piece of a message: text, or a link (http/https only) shown as its own text."""

    text: str = ""
    href: str = ""


@dataclasses.dataclass
class ChatMsg:
    """A message as the page shows it."""

    id: str = ""
    user_id: str = ""
    author: str = ""
    when: str = ""
    created: str = ""  # ISO timestamp (ordering and the history cursor)
    changed: str = ""  # ISO timestamp of the latest change (catch-up reads)
    body: str = ""
    parts: list[MsgPart] = dataclasses.field(default_factory=list)
    edited: bool = False
    deleted: bool = False
    mine: bool = False
    mentions_me: bool = False


def to_msg(row: msgs.MessageRow) -> ChatMsg:
    """A service row as the page's message (text split into plain parts and links)."""
    return ChatMsg(
        id=row.id,
        user_id=row.user_id,
        author=row.author,
        when=row.created.strftime("%Y-%m-%d %H:%M"),
        created=row.created.isoformat(),
        changed=row.changed.isoformat(),
        body=row.body,
        parts=[MsgPart(text=t, href=h) for t, h in msgs.split_links(row.body)],
        edited=row.edited,
        deleted=row.deleted,
        mine=row.mine,
        mentions_me=row.mentions_me,
    )


def _fail(exc: ServiceError) -> rx.event.EventSpec:
    if isinstance(exc, Unauthenticated):
        return rx.redirect("/signin?next=/chat")
    return rx.toast.error(exc.message)


class ChatState(SessionState):
    """The chat page of one tab."""

    loaded: bool = False
    found: bool = False
    channels: list[dict[str, str]] = []
    browse: list[dict[str, str]] = []
    channel: dict[str, str] = {}
    can_post: bool = False
    is_moderator: bool = False
    can_join: bool = False
    can_leave: bool = False
    can_archive: bool = False
    messages: list[ChatMsg] = []
    has_more: bool = False
    send_key: str = ""
    composer_error: str = ""
    editing_id: str = ""
    edit_error: str = ""
    mute_minutes: str = "10"
    search_query: str = ""
    searched: bool = False
    search_results: list[dict[str, str]] = []
    search_total: int = 0
    people: list[dict[str, str]] = []
    create_error: str = ""

    _channel_id: str = ""
    _org_id: str = ""
    _before: str = ""
    _last_seen: str = ""

    # ------------------------------------------------------------------ loading

    def _path_channel(self) -> str:
        ids = path_ids(self.router.url.path or "", "/chat")
        return ids[0] if ids else ""

    def _ctx(self) -> OrgContext:
        return self._require(Permission.dashboard_view)

    def _load_list(self, session: Session, ctx: OrgContext) -> list[chat.ChannelRow]:
        rows = chat.list_channels(session, ctx)
        self.channels = [
            {
                "id": r.id,
                "name": r.name,
                "kind": r.kind,
                "icon": KIND_ICONS.get(r.kind, "hash"),
                "unread": "99+" if r.unread > 99 else str(r.unread),
                "current": "1" if r.id == self._channel_id else "",
            }
            for r in rows
        ]
        self.browse = [
            {"id": r.id, "name": r.name, "description": r.description}
            for r in chat.browse_interest_channels(session, ctx)
            if not r.joined
        ]
        return rows

    def _watch(self, ctx: OrgContext, rows: list[chat.ChannelRow]) -> None:
        """Follow the user's channels (unread counts) and the open one; nothing else."""
        assert ctx.org_id is not None
        topics = {chat.channel_topic(ctx.org_id, r.id) for r in rows}
        topics.add(chat.user_chat_topic(ctx.org_id, ctx.user_id))
        if self.found and self._channel_id:
            topics.add(chat.channel_topic(ctx.org_id, self._channel_id))
        hub.watch(self.router.session.client_token, topics, group="page")

    def _apply_info(self, info: chat.ChannelInfo) -> None:
        self.channel = {
            "id": info.id,
            "name": info.name,
            "kind": info.kind,
            "description": info.description,
            "refusal": info.post_refusal,
            "muted_until": (
                info.muted_until.strftime("%Y-%m-%d %H:%M UTC") if info.muted_until else ""
            ),
        }
        self._org_id = info.org_id
        self.can_post = info.can_post
        self.is_moderator = info.is_moderator
        self.can_join = info.can_join
        self.can_leave = info.can_leave
        self.can_archive = info.can_archive

    def _lose_channel(self) -> None:
        self.found = False
        self.channel = {}
        self.messages = []
        self.has_more = False
        self._before = self._last_seen = ""
        self.can_post = self.is_moderator = False
        self.can_join = self.can_leave = self.can_archive = False

    def _open(self, ctx: OrgContext) -> rx.event.EventSpec | None:
        wanted = self._path_channel()
        try:
            with tenant_session(ctx) as session:
                if not wanted:
                    wanted = str(chat.org_channel(session, ctx).id)
                self._channel_id = wanted
                try:
                    info = chat.channel_info(session, ctx, wanted)
                    page = msgs.history(session, ctx, channel_id=wanted)
                    chat.mark_read(session, ctx, channel_id=wanted)
                except NotFound:
                    self._lose_channel()
                else:
                    self.found = True
                    self._apply_info(info)
                    self.messages = []
                    self._last_seen = ""
                    self._merge(page.rows)
                    self.has_more, self._before = page.has_more, page.before
                rows = self._load_list(session, ctx)
        except ServiceError as exc:
            self._lose_channel()
            self.loaded = True
            if isinstance(exc, PermissionDenied):
                return None  # the shell says the page is off or not allowed
            return _fail(exc)
        self.loaded = True
        self._watch(ctx, rows)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Open the channel of the URL (or General): history, list, live topics."""
        ctx = self._refresh()  # first: this clears the tab's page topics
        if ctx is None:
            return rx.redirect(f"/signin?next={self.router.url.path or '/chat'}")
        self.loaded = False
        self.editing_id = self.composer_error = self.edit_error = self.create_error = ""
        self.searched, self.search_results, self.search_total = False, [], 0
        self.people = []
        self.send_key = uuid.uuid4().hex
        if Permission.dashboard_view.value not in self.permissions:
            self.loaded = True
            return None
        return self._open(ctx)

    # ------------------------------------------------------------------ merging

    def _merge(self, rows: list[msgs.MessageRow]) -> None:
        """Put rows into the shown messages by id: new ones added, changed ones replaced."""
        shown = {m.id: m for m in self.messages}
        oldest = self.messages[0].created if self.messages and self.has_more else ""
        latest = self._last_seen
        for row in rows:
            item = to_msg(row)
            latest = max(latest, item.changed)
            if item.id in shown or not oldest or item.created >= oldest:
                shown[item.id] = item
        ordered = sorted(shown.values(), key=lambda m: (m.created, m.id))
        if len(ordered) > MAX_SHOWN:
            ordered = ordered[-MAX_SHOWN:]
            self.has_more = True
            self._before = f"{ordered[0].created}|{ordered[0].id}"
        self.messages = ordered
        self._last_seen = latest

    def _catch_up(self, session: Session, ctx: OrgContext) -> None:
        after = datetime.fromisoformat(self._last_seen) if self._last_seen else None
        self._merge(msgs.since(session, ctx, channel_id=self._channel_id, after=after))

    def _push(self, topic: str, payload: dict[str, Any]) -> None:
        """A change on one of the watched topics (called by the live hub)."""
        if not self.loaded:
            return
        ctx = self._context()
        if ctx is None or ctx.org_id is None:
            self._lose_channel()
            hub.watch(self.router.session.client_token, set(), group="page")
            return
        open_topic = chat.channel_topic(ctx.org_id, self._channel_id) if self._channel_id else ""
        try:
            with tenant_session(ctx) as session:
                if self.found and topic == open_topic:
                    try:
                        info = chat.channel_info(session, ctx, self._channel_id)
                        self._apply_info(info)
                        self._catch_up(session, ctx)
                        if payload.get("kind") == "new":
                            chat.mark_read(session, ctx, channel_id=self._channel_id)
                    except NotFound:
                        self._lose_channel()
                rows = self._load_list(session, ctx)
        except ServiceError:  # chat switched off, or the session ended: show nothing more
            self._lose_channel()
            self.channels, self.browse = [], []
            hub.watch(self.router.session.client_token, set(), group="page")
            return
        self._watch(ctx, rows)

    # ------------------------------------------------------------------ messages

    @rx.event
    def send(self, form: dict[str, Any]) -> rx.event.EventSpec | list[rx.event.EventSpec] | None:
        """Post the composer's text; the form's send id makes a resent event harmless."""
        body = str(form.get("body", ""))
        key = str(form.get("client_key", ""))[:64] or None
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                row = msgs.post_message(
                    session, ctx, channel_id=self._channel_id, body=body, client_key=key
                )
        except ServiceError as exc:
            if exc.field == "body":
                self.composer_error = exc.message
                return None
            self.composer_error = exc.message
            return _fail(exc)
        self.composer_error = ""
        self._merge([row])
        self.send_key = uuid.uuid4().hex
        return [rx.set_value("chat-composer", ""), _scroll_to_end()]

    @rx.event
    def load_earlier(self) -> rx.event.EventSpec | None:
        """The page of history before the oldest message shown."""
        if not self._before:
            self.has_more = False
            return None
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                page = msgs.history(session, ctx, channel_id=self._channel_id, before=self._before)
        except ServiceError as exc:
            return _fail(exc)
        shown = {m.id for m in self.messages}
        older = [to_msg(r) for r in page.rows if r.id not in shown]
        self.messages = older + self.messages
        self.has_more, self._before = page.has_more, page.before
        return None

    @rx.event
    def start_edit(self, message_id: str) -> None:
        """Show the edit box for one of the user's own messages."""
        if any(m.id == message_id and m.mine and not m.deleted for m in self.messages):
            self.editing_id, self.edit_error = message_id, ""

    @rx.event
    def cancel_edit(self) -> None:
        """Close the edit box."""
        self.editing_id, self.edit_error = "", ""

    @rx.event
    def save_edit(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Save the edited text (the service refuses anyone else's message)."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                row = msgs.edit_message(
                    session, ctx, message_id=self.editing_id, body=str(form.get("body", ""))
                )
        except ServiceError as exc:
            self.edit_error = exc.message
            return None if exc.field == "body" else _fail(exc)
        self._merge([row])
        self.editing_id, self.edit_error = "", ""
        return None

    @rx.event
    def delete(self, message_id: str) -> rx.event.EventSpec | None:
        """Delete a message (own, or anyone's for moderators)."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                msgs.delete_message(session, ctx, message_id=message_id)
                self._catch_up(session, ctx)
        except ServiceError as exc:
            return _fail(exc)
        return rx.toast.success("Message deleted.")

    @rx.event
    def set_mute_minutes(self, value: str) -> None:
        """How long the next mute lasts."""
        self.mute_minutes = value if value.isdigit() else "10"

    @rx.event
    def mute(self, user_id: str) -> rx.event.EventSpec | None:
        """Mute a member in the open channel (moderators)."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                until = msgs.mute_member(
                    session,
                    ctx,
                    channel_id=self._channel_id,
                    user_id=user_id,
                    minutes=int(self.mute_minutes or "0"),
                )
        except ServiceError as exc:
            return _fail(exc)
        return rx.toast.success(f"Muted in this channel until {until:%Y-%m-%d %H:%M} UTC.")

    # ------------------------------------------------------------------ channels

    def _after_change(self, message: str) -> rx.event.EventSpec | None:
        ctx = self._ctx()
        self._open(ctx)
        return rx.toast.success(message)

    @rx.event
    def join(self, channel_id: str) -> rx.event.EventSpec | None:
        """Join an interest channel (and open it)."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                chat.join_channel(session, ctx, channel_id=channel_id)
        except ServiceError as exc:
            return _fail(exc)
        return rx.redirect(f"/chat/{channel_id}")

    @rx.event
    def leave(self) -> rx.event.EventSpec | None:
        """Leave the open interest channel."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                chat.leave_channel(session, ctx, channel_id=self._channel_id)
            return self._after_change("You left the channel.")
        except ServiceError as exc:
            return _fail(exc)

    @rx.event
    def archive(self) -> rx.event.EventSpec | None:
        """Archive the open interest channel (admins and staff)."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                chat.archive_channel(session, ctx, channel_id=self._channel_id)
            return self._after_change("Channel archived.")
        except ServiceError as exc:
            return _fail(exc)

    @rx.event
    def create_channel(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Create an interest channel and open it."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                row = chat.create_interest_channel(
                    session,
                    ctx,
                    name=str(form.get("name", "")),
                    description=str(form.get("description", "")),
                )
        except ServiceError as exc:
            self.create_error = exc.message
            return None if exc.field else _fail(exc)
        self.create_error = ""
        return rx.redirect(f"/chat/{row.id}")

    @rx.event
    def find_people(self, query: str) -> rx.event.EventSpec | None:
        """Members matching the DM picker's text."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                found = chat.find_people(session, ctx, query=query)
        except ServiceError as exc:
            return _fail(exc)
        self.people = [{"id": p.user_id, "name": p.name, "role": p.role} for p in found]
        return None

    @rx.event
    def start_dm(self, user_id: str) -> rx.event.EventSpec | None:
        """Open (or create) the direct-message channel with a member."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                row = chat.open_direct(session, ctx, user_id=user_id)
        except ServiceError as exc:
            return _fail(exc)
        self.people = []
        return rx.redirect(f"/chat/{row.id}")

    # ------------------------------------------------------------------ search

    @rx.event
    def search(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Messages containing the text, in every channel the user may read."""
        query = str(form.get("query", ""))
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                found = msgs.search_messages(session, ctx, query=query)
        except ServiceError as exc:
            return _fail(exc)
        self.search_query = query
        self.searched = True
        self.search_total = found.total
        self.search_results = [
            {
                "id": h.message.id,
                "channel_id": h.channel_id,
                "channel": h.channel_name,
                "author": h.message.author,
                "when": h.message.created.strftime("%Y-%m-%d %H:%M"),
                "body": h.message.body[:300],
            }
            for h in found.rows
        ]
        return None

    @rx.event
    def clear_search(self) -> None:
        """Close the search results."""
        self.searched, self.search_results, self.search_total = False, [], 0


def _scroll_to_end() -> rx.event.EventSpec:
    return rx.call_script(
        "(() => { const el = document.getElementById('chat-scroll');"
        " if (el) el.scrollTop = el.scrollHeight; })()"
    )


async def _channel_changed(state: ChatState, topic: str, payload: dict[str, Any]) -> None:
    """A message or membership of a watched channel changed."""
    state._push(topic, payload)


async def _list_changed(state: ChatState, topic: str, payload: dict[str, Any]) -> None:
    """The user's channel list changed (a new direct message, a removal)."""
    state._push(topic, payload)


hub.on("org:*:channel:*", ChatState, _channel_changed)
hub.on("org:*:user:*:chat", ChatState, _list_changed)
