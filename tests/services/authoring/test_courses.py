"""Courses (`authoring.courses`): create and update with audit rows, input refused beside its
field, the org's delivery modes, prerequisites of the same org without circles."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.models.course import CourseStatus
from app.services.authoring import courses
from app.services.config import writes
from app.services.core import audit
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests.services.authoring.helpers import base, detail, new_course, run

pytestmark = pytest.mark.usefixtures("backend")


def test_create_and_update_a_course_records_audit() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx, price_cents=2500, certificate_valid_days=365)
    view = detail(admin.ctx, course_id)
    assert view.status == CourseStatus.draft and view.title == "Forklift safety"
    assert view.description == "# Hello\n\nStay **safe**."
    assert view.price_cents == 2500 and view.certificate_valid_days == 365
    run(
        admin.ctx,
        courses.do_update_course,
        course_id=course_id,
        data=base(title="Forklift basics", level="advanced"),
    )
    view = detail(admin.ctx, course_id)
    assert (view.title, view.level) == ("Forklift basics", "advanced")
    with tenant_session(admin.ctx) as session:
        actions = [e.action for e in audit.list_events(session, admin.ctx, page_size=50).rows]
        events = audit.list_events(session, admin.ctx, action="course.updated").rows
    assert "course.created" in actions and "course.updated" in actions
    assert events[0].detail["changes"]["title"] == {
        "from": "Forklift safety",
        "to": "Forklift basics",
    }


@pytest.mark.parametrize(
    ("over", "field", "text"),
    [
        ({"title": "ab"}, "title", "at least 3"),
        ({"title": "x" * 201}, "title", "too long"),
        ({"level": "expert"}, "level", "beginner"),
        ({"price_cents": -1}, "price_cents", "negative"),
        ({"certificate_valid_days": 0}, "certificate_valid_days", "1 and 3650"),
        ({"certificate_valid_days": 3651}, "certificate_valid_days", "1 and 3650"),
        ({"certificate_valid_days": "soon"}, "certificate_valid_days", "whole number"),
        ({"delivery_mode": "carrier_pigeon"}, "delivery_mode", "delivery modes"),
        ({"prerequisite_ids": ["not-a-uuid"]}, "prerequisite_ids", "not valid"),
        ({"prerequisite_ids": [str(uuid.uuid4())]}, "prerequisite_ids", "another course"),
        ({"program_id": str(uuid.uuid4())}, "program_id", "program"),
    ],
)
def test_course_input_is_refused_beside_its_field(
    over: dict[str, Any], field: str, text: str
) -> None:
    admin = f.new_admin()
    with pytest.raises(ValidationFailed) as err:
        new_course(admin.ctx, **over)
    assert err.value.field == field and text in err.value.message


def test_delivery_mode_must_be_one_the_org_offers() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"delivery": {"modes": ["online"]}})
        session.commit()
    with pytest.raises(ValidationFailed) as err:
        new_course(admin.ctx, delivery_mode="in_person")
    assert err.value.field == "delivery_mode" and "Online" in err.value.message
    course_id = new_course(admin.ctx, delivery_mode="online")
    assert [c.value for c in detail(admin.ctx, course_id).delivery_modes] == ["online"]


def test_prerequisites_other_courses_of_the_org_only_and_no_circles() -> None:
    pair = f.two_tenants()
    first = new_course(pair.a.ctx, title="First steps")
    second = new_course(pair.a.ctx, title="Second steps", prerequisite_ids=[str(first)])
    assert detail(pair.a.ctx, second).prerequisite_ids == [str(first)]
    with pytest.raises(ValidationFailed, match="its own prerequisite"):
        run(
            pair.a.ctx,
            courses.do_update_course,
            course_id=first,
            data=base(prerequisite_ids=[str(first)]),
        )
    with pytest.raises(ValidationFailed, match="circle"):
        run(
            pair.a.ctx,
            courses.do_update_course,
            course_id=first,
            data=base(prerequisite_ids=[str(second)]),
        )
    theirs = new_course(pair.b.ctx)
    with pytest.raises(ValidationFailed, match="another course of this organization"):
        new_course(pair.a.ctx, prerequisite_ids=[str(theirs)])
