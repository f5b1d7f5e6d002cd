"""`/teach/courses/[course_id]/cohorts`: a course's cohorts in the active org for its staff.

Thin adapter over the `app.services.learning.cohort_*` services: every handler asks the
service again (which re-checks who may manage the course), ids from the browser are parsed with
`tenancy.parse_id` (a malformed one is the same "not found" as a missing one), rows reach
the page as dicts of strings, and both learner lists are paged from the database.
"""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from app.services.core.authz import Permission
from app.services.core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, parse_id, tenant_session
from app.services.learning import cohort_lifecycle, cohort_placement, cohort_views
from app.services.learning.cohort_rows import CohortRow
from app.services.learning.cohort_views import LearnerPage
from app.state.account import FormState
from app.state.session import SessionState, handle_errors

PEOPLE_PAGE_SIZE = 20
MAX_PICKED = cohort_placement.MAX_BATCH
STATUS_LABELS = {"pending": "Applied", "active": "In progress", "completed": "Completed"}
EMPTY_FORM = {"name": "", "starts_on": "", "ends_on": "", "capacity": ""}


def _date(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def date_range(start: str, end: str) -> str:
    """ "2026-03-01 to 2026-06-30", "from 2026-03-01", "until 2026-06-30" or ""."""
    if start and end:
        return f"{start} to {end}"
    if start:
        return f"from {start}"
    return f"until {end}" if end else ""


def cohort_rows(rows: list[CohortRow]) -> list[dict[str, str]]:
    """Cohorts as the table shows them (every value text)."""
    out = []
    for r in rows:
        start, end = _date(r.starts_on), _date(r.ends_on)
        dates = date_range(start, end) or "No dates"
        seats = f"{r.members} / {r.capacity}" if r.capacity is not None else f"{r.members}"
        if r.is_archived:
            state = "archived"
        elif r.is_open:
            state = "open"
        else:  # not archived, yet not open: ended, or every seat taken
            state = "full" if r.seats_left == 0 else "ended"
        out.append(
            {
                "id": r.id,
                "name": r.name,
                "dates": dates,
                "starts_on": start,
                "ends_on": end,
                "capacity": str(r.capacity) if r.capacity is not None else "",
                "members": str(r.members),
                "seats": seats,
                "seats_left": str(r.seats_left) if r.seats_left is not None else "",
                "state": state,
                "archived": "yes" if r.is_archived else "",
            }
        )
    return out


def learner_rows(page: LearnerPage) -> list[dict[str, str]]:
    """Learners as the member and unplaced lists show them."""
    return [
        {
            "id": r.enrollment_id,
            "name": r.name,
            "email": r.email,
            "status": r.status,
            "status_label": STATUS_LABELS.get(r.status, r.status),
            "progress": str(r.progress_percent),
        }
        for r in page.rows
    ]


class CohortsState(FormState, SessionState):
    """A course's cohorts: list, create/edit, archive/restore, members, adding learners."""

    cid: str = ""
    course_title: str = ""
    found: bool = False
    denied: bool = False
    loaded: bool = False
    show_archived: bool = False
    cohorts: list[dict[str, str]] = []

    # the create/edit form
    form_open: bool = False
    editing_id: str = ""  # "" while creating
    form_values: dict[str, str] = EMPTY_FORM
    form_key: int = 0  # bumped to re-mount the form with new defaults

    # the selected cohort: members, and learners to add
    selected_id: str = ""
    selected_name: str = ""
    members_rows: list[dict[str, str]] = []
    members_page: int = 1
    members_total: int = 0
    unplaced_rows: list[dict[str, str]] = []
    unplaced_page: int = 1
    unplaced_total: int = 0
    unplaced_q: str = ""
    picked: list[str] = []
    assign_error: str = ""

    # ------------------------------------------------------------------ vars

    @rx.var
    def cohort_name_error(self) -> str:
        return self.errors.get("name", "")

    @rx.var
    def starts_on_error(self) -> str:
        return self.errors.get("starts_on", "")

    @rx.var
    def ends_on_error(self) -> str:
        return self.errors.get("ends_on", "")

    @rx.var
    def capacity_error(self) -> str:
        return self.errors.get("capacity", "")

    @rx.var
    def members_pages(self) -> int:
        return max(1, math.ceil(self.members_total / PEOPLE_PAGE_SIZE))

    @rx.var
    def unplaced_pages(self) -> int:
        return max(1, math.ceil(self.unplaced_total / PEOPLE_PAGE_SIZE))

    @rx.var
    def picked_count(self) -> int:
        return len(self.picked)

    @rx.var
    def selected_archived(self) -> bool:
        return any(c["id"] == self.selected_id and c["archived"] for c in self.cohorts)

    # ------------------------------------------------------------------ loading

    def _course_id(self) -> str:
        parts = self.router.url.path.rstrip("/").split("/")
        if len(parts) >= 5 and parts[-1] == "cohorts" and parts[-3] == "courses":
            return parts[-2]
        return ""

    def _ctx(self) -> OrgContext:
        return self._require(Permission.courses_author)

    def _clear(self) -> None:
        self.cohorts, self.course_title, self.found = [], "", False
        self.selected_id, self.selected_name = "", ""
        self.members_rows, self.members_total, self.members_page = [], 0, 1
        self.unplaced_rows, self.unplaced_total, self.unplaced_page = [], 0, 1
        self.picked, self.assign_error = [], ""

    def _refused(self, exc: ServiceError) -> None:
        self._clear()
        self.denied = isinstance(exc, PermissionDenied)

    def _load_list(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            page = cohort_views.course_cohorts_page(
                session, ctx, course_id=self.cid, include_archived=self.show_archived
            )
        self.course_title, self.found, self.denied = page.course_title, True, False
        self.cohorts = cohort_rows(page.cohorts)
        if self.selected_id and not any(c["id"] == self.selected_id for c in self.cohorts):
            self.selected_id, self.selected_name = "", ""
        for c in self.cohorts:
            if c["id"] == self.selected_id:
                self.selected_name = c["name"]

    def _load_people(self, ctx: OrgContext) -> None:
        if not self.selected_id:
            self.members_rows, self.members_total = [], 0
            self.unplaced_rows, self.unplaced_total = [], 0
            return
        with tenant_session(ctx) as session:
            members = cohort_views.members(
                session,
                ctx,
                cohort_id=self.selected_id,
                page=self.members_page,
                page_size=PEOPLE_PAGE_SIZE,
            )
            unplaced = cohort_views.unplaced(
                session,
                ctx,
                course_id=self.cid,
                q=self.unplaced_q,
                page=self.unplaced_page,
                page_size=PEOPLE_PAGE_SIZE,
            )
        self.members_rows, self.members_total = learner_rows(members), members.total
        self.members_page = members.page
        self.unplaced_rows, self.unplaced_total = learner_rows(unplaced), unplaced.total
        self.unplaced_page = unplaced.page

    def _reload(self) -> rx.event.EventSpec | None:
        """Read everything again (permission re-checked by the service)."""
        try:
            ctx = self._ctx()
            self._load_list(ctx)
            self._load_people(ctx)
        except (NotFound, PermissionDenied) as exc:
            self._refused(exc)
            return None
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        self.cid = self._course_id()
        if ctx is None:
            return rx.redirect(f"/signin?next=/teach/courses/{self.cid}/cohorts")
        self._clear()
        self.loaded, self.denied, self.show_archived = False, False, False
        self.form_open, self.editing_id, self.form_values = False, "", dict(EMPTY_FORM)
        self.errors, self.form_error, self.busy, self.unplaced_q = {}, "", False, ""
        result = self._reload()
        self.loaded = True
        return result

    # ------------------------------------------------------------------ list

    @rx.event
    def set_show_archived(self, value: bool) -> rx.event.EventSpec | None:
        self.show_archived = bool(value)
        return self._reload()

    # ------------------------------------------------------------------ form

    @rx.event
    def new_cohort(self) -> None:
        self.form_open, self.editing_id = True, ""
        self.form_values = dict(EMPTY_FORM)
        self.errors, self.form_error, self.busy = {}, "", False
        self.form_key += 1

    @rx.event
    def edit_cohort(self, cohort_id: str) -> rx.event.EventSpec | None:
        try:
            key = str(parse_id(cohort_id))
        except NotFound as exc:
            return handle_errors(exc)
        row = next((c for c in self.cohorts if c["id"] == key), None)
        if row is None:
            return handle_errors(NotFound())
        self.form_open, self.editing_id = True, key
        self.form_values = {k: row[k] for k in EMPTY_FORM}
        self.errors, self.form_error, self.busy = {}, "", False
        self.form_key += 1
        return None

    @rx.event
    def close_form(self) -> None:
        self.form_open, self.editing_id, self.errors, self.form_error = False, "", {}, ""
        self.busy = False

    @rx.event
    def save(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        if self.busy:
            return None
        self._start()
        values = {k: str(form.get(k, "")) for k in EMPTY_FORM}
        self.form_values = values
        if self.editing_id:
            done = self._call(
                lambda s, ctx: cohort_lifecycle.do_update_cohort(
                    s, ctx, cohort_id=parse_id(self.editing_id), **values
                ),
                permission=Permission.courses_author,
            )
        else:
            done = self._call(
                lambda s, ctx: cohort_lifecycle.do_create_cohort(
                    s, ctx, course_id=self.cid, **values
                ),
                permission=Permission.courses_author,
            )
        if not done.ok:
            self._fail(done.error)
            if isinstance(done.error, ValidationFailed) and done.error.field:
                return None  # the message shows beside its field
            return done.reply
        row = done.value
        was_editing = bool(self.editing_id)
        self.busy, self.form_open, self.editing_id = False, False, ""
        self.selected_id = row.id
        self.members_page, self.unplaced_page = 1, 1
        self._reload()
        return rx.toast.success(
            f"Saved “{row.name}”." if was_editing else f"Cohort “{row.name}” created."
        )

    # ------------------------------------------------------------------ archive

    def _archive(self, cohort_id: str, archived: bool) -> rx.event.EventSpec | None:
        fn = cohort_lifecycle.do_archive_cohort if archived else cohort_lifecycle.do_restore_cohort
        done = self._call(
            lambda s, ctx: fn(s, ctx, cohort_id=parse_id(cohort_id)),
            permission=Permission.courses_author,
        )
        self._reload()
        if not done.ok:
            return done.reply
        if archived:
            return rx.toast.success(f"“{done.value.name}” archived: it takes no new learners.")
        return rx.toast.success(f"“{done.value.name}” restored.")

    @rx.event
    def archive(self, cohort_id: str) -> rx.event.EventSpec | None:
        return self._archive(cohort_id, True)

    @rx.event
    def restore(self, cohort_id: str) -> rx.event.EventSpec | None:
        return self._archive(cohort_id, False)

    # ------------------------------------------------------------------ members

    @rx.event
    def select_cohort(self, cohort_id: str) -> rx.event.EventSpec | None:
        try:
            key = str(parse_id(cohort_id))
        except NotFound as exc:
            return handle_errors(exc)
        self.selected_id = key
        self.members_page, self.unplaced_page, self.unplaced_q = 1, 1, ""
        self.picked, self.assign_error = [], ""
        return self._reload()

    @rx.event
    def members_next(self) -> rx.event.EventSpec | None:
        if self.members_page < self.members_pages:
            self.members_page += 1
        return self._reload()

    @rx.event
    def members_prev(self) -> rx.event.EventSpec | None:
        self.members_page = max(1, self.members_page - 1)
        return self._reload()

    @rx.event
    def remove_member(self, enrollment_id: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: cohort_placement.do_unassign(
                s, ctx, enrollment_ids=[parse_id(enrollment_id)]
            ),
            permission=Permission.courses_author,
        )
        self._reload()
        if not done.ok:
            return done.reply
        if not done.value:
            return rx.toast.info("They were not in a cohort any more.")
        return rx.toast.success(f"Removed from “{self.selected_name}”.")

    # ------------------------------------------------------------------ adding learners

    @rx.event
    def search_unplaced(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.unplaced_q = " ".join(str(form.get("q", "")).split())[:100]
        self.unplaced_page, self.picked, self.assign_error = 1, [], ""
        return self._reload()

    @rx.event
    def unplaced_next(self) -> rx.event.EventSpec | None:
        if self.unplaced_page < self.unplaced_pages:
            self.unplaced_page += 1
        return self._reload()

    @rx.event
    def unplaced_prev(self) -> rx.event.EventSpec | None:
        self.unplaced_page = max(1, self.unplaced_page - 1)
        return self._reload()

    @rx.event
    def toggle_pick(self, enrollment_id: str, checked: bool) -> None:
        self.assign_error = ""
        if checked:
            if enrollment_id not in self.picked and len(self.picked) < MAX_PICKED:
                self.picked = [*self.picked, enrollment_id]
        else:
            self.picked = [x for x in self.picked if x != enrollment_id]

    @rx.event
    def add_to_cohort(self) -> rx.event.EventSpec | None:
        if not self.picked:
            self.assign_error = "Tick the learners to add first."
            return None
        done = self._call(
            lambda s, ctx: cohort_placement.do_assign(
                s,
                ctx,
                enrollment_ids=[parse_id(x) for x in self.picked],
                cohort_id=parse_id(self.selected_id),
            ),
            permission=Permission.courses_author,
        )
        if isinstance(done.error, ValidationFailed):
            self.assign_error = done.error.message
            return done.reply
        if not done.ok:
            self.picked = []
            self._reload()
            return done.reply
        moved = done.value
        self.picked, self.assign_error = [], ""
        self._reload()
        people = "learner" if moved == 1 else "learners"
        return rx.toast.success(f"Added {moved} {people} to “{self.selected_name}”.")
