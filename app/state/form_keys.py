"""Keys that remount a form only when what it edits was saved.

A Reflex form shows stored values through `default_value`; React keeps what the user typed
until the form's `key` changes. A key made from the stored values changes when those values
do (a save here or in another tab), and survives every other reload, so a live push or a
save elsewhere on the page never throws away text being typed."""

from __future__ import annotations

import hashlib
import json


def form_key(prefix: str, values: object) -> str:
    """`prefix` plus a short fingerprint of the stored `values` the form shows."""
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode())
    return f"{prefix}-{digest.hexdigest()[:12]}"
