"""Whether an uploaded video is whole: its container's structure, then ffmpeg's reading.

`check_video` walks the container from its headers without reading the media data (MP4
boxes and sample tables, WebM/Matroska elements), so a truncated or damaged file is refused
in milliseconds whatever its size, with the reason shown to the user; then ffmpeg (from
`imageio-ffmpeg`) opens it for its streams and duration. Why hand-written: see
docs/decisions.md ("Uploads stream; videos are checked whole").
"""

from __future__ import annotations

import logging
import os
import re
import struct
import subprocess
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from app.services.core.errors import ValidationFailed

log = logging.getLogger(__name__)

MB = 1024 * 1024
MP4 = "video/mp4"
WEBM = "video/webm"
_DURATION = re.compile(rb"Duration:\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_FFMPEG_PREFIX = re.compile(r"^\[[^\]]*\]\s*")


def ffmpeg_exe() -> str | None:
    """The ffmpeg binary shipped by `imageio-ffmpeg` (None when unavailable)."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:  # optional tool: the container check below still runs without it
        return None


@dataclass(frozen=True)
class Probe:
    """What `ffmpeg -i` says of a file: its duration (None when it shows none), whether it
    found any stream, and its first error line ('' when none)."""

    duration: float | None
    has_streams: bool
    error: str


def probe(path: str | os.PathLike[str], *, timeout: float = 30.0) -> Probe | None:
    """Ask ffmpeg to open `path` (headers only, nothing decoded); None without ffmpeg or
    when it could not run in `timeout` seconds."""
    exe = ffmpeg_exe()
    if exe is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed binary, our own temp path
            [exe, "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    err = done.stderr or b""
    duration = None
    if match := _DURATION.search(err):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    error = ""
    for raw in err.decode("utf-8", "replace").splitlines():
        line = _FFMPEG_PREFIX.sub("", raw.strip())
        if "output file" in line.lower():  # `-i` alone always ends with this; not an error
            continue
        if any(word in line for word in ("nvalid", "not found", "rror")):
            error = line.replace(str(path), "the file").strip()[:160]
            break
    return Probe(duration=duration, has_streams=b"Stream #0" in err, error=error)


def probe_duration(path: str | os.PathLike[str], *, timeout: float = 30.0) -> float | None:
    """A video's length in seconds as ffmpeg reads it (best effort: None when unknown)."""
    found = probe(path, timeout=timeout)
    return found.duration if found is not None else None


MAX_PLAUSIBLE_BYTES = 1 << 40
"""A box or element that claims more than this (1 TiB) is corrupt, not cut short."""


class _Damaged(Exception):
    """A structural problem in a video file; `reason` is shown to the user in brackets."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _damaged(reason: str) -> ValidationFailed:
    return ValidationFailed(
        f"This video file is incomplete or damaged ({reason}); upload it again.", field="file"
    )


def _amount(n: int) -> str:
    if n >= 1024 * MB:
        return f"{n / (1024 * MB):.1f} GB"
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes" if n != 1 else "1 byte"


def _too_short(missing: int) -> _Damaged:
    if missing > MAX_PLAUSIBLE_BYTES:  # no upload is that large: a size field is garbage
        return _Damaged("its structure is broken")
    return _Damaged(f"it ends at least {_amount(missing)} too early")


# MP4 (ISO base media): a file is a sequence of boxes, each `size(4) type(4)`, size 1 meaning
# a 64-bit size follows and 0 meaning "to the end of the file". The sample tables inside
# `moov` say where every frame's bytes are; a truncated file has a last box that runs past
# the end, or no `moov` at all (it is written last unless the file was made "fast start"),
# or tables that point past the end.

MAX_MOOV_BYTES = 64 * MB
"""Largest MP4 index read into memory for the sample-table check (real ones are < 10 MB)."""


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, end) of the boxes in `data[start:end]`; `_Damaged` when one
    does not fit."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise _Damaged("its index is cut short")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise _Damaged("its index is cut short")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise _Damaged("its index is broken")
        yield kind, pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for found, payload, stop in _boxes(data, start, end):
        if found == kind:
            return payload, stop
    return None


_U32 = next(code for code in "IL" if array(code).itemsize == 4)


def _table(data: bytes, start: int, end: int, wide: bool, offset: int, count: int) -> array[int]:
    """`count` big-endian unsigned integers (64-bit if `wide`, else 32-bit) from
    `data[start + offset:]`, not past `end`."""
    values: array[int] = array("Q" if wide else _U32)
    stop = start + offset + count * values.itemsize
    if count < 0 or stop > end:
        raise _Damaged("its index is broken")
    values.frombytes(data[start + offset : stop])
    if sys.byteorder == "little":
        values.byteswap()
    return values


def _track_data_end(moov: bytes, trak: tuple[int, int]) -> int:
    """The end (file offset) of the furthest chunk of media data a track's tables name, or
    0 when the track has no sample tables (fragmented files keep them in `moof` boxes)."""
    box: tuple[int, int] | None = trak
    for kind in (b"mdia", b"minf", b"stbl"):
        box = _child(moov, *box, kind) if box else None
    if box is None:
        return 0
    stbl = box
    offsets_box = _child(moov, *stbl, b"stco")
    wide = offsets_box is None
    if wide:
        offsets_box = _child(moov, *stbl, b"co64")
    sizes_box, runs_box = _child(moov, *stbl, b"stsz"), _child(moov, *stbl, b"stsc")
    if offsets_box is None or sizes_box is None or runs_box is None:
        return 0
    # Each of these full boxes: version and flags (4 bytes) first.
    (chunk_count,) = struct.unpack_from(">I", moov, offsets_box[0] + 4)
    if chunk_count == 0:
        return 0
    offsets = _table(moov, *offsets_box, wide, 8, chunk_count)
    last = max(range(chunk_count), key=offsets.__getitem__)  # the furthest chunk
    uniform, sample_count = struct.unpack_from(">II", moov, sizes_box[0] + 4)
    (run_count,) = struct.unpack_from(">I", moov, runs_box[0] + 4)
    runs = _table(moov, *runs_box, False, 8, run_count * 3)
    # Samples before the furthest chunk, and how many it holds (stsc: runs of chunks).
    before, per_chunk = 0, 0
    for i in range(run_count):
        first, samples = runs[3 * i] - 1, runs[3 * i + 1]
        following = runs[3 * (i + 1)] - 1 if i + 1 < run_count else chunk_count
        if first > last:
            break
        if following > last:
            before += (last - first) * samples
            per_chunk = samples
            break
        before += (following - first) * samples
    if uniform:
        chunk_bytes = uniform * per_chunk
    else:
        if before + per_chunk > sample_count:
            raise _Damaged("its index is broken")
        sizes = _table(moov, *sizes_box, False, 12 + 4 * before, per_chunk)
        chunk_bytes = sum(sizes)
    return int(offsets[last]) + int(chunk_bytes)


def _mp4_duration(moov: bytes) -> float | None:
    header = _child(moov, 0, len(moov), b"mvhd")
    if header is None:
        return None
    start = header[0]
    version = moov[start]
    if version == 1:
        timescale, duration = struct.unpack_from(">IQ", moov, start + 20)
    else:
        timescale, duration = struct.unpack_from(">II", moov, start + 12)
    extends = _child(moov, 0, len(moov), b"mvex")
    if not duration and extends is not None:
        # Fragmented: the whole length is in mvex/mehd when the writer knew it, else unknown
        # here (the fragments carry the frames; ffmpeg adds them up).
        fragment = _child(moov, *extends, b"mehd")
        if fragment is None:
            return None
        fmt = ">Q" if moov[fragment[0]] == 1 else ">I"
        (duration,) = struct.unpack_from(fmt, moov, fragment[0] + 4)
    if not timescale:
        return None
    return float(duration) / float(timescale)


def _check_mp4(fh: BinaryIO, file_size: int) -> float | None:
    """Walk an MP4's top-level boxes and its sample tables; its duration from `mvhd`."""
    pos = 0
    moov: tuple[int, int] | None = None
    while pos < file_size:
        fh.seek(pos)
        header = fh.read(16)
        if len(header) < 8:
            raise _Damaged("it ends in the middle of a box header")
        size, _kind = struct.unpack_from(">I4s", header)
        kind = bytes(_kind)
        length = 8
        if size == 1:
            if len(header) < 16:
                raise _Damaged("it ends in the middle of a box header")
            (size,) = struct.unpack_from(">Q", header, 8)
            length = 16
        elif size == 0:
            size = file_size - pos
        if size < length:
            raise _Damaged("its structure is broken")
        if pos + size > file_size:
            raise _too_short(pos + size - file_size)
        if kind == b"moov":
            moov = (pos + length, pos + size)
        pos += size
    if moov is None:
        raise _Damaged(
            "its index, the MP4 “moov” box, is missing, as when an upload or a recording "
            "stopped early"
        )
    start, end = moov
    if end - start > MAX_MOOV_BYTES:
        return None  # the box layout is whole; too big an index to read here
    fh.seek(start)
    data = fh.read(end - start)
    data_end = 0
    try:
        for kind, payload, stop in _boxes(data, 0, len(data)):
            if kind == b"trak":
                data_end = max(data_end, _track_data_end(data, (payload, stop)))
        duration = _mp4_duration(data)
    except (struct.error, IndexError, ValueError) as exc:
        raise _Damaged("its index is broken") from exc
    if data_end > file_size:
        raise _too_short(data_end - file_size)
    return duration


# WebM (Matroska): elements of `ID size payload`, IDs and sizes as EBML variable-length
# integers; an EBML header, then one Segment holding SeekHead, Info, Tracks, Clusters (the
# frames), Cues... A truncated file has a Segment or an element that runs past the end.

_SEGMENT = 0x18538067
_CLUSTER = 0x1F43B675
_INFO = 0x1549A966
_TRACKS = 0x1654AE6B
_SEEK_HEAD = 0x114D9B74
_SEGMENT_CHILDREN = frozenset(
    {_SEEK_HEAD, _INFO, _TRACKS, _CLUSTER, 0x1C53BB6B, 0x1941A469, 0x1043A770, 0x1254C367}
)
_MAX_HEADER_ELEMENT = MB  # SeekHead and Info are a few hundred bytes


def _vint(fh: BinaryIO, *, is_id: bool) -> tuple[int, int, bool] | None:
    """(value, length, unknown size) of an EBML variable-length integer; None at the end."""
    first = fh.read(1)
    if not first:
        return None
    lead = first[0]
    length = 8 - lead.bit_length() + 1 if lead else 9
    if length > (4 if is_id else 8):
        raise _Damaged("its structure is broken")
    rest = fh.read(length - 1)
    if len(rest) < length - 1:
        raise _Damaged("it ends in the middle of an element")
    raw = int.from_bytes(first + rest, "big")
    if is_id:
        return raw, length, False
    value = raw & ((1 << (7 * length)) - 1)
    return value, length, value == (1 << (7 * length)) - 1


def _element(fh: BinaryIO, pos: int) -> tuple[int, int, int | None] | None:
    """(ID, payload start, payload size or None if unknown) of the element at `pos`."""
    fh.seek(pos)
    ident = _vint(fh, is_id=True)
    if ident is None:
        return None
    size = _vint(fh, is_id=False)
    if size is None:
        raise _Damaged("it ends in the middle of an element")
    return ident[0], pos + ident[1] + size[1], None if size[2] else size[0]


def _ebml_children(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(ID, payload) of the elements in an in-memory master element (Info, SeekHead)."""
    pos = 0
    while pos < len(data):
        lead = data[pos]
        id_len = 8 - lead.bit_length() + 1 if lead else 9
        if id_len > 4 or pos + id_len >= len(data):
            raise _Damaged("its structure is broken")
        ident = int.from_bytes(data[pos : pos + id_len], "big")
        pos += id_len
        lead = data[pos]
        size_len = 8 - lead.bit_length() + 1 if lead else 9
        if size_len > 8 or pos + size_len > len(data):
            raise _Damaged("its structure is broken")
        size = int.from_bytes(data[pos : pos + size_len], "big") & ((1 << (7 * size_len)) - 1)
        pos += size_len
        if pos + size > len(data):
            raise _Damaged("its structure is broken")
        yield ident, data[pos : pos + size]
        pos += size


def _webm_info(data: bytes) -> tuple[float | None, int]:
    """(duration in seconds or None, nanoseconds per tick) from a Segment's Info."""
    scale, duration = 1_000_000, None
    for ident, payload in _ebml_children(data):
        if ident == 0x2AD7B1 and payload:  # TimecodeScale (ns per tick)
            scale = int.from_bytes(payload, "big") or scale
        elif ident == 0x4489 and len(payload) in (4, 8):  # Duration (ticks, float)
            duration = struct.unpack(">f" if len(payload) == 4 else ">d", payload)[0]
    return (duration * scale / 1e9 if duration else None), scale


def _seek_positions(data: bytes) -> Iterator[int]:
    for ident, seek in _ebml_children(data):
        if ident == 0x4DBB:  # Seek
            for inner, value in _ebml_children(seek):
                if inner == 0x53AC and value:  # SeekPosition (from the Segment's payload)
                    yield int.from_bytes(value, "big")


def _check_webm(fh: BinaryIO, file_size: int) -> float | None:
    """Walk a WebM's elements down to its Clusters (inside a Cluster of unknown size, down
    to its blocks); its duration from Info."""
    pos = 0
    segment: tuple[int, int | None] | None = None
    while segment is None:
        found = _element(fh, pos)
        if found is None:
            raise _Damaged("it holds no WebM segment")
        ident, start, size = found
        if ident == _SEGMENT:
            segment = (start, size)
        elif size is None:
            raise _Damaged("its structure is broken")
        else:
            if start + size > file_size:
                raise _too_short(start + size - file_size)
            pos = start + size
    seg_start, seg_size = segment
    seg_end = file_size if seg_size is None else seg_start + seg_size
    if seg_end > file_size:
        raise _too_short(seg_end - file_size)
    duration, scale, tracks, pos = None, 1_000_000, False, seg_start
    last_cluster: tuple[int, int] | None = None
    while pos < seg_end:
        found = _element(fh, pos)
        if found is None:
            break
        ident, start, size = found
        if size is None:
            if ident != _CLUSTER:
                raise _Damaged("its structure is broken")
            pos = _skip_open_cluster(fh, start, seg_end)
            last_cluster = (start, pos)
            continue
        if start + size > seg_end:
            raise _too_short(start + size - seg_end)
        if ident == _CLUSTER:
            last_cluster = (start, start + size)
        elif ident == _TRACKS:
            tracks = True
        elif ident in (_INFO, _SEEK_HEAD) and size <= _MAX_HEADER_ELEMENT:
            fh.seek(start)
            payload = fh.read(size)
            if ident == _INFO:
                duration, scale = _webm_info(payload)
            else:
                for position in _seek_positions(payload):
                    if seg_start + position >= file_size:
                        raise _too_short(seg_start + position - file_size + 1)
        pos = start + size
    if not tracks:
        raise _Damaged("it lists no tracks")
    if last_cluster is None:
        raise _Damaged("it holds no frames")
    if duration is None:
        # Live recordings (a browser's MediaRecorder, a piped ffmpeg) write no Duration: the
        # last frame's time says how long the video is.
        ticks = _last_block_time(fh, *last_cluster)
        duration = ticks * scale / 1e9 if ticks else None
    return duration


def _last_block_time(fh: BinaryIO, pos: int, end: int) -> int | None:
    """The time (in ticks) of the latest block of the Cluster at `pos`..`end`."""
    base, latest = None, None
    while pos < end:
        found = _element(fh, pos)
        if found is None:
            break
        ident, start, size = found
        if size is None:
            break
        if ident == 0xE7 and size <= 8:  # the Cluster's Timestamp
            fh.seek(start)
            base = int.from_bytes(fh.read(size), "big")
        elif ident in (0xA3, 0xA0):  # SimpleBlock, BlockGroup (its Block comes first)
            block = start
            if ident == 0xA0:
                inner = _element(fh, start)
                if inner is None or inner[0] != 0xA1:
                    pos = start + size
                    continue
                block = inner[1]
            fh.seek(block)
            track = _vint(fh, is_id=False)  # the block's track number
            if track is None:
                break
            raw = fh.read(2)
            if len(raw) == 2:
                relative = int.from_bytes(raw, "big", signed=True)
                latest = relative if latest is None else max(latest, relative)
        pos = start + size
    if base is None or latest is None:
        return None
    return base + latest


def _skip_open_cluster(fh: BinaryIO, pos: int, end: int) -> int:
    """The end of a Cluster of unknown size (live recordings write them): its blocks, up
    to the next top-level element or the end."""
    while pos < end:
        found = _element(fh, pos)
        if found is None:
            return end
        ident, start, size = found
        if ident in _SEGMENT_CHILDREN:
            return pos
        if size is None:
            raise _Damaged("its structure is broken")
        if start + size > end:
            raise _too_short(start + size - end)
        pos = start + size
    return pos


def check_video(path: str | os.PathLike[str], content_type: str) -> float:
    """The duration in seconds of a whole, readable MP4 or WebM; `ValidationFailed` with the
    reason for a truncated or damaged one, or one whose length reads as nothing.

    Two checks, both reading headers only (milliseconds for any size): the container's own
    structure (every box or element fits in the file, an MP4's index exists and its sample
    tables point inside the file), then ffmpeg opening it for its streams and duration."""
    file_size = os.path.getsize(path)
    try:
        with open(path, "rb") as fh:
            container_duration = (
                _check_mp4(fh, file_size) if content_type == MP4 else _check_webm(fh, file_size)
            )
    except _Damaged as exc:
        raise _damaged(exc.reason) from None
    except (OSError, struct.error, IndexError, ValueError) as exc:
        log.info("video check failed on %s", path, exc_info=True)
        raise _damaged("its structure cannot be read") from exc
    found = probe(path)
    if found is not None and not found.has_streams:
        raise _damaged(f"ffmpeg cannot read it: {found.error or 'no audio or video stream'}")
    said = found.duration if found is not None else None
    duration = said or container_duration
    if not duration or duration <= 0:
        if said == 0 or container_duration == 0:
            raise _damaged("its length reads as 0 seconds")
        raise _damaged("its length cannot be read")
    return float(duration)
