"""Small input normalizers shared by services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from email_validator import EmailNotValidError, validate_email

from app.services.core.errors import ValidationFailed


def normalize_email(raw: str, *, field: str = "email") -> str:
    """A syntactically valid, lower-cased email address, or `ValidationFailed`."""
    value = (raw or "").strip()
    if not value:
        raise ValidationFailed("Enter an email address.", field=field)
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(f"That email address is not valid: {exc}", field=field) from exc
    return result.normalized.lower()


def clean_text(raw: str, *, field: str, label: str, max_length: int, min_length: int = 1) -> str:
    """Trimmed text within length bounds, with collapsed inner whitespace."""
    value = " ".join((raw or "").split())
    if len(value) < min_length:
        raise ValidationFailed(f"Enter {label}.", field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            f"{label.capitalize()} is too long (at most {max_length}).", field=field
        )
    return value


DAY_FORMAT_HINT = "Dates look like 2026-01-31."


def _day(raw: str, *, field: str) -> datetime | None:
    """`YYYY-MM-DD` as midnight UTC; empty is None; anything else is `ValidationFailed`."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed(DAY_FORMAT_HINT, field=field) from None


def day_range(since: str, until: str) -> tuple[datetime | None, datetime | None]:
    """A from/until pair of `YYYY-MM-DD` days as (start, end) in UTC, for `since <= t < end`.

    `since` is midnight at the start of its day. `until` is inclusive: the end is midnight
    after it, so the whole of that day is in the range. An empty day is None (no bound). A
    day that is not a date is `ValidationFailed` with field "since" or "until".
    """
    start = _day(since, field="since")
    last = _day(until, field="until")
    return start, last + timedelta(days=1) if last else None
