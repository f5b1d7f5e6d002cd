"""The live class view: `/teach/courses/<id>/live` (a course's staff) and `/team/live`
(managers: their team; org admins and staff: the org), refreshed as learners progress.

How a view stays live:
- `load` calls `self._refresh()` first (which clears the tab's "page" topics), loads the
  roster, then `hub.watch(token, topics, group="page")` with the topics
  `class_view.progress_topics` allows this viewer (chosen on the server, never from the
  browser).
- Progress is published after commit on `topics.PROGRESS`; the worker's live hub hears
  it, finds the tabs that watch it and have this view open (`hub.on_tab`) and refreshes
  each (`refresh_tab`: read without the tab's lock, show under it). The refresh
  re-reads the page from the database with the tab's current filter, sort, page and
  (course view) cohort (so a missed or doubled message costs one refresh), re-checking the
  viewer's permission each time: a tab whose user lost access is emptied and stops
  watching.
- Bursts coalesce before any lock is taken (`live_coalesce`): at most one refresh is
  pending per tab, run at once or `COALESCE_SECONDS` after the tab's previous refresh.
- A reconnecting tab runs `load` again and so reads everything fresh from the database.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import reflex as rx
from reflex.istate.manager.token import BaseStateToken

from app.models.base import utcnow
from app.services.core import topics
from app.services.core.errors import NotFound, PermissionDenied, ServiceError, Unauthenticated
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.learning import class_view, class_view_access, class_view_query
from app.services.learning.class_view_rows import RosterPage
from app.state.live import hub
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState, handle_errors

log = logging.getLogger(__name__)

# With nobody acting, the open view re-reads after this long ("active now" lasts 5 minutes).
AGE_SECONDS = 60
FILTER_CHOICES = [
    ("all", "All"),
    ("struggling", "Struggling"),
    ("inactive", "Inactive"),
    ("completed", "Completed"),
]
SORT_CHOICES = [("name", "Name"), ("progress", "Progress"), ("activity", "Last activity")]
STATUS_LABELS = {"active": "In progress", "completed": "Completed", "pending": "Pending"}
EMPTY_COUNTS = {
    "total": "0",
    "active_now": "0",
    "struggling": "0",
    "inactive": "0",
    "completed": "0",
}


def ago(when: datetime, now: datetime | None = None) -> str:
    """How long ago, the way people say it: "just now", "2 min ago", "3 h ago", "4 days ago"."""
    seconds = max(0, int(((now or utcnow()) - when).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    if days < 60:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return when.strftime("%Y-%m-%d")


def roster_rows(page: RosterPage) -> list[dict[str, str]]:
    """A roster page as the table's rows (every value text; the bar converts it)."""
    now = utcnow()
    return [
        {
            "id": r.enrollment_id,
            "name": r.name,
            "email": r.email,
            "course": r.course_title,
            "cohort": r.cohort or "—",
            "progress": str(r.progress_percent),
            "current": r.current_lesson or "—",
            "activity": ago(r.last_activity, now),
            "activity_at": r.last_activity.isoformat(),
            "score": f"{r.latest_score}%" if r.latest_score is not None else "—",
            "passed": "" if r.latest_passed is None else ("yes" if r.latest_passed else "no"),
            "status": r.status,
            "status_label": STATUS_LABELS.get(r.status, r.status),
            "active": "yes" if r.active_now else "",
            "struggling": "yes" if r.struggling else "",
            "reasons": ", ".join(r.reasons),
        }
        for r in page.rows
    ]


# What a live read found: the page and fields to show, a refusal, or None (nothing to do).
LiveRead = tuple[RosterPage, dict[str, Any]] | ServiceError | None

if TYPE_CHECKING:  # the mixin is used with SessionState; let the type checker know
    _Session = SessionState
else:
    _Session = object


class LiveRosterMixin(PagedState, _Session, mixin=True):
    """What both live views share: the rows, filter, sort, counts and the live refresh."""

    rows: list[dict[str, str]] = []
    counts: dict[str, str] = EMPTY_COUNTS
    title: str = ""
    filter_by: str = "all"
    sort_by: str = "name"
    inactive_days: str = str(class_view.DEFAULT_INACTIVE_DAYS)
    inactive_error: str = ""
    team_only: bool = False
    found: bool = False  # the view exists for this viewer
    denied: bool = False  # the viewer's role may not see it
    loading: bool = True
    updates: int = 0  # live refreshes applied since the page opened
    shown_at: str = ""  # when the rows were read (ISO, UTC): "active now" ages from it

    # ------------------------------------------------------------------ to implement

    def _page_path(self) -> bool:
        """Whether the tab still shows this view (a refresher skips other pages)."""
        raise NotImplementedError

    def _read(self, ctx: OrgContext) -> tuple[RosterPage, dict[str, Any]]:
        """Read the page for this tab's filter, sort, page (and view choices) without
        changing the state: the page, and the other fields to set with it."""
        raise NotImplementedError

    def _view_key(self) -> tuple[str, ...]:
        """What the tab looks at: a read made for one key is not shown under another."""
        return (
            self.router.url.path,
            self.filter_by,
            self.sort_by,
            self.inactive_days,
            str(self.page),
        )

    def _topics(self, ctx: OrgContext) -> set[str]:
        raise NotImplementedError

    # ------------------------------------------------------------------ loading

    def _clear(self) -> None:
        self.rows, self.counts, self.total, self.title = [], dict(EMPTY_COUNTS), 0, ""
        self.found = False

    def _stop_watching(self) -> None:
        hub.watch(self.router.session.client_token, set(), group="page")

    def _load_view(self, ctx: OrgContext) -> None:
        """Read the page from the database (permission re-checked by the service)."""
        page, fields = self._read(ctx)
        self._show(page, fields)

    def _show(self, page: RosterPage, fields: dict[str, Any] | None = None) -> None:
        for name, value in (fields or {}).items():
            setattr(self, name, value)
        self.shown_at = utcnow().isoformat()
        self.rows = roster_rows(page)
        self.total, self.page = page.total, page.page
        self.title, self.team_only, self.found, self.denied = (
            page.title,
            page.team_only,
            True,
            False,
        )
        c = page.counts
        self.counts = {
            "total": str(c.total),
            "active_now": str(c.active_now),
            "struggling": str(c.struggling),
            "inactive": str(c.inactive),
            "completed": str(c.completed),
        }

    def _refused(self, exc: ServiceError) -> None:
        self._clear()
        self.denied = isinstance(exc, (PermissionDenied, Unauthenticated))
        self._stop_watching()

    def _reload(self) -> rx.event.EventSpec | None:
        try:
            self._load_view(self._require())
        except (NotFound, PermissionDenied, Unauthenticated) as exc:
            self._refused(exc)
            return handle_errors(exc) if isinstance(exc, Unauthenticated) else None
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    def _open(self, next_path: str) -> rx.event.EventSpec | None:
        """The load handler's body: session first, then the view, then the watch."""
        ctx = self._refresh()  # clears this tab's page topics
        if ctx is None:
            return rx.redirect(f"/signin?next={next_path}")
        self.page, self.filter_by, self.sort_by = 1, "all", "name"
        self.inactive_days, self.inactive_error = str(class_view.DEFAULT_INACTIVE_DAYS), ""
        self.updates, self.loading, self.denied = 0, False, False
        self._clear()
        try:
            self._load_view(ctx)
            watched = self._topics(ctx)
        except (NotFound, PermissionDenied) as exc:
            self._refused(exc)
            return None
        except ServiceError as exc:
            self._clear()
            return handle_errors(exc)
        hub.watch(self.router.session.client_token, watched, group="page", owner=type(self))
        return None

    async def _live_read(self) -> LiveRead:
        """A live refresh's database work, in threads, changing nothing: the session check
        and the read for the tab's current view."""
        ctx = await asyncio.to_thread(self._context)
        if ctx is None:
            return Unauthenticated()
        try:
            return await asyncio.to_thread(self._read, ctx)
        except (NotFound, PermissionDenied) as exc:
            return exc
        except ServiceError:
            log.exception("live class view refresh failed")
            return None

    def _live_apply(self, read: LiveRead) -> None:
        """Show what `_live_read` found (a refusal empties the view and stops watching)."""
        if read is None:
            return
        if isinstance(read, ServiceError):
            self._refused(read)
            return
        self._show(*read)
        self.updates += 1

    # ------------------------------------------------------------------ controls

    @rx.event
    def set_filter(self, value: str | list[str]) -> rx.event.EventSpec | None:
        chosen = value if isinstance(value, str) else (value[0] if value else "all")
        self.filter_by = chosen if chosen in class_view_query.FILTERS else "all"
        self.page = 1
        return self._reload()

    @rx.event
    def set_sort(self, value: str) -> rx.event.EventSpec | None:
        self.sort_by = value if value in class_view_query.SORTS else "name"
        self.page = 1
        return self._reload()

    @rx.event
    def set_inactive_days(self, value: str) -> rx.event.EventSpec | None:
        try:
            days = class_view_query.check_inactive_days(value)
        except ServiceError as exc:
            self.inactive_error = exc.message
            return None
        self.inactive_days, self.inactive_error = str(days), ""
        self.page = 1
        return self._reload()

    @rx.event
    def refresh_now(self) -> rx.event.EventSpec | None:
        return self._reload()

    @rx.event
    def age_tick(self, _now: str = "") -> rx.event.EventSpec | None:
        """The page's minute timer: when nothing refreshed the rows for a while, re-read
        them, so an "active now" dot goes out and "last activity" ages with nobody acting."""
        if not self.found or not self.shown_at:
            return None
        if utcnow() - datetime.fromisoformat(self.shown_at) < timedelta(seconds=AGE_SECONDS):
            return None
        return self._reload()


ALL_COHORTS = "all"


class ClassViewState(LiveRosterMixin, SessionState):
    """`/teach/courses/<id>/live`: one course's learners, live, optionally one cohort's.

    The cohort filter lives in the state (like the other filters): `cohort_by` is "all",
    "none" (learners in no cohort) or the id of one of `cohorts` (re-read with every
    refresh, so a new cohort appears and a deleted one falls back to "all").
    """

    cid: str = ""
    cohort_by: str = ALL_COHORTS
    cohorts: list[dict[str, str]] = []  # {"id", "name"} of the course's cohorts

    def _course_id(self) -> str:
        parts = self.router.url.path.rstrip("/").split("/")
        if len(parts) >= 5 and parts[-1] == "live" and parts[-3] == "courses":
            return parts[-2]
        return ""

    def _page_path(self) -> bool:
        return bool(self.cid) and self._course_id() == self.cid

    def _read(self, ctx: OrgContext) -> tuple[RosterPage, dict[str, Any]]:
        with tenant_session(ctx) as session:
            choices = class_view.cohort_choices(session, ctx, self.cid)
            cohort_by = self.cohort_by
            if cohort_by not in (ALL_COHORTS, class_view_access.NO_COHORT, *dict(choices)):
                cohort_by = ALL_COHORTS  # the cohort is gone: show everyone
            page = class_view.course_roster(
                session,
                ctx,
                course_id=self.cid,
                filter=self.filter_by,
                sort=self.sort_by,
                inactive_days=self.inactive_days,
                page=self.page,
                page_size=PAGE_SIZE,
                cohort_id="" if cohort_by == ALL_COHORTS else cohort_by,
            )
        cohorts = [{"id": cid, "name": name} for cid, name in choices]
        return page, {"cohorts": cohorts, "cohort_by": cohort_by}

    def _view_key(self) -> tuple[str, ...]:
        return (*super()._view_key(), self.cid, self.cohort_by)

    def _topics(self, ctx: OrgContext) -> set[str]:
        with tenant_session(ctx) as session:
            return class_view.progress_topics(session, ctx, course_id=self.cid)

    def _clear(self) -> None:
        super()._clear()
        self.cohorts = []

    @rx.event
    def set_cohort(self, value: str) -> rx.event.EventSpec | None:
        """Show one cohort ("all", "none" or a cohort id of the list; anything else: all)."""
        known = {c["id"] for c in self.cohorts}
        self.cohort_by = (
            value if value == class_view_access.NO_COHORT or value in known else ALL_COHORTS
        )
        self.page = 1
        return self._reload()

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        self.cid = self._course_id()
        self.cohort_by, self.cohorts = ALL_COHORTS, []
        return self._open(f"/teach/courses/{self.cid}/live")


class TeamLiveState(LiveRosterMixin, SessionState):
    """`/team/live`: a manager's team, or an org admin's (or staff member's) org, live."""

    scope: str = ""

    def _page_path(self) -> bool:
        return self.router.url.path.rstrip("/") == "/team/live"

    def _scope(self, ctx: OrgContext) -> str:
        return class_view_access.default_scope(ctx)

    def _read(self, ctx: OrgContext) -> tuple[RosterPage, dict[str, Any]]:
        scope = self._scope(ctx)
        view = class_view.org_view if scope == "org" else class_view.team_view
        with tenant_session(ctx) as session:
            page = view(
                session,
                ctx,
                filter=self.filter_by,
                sort=self.sort_by,
                inactive_days=self.inactive_days,
                page=self.page,
                page_size=PAGE_SIZE,
            )
        return page, {"scope": scope}

    def _topics(self, ctx: OrgContext) -> set[str]:
        with tenant_session(ctx) as session:
            return class_view.progress_topics(session, ctx, scope=self._scope(ctx))

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        return self._open("/team/live")


# --------------------------------------------------------------------------- live pushes
#
# The hub coalesces a burst of progress messages into one refresh per tab (live_coalesce),
# and calls `refresh_tab` without taking the tab's lock: the read runs on a copy of the
# state, and only showing the result takes the lock.


async def refresh_tab(app: Any, token: str, view: type[LiveRosterMixin]) -> bool:
    """One live refresh of a tab: read without its lock, then show under it.

    The read (session check and roster queries, seconds on a busy database) runs on a copy
    of the tab's state taken without the lock, so the instructor's own clicks are not held
    up behind it. The result is shown only if the tab still looks at the same thing (page,
    filter, sort, cohort): otherwise the click that changed it has read afresh already.
    Returns whether the tab was updated."""
    # Reflex's state manager needs the app's contexts (`modify_state` sets them itself).
    with app.set_contexts():
        root = await app.state_manager.get_state(BaseStateToken(ident=token, cls=view))
        seen = await root.get_state(view)
    if not isinstance(seen, LiveRosterMixin) or not seen._page_path():
        return False  # the tab shows another page now (its watch is about to be replaced)
    key = seen._view_key()
    read = await seen._live_read()
    async with app.modify_state(BaseStateToken(ident=token, cls=view)) as root:
        state = await root.get_state(view)
        if not isinstance(state, LiveRosterMixin) or state._view_key() != key:
            return False
        state._live_apply(read)
    return read is not None


for _view in (ClassViewState, TeamLiveState):
    hub.on_tab(topics.PROGRESS, _view, refresh_tab)


__all__ = [
    "ClassViewState",
    "LiveRosterMixin",
    "TeamLiveState",
    "ago",
    "roster_rows",
]
