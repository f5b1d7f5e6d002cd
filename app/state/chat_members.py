"""The chat page's members panel (a mixin of `ChatState`): the open channel's people a page
at a time, searchable, and the moderators' mute, unmute, remove (after a confirm) and add.

Every handler goes through the services, which re-check that the user moderates the channel.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import reflex as rx
from sqlmodel import Session

from app.services.comms import chat_channels, chat_mutes
from app.services.comms import chat_members as cm
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import OrgContext, parse_id, tenant_session
from app.state.chat_rows import MUTE_MINUTES, fail, member_dict
from app.state.session import SessionState

_T = TypeVar("_T")


class ChatMembersMixin(SessionState, mixin=True):
    """The members panel's vars and handlers; Reflex copies them onto `ChatState`."""

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

    if TYPE_CHECKING:  # declared by ChatState, which this is mixed into
        found: bool
        is_moderator: bool
        _channel_id: str

        def _ctx(self) -> OrgContext: ...

    @rx.var
    def members_pages(self) -> int:
        """Pages of the members panel."""
        return max(1, math.ceil(self.members_total / cm.PAGE_SIZE))

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
        self.members = [member_dict(r) for r in found.rows]
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
            return fail(exc)
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
                lambda session, ctx, target: chat_mutes.do_mute_member(
                    session, ctx, channel_id=self._channel_id, user_id=target, minutes=int(minutes)
                ),
            )
        except ServiceError as exc:
            return fail(exc)
        return rx.toast.success(f"{who} is muted here until {until:%Y-%m-%d %H:%M} UTC.")

    @rx.event
    def unmute(self, user_id: str) -> rx.event.EventSpec | None:
        """Lift someone's mute in the open channel (moderators)."""
        who = self._name_of(user_id) or "Member"
        try:
            self._on_member(
                user_id,
                lambda session, ctx, target: chat_mutes.do_unmute_member(
                    session, ctx, channel_id=self._channel_id, user_id=target
                ),
            )
        except ServiceError as exc:
            return fail(exc)
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
                lambda session, ctx, target: chat_channels.do_remove_member(
                    session, ctx, channel_id=self._channel_id, user_id=target
                ),
            )
        except ServiceError as exc:
            return fail(exc)
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
            return fail(exc)
        self.add_people = [{"id": p.user_id, "name": p.name, "role": p.role} for p in found]
        return None

    @rx.event
    def add_to_channel(self, user_id: str) -> rx.event.EventSpec | None:
        """Add someone to the open interest channel (moderators)."""
        try:
            name = self._on_member(
                user_id,
                lambda session, ctx, target: cm.do_add_member(
                    session, ctx, channel_id=self._channel_id, user_id=target
                ),
            )
        except ServiceError as exc:
            return fail(exc)
        self.add_people = [p for p in self.add_people if p["id"] != user_id]
        return rx.toast.success(f"{name} was added to the channel.")
