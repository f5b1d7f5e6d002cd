"""The storage interface: the same tests on a local directory and on a real S3 server.

S3 runs against `moto_server` (started by `scripts/testenv.sh`, `GUILDHALL_TEST_S3_URL`);
without it the S3 cases are skipped locally and fail under `CI=true`, like PostgreSQL.
Each S3 test gets its own bucket, so tests never see each other's objects.

Big files: `put_file` and `stream` must cost constant memory. That is measured in a process of
its own (`storage_memory_probe.py`, peak RSS before and after storing a 96 MB sparse file), so
nothing else the test run allocates blurs the figure.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.services.core.errors import NotFound, ValidationFailed
from app.services.infra import storage
from app.services.infra.storage import LocalStorage, S3Storage, Storage

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8


def s3_test_url() -> str:
    """The moto server's URL, or skip (locally) / fail (CI) with a clear message."""
    url = os.environ.get("GUILDHALL_TEST_S3_URL")
    if not url:
        message = (
            "S3 test server not configured (GUILDHALL_TEST_S3_URL unset). Run `make test`, "
            "or `bash scripts/testenv.sh start /tmp/tenv && source /tmp/tenv/env` first."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return url


def new_s3_storage(url: str) -> S3Storage:
    """An S3Storage on a fresh bucket of the test server (created here: tests only)."""
    store = S3Storage(
        f"gh-test-{uuid.uuid4().hex[:16]}",
        endpoint_url=url,
        region="us-east-1",
        credentials=("testing", "testing"),
    )
    store.ensure_bucket()
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each implementation in turn."""
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    return new_s3_storage(s3_test_url())


def _key(name: str = "doc.pdf") -> str:
    return storage.private_key(uuid.uuid4(), "lessons", name)


MB = 1024 * 1024
REPO_ROOT = Path(__file__).resolve().parents[3]


def _pattern(size: int) -> bytes:
    """`size` bytes that are not all alike, so a misplaced chunk would show."""
    block = hashlib.sha256(b"guildhall").digest() * 4096  # 128 KiB
    return (block * (size // len(block) + 1))[:size]


def _read_all(store: Storage, key: str) -> bytes:
    with store.stream(key) as stream:
        return b"".join(stream)


# --------------------------------------------------------------------------- the interface


def test_put_then_get_returns_bytes_and_type(store: Storage) -> None:
    key = _key()
    store.put(key, b"%PDF-1.7 hello", "application/pdf")
    assert store.get(key) == (b"%PDF-1.7 hello", "application/pdf")
    assert store.exists(key)


def test_every_byte_value_survives(store: Storage) -> None:
    key = _key("blob.bin")
    data = bytes(range(256)) * 40
    store.put(key, data, "application/octet-stream")
    assert store.get(key)[0] == data


def test_put_replaces(store: Storage) -> None:
    key = storage.public_key(uuid.uuid4(), "logo.png")
    store.put(key, PNG, "image/png")
    store.put(key, JPEG, "image/jpeg")
    assert store.get(key) == (JPEG, "image/jpeg")


def test_missing_key_is_not_found(store: Storage) -> None:
    key = _key("never-written.pdf")
    assert not store.exists(key)
    with pytest.raises(NotFound):
        store.get(key)


def test_delete_removes_and_is_idempotent(store: Storage) -> None:
    key = _key()
    store.put(key, b"x", "text/plain")
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(NotFound):
        store.get(key)
    store.delete(key)  # again: no error


def test_keys_with_shared_prefixes_stay_apart(store: Storage) -> None:
    org = uuid.uuid4()
    a, b = storage.private_key(org, "a"), storage.private_key(org, "a", "b")
    store.put(b, b"inner", "text/plain")
    assert not store.exists(a)
    assert store.get(b)[0] == b"inner"


def test_empty_content_type_defaults(store: Storage) -> None:
    key = _key("thing")
    store.put(key, b"x", "")
    assert store.get(key)[1] == storage.DEFAULT_CONTENT_TYPE


BAD_KEYS = [
    "",
    "../etc/passwd",
    "org/../../etc/passwd",
    "org/a/..",
    "/etc/passwd",
    "org\\a\\b",
    "org//a",
    "org/./a",
    "org/a/",
    "org/a b",
    "org/\x00a",
    "x" * 2000,
]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_unsafe_keys_are_refused_everywhere(store: Storage, key: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.put(key, b"x", "text/plain"),
        lambda: store.put_file(key, io.BytesIO(b"x"), "text/plain"),
        lambda: store.get(key),
        lambda: store.stream(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.presigned_get(key, 60),
    ]
    for call in calls:
        with pytest.raises(ValidationFailed):
            call()


def test_presigned_get(store: Storage) -> None:
    key = _key("video.mp4")
    store.put(key, b"\x00\x00\x00\x18ftypmp42", "video/mp4")
    url = store.presigned_get(key, 60)
    if isinstance(store, LocalStorage):
        assert url is None
        return
    assert url and "X-Amz-Signature" in url
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"\x00\x00\x00\x18ftypmp42"
    assert response.headers["content-type"] == "video/mp4"
    assert "X-Amz-Expires=60" in url
    # (moto does not verify signatures, so a tampered URL cannot be tested here.)


# --------------------------------------------------------------------------- big files


def test_put_file_from_a_path_or_a_file_object_then_stream(store: Storage, tmp_path: Path) -> None:
    # 9 MB: above the multipart threshold, so S3 stores it in parts (8 MB + 1 MB).
    data = _pattern(9 * MB + 123)
    source = tmp_path / "lesson.mp4"
    source.write_bytes(data)
    key = _key("lesson.mp4")
    store.put_file(key, source, "video/mp4")
    assert store.exists(key)
    with store.stream(key, chunk_size=MB) as stream:
        assert stream.content_type == "video/mp4" and stream.size == len(data)
        chunks = list(stream)
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) <= MB and len(chunks) >= 10

    # A file object is read from where it stands; replacing keeps one whole object.
    other = key.replace("lesson.mp4", "notes.txt")
    store.put_file(other, io.BytesIO(b"first"), "text/plain")
    with source.open("rb") as fh:
        fh.seek(5)
        store.put_file(other, fh, "")
    assert _read_all(store, other) == data[5:]
    assert store.get(other)[1] == storage.DEFAULT_CONTENT_TYPE


def test_stream_of_a_missing_key_is_not_found(store: Storage) -> None:
    with pytest.raises(NotFound):
        store.stream(_key("never-written.mp4"))


def test_a_stream_closed_early_releases_it(store: Storage) -> None:
    key = _key("clip.webm")
    store.put(key, _pattern(3 * MB), "video/webm")
    stream = store.stream(key, chunk_size=MB)
    assert len(next(iter(stream))) == MB
    stream.close()
    stream.close()  # twice is fine
    assert list(stream) == []


def _memory_growth(kind: str, where: str, big: Path, mode: str, bucket: str = "") -> int:
    """Bytes the peak RSS of a fresh process grew by while it stored `big` (see
    `storage_memory_probe.py`)."""
    probe = "tests.services.infra.storage_memory_probe"
    args = [sys.executable, "-m", probe, kind, where, str(big)]
    done = subprocess.run(
        [*args, mode, bucket],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["stored"] == figures["file"] == big.stat().st_size
    return int(figures["after"]) - int(figures["before"])


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    """A 96 MB file that costs neither memory nor disk to make (sparse: all zeros)."""
    big = tmp_path / "big.mp4"
    with big.open("wb") as fh:
        fh.truncate(96 * MB)
    return big


@pytest.mark.parametrize("backend_kind", ["local", "s3"])
def test_put_file_stores_a_big_file_in_constant_memory(
    backend_kind: str, big_file: Path, tmp_path: Path
) -> None:
    size = big_file.stat().st_size
    if backend_kind == "local":
        growth = _memory_growth("local", str(tmp_path / "store"), big_file, "put_file")
    else:
        bucket = f"gh-test-{uuid.uuid4().hex[:16]}"
        growth = _memory_growth("s3", s3_test_url(), big_file, "put_file", bucket)
    # Measured for 96 MB: local +2 MB, S3 (8 MB parts, 4 at once, threads) +10 MB; the old
    # `put(read_bytes())` +96 MB on both.
    assert growth < size // 6, f"storing {size // MB} MB grew the peak RSS by {growth // MB} MB"


def test_the_memory_probe_sees_a_whole_file_read(big_file: Path, tmp_path: Path) -> None:
    """The measurement above is sensitive: the old path (`put(read_bytes())`) shows."""
    growth = _memory_growth("local", str(tmp_path / "store"), big_file, "put_bytes")
    assert growth > big_file.stat().st_size * 3 // 4


# --------------------------------------------------------------------------- S3 timeouts


def test_s3_client_has_timeouts_and_bounded_retries() -> None:
    store = S3Storage("gh-any", endpoint_url="http://127.0.0.1:9", credentials=("a", "b"))
    config = store.client.meta.config
    assert config.connect_timeout == storage.S3_CONNECT_TIMEOUT == 5
    assert config.read_timeout == storage.S3_READ_TIMEOUT == 30
    assert config.retries == {"total_max_attempts": 3, "mode": "standard"}
    transfer = store.transfer_config
    assert transfer.multipart_threshold == transfer.multipart_chunksize == 8 * MB
    assert transfer.max_in_memory_upload_chunks <= 4


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP endpoint that accepts connections and never answers (a hung S3)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def test_a_hung_s3_fails_the_call_instead_of_hanging_it(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ReadTimeoutError

    monkeypatch.setattr(storage, "S3_READ_TIMEOUT", 0.5, raising=False)
    store = S3Storage("gh-hung", endpoint_url=silent_server, credentials=("a", "b"))
    started = time.monotonic()
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        future = pool.submit(store.exists, _key())
        with pytest.raises(ReadTimeoutError):
            future.result(timeout=20)  # a client without timeouts would still be waiting
    finally:
        pool.shutdown(wait=False)
    # Three attempts of 0.5 s each plus standard backoff (without the timeout botocore
    # would wait 60 s per attempt, four times).
    assert time.monotonic() - started < 20


# --------------------------------------------------------------------------- local only


def test_local_layout_and_atomic_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tmp_path)
    key = storage.public_key(uuid.uuid4(), "logo.png")
    store.put(key, PNG, "image/png")
    assert store.path_for(key).read_bytes() == PNG
    assert store.path_for(key).is_relative_to(tmp_path / "objects")
    # A second instance on the same root reads the same object and type.
    assert LocalStorage(tmp_path).get(key) == (PNG, "image/png")

    def failing_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(storage.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put(key, JPEG, "image/png")
    monkeypatch.undo()
    assert store.get(key) == (PNG, "image/png"), "a failed write changed the object"
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == [], "temporary files were left behind"


def test_local_put_file_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStorage(tmp_path / "files")
    key = _key("lesson.mp4")
    store.put_file(key, io.BytesIO(b"old video"), "video/mp4")

    class Breaks(io.BytesIO):
        """A source that fails halfway (a disk error, a dropped upload)."""

        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 0:
                raise OSError("read error")
            return super().read(4)

    with pytest.raises(OSError, match="read error"):
        store.put_file(key, Breaks(b"new video bytes"), "video/mp4")
    assert store.get(key) == (b"old video", "video/mp4"), "a failed write changed the object"
    assert [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")] == []


def test_local_path_for_never_leaves_the_root(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    for key in BAD_KEYS:
        with pytest.raises(ValidationFailed):
            store.path_for(key)


# --------------------------------------------------------------------------- keys and helpers


def test_key_helpers() -> None:
    org = uuid.uuid4()
    assert storage.public_key(org, "branding/logo.png") == f"public/org/{org}/branding/logo.png"
    assert storage.private_key(org, "lessons", "a.pdf") == f"org/{org}/lessons/a.pdf"
    assert storage.private_key(str(org), "a") == f"org/{org}/a"
    assert storage.public_url(storage.public_key(org, "logo.png")) == (
        f"/files/public/org/{org}/logo.png"
    )
    with pytest.raises(ValidationFailed):
        storage.private_key(org)
    with pytest.raises(ValidationFailed):
        storage.public_key("not-a-uuid", "logo.png")
    with pytest.raises(ValidationFailed):
        storage.public_key(org, "../../org/x")


def test_key_scope() -> None:
    org = uuid.uuid4()
    assert storage.key_scope(f"public/org/{org}/logo.png") == storage.KeyScope("public", org)
    assert storage.key_scope(f"org/{org}/a/b.pdf") == storage.KeyScope("private", org)
    for key in [
        f"public/org/{org}",  # no name
        f"org/{org}",
        f"org/{str(org).upper()}/a",  # another spelling of the id
        "org/not-a-uuid/a",
        f"elsewhere/{org}/a",
        f"org/{org}/../x",
        *BAD_KEYS,
    ]:
        assert storage.key_scope(key) is None, key


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (WEBP, "image/webp"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", None),
        (b"<?xml version='1.0'?><svg/>", None),
        (b"GIF89a" + b"\x00" * 10, None),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"", None),
        (b"\x89PN", None),
    ],
)
def test_sniff_image(data: bytes, expected: str | None) -> None:
    assert storage.sniff_image(data) == expected


def test_max_logo_bytes() -> None:
    assert storage.MAX_LOGO_BYTES == 1_000_000


# --------------------------------------------------------------------------- choosing by settings


def test_get_storage_follows_settings(
    tmp_path: Path, settings_env: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GUILDHALL_S3_BUCKET", raising=False)
    settings_env(storage_dir=tmp_path / "here")
    local = storage.get_storage()
    assert isinstance(local, LocalStorage)
    assert local.root == tmp_path / "here"
    assert storage.get_storage() is local  # built once per configuration

    settings_env(
        s3_bucket="gh-some-bucket",
        s3_endpoint_url="http://127.0.0.1:9",
        s3_region="eu-west-1",
        s3_access_key="AK",
        s3_secret_key="SK",
    )
    s3 = storage.get_storage()
    assert isinstance(s3, S3Storage)
    assert s3.bucket == "gh-some-bucket"
    assert s3.client.meta.region_name == "eu-west-1"
    assert s3.client.meta.endpoint_url == "http://127.0.0.1:9"


def test_s3_storage_from_settings_talks_to_the_server(
    settings_env: Callable[..., None],
) -> None:
    url = s3_test_url()
    bucket = new_s3_storage(url).bucket
    settings_env(s3_bucket=bucket, s3_endpoint_url=url, s3_access_key="a", s3_secret_key="b")
    store = storage.get_storage()
    key = _key()
    store.put(key, b"through settings", "text/plain")
    assert store.get(key) == (b"through settings", "text/plain")
