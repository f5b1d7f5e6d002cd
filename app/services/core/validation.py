"""Small input normalizers shared by services."""

from __future__ import annotations

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
