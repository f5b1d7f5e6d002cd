"""Course input (`authoring.course_input`): form fields parsed into a checked `CourseInput`."""

from __future__ import annotations

import pytest

from app.services.authoring import course_input
from app.services.core.errors import ValidationFailed


def test_form_input_parses_checkboxes_price_and_prerequisites() -> None:
    data = course_input.course_input_from_form(
        {
            "title": "  Welding   101 ",
            "level": "intermediate",
            "delivery_mode": "hybrid",
            "sequential": "on",
            "price": "$1,250.50",
            "certificate_valid_days": "",
            "prereq_abc": "on",
        }
    )
    assert data.title == "Welding 101" and data.sequential and not data.requires_approval
    assert data.price_cents == 125050 and data.certificate_valid_days is None
    assert data.prerequisite_ids == ["abc"]
    for bad in ("12.345", "ten", "-5"):
        with pytest.raises(ValidationFailed) as err:
            course_input.course_input_from_form({"title": "Welding", "price": bad})
        assert err.value.field == "price_cents"
