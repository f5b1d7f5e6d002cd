"""Isolation rows for stored files (`GET /files/org/...`): a file is read by what it belongs
to, so knowing its key (a certificate's serial is on the public verification page and in
its QR code) is never enough.

A has a published course shared down to its children, with a file lesson whose handout
holds A's secrets; A's learner is enrolled in it and holds a certificate of it; A also has a
fellow learner, enrolled in nothing, with no certificate. The attackers of `test_surfaces.py`
(the admin of an unrelated org B, the admin of C, a child org of A) try A's files by their
keys, and by keys that mix A's serial, course or file name with their own org or course.
Then the fellow member of A tries the learner's certificate and the course's media. Every
attempt gets the 404 of a missing file and nothing of A's. The controls: A's learner, A's
admin and an enrolled learner of A's child org get through, so the rows can fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.models.course import LessonKind
from app.models.user import Role
from app.services.infra import storage
from app.settings import get_settings
from tests import factories as f
from tests import file_factories as ff
from tests import learning_factories as lf
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    Scenario,
    Victim,
    _leaks,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)


@dataclass(frozen=True)
class Files:
    """A's files and who holds what."""

    victim: Victim
    fellow: f.SignedIn  # A's other learner: not enrolled, no certificate
    course: lf.CourseWorld  # A's, published and shared down
    handout: bytes
    handout_url: str  # the course's file lesson
    serial: str  # A's learner's certificate
    pdf_url: str  # `org/{A}/certificates/{serial}.pdf`

    @property
    def secrets(self) -> tuple[str, ...]:
        return (*self.victim.secrets, self.serial)


@pytest.fixture
def files(scenario: Scenario, tmp_path: Path, settings_env: Callable[..., None]) -> Files:  # noqa: F811
    """A's files, in a fresh local storage directory (after `scenario` reset the settings)."""
    settings_env(storage_dir=tmp_path / "files")
    v = scenario.victim
    fellow = f.invite_and_accept_member(v.admin.ctx, Role.learner)
    course = lf.published_course(v.admin.ctx, shared=True)
    handout = f"%PDF-1.7 {v.learner.email} {v.org_name}".encode()
    url = ff.lesson_file(v.admin.ctx, course, data=handout)
    lf.enrollment(v.learner.ctx, course)
    cert = ff.certificate(v.learner.ctx, lf.published_course(v.admin.ctx))
    return Files(
        victim=v,
        fellow=fellow,
        course=course,
        handout=handout,
        handout_url=url,
        serial=cert.serial,
        pdf_url=storage.public_url(cert.pdf_key),
    )


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False) as c:
        yield c


def _get(client: TestClient, who: f.SignedIn | None, url: str) -> httpx.Response:
    client.cookies.clear()
    if who is not None:
        client.cookies.set(get_settings().session_cookie_name, who.token)
    response: httpx.Response = client.get(url)
    return response


def _plant(key: str, data: bytes) -> str:
    """Put A's bytes under a key of the attacker's choosing (as if a copy existed there)."""
    storage.get_storage().put(key, data, "application/pdf")
    return storage.public_url(key)


def _own_course(who: f.SignedIn) -> lf.CourseWorld:
    return lf.published_course(who.ctx)


# Each row: the URL the attacker asks for, given A's files and the attacker.
Attempt = Callable[[Files, f.SignedIn], str]

ATTEMPTS: list[tuple[str, Attempt]] = [
    ("A's learner's certificate PDF by serial", lambda w, me: w.pdf_url),
    ("A's course's lesson file", lambda w, me: w.handout_url),
    (
        "A's serial under my org's prefix",
        lambda w, me: _plant(
            storage.private_key(me.org_id, "certificates", f"{w.serial}.pdf"), w.handout
        ),
    ),
    (
        "A's lesson file key under my org's prefix",
        lambda w, me: _plant(
            f"org/{me.org_id}/" + w.handout_url.removeprefix(f"/files/org/{w.course.org_id}/"),
            w.handout,
        ),
    ),
    (
        "my own course's id in A's prefix",
        lambda w, me: _plant(
            storage.private_key(
                w.course.org_id, "courses", str(_own_course(me).course_id), "handout.pdf"
            ),
            w.handout,
        ),
    ),
    (
        "A's course id, a file name of my choosing",
        lambda w, me: _plant(
            storage.private_key(
                w.course.org_id,
                "courses",
                str(w.course.course_id),
                "lessons",
                str(w.course.by_kind[LessonKind.file]),
                "mine.pdf",
            ),
            w.handout,
        ),
    ),
    (
        "an unknown family in A's prefix",
        lambda w, me: _plant(storage.private_key(w.course.org_id, "exports", "x.pdf"), w.handout),
    ),
]


def _assert_nothing(files: Files, response: httpx.Response, label: str) -> None:
    assert response.status_code == 404, (label, response.status_code)
    assert response.json()["error"]["code"] == "not_found", label
    assert response.headers["cache-control"] == "no-store", label
    assert "location" not in response.headers, label
    text = repr((response.text, dict(response.headers)))
    assert not [s for s in files.secrets if s in text], label
    assert not _leaks(files.victim, text) and b"%PDF" not in response.content, label


@pytest.mark.parametrize(("name", "attempt"), ATTEMPTS, ids=[n for n, _ in ATTEMPTS])
def test_file_route_gives_attacker_nothing(
    scenario: Scenario,  # noqa: F811
    files: Files,
    client: TestClient,
    name: str,
    attempt: Attempt,
) -> None:
    url = attempt(files, scenario.attacker)
    missing = _get(client, scenario.attacker, url + ".missing")
    response = _get(client, scenario.attacker, url)
    _assert_nothing(files, response, name)
    assert response.json() == missing.json(), name


def test_a_fellow_member_of_a_gets_neither_the_certificate_nor_the_course_s_media(
    files: Files, client: TestClient
) -> None:
    for url in (files.pdf_url, files.handout_url):
        _assert_nothing(files, _get(client, files.fellow, url), f"fellow learner: {url}")
        _assert_nothing(files, _get(client, None, url), f"anonymous: {url}")


def test_owner_control(files: Files, client: TestClient) -> None:
    """A's learner reads both files, A's admin both, the fellow learner once enrolled the
    media, and a learner of A's child org enrolled in the shared course the media."""
    v = files.victim
    for who in (v.learner, v.admin):
        pdf = _get(client, who, files.pdf_url)
        assert pdf.status_code == 200 and files.serial.encode() in pdf.content, who.email
        assert _get(client, who, files.handout_url).content == files.handout, who.email
    lf.enrollment(files.fellow.ctx, files.course)
    assert _get(client, files.fellow, files.handout_url).content == files.handout
    below = f.invite_and_accept_member(v.admin.ctx, Role.learner, org_id=v.child_id)
    _assert_nothing(files, _get(client, below, files.handout_url), "child learner, not enrolled")
    lf.enrollment(below.ctx, files.course)
    assert _get(client, below, files.handout_url).content == files.handout
    _assert_nothing(files, _get(client, below, files.pdf_url), "child learner: A's certificate")


def test_the_attacker_reads_its_own_course_s_media_and_still_not_a_s(
    scenario: Scenario,  # noqa: F811
    files: Files,
    client: TestClient,
) -> None:
    """The attacker's own course works for them (so the refusals above are not a route that
    refuses everyone), while A's stays shut."""
    me = scenario.attacker
    mine = _own_course(me)
    data = f"mine {uuid.uuid4().hex}".encode()
    url = ff.lesson_file(me.ctx, mine, data=data)
    assert _get(client, me, url).content == data
    _assert_nothing(files, _get(client, me, files.handout_url), "A's media")
