"""`/chat` and `/chat/[channel_id]`: the channel list with unread counts, one open channel,
and live updates.

Live: the load handler refreshes the session first (which clears the tab's page topics),
then watches the topics of the channels the user may see (decided by the services, never
by an argument) plus the user's own chat-list topic. A push on the open channel reads what
changed from the database with `chat_history.since` (re-checking access: a removed user's
tab loses the channel) and merges it by id, so a repeated or overlapping push never shows a
message twice; a push on another channel recounts the unread badges. A reconnecting tab
runs the load handler again (Reflex re-sends the page's load on reconnect), so it reloads
from the database.

Members panel: the open channel's people a page at a time (`chat_members.list_members`),
searchable; moderators mute, unmute, remove (interest channels, after a confirm) and add
people. Every handler goes through the services, which re-check that the user moderates the
channel, so a crafted event is refused with a toast. Mutes, unmutes, removals and additions
are published on the channel topic with kind `members`: the affected person's tab
re-reads the channel header (the muted notice and the disabled composer appear or clear) and
open members panels reload. A mute also ends by itself: while muted, the page runs a timer
(`mute_tick`) that re-reads the header once the mute is over. A person removed from the
open channel loses it with a notice saying so, and it leaves their list. The panel's vars and
handlers are the mixin `app.state.chat_members.ChatMembersMixin`; rows and constants are in
`app.state.chat_rows`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

import reflex as rx
from sqlmodel import Session

from app.models.base import utcnow
from app.services.comms import chat_channels, chat_history, chat_list, chat_mutes
from app.services.comms import chat_members as cm
from app.services.comms import chat_messages as msgs
from app.services.core import topics
from app.services.core.authz import Permission
from app.services.core.errors import NotFound, PermissionDenied, ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.state.chat_members import ChatMembersMixin
from app.state.chat_rows import KIND_ICONS, MAX_SHOWN, ChatMsg, fail, muted_text, to_msg
from app.state.learn import path_ids
from app.state.live import hub
from app.state.live_coalesce import Change
from app.state.session import Outcome, SessionState

T = TypeVar("T")


class ChatState(ChatMembersMixin, SessionState):
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
    # the open channel's muted notice ("" when not muted) and when the mute ends (ISO)
    muted_notice: str = ""
    mute_ends: str = ""
    # why the open channel went away ("" when it did not, or for a plain "not found")
    closed_notice: str = ""

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

    def _run(
        self,
        service: Callable[[Session, OrgContext], T],
        *,
        then: Callable[[OrgContext], object] | None = None,
    ) -> Outcome[T]:
        """`_call` for chat: its refusal replies name the reason (`fail`), and signing in
        again comes back to chat."""
        done = self._call(service, permission=Permission.dashboard_view, then=then)
        return done if done.error is None else replace(done, reply=fail(done.error))

    def _load_list(self, session: Session, ctx: OrgContext) -> list[chat_list.ChannelRow]:
        rows = chat_list.list_channels(session, ctx)
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
            for r in chat_list.browse_interest_channels(session, ctx)
            if not r.joined
        ]
        return rows

    def _watch(self, ctx: OrgContext, rows: list[chat_list.ChannelRow]) -> None:
        """Follow the user's channels (unread counts) and the open one; nothing else."""
        open_channel = self._channel_id if self.found else ""
        watched = chat_list.tab_topics(ctx, rows, open_channel=open_channel)
        hub.watch(self.router.session.client_token, watched, group="page")

    def _apply_info(self, info: chat_list.ChannelInfo) -> None:
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
        self.muted_notice = muted_text(info.muted_until) if info.muted_until else ""
        self.mute_ends = info.muted_until.isoformat() if info.muted_until else ""
        self.can_post = info.can_post
        self.is_moderator = info.is_moderator
        self.can_join = info.can_join
        self.can_leave = info.can_leave
        self.can_archive = info.can_archive

    def _posting_channel(self, session: Session, ctx: OrgContext) -> str:
        """The channel a post goes to: the open one, else the URL's (or General). A tab
        whose stored state was lost (Redis restarted) sends its post before its page has
        loaded again; the URL still says where it was written."""
        if self._channel_id:
            return self._channel_id
        return self._path_channel() or chat_channels.org_channel_id(session, ctx)

    def _lose_channel(self) -> None:
        self.found = False
        self.channel = {}
        self.messages = []
        self.has_more = False
        self._before = self._last_seen = ""
        self.can_post = self.is_moderator = False
        self.can_join = self.can_leave = self.can_archive = False
        self.muted_notice = self.mute_ends = ""
        self.members, self.members_total, self.members_can_add = [], 0, False
        self.add_people, self.removing_id, self.removing_name = [], "", ""

    def _open(self, ctx: OrgContext) -> rx.event.EventSpec | None:
        wanted = self._path_channel()
        try:
            with tenant_session(ctx) as session:
                if not wanted:
                    wanted = chat_channels.org_channel_id(session, ctx)
                self._channel_id = wanted
                try:
                    info = chat_list.channel_info(session, ctx, wanted)
                    page = chat_history.history(session, ctx, channel_id=wanted)
                    chat_list.do_mark_read(session, ctx, channel_id=wanted)
                except NotFound:
                    self._lose_channel()
                    self.closed_notice = cm.lost_channel_notice(session, ctx, channel_id=wanted)
                else:
                    self.found = True
                    self.closed_notice = ""
                    self._apply_info(info)
                    self.messages = []
                    self._last_seen = ""
                    self._merge(page.rows)
                    self.has_more, self._before = page.has_more, page.before
                    if self.members_open:
                        self._load_members(session, ctx)
                rows = self._load_list(session, ctx)
        except ServiceError as exc:
            self._lose_channel()
            self.loaded = True
            if isinstance(exc, PermissionDenied):
                return None  # the shell says the page is off or not allowed
            return fail(exc)
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
        self.closed_notice = ""
        self.members_page, self.members_query, self.members_muted_only = 1, "", False
        self.add_people, self.removing_id, self.removing_name = [], "", ""
        self.send_key = uuid.uuid4().hex
        if Permission.dashboard_view.value not in self.permissions:
            self.loaded = True
            return None
        return self._open(ctx)

    # ------------------------------------------------------------------ merging

    def _merge(self, rows: list[chat_history.MessageRow]) -> None:
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
        self._merge(chat_history.since(session, ctx, channel_id=self._channel_id, after=after))

    def _push(self, changes: list[Change]) -> None:
        """Changes on the watched topics (called by the live hub, a burst at once)."""
        if not self.loaded:
            return
        ctx = self._context()
        if ctx is None or ctx.org_id is None:
            self._lose_channel()
            hub.watch(self.router.session.client_token, set(), group="page")
            return
        open_topic = (
            topics.CHANNEL.name(org=ctx.org_id, channel=self._channel_id)
            if self._channel_id
            else ""
        )
        try:
            with tenant_session(ctx) as session:
                here = [payload for topic, payload in changes if topic == open_topic]
                if self.found and here:
                    try:
                        info = chat_list.channel_info(session, ctx, self._channel_id)
                        self._apply_info(info)
                        self._catch_up(session, ctx)
                        # None: a resync or a misfit, so anything may have changed.
                        kinds = {
                            p.kind if isinstance(p, topics.ChannelChanged) else None for p in here
                        }
                        if "new" in kinds:
                            chat_list.do_mark_read(session, ctx, channel_id=self._channel_id)
                        if self.members_open and kinds - {"new", "edit", "delete"}:
                            self._load_members(session, ctx)
                    except NotFound:
                        self._lose_channel()
                        self.closed_notice = cm.lost_channel_notice(
                            session, ctx, channel_id=self._channel_id
                        ) or ("You can no longer see this channel.")
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
        done = self._run(
            lambda session, ctx: msgs.do_post_message(
                session,
                ctx,
                channel_id=self._posting_channel(session, ctx),
                body=body,
                client_key=key,
            )
        )
        if done.value is None:
            self.composer_error = done.error.message if done.error else ""
            return None if done.error is not None and done.error.field == "body" else done.reply
        self.composer_error = ""
        self._merge([done.value])
        self.send_key = uuid.uuid4().hex
        return [rx.set_value("chat-composer", ""), _scroll_to_end()]

    @rx.event
    def load_earlier(self) -> rx.event.EventSpec | None:
        """The page of history before the oldest message shown."""
        if not self._before:
            self.has_more = False
            return None
        done = self._run(
            lambda session, ctx: chat_history.history(
                session, ctx, channel_id=self._channel_id, before=self._before
            )
        )
        if done.value is None:
            return done.reply
        page = done.value
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
        done = self._run(
            lambda session, ctx: msgs.do_edit_message(
                session, ctx, message_id=self.editing_id, body=str(form.get("body", ""))
            )
        )
        if done.value is None:
            self.edit_error = done.error.message if done.error else ""
            return None if done.error is not None and done.error.field == "body" else done.reply
        self._merge([done.value])
        self.editing_id, self.edit_error = "", ""
        return None

    @rx.event
    def delete(self, message_id: str) -> rx.event.EventSpec | None:
        """Delete a message (own, or anyone's for moderators)."""

        def delete_and_catch_up(session: Session, ctx: OrgContext) -> None:
            msgs.do_delete_message(session, ctx, message_id=message_id)
            self._catch_up(session, ctx)

        return self._run(delete_and_catch_up).reply_or(rx.toast.success("Message deleted."))

    @rx.event
    def set_mute_minutes(self, value: str) -> None:
        """How long the next mute lasts."""
        self.mute_minutes = value if value.isdigit() else "10"

    @rx.event
    def mute(self, user_id: str) -> rx.event.EventSpec | None:
        """Mute a member in the open channel (moderators)."""
        done = self._run(
            lambda session, ctx: chat_mutes.do_mute_member(
                session,
                ctx,
                channel_id=self._channel_id,
                user_id=user_id,
                minutes=int(self.mute_minutes or "0"),
            )
        )
        if done.value is None:
            return done.reply
        self._reload_members()
        return rx.toast.success(f"Muted in this channel until {done.value:%Y-%m-%d %H:%M} UTC.")

    # ------------------------------------------------------------------ channels

    @rx.event
    def join(self, channel_id: str) -> rx.event.EventSpec | None:
        """Join an interest channel (and open it)."""
        done = self._run(
            lambda session, ctx: chat_channels.do_join_channel(session, ctx, channel_id=channel_id)
        )
        return done.reply_or(rx.redirect(f"/chat/{channel_id}"))

    @rx.event
    def leave(self) -> rx.event.EventSpec | None:
        """Leave the open interest channel."""
        done = self._run(
            lambda session, ctx: chat_channels.do_leave_channel(
                session, ctx, channel_id=self._channel_id
            ),
            then=self._open,
        )
        return done.reply_or(rx.toast.success("You left the channel."))

    @rx.event
    def archive(self) -> rx.event.EventSpec | None:
        """Archive the open interest channel (admins and staff)."""
        done = self._run(
            lambda session, ctx: chat_channels.do_archive_channel(
                session, ctx, channel_id=self._channel_id
            ),
            then=self._open,
        )
        return done.reply_or(rx.toast.success("Channel archived."))

    @rx.event
    def create_channel(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Create an interest channel and open it."""
        done = self._run(
            lambda session, ctx: chat_channels.do_create_interest_channel(
                session,
                ctx,
                name=str(form.get("name", "")),
                description=str(form.get("description", "")),
            )
        )
        if done.value is None:
            self.create_error = done.error.message if done.error else ""
            return None if done.error is not None and done.error.field else done.reply
        self.create_error = ""
        return rx.redirect(f"/chat/{done.value.id}")

    @rx.event
    def find_people(self, query: str) -> rx.event.EventSpec | None:
        """Members matching the DM picker's text."""
        done = self._run(lambda session, ctx: chat_list.find_people(session, ctx, query=query))
        if done.value is None:
            return done.reply
        self.people = [{"id": p.user_id, "name": p.name, "role": p.role} for p in done.value]
        return None

    @rx.event
    def start_dm(self, user_id: str) -> rx.event.EventSpec | None:
        """Open (or create) the direct-message channel with a member."""
        done = self._run(
            lambda session, ctx: chat_channels.do_open_direct(session, ctx, user_id=user_id)
        )
        if done.value is None:
            return done.reply
        self.people = []
        return rx.redirect(f"/chat/{done.value.id}")

    @rx.event
    def mute_tick(self, _now: str = "") -> None:
        """The page's timer while the user is muted: once the mute is over, re-read the
        channel header (the notice goes and the composer opens)."""
        if not self.mute_ends or not self.found:
            return
        if datetime.fromisoformat(self.mute_ends) > utcnow():
            return
        ctx = self._context()
        if ctx is None:
            return
        try:
            with tenant_session(ctx) as session:
                self._apply_info(chat_list.channel_info(session, ctx, self._channel_id))
        except NotFound:
            self._lose_channel()
        except ServiceError:
            return

    # ------------------------------------------------------------------ search

    @rx.event
    def search(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Messages containing the text, in every channel the user may read."""
        query = str(form.get("query", ""))
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                found = chat_history.search_messages(session, ctx, query=query)
        except ServiceError as exc:
            return fail(exc)
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


async def _channel_changed(state: ChatState, changes: list[Change]) -> None:
    """Messages or memberships of watched channels changed."""
    state._push(changes)


async def _list_changed(state: ChatState, changes: list[Change]) -> None:
    """The user's channel list changed (a new direct message, a removal)."""
    state._push(changes)


hub.on(topics.CHANNEL, ChatState, _channel_changed)
hub.on(topics.CHAT_LIST, ChatState, _list_changed)
