"""The live class view: who is enrolled, how far they are, what they did last, who struggles.

Three scopes, one row shape (`RosterRow`):
- `course_roster`: one course, for its staff. Staff are the holders of `courses.author` or
  `enrollments.manage` in the org that owns the course (instructors, staff, org admins); they
  see the course's enrollments in the orgs they may read (an org admin's subtree, everyone
  else their own org). A manager (neither permission) sees only the learners they manage.
- `team_view`: a manager's team (`members.team_of`), every course, one row per enrollment.
- `org_view`: everything enrolled in the viewer's scope (org admins: the subtree; staff:
  their org), every course.

Cohorts: each row names the enrollment's cohort (`RosterRow.cohort`, "" for none). A
course's roster can be narrowed to one cohort of the course in the active org, or to the
learners in no cohort (`cohort_id="none"`); the summary counts then count that cohort.
`cohort_choices` lists the course's cohorts for the filter.

Last activity is the latest of: a lesson-progress change (completion, video position), a
quiz attempt, and a change to the enrollment itself. "Active now" means activity within
`ACTIVE_WINDOW`. A learner struggles when their newest quiz attempt failed, when they are
past the due date, or when nothing happened for `inactive_days` while not completed.
Filtering, sorting, counting and paging happen in the database (correlated subqueries on the
indexed `enrollment_id` columns), so a large org never loads into memory.

Live updates: lesson completions, quiz attempts and watched video are published through
`progress_live.publish_progress` on `topics.PROGRESS` after commit. `progress_topics` names the
topics a viewer may follow, chosen from what they may see, never from the browser.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col

from app.models.enrollment import Cohort, Enrollment
from app.services.core import topics
from app.services.core.tenancy import OrgContext, scoped
from app.services.learning.class_view_access import cohort_base, course_base, scope_base
from app.services.learning.class_view_rows import RosterPage, roster_page

MAX_TOPICS = 500
DEFAULT_INACTIVE_DAYS = 7


# --------------------------------------------------------------------------- public


def course_roster(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    filter: str = "",
    sort: str = "",
    inactive_days: int | str = DEFAULT_INACTIVE_DAYS,
    page: int = 1,
    page_size: int = 25,
    cohort_id: str = "",
) -> RosterPage:
    """The learners of one course with their progress, for the course's staff (managers:
    only the learners they manage). `filter`: all, struggling, inactive, completed; `sort`:
    name, progress (highest first), activity (latest first); `cohort_id`: "" (everyone),
    "none" (learners in no cohort) or a cohort of this course in the active org (the counts
    then count that cohort; any other id is `NotFound`). Another org's course (also a
    parent's course shared down) is not found; a role without staff or compliance rights is
    refused."""
    course, base, team_only = course_base(session, ctx, course_id)
    base = cohort_base(session, ctx, course, base, cohort_id)
    return roster_page(
        session,
        ctx,
        base,
        title=course.title,
        scope="course",
        team_only=team_only,
        filter=filter,
        sort=sort,
        inactive_days=inactive_days,
        page=page,
        page_size=page_size,
    )


def cohort_choices(
    session: Session, ctx: OrgContext, course_id: uuid.UUID | str
) -> list[tuple[str, str]]:
    """(id, name) of the course's cohorts in the active org for the roster's cohort filter:
    unarchived ones first, each group by name. The same viewers as `course_roster`."""
    course, _base, _team = course_base(session, ctx, course_id)
    org_ids = [ctx.org_id] if ctx.org_id else []
    rows = session.exec(
        scoped(ctx, Cohort, org_ids=org_ids).where(Cohort.course_id == course.id)
    ).all()
    ordered = sorted(rows, key=lambda c: (c.is_archived, c.name.lower(), str(c.id)))
    return [(str(c.id), c.name) for c in ordered]


def _scope_page(session: Session, ctx: OrgContext, scope: str, **view: Any) -> RosterPage:
    """The team or org view's page: its rows from `scope_base`, paged by `roster_page`."""
    title, base, team_only = scope_base(session, ctx, scope)
    return roster_page(session, ctx, base, title=title, scope=scope, team_only=team_only, **view)


def team_view(
    session: Session,
    ctx: OrgContext,
    *,
    filter: str = "",
    sort: str = "",
    inactive_days: int | str = DEFAULT_INACTIVE_DAYS,
    page: int = 1,
    page_size: int = 25,
) -> RosterPage:
    """Every enrollment of the learners the caller manages, across courses (one row per
    enrollment). Needs `compliance.view` (managers)."""
    return _scope_page(
        session,
        ctx,
        "team",
        filter=filter,
        sort=sort,
        inactive_days=inactive_days,
        page=page,
        page_size=page_size,
    )


def org_view(
    session: Session,
    ctx: OrgContext,
    *,
    filter: str = "",
    sort: str = "",
    inactive_days: int | str = DEFAULT_INACTIVE_DAYS,
    page: int = 1,
    page_size: int = 25,
) -> RosterPage:
    """Every enrollment in the caller's scope (org admins: their subtree; staff: their org),
    across courses. Needs `enrollments.manage`."""
    return _scope_page(
        session,
        ctx,
        "org",
        filter=filter,
        sort=sort,
        inactive_days=inactive_days,
        page=page,
        page_size=page_size,
    )


def progress_topics(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str | None = None,
    scope: str = "",
) -> set[str]:
    """The broker topics a viewer of a course (`course_id`) or of a team/org view (`scope`)
    may follow, decided from what they may see (the same checks as the views; refusals
    raise the same way). Progress is published per enrollment org, so a course's topics are
    one per org the viewer may read; a team/org view follows the (org, course) pairs of the
    enrollments it shows (at most `MAX_TOPICS`)."""
    if course_id is not None:
        course, _base, _team = course_base(session, ctx, course_id)
        return {topics.PROGRESS.name(org=org_id, course=course.id) for org_id in ctx.org_ids}
    _title, base, _team = scope_base(session, ctx, scope)
    pairs = session.execute(
        base.with_only_columns(col(Enrollment.org_id), col(Enrollment.course_id))
        .distinct()
        .limit(MAX_TOPICS)
    ).all()
    return {
        topics.PROGRESS.name(org=org_id, course=cid)
        for org_id, cid in pairs
        if org_id in ctx.org_ids
    }


__all__ = [
    "DEFAULT_INACTIVE_DAYS",
    "cohort_choices",
    "course_roster",
    "org_view",
    "progress_topics",
    "team_view",
]
