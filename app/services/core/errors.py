"""The errors services raise; UI and HTTP layers turn them into messages and JSON."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """A refusal the user should see: a code, a human message and, for forms, the field."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_json(self) -> dict[str, Any]:
        """The one error shape of the HTTP surface."""
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class NotFound(ServiceError):
    """Missing and forbidden look the same, so ids of other tenants reveal nothing."""

    code = "not_found"

    def __init__(self, message: str = "Not found.", *, field: str | None = None) -> None:
        super().__init__(message, field=field)


class PermissionDenied(ServiceError):
    """The user's role does not allow this action."""

    code = "forbidden"

    def __init__(
        self, message: str = "You are not allowed to do that.", *, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)


class ValidationFailed(ServiceError):
    """Input that cannot be accepted as it is."""

    code = "invalid"


class Conflict(ServiceError):
    """The input clashes with something that exists (a duplicate, a used token)."""

    code = "conflict"


class LimitReached(ServiceError):
    """An org config limit (seats, programs) would be exceeded."""

    code = "limit_reached"


class RateLimited(ServiceError):
    """Too many attempts; try again later."""

    code = "rate_limited"


class Unauthenticated(ServiceError):
    """No valid session."""

    code = "unauthenticated"

    def __init__(self, message: str = "Please sign in.", *, field: str | None = None) -> None:
        super().__init__(message, field=field)
