"""Measures what storing one big file costs in memory, in a process of its own.

    python -m tests.services.infra.storage_memory_probe local ROOT FILE [put_file|put_bytes]
    python -m tests.services.infra.storage_memory_probe s3 URL FILE [put_file|put_bytes] BUCKET

Prints one JSON line: the peak resident set (`VmHWM`, bytes) once the store is set up
("before") and once the file is stored ("after"), the stored size and the file's size.
`put_bytes` is the old path (`put(key, read_bytes())`), kept so the test can show that its
measurement sees a whole-file read. Used by `tests/services/test_storage.py`; not a test.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import uuid
from pathlib import Path

from app.services.infra import storage


def peak_rss() -> int:
    """This program's peak resident set so far, in bytes.

    `VmHWM` from /proc, not `getrusage().ru_maxrss`: Linux carries `ru_maxrss` over from the
    parent across fork and exec, so under pytest it would start at pytest's own size and
    hide any growth. The high-water mark of our own address space starts fresh at exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv: list[str]) -> None:
    kind, where, path, mode = argv[:4]
    store: storage.Storage
    if kind == "local":
        store = storage.LocalStorage(where)
    else:
        s3 = storage.S3Storage(argv[4], endpoint_url=where, credentials=("testing", "testing"))
        s3.ensure_bucket()
        store = s3
    key = storage.private_key(uuid.uuid4(), "big.mp4")
    before = peak_rss()
    if mode == "put_bytes":
        with open(path, "rb") as fh:
            store.put(key, fh.read(), "video/mp4")
    else:
        store.put_file(key, path, "video/mp4")
    after = peak_rss()
    with store.stream(key) as stream:
        stored = stream.size
    store.delete(key)  # the S3 test server keeps objects in its memory
    figures = {"before": before, "after": after, "stored": stored}
    print(json.dumps({**figures, "file": os.path.getsize(path)}))


if __name__ == "__main__":
    main(sys.argv[1:])
