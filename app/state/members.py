"""The members page: list, invite, revoke, change roles, deactivate, managers, CSV import."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

import reflex as rx

from app.services import invites, member_import, members, orgs
from app.services.authz import ROLE_LABELS, Permission, has
from app.services.errors import NotFound, ServiceError
from app.services.tenancy import OrgContext, tenant_session
from app.state.account import FormState
from app.state.session import SessionState, handle_errors

PAGE_SIZE = 20
IMPORT_CHUNK = 10  # rows per database session between two progress updates


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
    manager_options: list[dict[str, str]] = []
    # CSV import: "" (choose a file), "preview", "running", "done"
    import_step: str = ""
    import_error: str = ""
    import_filename: str = ""
    import_org_name: str = ""
    import_preview: list[dict[str, str]] = []
    import_total: int = 0
    import_ok: int = 0
    import_bad: int = 0
    import_done: int = 0
    import_created: int = 0
    import_added: int = 0
    import_failed: int = 0
    import_id: str = ""
    # Backend only: the staged import (its rows wait in the database) Confirm will run.
    _staged_id: str = ""

    @rx.var
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @rx.var
    def role_options(self) -> list[dict[str, str]]:
        return [{"value": k, "label": v} for k, v in ROLE_LABELS.items()]

    @rx.var
    def import_percent(self) -> int:
        if self.import_total <= 0:
            return 0
        return min(100, round(100 * self.import_done / self.import_total))

    @rx.var
    def import_more(self) -> int:
        """Rows checked beyond the ones the preview table shows."""
        return max(0, self.import_total - len(self.import_preview))

    @rx.var
    def import_report_url(self) -> str:
        return f"/api/imports/{self.import_id}/errors.csv" if self.import_id else ""

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
                    "manager_id": r.manager_user_id,
                    "manager_name": r.manager_name,
                }
                for r in result.rows
            ]
            self.can_invite = has(ctx, Permission.members_invite)
            self.can_manage = has(ctx, Permission.members_manage)
            self.manager_options = (
                [
                    {"value": uid, "label": name}
                    for uid, name in members.manager_choices(session, ctx, org.id)
                ]
                if self.can_manage
                else []
            )
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

    @rx.event
    def assign_manager(self, membership_id: str, manager_user_id: str) -> rx.event.EventSpec | None:
        try:
            ctx = self._require(Permission.members_manage)
            with tenant_session(ctx) as session:
                members.assign_manager(session, ctx, membership_id, manager_user_id or None)
            self._reload(ctx)
        except ServiceError as exc:
            self._safe_reload()
            return handle_errors(exc)
        return rx.toast.success("Manager updated." if manager_user_id else "Manager removed.")

    # ------------------------------------------------------------------ CSV import

    def _reset_import(self) -> None:
        self.import_step, self.import_error, self.import_filename = "", "", ""
        self.import_org_name = ""
        self.import_preview, self._staged_id = [], ""
        self.import_total = self.import_ok = self.import_bad = self.import_done = 0
        self.import_created = self.import_added = self.import_failed = 0
        self.import_id = ""

    @rx.event
    def cancel_import(self) -> None:
        if self.import_step != "running":
            self._reset_import()

    def _preview_upload(self, data: bytes, filename: str) -> rx.event.EventSpec | None:
        """Check an uploaded file for the org the page shows and fill the preview."""
        self._reset_import()
        try:
            ctx = self._require(Permission.members_manage)
            with tenant_session(ctx) as session:
                org = orgs.require_in_subtree(session, ctx, self.target_org or str(ctx.org_id))
                rows, shown = member_import.preview(session, ctx, org_id=org.id, data=data)
                staged = member_import.stage_import(
                    session, ctx, org_id=org.id, rows=rows, filename=filename
                )
        except ServiceError as exc:
            self.import_error = exc.message
            return handle_errors(exc) if not exc.field else None
        self.import_step = "preview"
        self.import_filename = filename[:200]
        self.import_org_name = org.name
        self._staged_id = str(staged.id)
        self.import_total, self.import_ok, self.import_bad = shown.total, shown.ok, shown.errors
        self.import_preview = [
            {
                "line": str(c.row.line),
                "email": c.row.email,
                "full_name": c.row.full_name,
                "role": ROLE_LABELS.get(c.role, c.row.role or "Learner"),
                "manager_email": c.row.manager_email,
                "status": c.status,
                "message": c.message
                if c.status == "error"
                else ("new account" if c.action == "create" else "existing account"),
            }
            for c in shown.rows
        ]
        return None

    @rx.event
    async def upload_members_csv(self, files: list[rx.UploadFile]) -> rx.event.EventSpec | None:
        """Read the chosen CSV (at most 2 MB, counted as it is read) and preview it."""
        if not files:
            self._reset_import()
            self.import_error = "Choose a CSV file first."
            return None
        upload = files[0]
        data = await upload.read(member_import.MAX_BYTES + 1)
        return self._preview_upload(data, upload.filename or "members.csv")

    @rx.event(background=True)
    async def confirm_import(self) -> Any:
        """Import the previewed rows, updating the progress bar as rows are done."""
        async with self:
            if self.import_step != "preview" or not self._staged_id:
                return None
            try:
                ctx = self._require(Permission.members_manage)
            except ServiceError as exc:
                return handle_errors(exc)
            import_id = self._staged_id
            self.import_step, self.import_done, self.import_error = "running", 0, ""

        def claim() -> list[member_import.CsvRow]:
            with tenant_session(ctx) as session:
                return member_import.claim_import(session, ctx, import_id)[1]

        try:
            rows = await asyncio.to_thread(claim)
        except ServiceError as exc:
            async with self:
                self._reset_import()
                self.import_error = (
                    "This preview is no longer available: upload the file again."
                    if isinstance(exc, NotFound)
                    else exc.message
                )
            return handle_errors(exc)

        outcomes: list[member_import.RowOutcome] = []
        seen: dict[str, int] = {}

        def run_chunk(
            chunk_ctx: Any, chunk: list[member_import.CsvRow]
        ) -> list[member_import.RowOutcome]:
            with tenant_session(chunk_ctx) as session:
                return [
                    member_import.import_row(
                        session, chunk_ctx, import_id=import_id, row=row, seen=seen
                    )
                    for row in chunk
                ]

        try:
            for start_at in range(0, len(rows), IMPORT_CHUNK):
                async with self:
                    # Checked again for every chunk: a session ended or an admin demoted
                    # mid-import stops it.
                    ctx = self._require(Permission.members_manage)
                chunk = rows[start_at : start_at + IMPORT_CHUNK]
                outcomes += await asyncio.to_thread(run_chunk, ctx, chunk)
                async with self:
                    self.import_done = len(outcomes)

            def finish() -> member_import.ImportSummary:
                with tenant_session(ctx) as session:
                    return member_import.finish_import(
                        session, ctx, import_id=import_id, outcomes=outcomes
                    )

            summary = await asyncio.to_thread(finish)
        except ServiceError as exc:
            async with self:
                self.import_step = "done"
                self.import_error = f"The import stopped after {len(outcomes)} rows: {exc.message}"
            return handle_errors(exc)
        async with self:
            self.import_step, self.import_id = "done", summary.import_id
            self.import_created, self.import_added = summary.created, summary.added
            self.import_failed = summary.failed
            self._staged_id = ""
            with contextlib.suppress(ServiceError):
                self._reload(ctx)
        return rx.toast.success(
            f"Import finished: {summary.created} created, {summary.added} added, "
            f"{summary.failed} failed."
        )
