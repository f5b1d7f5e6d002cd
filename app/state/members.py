"""The members page: list, invite, revoke, change roles, deactivate, managers, CSV import."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from typing import Any

import reflex as rx

from app.services.config import orgs
from app.services.core.authz import ROLE_LABELS, Permission, has
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.people import invites, member_csv, member_import, members
from app.state.account import FormState
from app.state.session import SessionState, handle_errors

PAGE_SIZE = 20
IMPORT_MAX_BYTES = member_csv.MAX_BYTES  # also the upload component's client-side limit
# Past the limit the upload is only counted, to say how big it is, up to this much.
_SIZE_PROBE_BYTES = 64 * 1024 * 1024
_REJECTIONS = {
    "file-too-large": "This file is over the limit of 2 MB. Split it into smaller files.",
    "file-invalid-type": "This is not a CSV file. Save it as 'CSV UTF-8' and choose it again.",
    "too-many-files": "Choose one CSV file.",
    "": "This file cannot be used: choose one CSV file of at most 2 MB.",
}


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
    # CSV import: "" (choose a file), "checking", "preview", "running", "done"
    import_step: str = ""
    import_error: str = ""
    import_filename: str = ""
    import_org_name: str = ""
    import_preview: list[dict[str, str]] = []
    import_total: int = 0
    import_ok: int = 0
    import_bad: int = 0
    import_checked: int = 0  # rows checked so far while "checking"
    import_done: int = 0  # rows imported so far while "running"
    import_invited: int = 0
    import_failed: int = 0
    import_id: str = ""
    # Backend only: the staged import (its rows wait in the database) Confirm will run, and
    # why the browser refused the last file chosen (kept for the Check button).
    _staged_id: str = ""
    _rejected: str = ""

    @rx.var
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    @rx.var
    def role_options(self) -> list[dict[str, str]]:
        return [{"value": k, "label": v} for k, v in ROLE_LABELS.items()]

    @rx.var
    def import_percent(self) -> int:
        """Progress of the check while "checking", else of the import."""
        if self.import_total <= 0:
            return 0
        done = self.import_checked if self.import_step == "checking" else self.import_done
        return min(100, round(100 * done / self.import_total))

    @rx.var
    def import_more(self) -> int:
        """Rows checked beyond the ones the preview table shows."""
        return max(0, self.import_total - len(self.import_preview))

    @rx.var
    def import_report_url(self) -> str:
        return f"/api/imports/{self.import_id}/errors.csv" if self.import_id else ""

    def _reload(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            picker = orgs.org_picker(session, ctx, self.target_org or None)
            org = picker.org
            self.target_org, self.target_org_name = org.id, org.name
            self.org_choices = [{"value": v, "label": label} for v, label in picker.choices]
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
        done = self._call(
            lambda s, ctx: invites.do_invite(
                s,
                ctx,
                email=str(form.get("email", "")),
                role=str(form.get("role", "")),
                org_id=self.target_org or None,
            ),
            permission=Permission.members_invite,
            then=self._reload,
        )
        if not done.ok:
            self._fail(done.error)
            return done.reply
        self.busy = False
        return rx.toast.success(f"Invite sent to {form.get('email', '')}.")

    @rx.event
    def revoke(self, invite_id: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: invites.do_revoke_invite(s, ctx, invite_id),
            permission=Permission.members_invite,
            then=self._reload,
        )
        if not done.ok:
            return done.reply
        return rx.toast.success(f"Invite for {done.value.email} revoked.")

    @rx.event
    def resend(self, invite_id: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: invites.do_resend_invite(s, ctx, invite_id),
            permission=Permission.members_invite,
            then=self._reload,
        )
        if not done.ok:
            return done.reply
        return rx.toast.success(f"A new invite link is on its way to {done.value.email}.")

    @rx.event
    def change_role(self, membership_id: str, role: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: members.do_change_role(s, ctx, membership_id, role),
            permission=Permission.members_manage,
            then=self._reload,
        )
        if not done.ok:
            self._safe_reload()
            return done.reply
        return rx.toast.success(f"Role changed to {ROLE_LABELS.get(role, role)}.")

    @rx.event
    def set_active(self, membership_id: str, active: bool) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: members.do_set_active(s, ctx, membership_id, active),
            permission=Permission.members_manage,
            then=self._reload,
        )
        return done.reply_or(
            rx.toast.success("Member reactivated." if active else "Member deactivated.")
        )

    @rx.event
    def assign_manager(self, membership_id: str, manager_user_id: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: members.do_assign_manager(
                s, ctx, membership_id, manager_user_id or None
            ),
            permission=Permission.members_manage,
            then=self._reload,
        )
        if not done.ok:
            self._safe_reload()
            return done.reply
        return rx.toast.success("Manager updated." if manager_user_id else "Manager removed.")

    # ------------------------------------------------------------------ CSV import

    def _reset_import(self) -> None:
        self.import_step, self.import_error, self.import_filename = "", "", ""
        self.import_org_name = ""
        self.import_preview, self._staged_id, self._rejected = [], "", ""
        self.import_total = self.import_ok = self.import_bad = 0
        self.import_checked = self.import_done = 0
        self.import_invited = self.import_failed = 0
        self.import_id = ""

    @rx.event
    def cancel_import(self) -> None:
        if self.import_step not in ("checking", "running"):
            self._reset_import()

    @rx.event
    def upload_rejected(self, size: Any, code: Any) -> None:
        """The browser refused the chosen file (`rx.upload`'s limits): say why, now and when
        Check is pressed (nothing is uploaded)."""
        if self.import_step in ("checking", "running"):
            return
        self._reset_import()
        self.import_error = self._rejected = _rejection(size, str(code)[:40])

    def _show_preview(self, staged: member_import.Staged) -> None:
        shown = staged.preview
        self.import_step, self.import_org_name = "preview", staged.org_name
        self._staged_id = staged.import_id
        self.import_total, self.import_ok, self.import_bad = shown.total, shown.ok, shown.errors
        self.import_preview = [
            {
                "line": str(c.row.line),
                "email": c.row.email,
                "full_name": c.row.full_name,
                "role": ROLE_LABELS.get(c.role, c.row.role or "Learner"),
                "manager_email": c.row.manager_email,
                "status": c.status,
                # The same words for every good row: whether the address has an account
                # (anywhere) is none of the importer's business.
                "message": c.message if c.status == "error" else "will be invited",
            }
            for c in shown.rows
        ]

    @rx.event(background=True)
    async def upload_members_csv(self, chunks: rx.UploadChunkIterator) -> Any:
        """Read the chosen CSV as it streams in (at most 2 MB), then check it in a worker
        thread, showing how many rows are checked; the state lock is held only to publish."""
        async with self:
            if self.import_step in ("checking", "running"):
                return None
            rejected = self._rejected
            self._reset_import()
            try:
                ctx = self._require(Permission.members_manage)
            except ServiceError as exc:
                return handle_errors(exc)
            target = self.target_org or str(ctx.org_id)
            self.import_step = "checking"
        try:
            data, filename, size = await _read_upload(chunks)
            if not filename:  # no file chosen, or the browser refused it (upload_rejected)
                async with self:
                    self.import_step = ""
                    self.import_error = rejected or "Choose a CSV file first."
                    self._rejected = rejected
                return None
            problem = member_csv.size_problem(size)
            if problem:  # sent past the browser's limit: say how big it is
                async with self:
                    self.import_step, self.import_error = "", problem
                return None
            async with self:
                self.import_filename = filename[:200]
            return await self._check_upload(ctx, target, data, filename)
        except BaseException:
            async with self:  # never leave the card saying "Checking…"
                if self.import_step == "checking":
                    self._reset_import()
                    self.import_error = "The file could not be checked. Try again."
            raise

    async def _check_upload(
        self, ctx: OrgContext, target: str, data: bytes, filename: str
    ) -> rx.event.EventSpec | None:
        progress = self._publisher("import_checked")

        def check() -> member_import.Staged:
            with tenant_session(ctx) as session:
                return member_import.do_stage_import(
                    session, ctx, org_id=target, data=data, filename=filename, progress=progress
                )

        try:
            staged = await asyncio.to_thread(check)
        except ServiceError as exc:
            async with self:
                self._reset_import()
                self.import_error = exc.message
            return handle_errors(exc) if not exc.field else None
        async with self:
            self._show_preview(staged)
        return None

    def _publisher(self, counter: str, *, recheck: bool = False) -> member_csv.Progress:
        """A `progress(done, total)` for a worker thread: publishes the count to this tab,
        taking the state lock only for that. With `recheck`, the admin's session and
        permission are checked again each time (raising stops the work)."""
        loop = asyncio.get_running_loop()

        async def publish(done: int, total: int) -> None:
            async with self:
                setattr(self, counter, done)
                self.import_total = total
                if recheck:
                    self._require(Permission.members_manage)

        def progress(done: int, total: int) -> None:
            asyncio.run_coroutine_threadsafe(publish(done, total), loop).result(timeout=60)

        return progress

    def _stopped(self, why: str) -> None:
        self.import_step = "done"
        self.import_error = (
            f"The import stopped after {self.import_done} of {self.import_total} rows: {why}"
        )

    @rx.event(background=True)
    async def confirm_import(self) -> Any:
        """Invite the previewed rows in a worker thread, updating the progress bar as
        batches are done."""
        async with self:
            if self.import_step != "preview" or not self._staged_id:
                return None
            try:
                ctx = self._require(Permission.members_manage)
            except ServiceError as exc:
                return handle_errors(exc)
            import_id = self._staged_id
            self.import_step, self.import_done, self.import_error = "running", 0, ""

        progress = self._publisher("import_done", recheck=True)
        claimed = threading.Event()  # set once the import is ours to run: no way back

        def run() -> member_import.ImportSummary:
            with tenant_session(ctx) as session:
                return member_import.do_confirm_import(
                    session, ctx, import_id, on_claimed=claimed.set, on_progress=progress
                )

        try:
            summary = await asyncio.to_thread(run)
        except ServiceError as exc:
            async with self:
                if claimed.is_set():
                    self._stopped(exc.message)
                else:
                    self._reset_import()
                    self.import_error = (
                        "This preview is no longer available: upload the file again."
                        if isinstance(exc, NotFound)
                        else exc.message
                    )
            return handle_errors(exc)
        except BaseException:
            async with self:  # never leave the card saying "Inviting…"
                if claimed.is_set():
                    self._stopped("something went wrong; the rows not done can be imported again")
                else:
                    self._reset_import()
                    self.import_error = "Something went wrong: upload the file again."
            raise
        async with self:
            self.import_step, self.import_id = "done", summary.import_id
            self.import_done = summary.total
            self.import_invited, self.import_failed = summary.invited, summary.failed
            self._staged_id = ""
            with contextlib.suppress(ServiceError):
                self._reload(ctx)
        return rx.toast.success(
            f"Import finished: {summary.invited} invited, {summary.failed} failed."
        )


async def _read_upload(chunks: rx.UploadChunkIterator) -> tuple[bytes, str, int]:
    """The first file of an upload: its bytes (kept up to one byte over the limit), its
    name ("" when no file came) and its size (counted up to `_SIZE_PROBE_BYTES`)."""
    data, filename, size = bytearray(), "", 0
    async for chunk in chunks:
        name = chunk.filename or "members.csv"
        if filename and name != filename:
            break  # a second file: only one is read
        filename = name
        size += len(chunk.data)
        if len(data) <= IMPORT_MAX_BYTES:
            data += chunk.data[: IMPORT_MAX_BYTES + 1 - len(data)]
        if size > _SIZE_PROBE_BYTES:
            break
    return bytes(data), filename, size


def _rejection(size: Any, code: str) -> str:
    """Why the browser refused a file, from react-dropzone's error code and the file size."""
    if code == "file-too-large":
        with contextlib.suppress(TypeError, ValueError):
            return member_csv.size_problem(int(size)) or _REJECTIONS[code]
    return _REJECTIONS.get(code, _REJECTIONS[""])
