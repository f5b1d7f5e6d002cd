"""Pydantic validation errors as a `ValidationFailed` naming the field, in plain words."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.services.core.errors import ValidationFailed


def _human(err: ErrorDetails) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        message = str(ctx.get("error", err.get("msg", "")))
        return message.split(": ", 1)[1] if message.startswith("sources: ") else message
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number, or leave it empty for no limit."
    if kind == "greater_than_equal":
        return f"Enter {ctx.get('ge', 0)} or more."
    if kind in ("bool_parsing", "bool_type"):
        return "Choose on or off."
    if kind in ("list_type",):
        return "Choose from the list."
    if kind == "literal_error":
        return f"Choose one of: {ctx.get('expected', '')}."
    if kind in ("string_type",):
        return "Enter text."
    return str(err.get("msg", "This value is not valid."))


def validation_failed(exc: ValidationError, section: str | None = None) -> ValidationFailed:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    if section is not None:
        loc = [section, *loc]
    message = str((err.get("ctx") or {}).get("error", ""))
    if len(loc) == 1 and message.startswith("sources: "):
        loc.append("sources")  # the funding model's cross-field rule is about `sources`
    return ValidationFailed(_human(err), field=".".join(loc[:2]) or None)
