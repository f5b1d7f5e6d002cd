"""The upload handlers `POST /_upload` may name, each with the largest file it accepts.

Reflex's upload route runs any registered handler the `Reflex-Event-Handler` header names,
after its body is already on disk; the guard in front of it (`app.api.upload_guard`)
accepts only the handlers listed here and cuts a body off at the handler's limit. Add a new
upload handler here, or the guard refuses it (a test lists every upload handler of the app).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from reflex_base.event import EventHandler
from reflex_base.utils.format import format_event_handler

from app.models.course import LessonKind
from app.services.authoring import media
from app.services.infra.storage import MAX_LOGO_BYTES
from app.services.people import member_csv
from app.state.members import MembersState
from app.state.settings import SettingsState
from app.state.teach_editor import TeachEditorState


def _lesson_media_limit() -> int:
    # One handler takes both file and video lessons; it applies the lesson's own limit.
    return max(media.limit_bytes(LessonKind.video), media.limit_bytes(LessonKind.file))


# Functions, not figures: the lesson limits come from the settings, read per request.
UPLOAD_LIMITS: dict[EventHandler, Callable[[], int]] = {
    MembersState.upload_members_csv: lambda: member_csv.MAX_BYTES,
    SettingsState.upload_logo: lambda: MAX_LOGO_BYTES,
    TeachEditorState.upload_cover: lambda: media.MAX_COVER_BYTES,
    TeachEditorState.upload_media: _lesson_media_limit,
}


def handler_name(handler: EventHandler) -> str:
    """The handler's full name, as Reflex registers it and the browser sends it."""
    return format_event_handler(handler)


@cache
def _by_name() -> dict[str, Callable[[], int]]:
    return {handler_name(handler): limit for handler, limit in UPLOAD_LIMITS.items()}


def upload_handler_names() -> set[str]:
    """The names of every allowed upload handler."""
    return set(_by_name())


def upload_limit(name: str) -> int | None:
    """The largest file (bytes) handler `name` accepts, or None if it takes no upload."""
    limit = _by_name().get(name)
    return limit() if limit is not None else None
