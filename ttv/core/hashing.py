"""Canonical hashing of the inputs that decide an output."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def inputs_hash(inputs: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()
