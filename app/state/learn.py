"""Learner pages' state: the catalog, a course page (enrolling), "My learning", and the staff
list of applications. The player and quizzes live in `app.state.learn_player`.

Thin adapters: every handler re-checks the permission through the services (a hidden button
proves nothing), rows reach the page as dicts of strings, and lists are paginated.
"""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from app.services.core import topics
from app.services.core.authz import Permission
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.core.wording import counted
from app.services.learning import (
    catalog,
    cohort_rows,
    cohort_views,
    enrollment_approvals,
    enrollments,
    lesson_access,
    my_learning,
)
from app.state import covers
from app.state.account import FormState
from app.state.live import hub
from app.state.live_coalesce import Change
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState

CATALOG_PAGE_SIZE = 12
CATALOG_ROUTE = "/catalog"
STATUS_LABELS = {
    "pending": "Application pending",
    "active": "Enrolled",
    "completed": "Completed",
    "rejected": "Not accepted",
    "withdrawn": "Withdrawn",
}


def path_ids(path: str, prefix: str) -> list[str]:
    """The path segments after `prefix` (`/learn/a/b` with `/learn` → ["a", "b"])."""
    rest = path[len(prefix) :] if path.startswith(prefix) else ""
    return [part for part in rest.strip("/").split("/") if part]


def _date(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value is not None else ""


def _cohort_label(c: cohort_rows.CohortRow) -> str:
    """ "Spring (2026-03-01 to 2026-06-30, 4 seats left)": what a learner chooses from."""
    parts = []
    if c.starts_on and c.ends_on:
        parts.append(f"{_date(c.starts_on)} to {_date(c.ends_on)}")
    elif c.starts_on or c.ends_on:
        parts.append(f"from {_date(c.starts_on)}" if c.starts_on else f"until {_date(c.ends_on)}")
    if c.seats_left is not None:
        parts.append(f"{counted(c.seats_left, 'seat')} left")
    return f"{c.name} ({', '.join(parts)})" if parts else c.name


# --------------------------------------------------------------------------- catalog


class CatalogState(SessionState):
    """`/catalog`: search, filters and a page of course cards."""

    query: str = ""
    category: str = ""
    level: str = ""
    mode: str = ""
    page: int = 1
    total: int = 0
    cards: list[dict[str, str]] = []
    categories: list[dict[str, str]] = []
    levels: list[dict[str, str]] = []
    modes: list[dict[str, str]] = []
    loaded: bool = False

    @rx.var
    def pages(self) -> int:
        return max(1, math.ceil(self.total / CATALOG_PAGE_SIZE))

    @rx.var
    def total_label(self) -> str:
        return counted(self.total, "course")

    @rx.var
    def filtered(self) -> bool:
        return bool(self.query or self.category or self.level or self.mode)

    def _reload(self) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: catalog.search(
                s,
                ctx,
                text=self.query,
                category=self.category,
                level=self.level,
                delivery_mode=self.mode,
                page=self.page,
                page_size=CATALOG_PAGE_SIZE,
            ),
            permission=Permission.learning_view,
        )
        if done.error is not None:
            return done.reply
        result = done.value
        self.total, self.loaded = result.total, True
        self.cards = [
            {
                "id": c.id,
                "title": c.title,
                "summary": c.summary,
                "category": c.category,
                "level": c.level_label,
                "mode": c.mode_label,
                "price": c.price_label,
                "approval": "yes" if c.requires_approval else "",
                "cover": c.cover_url,
                "tint": covers.cover_tint(c.category),
                "initials": covers.initials(c.title),
                "status": STATUS_LABELS.get(c.enrollment_status, ""),
            }
            for c in result.cards
        ]
        self.categories = [{"value": o.value, "label": o.label} for o in result.categories]
        self.levels = [{"value": o.value, "label": o.label} for o in result.levels]
        self.modes = [{"value": o.value, "label": o.label} for o in result.modes]
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect("/signin?next=/catalog")
        self.page, self.loaded = 1, False
        if Permission.learning_view.value in self.permissions and ctx.org_id:
            # A course published, archived or edited in this org or one above it (which may
            # share it down) shows up, or goes, on the open page.
            orgs = {ctx.org_id, *ctx.ancestor_ids}
            hub.watch(
                self.router.session.client_token,
                {topics.CATALOG.name(org=o) for o in orgs},
                group="page",
            )
            return self._reload()
        return None

    @rx.event
    def search(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.query = " ".join(str(form.get("q", "")).split())[:100]
        self.page = 1
        return self._reload()

    @rx.event
    def set_category(self, value: str) -> rx.event.EventSpec | None:
        self.category, self.page = ("" if value == "any" else value), 1
        return self._reload()

    @rx.event
    def set_level(self, value: str) -> rx.event.EventSpec | None:
        self.level, self.page = ("" if value == "any" else value), 1
        return self._reload()

    @rx.event
    def set_mode(self, value: str) -> rx.event.EventSpec | None:
        self.mode, self.page = ("" if value == "any" else value), 1
        return self._reload()

    @rx.event
    def clear(self) -> rx.event.EventSpec | None:
        self.query = self.category = self.level = self.mode = ""
        self.page = 1
        return self._reload()

    @rx.event
    def next_page(self) -> rx.event.EventSpec | None:
        if self.page < self.pages:
            self.page += 1
        return self._reload()

    @rx.event
    def prev_page(self) -> rx.event.EventSpec | None:
        self.page = max(1, self.page - 1)
        return self._reload()


async def _catalog_changed(state: CatalogState, _changes: list[Change]) -> None:
    """A course of a watched org changed status or details: re-run this tab's search
    (query, filters and page kept) if the catalog is still the open page."""
    if state.router.url.path != CATALOG_ROUTE or not state.loaded:
        return
    state._reload()


hub.on(topics.CATALOG, CatalogState, _catalog_changed)


# --------------------------------------------------------------------------- a course


class CourseState(FormState, SessionState):
    """`/courses/[course_id]`: the course's page and the enrollment form."""

    found: bool = False
    loaded: bool = False
    course: dict[str, str] = {}
    outline: list[dict[str, str]] = []
    prerequisites: list[dict[str, str]] = []
    funding: list[dict[str, str]] = []
    enrollment_status: str = ""
    decision_reason: str = ""
    next_lesson_id: str = ""
    can_enroll: bool = False
    is_paid: bool = False
    requires_approval: bool = False
    prerequisites_met: bool = True
    cohort_choices: list[dict[str, str]] = []  # the open cohorts a learner may pick
    my_cohort: str = ""  # "Spring intake (2026-03-01 to 2026-06-30)" once placed

    @rx.var
    def cohort_error(self) -> str:
        return self.errors.get("cohort_id", "")

    @rx.var
    def funding_error(self) -> str:
        return self.errors.get("funding_source", "")

    @rx.var
    def note_error(self) -> str:
        return self.errors.get("note", "")

    @rx.var
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.enrollment_status, "")

    @rx.var
    def can_open(self) -> bool:
        return lesson_access.can_open_course(
            enrollment_status=self.enrollment_status, next_lesson_id=self.next_lesson_id
        )

    def _course_id(self) -> str:
        ids = path_ids(self.router.url.path, "/courses")
        return ids[0] if ids else ""

    def _reload(self) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: catalog.course_page(s, ctx, self._course_id()),
            permission=Permission.learning_view,
        )
        if isinstance(done.error, NotFound):
            self.found, self.loaded = False, True
            return None
        if done.error is not None:
            self.loaded = True
            return done.reply
        page = done.value
        self.found = self.loaded = True
        self.course = {
            "id": page.id,
            "title": page.title,
            "summary": page.summary,
            "description": page.description,
            "category": page.category,
            "level": page.level_label,
            "mode": page.mode_label,
            "price": page.price_label,
            "cover": page.cover_url,
            "tint": covers.cover_tint(page.category),
            "initials": covers.initials(page.title),
            "status": page.status,
            "lessons": str(page.lesson_count),
        }
        rows: list[dict[str, str]] = []
        for part in page.outline:
            rows.append({"type": "module", "id": part.id, "title": part.title, "kind": ""})
            rows.extend(
                {
                    "type": "lesson",
                    "id": lesson.id,
                    "title": lesson.title,
                    "kind": lesson.kind_label,
                    "optional": "" if lesson.required else "Optional",
                }
                for lesson in part.lessons
            )
        self.outline = rows
        self.prerequisites = [
            {"id": p.course_id, "title": p.title, "met": "yes" if p.met else ""}
            for p in page.prerequisites
        ]
        self.funding = [{"value": o.value, "label": o.label} for o in page.funding_sources]
        self.enrollment_status = page.enrollment.status if page.enrollment else ""
        self.decision_reason = page.enrollment.decision_reason if page.enrollment else ""
        self.next_lesson_id = page.next_lesson_id
        self.can_enroll = page.can_enroll
        self.is_paid = page.is_paid
        self.requires_approval = page.requires_approval
        self.prerequisites_met = page.prerequisites_met
        self._load_cohorts(done.ctx)
        return None

    def _load_cohorts(self, ctx: OrgContext) -> None:
        """The open cohorts offered with the enroll form, and the learner's own cohort."""
        self.cohort_choices, self.my_cohort = [], ""
        try:
            with tenant_session(ctx) as session:
                offered = cohort_views.open_cohorts(session, ctx, course_id=self._course_id())
                mine = cohort_views.my_cohort(session, ctx, course_id=self._course_id())
        except ServiceError:
            return
        self.cohort_choices = [{"value": c.id, "label": _cohort_label(c)} for c in offered]
        self.my_cohort = _cohort_label(mine) if mine is not None else ""

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect(f"/signin?next={self.router.url.path}")
        self.found, self.loaded, self.busy = False, False, False
        self.errors, self.form_error, self.notice = {}, "", ""
        if Permission.learning_view.value in self.permissions:
            return self._reload()
        return None

    @rx.event
    def enroll(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        if self.busy:  # a double click while the first is running
            return None
        self._start()
        done = self._call(
            lambda s, ctx: enrollments.do_enroll(
                s,
                ctx,
                course_id=self._course_id(),
                funding_source=str(form.get("funding_source", "")),
                note=str(form.get("note", "")),
                cohort_id=str(form.get("cohort_id", "")),
            ),
            permission=Permission.learning_view,
        )
        if done.error is not None:
            self._fail(done.error)
            if done.error.field == "cohort_id":  # taken or closed meanwhile: offer what is open
                self._load_cohorts(done.ctx)
            return done.reply if not done.error.field else None
        got = done.value
        self.busy = False
        self._reload()
        if got.status == "pending":
            return rx.toast.success("Application sent. You'll hear back by email.")
        return rx.toast.success("You're enrolled. Happy learning!")


# --------------------------------------------------------------------------- my learning


class MyLearningState(SessionState):
    """`/my-learning`: every enrollment as a card."""

    cards: list[dict[str, str]] = []
    loaded: bool = False

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect("/signin?next=/my-learning")
        self.loaded = False
        done = self._call(my_learning.my_learning, permission=Permission.learning_view)
        self.loaded = True
        if done.error is not None:
            return done.reply if done.error.code != "forbidden" else None
        rows = done.value
        self.cards = [
            {
                "enrollment_id": c.enrollment_id,
                "course_id": c.course_id,
                "title": c.title,
                "summary": c.summary,
                "cover": c.cover_url,
                "status": c.status,
                "status_label": STATUS_LABELS.get(c.status, c.status),
                "percent": str(c.progress_percent),
                "due": _date(c.due_at),
                "recertify_by": _date(c.recertify_by),
                "certificate_expired": "yes" if c.certificate_expired else "",
                "overdue": "yes" if c.overdue else "",
                "mandatory": "yes" if c.mandatory else "",
                "next": f"/learn/{c.course_id}/{c.next_lesson_id}" if c.next_lesson_id else "",
                "certificate": f"/api/certificates/{c.certificate_id}.pdf"
                if c.certificate_id
                else "",
                "reason": c.decision_reason,
            }
            for c in rows
        ]
        return None


# --------------------------------------------------------------------------- applications


class ApplicationsState(PagedState, FormState, SessionState):
    """`/teach/applications`: pending applications, approve or reject with a reason."""

    rows: list[dict[str, str]] = []
    reject_id: str = ""
    reject_open: bool = False
    loaded: bool = False

    @rx.var
    def reason_error(self) -> str:
        return self.errors.get("reason", "")

    def _reload(self) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: enrollment_approvals.list_applications(
                s, ctx, page=self.page, page_size=PAGE_SIZE
            ),
            permission=Permission.enrollments_manage,
        )
        if done.error is not None:
            return done.reply
        rows, total = done.value
        self.total, self.loaded = total, True
        self.rows = [
            {
                "id": r.id,
                "course": r.course_title,
                "course_id": r.course_id,
                "name": r.learner_name,
                "email": r.learner_email,
                "funding": r.funding_source,
                "note": r.note,
                "cohort": r.cohort,
                "when": r.created.strftime("%Y-%m-%d"),
            }
            for r in rows
        ]
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect("/signin?next=/teach/applications")
        self.page, self.loaded, self.reject_open = 1, False, False
        if Permission.enrollments_manage.value in self.permissions:
            return self._reload()
        return None

    @rx.event
    def approve(self, enrollment_id: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: enrollment_approvals.do_approve(s, ctx, enrollment_id),
            permission=Permission.enrollments_manage,
        )
        self._reload()
        if done.error is not None:
            return done.reply
        return rx.toast.success(f"Approved: the learner can start now. {done.value.notice}".strip())

    @rx.event
    def open_reject(self, enrollment_id: str) -> None:
        self.reject_id, self.reject_open = enrollment_id, True
        self.errors, self.form_error = {}, ""

    @rx.event
    def set_reject_open(self, value: bool) -> None:
        self.reject_open = value

    @rx.event
    def reject(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        done = self._call(
            lambda s, ctx: enrollment_approvals.do_reject(
                s, ctx, self.reject_id, str(form.get("reason", ""))
            ),
            permission=Permission.enrollments_manage,
        )
        if done.error is not None:
            self._fail(done.error)
            return done.reply if not done.error.field else None
        self.busy, self.reject_open, self.reject_id = False, False, ""
        self._reload()
        return rx.toast.success("Application rejected; the learner was told why.")
