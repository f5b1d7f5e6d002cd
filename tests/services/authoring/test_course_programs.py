"""Programs (`authoring.course_programs`): created, listed with their courses, and stopped at
the org's limit."""

from __future__ import annotations

import pytest

from app.services.authoring import course_programs
from app.services.config import writes
from app.services.core.errors import LimitReached, ValidationFailed
from app.services.core.tenancy import tenant_session
from app.services.people import seats
from tests import factories as f
from tests.services.authoring.helpers import new_course, run

pytestmark = pytest.mark.usefixtures("backend")


def test_programs() -> None:
    admin = f.new_admin()
    program = run(admin.ctx, course_programs.do_create_program, title="Warehouse pathway")
    new_course(admin.ctx, program_id=str(program.id))
    (view,) = [p for p in run(admin.ctx, course_programs.list_programs) if p.id == str(program.id)]
    assert view.title == "Warehouse pathway" and view.courses == 1
    with pytest.raises(ValidationFailed):
        run(admin.ctx, course_programs.do_create_program, title="  ")


def test_programs_stop_at_the_org_s_limit_and_the_usage_meter_counts_them() -> None:
    admin = f.new_admin()
    run(admin.ctx, course_programs.do_create_program, title="Pathway one")
    with tenant_session(admin.ctx) as session:
        writes.do_update_section(
            session, admin.ctx, org_id=admin.org_id, section="limits", values={"max_programs": 1}
        )
        assert seats.usage(session, admin.ctx, org_id=admin.org_id)["max_programs"] == (1, 1)
    with pytest.raises(LimitReached, match="1 of its 1"):
        run(admin.ctx, course_programs.do_create_program, title="Pathway two")
    assert [p.title for p in run(admin.ctx, course_programs.list_programs)] == ["Pathway one"]
