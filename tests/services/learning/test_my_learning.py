"""What "My learning" lists: progress, due dates, overdue and the next lesson."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from app.models.base import utcnow
from app.models.enrollment import Enrollment
from app.models.user import Role
from app.services.core.tenancy import mark_scoped, tenant_session
from app.services.learning import my_learning
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend
from tests.services.learning import learner_helpers as h

pytestmark = pytest.mark.usefixtures("backend")


def test_my_learning_lists_progress_due_dates_overdue_and_next_lesson(backend: Backend) -> None:
    admin, learner, world = h.learner_with()
    late = lf.published_course(admin.ctx, title="Late one")
    gated = lf.published_course(admin.ctx, requires_approval=True)
    lf.enrollment(learner, world, progress=True)
    late_id = lf.enrollment(learner, late)
    lf.enrollment(learner, gated, status="pending")
    with tenant_session(learner) as session:
        row = session.exec(mark_scoped(select(Enrollment).where(Enrollment.id == late_id))).one()
        row.due_at = utcnow() - timedelta(days=1)
        row.mandatory = True
        session.add(row)
        session.commit()
    other = f.invite_and_accept(admin.ctx, Role.learner)
    lf.enrollment(other, world)
    with tenant_session(learner) as session:
        cards = {c.course_id: c for c in my_learning.my_learning(session, learner)}
    assert set(cards) == {str(world.course_id), str(late.course_id), str(gated.course_id)}
    assert cards[str(world.course_id)].next_lesson_id == str(world.lesson_ids[1])
    assert cards[str(late.course_id)].overdue and cards[str(late.course_id)].mandatory
    assert not cards[str(world.course_id)].overdue
    assert cards[str(gated.course_id)].status == "pending"
    assert cards[str(gated.course_id)].next_lesson_id == ""
