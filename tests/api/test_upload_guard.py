"""The guard in front of Reflex's `POST /_upload`: who may upload, which handler, how much.

Reflex (and Starlette's form parser) spool an upload body to disk before any handler runs,
so the guard must decide from the headers alone and count the bytes as they arrive. These
tests drive the ASGI app directly, chunk by chunk (a `TestClient` reads the whole body up
front), with a stand-in for Reflex's upload route mounted where Reflex mounts itself.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
from reflex_base.event import resolve_upload_chunk_handler_param, resolve_upload_handler_param
from reflex_base.registry import RegistrationContext
from reflex_base.utils.exceptions import UploadTypeError, UploadValueError
from starlette.applications import Starlette

from app.api import upload_guard
from app.api.routes import build_api
from app.services.authoring import media
from app.services.infra.storage import MAX_LOGO_BYTES
from app.services.people import auth
from app.settings import get_settings
from app.state import uploads
from app.state.members import MembersState
from app.state.settings import SettingsState
from app.state.teach_editor import TeachEditorState
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")

ORIGIN = "http://localhost:3000"
CHUNK = 64 * 1024
LOGO = uploads.handler_name(SettingsState.upload_logo)
MEDIA = uploads.handler_name(TeachEditorState.upload_media)


# --------------------------------------------------------------------------- the harness


@dataclass
class FakeUploadRoute:
    """Stands in for Reflex's upload route: reads the whole body, then answers 200.

    `hold` (when set) keeps it from answering until the event fires (an upload in flight).
    """

    hold: anyio.Event | None = None
    calls: int = 0
    body: bytearray = field(default_factory=bytearray)
    disconnected: bool = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if self.hold is not None:
            await self.hold.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})


@dataclass
class Answer:
    """What the client saw, and how many body messages the app pulled from it."""

    status: int
    body: bytes
    pulled: int

    def json(self) -> Any:
        return json.loads(self.body)


def _app(route: FakeUploadRoute) -> Starlette:
    api = build_api()
    api.mount("", route)  # as Reflex does: our routes first, then the whole Reflex app
    return api


def _headers(
    *,
    token: str | None,
    handler: str | None = LOGO,
    length: int | None = None,
    origin: str | None = ORIGIN,
) -> list[tuple[bytes, bytes]]:
    headers = {"host": "localhost:3000", "content-type": "multipart/form-data; boundary=x"}
    if token is not None:
        headers["cookie"] = f"{get_settings().session_cookie_name}={token}"
    if handler is not None:
        headers["reflex-event-handler"] = handler
        headers["reflex-client-token"] = "some-tab-token"
    if length is not None:
        headers["content-length"] = str(length)
    if origin is not None:
        headers["origin"] = origin
    return [(k.encode(), v.encode()) for k, v in headers.items()]


async def _post(
    app: Starlette,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    *,
    path: str = "/_upload",
    method: str = "POST",
) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (f.IP, 50000),
        "server": ("localhost", 3000),
    }
    pulled = 0
    done = anyio.Event()
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        if pulled < len(chunks):
            pulled += 1
            return {
                "type": "http.request",
                "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks),
            }
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            assert not status, "a second response was started"
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return Answer(status=status, body=bytes(body), pulled=pulled)


def _run(fn: Callable[[], Any]) -> Any:
    return anyio.run(fn)


def _assert_error(answer: Answer, status: int, code: str) -> None:
    assert answer.status == status, answer.body
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["field"] is None


# --------------------------------------------------------------------------- who


def test_no_cookie_is_401_before_a_single_body_byte_is_read() -> None:
    route = FakeUploadRoute()
    answer = _run(
        lambda: _post(_app(route), _headers(token=None, length=2_000_000_000), [b"x" * CHUNK] * 4)
    )
    _assert_error(answer, 401, "unauthenticated")
    assert answer.pulled == 0
    assert route.calls == 0 and not route.body


def test_a_forged_or_revoked_cookie_is_401_unread() -> None:
    route = FakeUploadRoute()
    answer = _run(lambda: _post(_app(route), _headers(token="forged"), [b"x" * CHUNK]))
    _assert_error(answer, 401, "unauthenticated")
    assert answer.pulled == 0 and route.calls == 0


def test_the_session_is_resolved_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = f.new_admin()
    threads: list[threading.Thread] = []
    real = auth.resolve

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(auth, "resolve", spy)
    route = FakeUploadRoute()
    answer = _run(lambda: _post(_app(route), _headers(token=admin.token), [b"logo"]))
    assert answer.status == 200
    assert threads and all(t is not threading.main_thread() for t in threads)


# --------------------------------------------------------------------------- which handler


def test_an_unknown_handler_is_400_json() -> None:
    admin = f.new_admin()
    route = FakeUploadRoute()
    answer = _run(
        lambda: _post(_app(route), _headers(token=admin.token, handler="state.nope"), [b"x"])
    )
    _assert_error(answer, 400, "invalid")
    assert answer.pulled == 0 and route.calls == 0


@pytest.mark.parametrize(
    "handler",
    [SettingsState.load, TeachEditorState.set_upload_progress, MembersState.confirm_import],
    ids=["load", "set_upload_progress", "confirm_import"],
)
def test_a_handler_that_takes_no_upload_is_400_json(handler: Any) -> None:
    """Reflex itself answers a bare 500 for these (the handler has no file argument)."""
    admin = f.new_admin()
    name = uploads.handler_name(handler)
    assert name in RegistrationContext.get().event_handlers  # a real handler, not a typo
    route = FakeUploadRoute()
    answer = _run(lambda: _post(_app(route), _headers(token=admin.token, handler=name), [b"x"]))
    _assert_error(answer, 400, "invalid")
    assert answer.pulled == 0 and route.calls == 0


def test_missing_upload_headers_are_400_json() -> None:
    admin = f.new_admin()
    route = FakeUploadRoute()
    answer = _run(lambda: _post(_app(route), _headers(token=admin.token, handler=None), [b"x"]))
    _assert_error(answer, 400, "invalid")
    assert route.calls == 0


# --------------------------------------------------------------------------- how much


def test_an_oversized_content_length_is_413_unread() -> None:
    admin = f.new_admin()
    route = FakeUploadRoute()
    too_big = MAX_LOGO_BYTES + upload_guard.MULTIPART_SLACK + 1
    answer = _run(
        lambda: _post(_app(route), _headers(token=admin.token, length=too_big), [b"x" * CHUNK])
    )
    _assert_error(answer, 413, "invalid")
    assert answer.pulled == 0 and route.calls == 0


def test_an_unparsable_content_length_is_400() -> None:
    admin = f.new_admin()
    route = FakeUploadRoute()
    headers = [*_headers(token=admin.token), (b"content-length", b"lots")]
    answer = _run(lambda: _post(_app(route), headers, [b"x"]))
    _assert_error(answer, 400, "invalid")
    assert answer.pulled == 0 and route.calls == 0


@pytest.mark.parametrize("declared", [None, 1000], ids=["chunked", "lying-content-length"])
def test_a_body_over_the_limit_is_cut_off_at_the_limit(
    settings_env: Callable[..., None], declared: int | None
) -> None:
    settings_env(max_video_mb=1, max_file_mb=1)
    admin = f.new_admin()
    allowed = 1024 * 1024 + upload_guard.MULTIPART_SLACK
    route = FakeUploadRoute()
    chunks = [b"v" * CHUNK] * 40  # 2.5 MiB
    answer = _run(
        lambda: _post(
            _app(route), _headers(token=admin.token, handler=MEDIA, length=declared), chunks
        )
    )
    _assert_error(answer, 413, "invalid")
    assert len(route.body) <= allowed  # the chunk that crossed the limit was withheld
    assert answer.pulled <= allowed // CHUNK + 1  # and nothing was read after it
    assert route.disconnected  # Reflex's parser sees the client go away and stops


def test_the_limit_follows_the_settings_for_lesson_media(
    settings_env: Callable[..., None],
) -> None:
    settings_env(max_video_mb=3, max_file_mb=7)
    assert uploads.upload_limit(MEDIA) == 7 * media.MB
    assert uploads.upload_limit(LOGO) == MAX_LOGO_BYTES


def test_a_good_upload_reaches_reflex_whole() -> None:
    admin = f.new_admin()
    route = FakeUploadRoute()
    chunks = [b"a" * CHUNK, b"b" * CHUNK, b"c" * 100]
    length = sum(map(len, chunks))
    answer = _run(lambda: _post(_app(route), _headers(token=admin.token, length=length), chunks))
    assert answer.status == 200, answer.body
    assert bytes(route.body) == b"".join(chunks)


def test_a_large_video_under_the_limit_streams_through(
    settings_env: Callable[..., None],
) -> None:
    settings_env(max_video_mb=1, max_file_mb=1)
    admin = f.new_admin()
    route = FakeUploadRoute()
    chunks = [b"v" * CHUNK] * 16  # exactly 1 MiB of file plus no overhead
    answer = _run(lambda: _post(_app(route), _headers(token=admin.token, handler=MEDIA), chunks))
    assert answer.status == 200, answer.body
    assert len(route.body) == 16 * CHUNK


# --------------------------------------------------------------------------- how many at once


def test_a_session_has_at_most_two_uploads_in_flight() -> None:
    admin = f.new_admin()
    other = f.new_admin()
    hold = anyio.Event()
    route = FakeUploadRoute(hold=hold)
    app = _app(route)
    answers: list[Answer] = []

    async def upload(token: str) -> None:
        answers.append(await _post(app, _headers(token=token), [b"logo"]))

    async def main() -> tuple[Answer, Answer]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(upload, admin.token)
            tg.start_soon(upload, admin.token)
            with anyio.fail_after(10):
                while route.calls < 2:
                    await anyio.sleep(0.01)
            with anyio.fail_after(10):  # refused at once, not held like the other two
                third = await _post(app, _headers(token=admin.token), [b"logo"])
            hold.set()
        fourth = await _post(app, _headers(token=admin.token), [b"logo"])
        return third, fourth

    third, fourth = _run(main)
    _assert_error(third, 429, "rate_limited")
    assert third.pulled == 0
    assert [a.status for a in answers] == [200, 200]
    assert fourth.status == 200  # the slots are given back when an upload ends

    # Another session has its own slots: with mine both taken, its upload still gets in.
    hold2 = anyio.Event()
    route2 = FakeUploadRoute(hold=hold2)
    app2 = _app(route2)
    statuses: list[int] = []

    async def upload2(token: str) -> None:
        statuses.append((await _post(app2, _headers(token=token), [b"logo"])).status)

    async def parallel() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(upload2, admin.token)
            tg.start_soon(upload2, admin.token)
            tg.start_soon(upload2, other.token)
            with anyio.fail_after(10):
                while route2.calls < 3:
                    await anyio.sleep(0.01)
            hold2.set()

    _run(parallel)
    assert statuses == [200, 200, 200]


def test_a_refused_upload_gives_its_slot_back() -> None:
    admin = f.new_admin()
    too_big = MAX_LOGO_BYTES + upload_guard.MULTIPART_SLACK + 1
    route = FakeUploadRoute()
    app = _app(route)

    async def main() -> tuple[list[int], Answer]:
        cut = [
            (await _post(app, _headers(token=admin.token), [b"x" * CHUNK] * chunks)).status
            for _ in range(3)
        ]
        return cut, await _post(app, _headers(token=admin.token), [b"logo"])

    chunks = too_big // CHUNK + 2
    cut, last = _run(main)
    assert cut == [413, 413, 413]
    assert last.status == 200


# --------------------------------------------------------------------------- what it leaves alone


def test_reading_uploaded_files_is_not_guarded() -> None:
    """`GET /_upload/<name>` is Reflex's static upload directory: no body, no check here."""
    route = FakeUploadRoute()
    answer = _run(
        lambda: _post(_app(route), _headers(token=None), [b""], path="/_upload/x.png", method="GET")
    )
    assert answer.status == 200 and route.calls == 1


# --------------------------------------------------------------------------- the allow-list


def _takes_upload(handler: Any) -> bool:
    try:
        resolve_upload_handler_param(handler)
        return True
    except (UploadTypeError, UploadValueError):
        pass
    try:
        resolve_upload_chunk_handler_param(handler)
        return True
    except (UploadTypeError, UploadValueError):
        return False


def test_the_allow_list_names_handlers_exactly_as_reflex_registers_them() -> None:
    registered = RegistrationContext.get().event_handlers
    names = uploads.upload_handler_names()
    assert names == {
        uploads.handler_name(MembersState.upload_members_csv),
        uploads.handler_name(SettingsState.upload_logo),
        uploads.handler_name(TeachEditorState.upload_cover),
        uploads.handler_name(TeachEditorState.upload_media),
    }
    for name in names:
        assert name in registered, name
        assert _takes_upload(registered[name].handler), name
        assert uploads.upload_limit(name) > 0


def test_every_upload_handler_of_the_app_is_on_the_allow_list() -> None:
    """A new upload handler without an entry would be refused (400): this says so first."""
    import app.app  # noqa: F401  (registers every page's state)

    takes_upload = {
        name
        for name, registered in RegistrationContext.get().event_handlers.items()
        if _takes_upload(registered.handler)
    }
    assert takes_upload == uploads.upload_handler_names()
