"""The members page: list, invite, revoke, change roles, deactivate."""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from app.services import invites, members, orgs
from app.services.authz import ROLE_LABELS, Permission, has
from app.services.errors import NotFound, ServiceError
from app.services.tenancy import OrgContext, tenant_session
from app.state.account import FormState
from app.state.session import SessionState, handle_errors

PAGE_SIZE = 20


class MembersState(FormState, SessionState):
    """Members and invites of one org in the admin's subtree."""

    target_org: str = ""
    target_org_name: str = ""
    org_choices: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    total: int = 0
    page: int = 1
    search: str = ""
    role_filter: str = ""
    status_filter: str = ""
    invites: list[dict[str, str]] = []
    can_invite: bool = False
    can_manage: bool = False
    missing: bool = False

    @rx.var
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @rx.var
    def role_options(self) -> list[dict[str, str]]:
        return [{"value": k, "label": v} for k, v in ROLE_LABELS.items()]

    def _reload(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            org = orgs.require_in_subtree(session, ctx, self.target_org or str(ctx.org_id))
            self.target_org, self.target_org_name = str(org.id), org.name
            if has(ctx, Permission.org_manage):
                self.org_choices = [
                    {"value": n.id, "label": ("— " * n.depth) + n.name}
                    for n in orgs.org_tree(session, ctx)
                ]
            else:
                self.org_choices = [{"value": str(org.id), "label": org.name}]
            result = members.list_members(
                session,
                ctx,
                org_id=org.id,
                search=self.search,
                role=self.role_filter,
                status=self.status_filter,
                page=self.page,
                page_size=PAGE_SIZE,
            )
            self.total = result.total
            self.rows = [
                {
                    "id": r.membership_id,
                    "name": r.full_name,
                    "email": r.email,
                    "role": r.role,
                    "role_label": ROLE_LABELS.get(r.role, r.role),
                    "active": r.is_active,
                    "joined": r.joined.strftime("%Y-%m-%d"),
                }
                for r in result.rows
            ]
            self.can_invite = has(ctx, Permission.members_invite)
            self.can_manage = has(ctx, Permission.members_manage)
            self.invites = (
                [
                    {
                        "id": i.id,
                        "email": i.email,
                        "role": ROLE_LABELS.get(i.role, i.role),
                        "status": i.status,
                        "expires": i.expires_at.strftime("%Y-%m-%d"),
                    }
                    for i in invites.list_invites(session, ctx, org_id=org.id)
                ]
                if self.can_invite
                else []
            )

    def _safe_reload(self) -> rx.event.EventSpec | None:
        try:
            self._reload(self._require(Permission.members_view))
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect("/signin?next=/admin/members")
        self.missing = False
        self.page, self.search, self.role_filter, self.status_filter = 1, "", "", ""
        self.target_org = self.router.url.query_parameters.get("org", "")
        try:
            self._reload(self._require(Permission.members_view))
        except NotFound:
            self.missing = True
            self.rows, self.invites, self.total, self.org_choices = [], [], 0, []
        except ServiceError:
            self.rows = []
        return None

    @rx.event
    def choose_org(self, org_id: str) -> rx.event.EventSpec | None:
        previous, previous_page = self.target_org, self.page
        self.target_org, self.page = org_id, 1
        refused = self._safe_reload()
        if refused is not None:
            # Stay on the org the page still shows, so its forms keep acting on that org.
            self.target_org, self.page = previous, previous_page
        return refused

    @rx.event
    def apply_filters(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.search = str(form.get("search", ""))[:100]
        self.role_filter = str(form.get("role", ""))
        self.status_filter = str(form.get("status", ""))
        self.page = 1
        return self._safe_reload()

    @rx.event
    def next_page(self) -> rx.event.EventSpec | None:
        if self.page < self.pages:
            self.page += 1
        return self._safe_reload()

    @rx.event
    def prev_page(self) -> rx.event.EventSpec | None:
        self.page = max(1, self.page - 1)
        return self._safe_reload()

    @rx.event
    def invite(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        try:
            ctx = self._require(Permission.members_invite)
            with tenant_session(ctx) as session:
                invites.create_invite(
                    session,
                    ctx,
                    email=str(form.get("email", "")),
                    role=str(form.get("role", "")),
                    org_id=self.target_org or None,
                )
            self._reload(ctx)
        except ServiceError as exc:
            self._fail(exc)
            return handle_errors(exc)
        self.busy = False
        return rx.toast.success(f"Invite sent to {form.get('email', '')}.")

    @rx.event
    def revoke(self, invite_id: str) -> rx.event.EventSpec | None:
        try:
            ctx = self._require(Permission.members_invite)
            with tenant_session(ctx) as session:
                invite = invites.revoke_invite(session, ctx, invite_id)
            self._reload(ctx)
        except ServiceError as exc:
            return handle_errors(exc)
        return rx.toast.success(f"Invite for {invite.email} revoked.")

    @rx.event
    def change_role(self, membership_id: str, role: str) -> rx.event.EventSpec | None:
        try:
            ctx = self._require(Permission.members_manage)
            with tenant_session(ctx) as session:
                members.change_role(session, ctx, membership_id, role)
            self._reload(ctx)
        except ServiceError as exc:
            self._safe_reload()
            return handle_errors(exc)
        return rx.toast.success(f"Role changed to {ROLE_LABELS.get(role, role)}.")

    @rx.event
    def set_active(self, membership_id: str, active: bool) -> rx.event.EventSpec | None:
        try:
            ctx = self._require(Permission.members_manage)
            with tenant_session(ctx) as session:
                members.set_active(session, ctx, membership_id, active)
            self._reload(ctx)
        except ServiceError as exc:
            return handle_errors(exc)
        return rx.toast.success("Member reactivated." if active else "Member deactivated.")
