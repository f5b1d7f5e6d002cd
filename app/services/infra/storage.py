"""Blob storage: one interface, a local directory (embedded) or S3 (scaled), chosen by settings.

Keys are plain relative paths. Two families exist, and the prefix *is* the access rule:

- `public/org/{org}/{name}`: readable without sign-in (branding logos shown on certificates
  and in emails). Build with `public_key`.
- `org/{org}/{...}`: readable only by a session whose org scope contains `{org}`. Build with
  `private_key`.

`public_url(key)` is the app-relative URL (`/files/{key}`) served by `app/api/files.py`, which
applies that rule. Services store bytes here and keep the key in their own rows.

Memory: `put`/`get` hold a whole object and are for small ones (logos, covers, certificate
PDFs). Lesson media (video, documents) goes in with `put_file` (local: copied in chunks to a
temporary file that is renamed into place; S3: boto3's managed transfer, multipart above
`MULTIPART_THRESHOLD`, a few `MULTIPART_CHUNK` parts in flight) and comes out with `stream`
(chunks), so a 450 MB video costs a few MB of memory, not 450 MB. S3 calls have connect and
read timeouts and a bounded number of retries, so a hung store fails a request instead of
hanging it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Literal, Protocol, runtime_checkable

from app.services.core.errors import NotFound, ValidationFailed
from app.settings import get_settings

MAX_LOGO_BYTES = 1_000_000
"""Largest accepted logo upload (callers enforce size limits; this is the shared figure)."""

MAX_KEY_LENGTH = 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"

PUBLIC_PREFIX = "public/org/"
PRIVATE_PREFIX = "org/"

_KEY_SEGMENT = re.compile(r"^[A-Za-z0-9._=+@,-]+$")

MB = 1024 * 1024
COPY_CHUNK = MB
"""Bytes per read/write when a file is copied in or streamed out."""
MULTIPART_THRESHOLD = 8 * MB
"""S3: objects from this size on go up as a multipart upload..."""
MULTIPART_CHUNK = 8 * MB
"""...in parts of this size."""
MULTIPART_CONCURRENCY = 4
"""S3: parts uploaded at once (the memory an upload costs is about this many parts)."""
S3_CONNECT_TIMEOUT = 5.0
"""Seconds to open a connection to S3 before the attempt fails."""
S3_READ_TIMEOUT = 30.0
"""Seconds S3 may stay silent on an open connection before the attempt fails."""
S3_MAX_ATTEMPTS = 3
"""Attempts per S3 call (the first and two retries), with botocore's standard backoff."""

FileSource = str | os.PathLike[str] | IO[bytes]
"""What `put_file` takes: a path, or a binary file object read from where it stands."""


# --- keys -----------------------------------------------------------------------------------


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative key; raise `ValidationFailed` otherwise.

    Refused: empty keys, absolute paths, backslashes, `..` anywhere, empty or `.` segments,
    control characters and anything outside a conservative character set.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed("Invalid storage key.", field="key")
    if key.startswith("/") or "\\" in key or ".." in key:
        raise ValidationFailed("Invalid storage key.", field="key")
    for segment in key.split("/"):
        if segment in ("", ".") or not _KEY_SEGMENT.match(segment):
            raise ValidationFailed("Invalid storage key.", field="key")
    return key


def is_valid_key(key: str) -> bool:
    """Whether `validate_key` accepts `key`."""
    try:
        validate_key(key)
    except ValidationFailed:
        return False
    return True


def public_key(org_id: uuid.UUID | str, name: str) -> str:
    """`public/org/{org}/{name}`: readable by anyone (logos)."""
    return validate_key(f"{PUBLIC_PREFIX}{_org(org_id)}/{name}")


def private_key(org_id: uuid.UUID | str, *parts: str) -> str:
    """`org/{org}/{parts...}`: readable only inside the org's scope."""
    if not parts:
        raise ValidationFailed("A private key needs a name.", field="key")
    return validate_key(f"{PRIVATE_PREFIX}{_org(org_id)}/" + "/".join(parts))


def public_url(key: str) -> str:
    """The app-relative URL that serves `key` (see `app/api/files.py`)."""
    return f"/files/{validate_key(key)}"


@dataclass(frozen=True)
class KeyScope:
    """What a key's prefix says about who may read it."""

    visibility: Literal["public", "private"]
    org_id: uuid.UUID


def key_scope(key: str) -> KeyScope | None:
    """Parse a key's access rule; None for invalid keys or keys outside both families."""
    if not is_valid_key(key):
        return None
    parts = key.split("/")
    if key.startswith(PUBLIC_PREFIX) and len(parts) >= 4:
        visibility: Literal["public", "private"] = "public"
        raw = parts[2]
    elif key.startswith(PRIVATE_PREFIX) and len(parts) >= 3:
        visibility = "private"
        raw = parts[1]
    else:
        return None
    try:
        org_id = uuid.UUID(raw)
    except ValueError:
        return None
    if str(org_id) != raw:  # one spelling per org, so prefixes compare exactly
        return None
    return KeyScope(visibility=visibility, org_id=org_id)


def _org(org_id: uuid.UUID | str) -> str:
    try:
        return str(org_id if isinstance(org_id, uuid.UUID) else uuid.UUID(str(org_id)))
    except ValueError as exc:
        raise ValidationFailed("Invalid organization id.", field="org_id") from exc


# --- content sniffing -----------------------------------------------------------------------


def sniff_image(data: bytes) -> str | None:
    """The content type of a PNG, JPEG or WebP image by its magic bytes, else None.

    SVG is never accepted: it can carry script, and it is text, so it has no magic bytes.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


# --- the interface --------------------------------------------------------------------------


@dataclass
class ObjectStream:
    """A stored object being read in chunks: iterate it for bytes, then (or instead) close it.

    `size` is the object's length in bytes when the store says (None when unknown)."""

    content_type: str
    size: int | None
    chunks: Iterator[bytes]
    _close: Callable[[], None] = field(default=lambda: None, repr=False)

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks

    def close(self) -> None:
        """Release the file or connection (safe to call twice, and after the last chunk)."""
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        self._close()

    def __enter__(self) -> ObjectStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _chunks_of(fh: IO[bytes], chunk_size: int, closer: Callable[[], None]) -> Iterator[bytes]:
    try:
        while chunk := fh.read(chunk_size):
            yield chunk
    finally:
        closer()


@contextlib.contextmanager
def _opened(source: FileSource) -> Iterator[IO[bytes]]:
    """`source` as a readable binary file: a path is opened (and closed again), a file
    object is used as it is (and left open)."""
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            yield fh
    else:
        yield source


@runtime_checkable
class Storage(Protocol):
    """Where files and video live. Keys are validated by every implementation."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key` (replacing any previous object). Small objects only:
        large ones go through `put_file`."""
        ...

    def put_file(self, key: str, source: FileSource, content_type: str) -> None:
        """Store the contents of a file (a path or a binary file object) under `key`,
        replacing any previous object, in constant memory whatever its size. Readers see
        the old object or the new one, never part of one."""
        ...

    def get(self, key: str) -> tuple[bytes, str]:
        """The bytes and content type under `key`; raises `NotFound` when missing. Small
        objects only: large ones are read with `stream`."""
        ...

    def stream(self, key: str, chunk_size: int = COPY_CHUNK) -> ObjectStream:
        """The object under `key` as chunks of at most `chunk_size` bytes; raises `NotFound`
        when missing. Close the stream when done with it (`with store.stream(key) as s:`)."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""
        ...

    def exists(self, key: str) -> bool:
        """Whether `key` holds an object."""
        ...

    def presigned_get(self, key: str, seconds: int) -> str | None:
        """A time-limited direct download URL (S3); None when the store has none (local)."""
        ...


class LocalStorage:
    """A directory on disk: `{root}/objects/{key}` holds bytes, `{root}/meta/{key}` the type.

    Writes go to a temporary file in the same directory and are renamed into place, so a
    reader sees the old object or the new one, never half of one.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"

    def path_for(self, key: str) -> Path:
        """The file that holds `key`'s bytes (for callers that stream large local files)."""
        return self._objects / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta / validate_key(key)

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _copy_atomic(path: Path, source: FileSource) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh, _opened(source) as src:
                shutil.copyfileobj(src, fh, COPY_CHUNK)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store atomically; the content type is written first, the bytes commit the object."""
        path = self.path_for(key)
        self._write_atomic(self._meta_path(key), (content_type or DEFAULT_CONTENT_TYPE).encode())
        self._write_atomic(path, bytes(data))

    def put_file(self, key: str, source: FileSource, content_type: str) -> None:
        """Copy `source` in `COPY_CHUNK` pieces to a temporary file beside the object, then
        rename it into place (atomic, as `put`)."""
        path = self.path_for(key)
        self._write_atomic(self._meta_path(key), (content_type or DEFAULT_CONTENT_TYPE).encode())
        self._copy_atomic(path, source)

    def content_type(self, key: str) -> str:
        """The stored content type of `key` (the default when unrecorded)."""
        try:
            return self._meta_path(key).read_text().strip() or DEFAULT_CONTENT_TYPE
        except OSError:
            return DEFAULT_CONTENT_TYPE

    def get(self, key: str) -> tuple[bytes, str]:
        """Bytes and content type; `NotFound` when missing."""
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound() from exc
        return data, self.content_type(key)

    def stream(self, key: str, chunk_size: int = COPY_CHUNK) -> ObjectStream:
        """The file in chunks; `NotFound` when missing."""
        path = self.path_for(key)
        try:
            fh = path.open("rb")
            size = os.fstat(fh.fileno()).st_size
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound() from exc
        return ObjectStream(
            content_type=self.content_type(key),
            size=size,
            chunks=_chunks_of(fh, chunk_size, fh.close),
            _close=fh.close,
        )

    def delete(self, key: str) -> None:
        """Remove the object and its metadata (missing is fine)."""
        self.path_for(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether a file holds `key`."""
        return self.path_for(key).is_file()

    def presigned_get(self, key: str, seconds: int) -> str | None:
        """Local files have no direct URL; the app serves them."""
        validate_key(key)
        return None


class S3Storage:
    """An S3 bucket through boto3 (AWS or any S3-compatible store via `endpoint_url`)."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        credentials: tuple[str, str] | None = None,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        self.region = region
        config = Config(
            signature_version="s3v4",
            # Path-style addressing works with every S3-compatible store (MinIO, moto);
            # AWS itself keeps virtual-hosted style.
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            # A hung store fails the attempt instead of the request waiting forever; the
            # retries (standard mode: backoff, only retryable errors) are bounded.
            connect_timeout=S3_CONNECT_TIMEOUT,
            read_timeout=S3_READ_TIMEOUT,
            retries={"total_max_attempts": S3_MAX_ATTEMPTS, "mode": "standard"},
            tcp_keepalive=True,
        )
        # Managed transfers: multipart from the threshold on, and few parts in memory at
        # once (s3transfer would buffer up to 10 parts of a file object by default).
        self.transfer_config = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=MULTIPART_CHUNK,
            max_concurrency=MULTIPART_CONCURRENCY,
            max_io_queue=MULTIPART_CONCURRENCY * 2,
            io_chunksize=256 * 1024,
            # The classic manager honours these limits (the CRT one, if installed, would not).
            preferred_transfer_client="classic",
        )
        # s3transfer reads file objects into memory part by part; cap the parts it holds.
        self.transfer_config.max_in_memory_upload_chunks = MULTIPART_CONCURRENCY
        kwargs: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "config": config,
        }
        if credentials is not None:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = credentials
        self.client: Any = boto3.client("s3", **kwargs)

    def ensure_bucket(self) -> None:
        """Create the bucket if it is missing (tests and local S3 servers only)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            params: dict[str, Any] = {"Bucket": self.bucket}
            if self.region != "us-east-1":
                params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self.client.create_bucket(**params)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Upload one object (S3 writes are atomic per object)."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=validate_key(key),
            Body=bytes(data),
            ContentType=content_type or DEFAULT_CONTENT_TYPE,
        )

    def put_file(self, key: str, source: FileSource, content_type: str) -> None:
        """Upload through boto3's managed transfer: one `PUT` below `MULTIPART_THRESHOLD`,
        a multipart upload of `MULTIPART_CHUNK` parts above it (completed as one object, or
        aborted on failure, so readers never see part of it). Memory stays at about
        `MULTIPART_CONCURRENCY` parts whatever the file's size."""
        extra = {"ContentType": content_type or DEFAULT_CONTENT_TYPE}
        key = validate_key(key)
        if isinstance(source, str | os.PathLike):
            # From a path, s3transfer reads each part from the file as it is sent.
            self.client.upload_file(
                os.fspath(source), self.bucket, key, ExtraArgs=extra, Config=self.transfer_config
            )
            return
        self.client.upload_fileobj(
            source, self.bucket, key, ExtraArgs=extra, Config=self.transfer_config
        )

    def _get_object(self, key: str) -> Any:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound() from exc
            raise

    def stream(self, key: str, chunk_size: int = COPY_CHUNK) -> ObjectStream:
        """The object's body in chunks as it arrives from S3; `NotFound` when missing."""
        obj = self._get_object(key)
        body = obj["Body"]
        size = obj.get("ContentLength")
        return ObjectStream(
            content_type=str(obj.get("ContentType") or DEFAULT_CONTENT_TYPE),
            size=int(size) if size is not None else None,
            chunks=_chunks_of(body, chunk_size, body.close),
            _close=body.close,
        )

    def get(self, key: str) -> tuple[bytes, str]:
        """Bytes and content type; `NotFound` when missing."""
        obj = self._get_object(key)
        body = obj["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data, str(obj.get("ContentType") or DEFAULT_CONTENT_TYPE)

    def delete(self, key: str) -> None:
        """Remove the object (S3 treats a missing key as success)."""
        self.client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    def exists(self, key: str) -> bool:
        """`HEAD` the object."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def presigned_get(self, key: str, seconds: int) -> str | None:
        """A signed `GET` URL valid for `seconds`."""
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": validate_key(key)},
            ExpiresIn=int(seconds),
        )
        return url


def _is_missing(exc: Exception) -> bool:
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("NoSuchKey", "404", "NotFound") or status == 404


# --- choosing by settings -------------------------------------------------------------------


def get_storage() -> Storage:
    """The store the settings choose: S3 when `GUILDHALL_S3_BUCKET` is set, else local."""
    s = get_settings()
    return _build_storage(
        s.storage_dir,
        s.s3_bucket,
        s.s3_endpoint_url,
        s.s3_region,
        s.s3_access_key,
        s.s3_secret_key,
    )


@lru_cache(maxsize=4)
def _build_storage(
    storage_dir: str,
    bucket: str | None,
    endpoint_url: str | None,
    region: str,
    access_key: str | None,
    secret_key: str | None,
) -> Storage:
    # Cached per configuration: a boto3 client is costly to build and safe to share.
    if bucket:
        credentials = (access_key, secret_key) if access_key and secret_key else None
        return S3Storage(bucket, endpoint_url=endpoint_url, region=region, credentials=credentials)
    return LocalStorage(storage_dir)
