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

Members panel: the open channel's people a page at a time (`chat_members.list_members`),
searchable; moderators mute, unmute, remove (interest channels, after a confirm) and add
people. Every handler goes through the services, which re-check that the user moderates the
channel, so a crafted event is refused with a toast. Mutes, unmutes, removals and additions
are published on the channel topic with kind `members`: the affected person's tab
re-reads the channel header (the muted notice and the disabled composer appear or clear) and
open members panels reload. A mute also ends by itself: while muted, the page runs a timer
(`mute_tick`) that re-reads the header once the mute is over. A person removed from the
open channel loses it with a notice saying so, and it leaves their list.
"""

from __future__ import annotations

import dataclasses
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import reflex as rx
from sqlmodel import Session

from app.models.base import utcnow
from app.services.comms import chat_channels, chat_list
from app.services.comms import chat_members as cm
from app.services.comms import chat_messages as msgs
from app.services.core import topics
from app.services.core.authz import ROLE_LABELS, Permission
from app.services.core.errors import NotFound, PermissionDenied, ServiceError, Unauthenticated
from app.services.core.tenancy import OrgContext, parse_id, tenant_session
from app.state.learn import path_ids
from app.state.live import hub
from app.state.live_coalesce import Change
from app.state.session import SessionState

_T = TypeVar("_T")

MAX_SHOWN = 300  # messages kept in a tab's state; older ones reload with "Load earlier"
MUTE_MINUTES = ("10", "60", "1440", "10080")
KIND_ICONS = {
    "org": "building_2",
    "course": "graduation_cap",
    "cohort": "users",
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


def muted_text(until: datetime, now: datetime | None = None) -> str:
    """The muted notice, e.g. "You are muted in this channel until 14:05 UTC" (with the
    date too when the mute ends on another day)."""
    now = now or utcnow()
    when = f"{until:%H:%M} UTC" if until.date() == now.date() else f"{until:%Y-%m-%d %H:%M} UTC"
    return f"You are muted in this channel until {when}"


def _member_dict(row: cm.MemberRow) -> dict[str, str]:
    return {
        "id": row.user_id,
        "name": row.name,
        "role": ROLE_LABELS.get(row.role, row.role),
        "muted_until": row.muted_until.strftime("%Y-%m-%d %H:%M UTC") if row.muted_until else "",
        "me": "1" if row.is_me else "",
        "can_mute": "1" if row.can_mute else "",
        "can_remove": "1" if row.can_remove else "",
    }


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
    # the open channel's muted notice ("" when not muted) and when the mute ends (ISO)
    muted_notice: str = ""
    mute_ends: str = ""
    # why the open channel went away ("" when it did not, or for a plain "not found")
    closed_notice: str = ""
    # members panel
    members_open: bool = False
    members: list[dict[str, str]] = []
    members_total: int = 0
    members_page: int = 1
    members_query: str = ""
    members_muted_only: bool = False
    members_can_add: bool = False
    add_people: list[dict[str, str]] = []
    removing_id: str = ""  # the person a moderator is asked to confirm removing
    removing_name: str = ""

    _channel_id: str = ""
    _org_id: str = ""
    _before: str = ""
    _last_seen: str = ""

    @rx.var
    def members_pages(self) -> int:
        """Pages of the members panel."""
        return max(1, math.ceil(self.members_total / cm.PAGE_SIZE))

    # ------------------------------------------------------------------ loading

    def _path_channel(self) -> str:
        ids = path_ids(self.router.url.path or "", "/chat")
        return ids[0] if ids else ""

    def _ctx(self) -> OrgContext:
        return self._require(Permission.dashboard_view)

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
        return self._path_channel() or str(chat_channels.org_channel(session, ctx).id)

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
                    wanted = str(chat_channels.org_channel(session, ctx).id)
                self._channel_id = wanted
                try:
                    info = chat_list.channel_info(session, ctx, wanted)
                    page = msgs.history(session, ctx, channel_id=wanted)
                    chat_list.mark_read(session, ctx, channel_id=wanted)
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
        self.closed_notice = ""
        self.members_page, self.members_query, self.members_muted_only = 1, "", False
        self.add_people, self.removing_id, self.removing_name = [], "", ""
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
                            chat_list.mark_read(session, ctx, channel_id=self._channel_id)
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
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                row = msgs.post_message(
                    session,
                    ctx,
                    channel_id=self._posting_channel(session, ctx),
                    body=body,
                    client_key=key,
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
        self._reload_members()
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
                chat_channels.join_channel(session, ctx, channel_id=channel_id)
        except ServiceError as exc:
            return _fail(exc)
        return rx.redirect(f"/chat/{channel_id}")

    @rx.event
    def leave(self) -> rx.event.EventSpec | None:
        """Leave the open interest channel."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                chat_channels.leave_channel(session, ctx, channel_id=self._channel_id)
            return self._after_change("You left the channel.")
        except ServiceError as exc:
            return _fail(exc)

    @rx.event
    def archive(self) -> rx.event.EventSpec | None:
        """Archive the open interest channel (admins and staff)."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                chat_channels.archive_channel(session, ctx, channel_id=self._channel_id)
            return self._after_change("Channel archived.")
        except ServiceError as exc:
            return _fail(exc)

    @rx.event
    def create_channel(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Create an interest channel and open it."""
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                row = chat_channels.create_interest_channel(
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
                found = chat_list.find_people(session, ctx, query=query)
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
                row = chat_channels.open_direct(session, ctx, user_id=user_id)
        except ServiceError as exc:
            return _fail(exc)
        self.people = []
        return rx.redirect(f"/chat/{row.id}")

    # ------------------------------------------------------------------ members panel

    def _load_members(self, session: Session, ctx: OrgContext) -> None:
        """The members panel's page (the service checks the user may read the channel)."""
        found = cm.list_members(
            session,
            ctx,
            channel_id=self._channel_id,
            query=self.members_query,
            muted_only=self.members_muted_only,
            page=self.members_page,
            page_size=cm.PAGE_SIZE,
        )
        if not found.rows and found.total and self.members_page > 1:
            self.members_page = max(1, math.ceil(found.total / cm.PAGE_SIZE))
            found = cm.list_members(
                session,
                ctx,
                channel_id=self._channel_id,
                query=self.members_query,
                muted_only=self.members_muted_only,
                page=self.members_page,
                page_size=cm.PAGE_SIZE,
            )
        self.members = [_member_dict(r) for r in found.rows]
        self.members_total = found.total
        self.members_can_add = found.can_add

    def _reload_members(self) -> rx.event.EventSpec | None:
        if not self.members_open or not self.found:
            return None
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                self._load_members(session, ctx)
        except NotFound:
            self.members, self.members_total = [], 0
            return None
        except ServiceError as exc:
            return _fail(exc)
        return None

    @rx.event
    def toggle_members(self) -> rx.event.EventSpec | None:
        """Open or close the members panel of the open channel."""
        self.members_open = not self.members_open
        self.add_people, self.removing_id, self.removing_name = [], "", ""
        if not self.members_open:
            self.members, self.members_total = [], 0
            return None
        self.members_page = 1
        return self._reload_members()

    @rx.event
    def search_members(self, query: str) -> rx.event.EventSpec | None:
        """Members whose name or email contains the text (first page)."""
        self.members_query = query[:100]
        self.members_page = 1
        return self._reload_members()

    @rx.event
    def set_members_muted_only(self, value: bool) -> rx.event.EventSpec | None:
        """Show only the people muted now (moderators; ignored for others)."""
        self.members_muted_only = bool(value)
        self.members_page = 1
        return self._reload_members()

    @rx.event
    def members_next(self) -> rx.event.EventSpec | None:
        """The next page of members."""
        if self.members_page < self.members_pages:
            self.members_page += 1
        return self._reload_members()

    @rx.event
    def members_prev(self) -> rx.event.EventSpec | None:
        """The previous page of members."""
        self.members_page = max(1, self.members_page - 1)
        return self._reload_members()

    def _on_member(self, user_id: str, act: Callable[[Session, OrgContext, uuid.UUID], _T]) -> _T:
        """Run a moderation call on a member of the open channel (the service checks the
        user moderates it; a `ServiceError` goes to the caller), then re-read the panel."""
        ctx = self._ctx()
        target = parse_id(user_id)
        with tenant_session(ctx) as session:
            result = act(session, ctx, target)
        self._reload_members()
        return result

    def _name_of(self, user_id: str) -> str:
        return next((m["name"] for m in self.members if m["id"] == user_id), "")

    @rx.event
    def mute_member(self, user_id: str, minutes: str) -> rx.event.EventSpec | None:
        """Mute someone in the open channel for one of the offered durations (moderators;
        the service refuses anyone else)."""
        who = self._name_of(user_id) or "Member"
        if minutes not in MUTE_MINUTES:
            return rx.toast.error("Choose how long the mute lasts.")
        try:
            until = self._on_member(
                user_id,
                lambda session, ctx, target: msgs.mute_member(
                    session, ctx, channel_id=self._channel_id, user_id=target, minutes=int(minutes)
                ),
            )
        except ServiceError as exc:
            return _fail(exc)
        return rx.toast.success(f"{who} is muted here until {until:%Y-%m-%d %H:%M} UTC.")

    @rx.event
    def unmute(self, user_id: str) -> rx.event.EventSpec | None:
        """Lift someone's mute in the open channel (moderators)."""
        who = self._name_of(user_id) or "Member"
        try:
            self._on_member(
                user_id,
                lambda session, ctx, target: msgs.unmute_member(
                    session, ctx, channel_id=self._channel_id, user_id=target
                ),
            )
        except ServiceError as exc:
            return _fail(exc)
        return rx.toast.success(f"{who} can post here again.")

    @rx.event
    def ask_remove(self, user_id: str) -> rx.event.EventSpec | None:
        """Ask to confirm removing someone from the open interest channel."""
        if not self.is_moderator:
            return rx.toast.error("Only moderators remove members.")
        name = self._name_of(user_id)
        if not name:
            return None
        self.removing_id, self.removing_name = user_id, name
        return None

    @rx.event
    def cancel_remove(self) -> None:
        """Close the remove confirmation."""
        self.removing_id, self.removing_name = "", ""

    @rx.event
    def remove_dialog_changed(self, is_open: bool) -> None:
        """The confirmation closed by Escape or a click outside: nothing is removed."""
        if not is_open:
            self.removing_id, self.removing_name = "", ""

    @rx.event
    def confirm_remove(self) -> rx.event.EventSpec | None:
        """Remove the person being confirmed (the service checks the user moderates)."""
        pending_id, name = self.removing_id, self.removing_name
        self.removing_id, self.removing_name = "", ""
        if not pending_id:
            return None
        try:
            self._on_member(
                pending_id,
                lambda session, ctx, target: chat_channels.remove_member(
                    session, ctx, channel_id=self._channel_id, user_id=target
                ),
            )
        except ServiceError as exc:
            return _fail(exc)
        return rx.toast.success(f"{name or 'Member'} was removed from the channel.")

    @rx.event
    def find_addable(self, query: str) -> rx.event.EventSpec | None:
        """People of the org matching the text who are not in the open interest channel."""
        if len(query.strip()) < 2:
            self.add_people = []
            return None
        try:
            ctx = self._ctx()
            with tenant_session(ctx) as session:
                found = cm.people_to_add(session, ctx, channel_id=self._channel_id, query=query)
        except ServiceError as exc:
            self.add_people = []
            return _fail(exc)
        self.add_people = [{"id": p.user_id, "name": p.name, "role": p.role} for p in found]
        return None

    @rx.event
    def add_to_channel(self, user_id: str) -> rx.event.EventSpec | None:
        """Add someone to the open interest channel (moderators)."""
        try:
            name = self._on_member(
                user_id,
                lambda session, ctx, target: cm.add_member(
                    session, ctx, channel_id=self._channel_id, user_id=target
                ),
            )
        except ServiceError as exc:
            return _fail(exc)
        self.add_people = [p for p in self.add_people if p["id"] != user_id]
        return rx.toast.success(f"{name} was added to the channel.")

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


async def _channel_changed(state: ChatState, changes: list[Change]) -> None:
    """Messages or memberships of watched channels changed."""
    state._push(changes)


async def _list_changed(state: ChatState, changes: list[Change]) -> None:
    """The user's channel list changed (a new direct message, a removal)."""
    state._push(changes)


hub.on(topics.CHANNEL, ChatState, _channel_changed)
hub.on(topics.CHAT_LIST, ChatState, _list_changed)
