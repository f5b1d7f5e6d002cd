"""What the learner-side tests share: a learner with a course, and the player's calls."""

from __future__ import annotations

import uuid
from typing import Any

from app.models.enrollment import Enrollment
from app.models.user import Role
from app.services.core.tenancy import OrgContext, access, tenant_session
from app.services.learning import lesson_completion, player, video_progress
from tests import factories as f
from tests import learning_factories as lf


def learner_with(**kw: Any) -> tuple[f.SignedIn, OrgContext, lf.CourseWorld]:
    """An admin, a learner of the admin's org, and a published course (`kw` shapes it)."""
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    return admin, learner, lf.published_course(admin.ctx, **kw)


def complete(
    ctx: OrgContext, world: lf.CourseWorld, lesson_id: uuid.UUID
) -> lesson_completion.Completion:
    with tenant_session(ctx) as session:
        return lesson_completion.do_complete_lesson(
            session, ctx, course_id=world.course_id, lesson_id=lesson_id
        )


def view(
    ctx: OrgContext, world: lf.CourseWorld, lesson_id: uuid.UUID, **kw: Any
) -> player.PlayerView:
    with tenant_session(ctx) as session:
        return player.player_view(
            session, ctx, course_id=world.course_id, lesson_id=lesson_id, **kw
        )


def video(
    ctx: OrgContext,
    world: lf.CourseWorld,
    ranges: Any,
    position: float = 0.0,
    duration: float = 60.0,
) -> video_progress.VideoProgress:
    with tenant_session(ctx) as session:
        return video_progress.do_save_video_position(
            session,
            ctx,
            course_id=world.course_id,
            lesson_id=world.by_kind["video"],
            position=position,
            played_ranges=ranges,
            duration=duration,
        )


def enrollment_row(ctx: OrgContext, enrollment_id: uuid.UUID) -> Enrollment:
    with tenant_session(ctx) as session:
        return access(session, ctx, Enrollment, enrollment_id)
