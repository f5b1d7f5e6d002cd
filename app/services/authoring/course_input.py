"""Validated course input: `CourseInput`, form and price parsing, and shared field checks."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from app.services.core.errors import ValidationFailed

LEVELS: dict[str, str] = {
    "beginner": "Beginner",
    "intermediate": "Intermediate",
    "advanced": "Advanced",
}
MAX_DESCRIPTION = 20_000
MAX_PREREQUISITES = 10
MAX_PRICE_CENTS = 100_000_000  # a million in the currency


class CourseInput(BaseModel):
    """What an author may set on a course (create and update)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    title: str
    summary: str = ""
    description: str = ""  # Markdown
    category: str = ""
    level: str = "beginner"
    delivery_mode: str = "online"
    shared_with_children: bool = False
    requires_approval: bool = False
    sequential: bool = False
    price_cents: int = 0
    certificate_valid_days: int | None = None
    prerequisite_ids: list[str] = []
    program_id: str | None = None

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) < 3:
            raise ValueError("Give the course a title of at least 3 characters.")
        if len(value) > 200:
            raise ValueError("The title is too long (at most 200 characters).")
        return value

    @field_validator("summary")
    @classmethod
    def _summary(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) > 300:
            raise ValueError("The summary is too long (at most 300 characters).")
        return value

    @field_validator("description")
    @classmethod
    def _description(cls, value: str) -> str:
        if len(value) > MAX_DESCRIPTION:
            raise ValueError(f"The description is too long (at most {MAX_DESCRIPTION} characters).")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) > 60:
            raise ValueError("The category is too long (at most 60 characters).")
        return value

    @field_validator("level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError("Choose a level: beginner, intermediate or advanced.")
        return value

    @field_validator("price_cents")
    @classmethod
    def _price(cls, value: int) -> int:
        if value < 0:
            raise ValueError("The price cannot be negative.")
        if value > MAX_PRICE_CENTS:
            raise ValueError("The price is too high.")
        return value

    @field_validator("certificate_valid_days")
    @classmethod
    def _valid_days(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 3650:
            raise ValueError("Certificates stay valid between 1 and 3650 days (or leave empty).")
        return value

    @field_validator("prerequisite_ids")
    @classmethod
    def _prereqs(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for raw in value:
            raw = str(raw).strip()
            if raw and raw not in seen:
                seen.append(raw)
        if len(seen) > MAX_PREREQUISITES:
            raise ValueError(f"Choose at most {MAX_PREREQUISITES} prerequisite courses.")
        return seen

    @field_validator("program_id")
    @classmethod
    def _program(cls, value: str | None) -> str | None:
        return value or None


_FIELD_MESSAGES = {
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "int_from_float": "Enter a whole number.",
    "bool_parsing": "Choose yes or no.",
    "string_type": "Enter text.",
    "missing": "This is required.",
}


def _failed(exc: ValidationError) -> ValidationFailed:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    message = _FIELD_MESSAGES.get(err["type"]) or str(err.get("msg", "This value is not valid."))
    message = message.removeprefix("Value error, ")
    return ValidationFailed(message, field=loc[0] if loc else None)


def check_course_input(data: CourseInput | Mapping[str, Any]) -> CourseInput:
    """Validate the shape of course input (org rules are checked in `courses`)."""
    if isinstance(data, CourseInput):
        data = data.model_dump()
    try:
        return CourseInput.model_validate(dict(data))
    except ValidationError as exc:
        raise _failed(exc) from exc


def _checked(raw: Any) -> bool:
    return str(raw).strip().lower() in ("on", "true", "1", "yes")


def parse_price(raw: str) -> int:
    """A price typed as money ("12", "12.5", "12.50", "$1,200") in cents."""
    text = (raw or "").strip().replace("$", "").replace(",", "").replace(" ", "")
    if not text:
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationFailed("Enter a price like 25 or 25.00.", field="price_cents") from exc
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed("Enter a price like 25 or 25.00.", field="price_cents")
    if amount < 0:
        raise ValidationFailed("The price cannot be negative.", field="price_cents")
    return int(amount * 100)


def course_input_from_form(form: Mapping[str, Any]) -> CourseInput:
    """A `CourseInput` from an HTML form: checkboxes as "on", the price as money text
    (`price`), empty certificate days as none, prerequisites as `prereq_<id>` checkboxes or
    a `prerequisite_ids` list."""
    prereqs: list[str] = []
    raw_prereqs = form.get("prerequisite_ids")
    if isinstance(raw_prereqs, list | tuple):
        prereqs = [str(p) for p in raw_prereqs]
    for key, value in form.items():
        if str(key).startswith("prereq_") and _checked(value):
            prereqs.append(str(key).removeprefix("prereq_"))
    days_raw = str(form.get("certificate_valid_days", "") or "").strip()
    data: dict[str, Any] = {
        "title": str(form.get("title", "") or ""),
        "summary": str(form.get("summary", "") or ""),
        "description": str(form.get("description", "") or ""),
        "category": str(form.get("category", "") or ""),
        "level": str(form.get("level", "") or "beginner"),
        "delivery_mode": str(form.get("delivery_mode", "") or ""),
        "shared_with_children": _checked(form.get("shared_with_children", "")),
        "requires_approval": _checked(form.get("requires_approval", "")),
        "sequential": _checked(form.get("sequential", "")),
        "price_cents": (
            parse_price(str(form.get("price", "")))
            if "price" in form
            else form.get("price_cents", 0) or 0
        ),
        "certificate_valid_days": days_raw or None,
        "prerequisite_ids": prereqs,
        "program_id": str(form.get("program_id", "") or "") or None,
    }
    return check_course_input(data)


def check_title(raw: str, *, label: str = "title", field_name: str = "title") -> str:
    """A title with its spaces collapsed: not empty, at most 200 characters."""
    value = " ".join((raw or "").split())
    if not value:
        raise ValidationFailed(f"Enter a {label}.", field=field_name)
    if len(value) > 200:
        raise ValidationFailed(
            f"The {label} is too long (at most 200 characters).", field=field_name
        )
    return value


def check_bounded(value: Any, *, low: int, high: int, field_name: str, message: str) -> int:
    """A whole number from `low` to `high` (`message` when outside)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Enter a whole number.", field=field_name) from exc
    if not low <= number <= high:
        raise ValidationFailed(message, field=field_name)
    return number


__all__ = [
    "LEVELS",
    "MAX_DESCRIPTION",
    "CourseInput",
    "check_bounded",
    "check_course_input",
    "check_title",
    "course_input_from_form",
    "parse_price",
]
