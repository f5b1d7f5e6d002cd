"""`GET /files/{key}`: public logos for anyone; private files (lesson media, certificate
PDFs) only for who may read what they belong to (the rules themselves: test_file_access.py),
with the same headers, Range support and S3 redirects as before."""

from __future__ import annotations

import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from app.api import files
from app.models.course import LessonKind
from app.models.user import Role
from app.services.infra import storage
from app.settings import get_settings
from tests import factories as f
from tests import file_factories as ff
from tests import learning_factories as lf
from tests.api.helpers import as_user
from tests.conftest import Backend
from tests.services.infra.test_storage import PNG, new_s3_storage, s3_test_url

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def local_store(tmp_path: Path, settings_env: Callable[..., None]) -> storage.LocalStorage:
    """The app's storage is a fresh local directory for this test."""
    settings_env(storage_dir=tmp_path / "files")
    store = storage.get_storage()
    assert isinstance(store, storage.LocalStorage)
    return store


@pytest.fixture
def s3_store(settings_env: Callable[..., None]) -> storage.S3Storage:
    """The app's storage is a fresh bucket on the S3 test server."""
    url = s3_test_url()
    bucket = new_s3_storage(url).bucket
    settings_env(s3_bucket=bucket, s3_endpoint_url=url, s3_access_key="t", s3_secret_key="t")
    store = storage.get_storage()
    assert isinstance(store, storage.S3Storage)
    return store


def _assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    assert response.headers["cache-control"] == "no-store"


# --------------------------------------------------------------------------- local storage


def test_public_logo_is_served_to_anyone(
    backend: Backend, local_store: storage.LocalStorage, client: TestClient
) -> None:
    key = storage.public_key(uuid.uuid4(), "branding/logo.png")
    local_store.put(key, PNG, "image/png")
    response = as_user(client, None).get(storage.public_url(key))
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"].startswith("public")
    assert "content-disposition" not in response.headers


def test_private_file_only_for_who_may_read_it(
    backend: Backend, local_store: storage.LocalStorage, client: TestClient
) -> None:
    t = f.two_tenants()
    learner = f.invite_and_accept_member(t.a.ctx, Role.learner)
    classmate = f.invite_and_accept_member(t.a.ctx, Role.learner)  # in A, not enrolled
    course = lf.published_course(t.a.ctx)
    url = ff.lesson_file(t.a.ctx, course, data=b"%PDF-1.7 A's handout")
    lf.enrollment(learner.ctx, course)

    for who in (t.a, learner):
        response = as_user(client, who).get(url)
        assert response.status_code == 200, who.email
        assert response.content == b"%PDF-1.7 A's handout"
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["x-content-type-options"] == "nosniff"

    _assert_not_found(as_user(client, t.b).get(url))  # B's admin: as if it did not exist
    _assert_not_found(as_user(client, classmate).get(url))  # A's member, but not in the course
    _assert_not_found(as_user(client, None).get(url))  # anonymous
    client.cookies.set(get_settings().session_cookie_name, "forged-token")
    _assert_not_found(client.get(url))
    _assert_not_found(as_user(client, t.a).get(url + ".missing"))


def test_parent_admin_reads_the_subtree_s_certificates_child_admin_not_the_parent_s(
    backend: Backend, local_store: storage.LocalStorage, client: TestClient
) -> None:
    a = f.new_admin()
    child = f.child_org(a.ctx)
    a = f.refresh(a)
    child_admin = f.invite_and_accept_member(a.ctx, Role.org_admin, org_id=child.id)
    parent_learner = f.invite_and_accept_member(a.ctx, Role.learner)
    child_learner = f.invite_and_accept_member(a.ctx, Role.learner, org_id=child.id)
    course = lf.published_course(a.ctx, shared=True)
    parent_pdf = storage.public_url(ff.certificate(parent_learner.ctx, course).pdf_key)
    child_pdf = storage.public_url(ff.certificate(child_learner.ctx, course).pdf_key)

    # certificate managers of the child's org and of the orgs above it (as `pdf_for` allows)
    assert as_user(client, a).get(child_pdf).content.startswith(b"%PDF")
    assert as_user(client, child_admin).get(child_pdf).content.startswith(b"%PDF")
    _assert_not_found(as_user(client, child_admin).get(parent_pdf))


@pytest.mark.parametrize(
    "path",
    [
        "/files/org/{a}/../../etc/passwd",
        "/files/org/{a}/%2e%2e/%2e%2e/etc/passwd",
        "/files/public/org/{a}/..%2f..%2forg%2f{a}%2fsecret.txt",
        "/files/org/{a}%5csecret.txt",
        "/files/org/{a}//secret.txt",
        "/files/objects/org/{a}/secret.txt",
        "/files/meta/org/{a}/secret.txt",
        "/files/",
        "/files/etc/passwd",
    ],
)
def test_traversal_and_odd_keys_are_refused(
    backend: Backend, local_store: storage.LocalStorage, client: TestClient, path: str
) -> None:
    a = f.new_admin()
    local_store.put(storage.private_key(a.org_id, "secret.txt"), b"top secret", "text/plain")
    response = as_user(client, a).get(path.format(a=a.org_id))
    assert response.status_code == 404
    assert b"top secret" not in response.content


def test_active_content_is_a_sandboxed_download(
    backend: Backend, local_store: storage.LocalStorage, client: TestClient
) -> None:
    a = f.new_admin()
    course = lf.published_course(a.ctx)
    url = ff.lesson_file(
        a.ctx,
        course,
        data=b"<script>alert(document.cookie)</script>",
        content_type="text/html",
        name="page.html",
    )
    response = as_user(client, a).get(url)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="{url.rsplit("/", 1)[-1]}"'
    )
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_range_requests_work_for_video(
    backend: Backend, local_store: storage.LocalStorage, client: TestClient
) -> None:
    a = f.new_admin()
    learner = f.invite_and_accept_member(a.ctx, Role.learner)
    course = lf.published_course(a.ctx)
    lf.enrollment(learner.ctx, course)
    url = ff.lesson_file(
        a.ctx,
        course,
        kind=LessonKind.video,
        data=bytes(range(100)),
        content_type="video/mp4",
        name="lesson.mp4",
    )
    for who in (a, learner):
        response = as_user(client, who).get(url, headers={"Range": "bytes=10-19"})
        assert response.status_code == 206
        assert response.content == bytes(range(10, 20))


# --------------------------------------------------------------------------- S3


def test_s3_private_file_redirects_to_a_presigned_url_for_who_may_read_it_only(
    backend: Backend, s3_store: storage.S3Storage, client: TestClient
) -> None:
    t = f.two_tenants()
    learner = f.invite_and_accept_member(t.a.ctx, Role.learner)
    classmate = f.invite_and_accept_member(t.a.ctx, Role.learner)
    course = lf.published_course(t.a.ctx)
    lf.enrollment(learner.ctx, course)
    url = ff.lesson_file(
        t.a.ctx,
        course,
        kind=LessonKind.video,
        data=b"A's video bytes",
        content_type="video/mp4",
        name="clip.mp4",
    )

    response = as_user(client, learner).get(url)
    assert response.status_code == 307
    assert response.headers["cache-control"] == "private, no-store"
    location = response.headers["location"]
    assert location.startswith(s3_test_url()) and "X-Amz-Signature" in location
    fetched = httpx.get(location)
    assert fetched.content == b"A's video bytes"
    assert fetched.headers["content-type"] == "video/mp4"

    for who in (t.b, classmate, None):
        denied = as_user(client, who).get(url)
        _assert_not_found(denied)
        assert "location" not in denied.headers
    _assert_not_found(as_user(client, t.a).get(url + ".missing"))


def test_s3_public_logo_is_streamed(
    backend: Backend, s3_store: storage.S3Storage, client: TestClient
) -> None:
    key = storage.public_key(uuid.uuid4(), "logo.png")
    s3_store.put(key, PNG, "image/png")
    response = as_user(client, None).get(storage.public_url(key))
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"].startswith("public")
    _assert_not_found(client.get(storage.public_url(key) + "x"))


def test_s3_proxy_mode_streams_private_files(
    backend: Backend,
    s3_store: storage.S3Storage,
    client: TestClient,
    settings_env: Callable[..., None],
) -> None:
    settings_env(s3_proxy_downloads="true")
    t = f.two_tenants()
    classmate = f.invite_and_accept_member(t.a.ctx, Role.learner)
    course = lf.published_course(t.a.ctx)
    url = ff.lesson_file(t.a.ctx, course, data=b"A's notes", content_type="text/plain")
    response = as_user(client, t.a).get(url)
    assert response.status_code == 200
    assert response.content == b"A's notes"
    assert "location" not in response.headers
    for who in (t.b, classmate):
        _assert_not_found(as_user(client, who).get(url))


def test_s3_proxied_files_stream_in_chunks_and_never_whole(
    backend: Backend,
    s3_store: storage.S3Storage,
    client: TestClient,
    settings_env: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings_env(s3_proxy_downloads="true")
    a = f.new_admin()
    course = lf.published_course(a.ctx)
    url = ff.lesson_file(
        a.ctx, course, kind=LessonKind.video, content_type="video/mp4", name="lecture.mp4"
    )
    size = 48 * 1024 * 1024
    big = tmp_path / "lecture.mp4"
    with big.open("wb") as fh:
        fh.truncate(size)  # sparse: the test holds none of it
    s3_store.put_file(url.removeprefix("/files/"), big, "video/mp4")

    def whole_read(*_args: object) -> None:
        raise AssertionError("a served file was read whole")

    monkeypatch.setattr(storage.S3Storage, "get", whole_read)
    received, largest = 0, 0
    tracemalloc.start()
    try:
        with as_user(client, a).stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == str(size)
            assert response.headers["content-type"] == "video/mp4"
            assert response.headers["cache-control"] == "private, no-store"
            for chunk in response.iter_raw():
                received += len(chunk)
                largest = max(largest, len(chunk))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size and largest <= files.STREAM_CHUNK
    assert peak < size // 8, f"serving {size >> 20} MB took {peak >> 20} MB"

    head = as_user(client, a).head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(size)
    _assert_not_found(as_user(client, f.new_admin()).get(url))  # authorization as before


def test_a_shared_course_s_media_reaches_the_child_org_and_nothing_else_of_the_parent(
    backend: Backend, local_store: storage.LocalStorage, client: TestClient
) -> None:
    a = f.new_admin()
    child = f.child_org(a.ctx)
    a = f.refresh(a)
    learner = f.invite_and_accept_member(a.ctx, Role.learner, org_id=child.id)
    parent_learner = f.invite_and_accept_member(a.ctx, Role.learner)
    shared = lf.published_course(a.ctx, shared=True)
    unshared = lf.published_course(a.ctx, shared=False)
    draft = lf.published_course(a.ctx, shared=True, status="draft")

    def media(course: lf.CourseWorld) -> str:
        lf.enrollment(learner.ctx, course)
        return ff.lesson_file(
            a.ctx,
            course,
            kind=LessonKind.video,
            data=b"\x1a\x45\xdf\xa3 video",
            content_type="video/webm",
            name="v.webm",
        )

    shared_url = media(shared)
    assert as_user(client, learner).get(shared_url).status_code == 200
    _assert_not_found(as_user(client, learner).get(media(unshared)))
    _assert_not_found(as_user(client, learner).get(media(draft)))
    other_file = storage.private_key(a.org_id, "report.csv")
    local_store.put(other_file, b"parent", "text/csv")
    _assert_not_found(as_user(client, learner).get(storage.public_url(other_file)))
    parent_pdf = ff.certificate(parent_learner.ctx, shared).pdf_key
    _assert_not_found(as_user(client, learner).get(storage.public_url(parent_pdf)))
    outsider = f.new_admin()
    _assert_not_found(as_user(client, outsider).get(shared_url))
