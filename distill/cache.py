"""Append-only cache of teacher calls, so a killed or repeated run never pays for a call twice.

Each finished call is one line ``{"key": ..., "value": ...}`` appended to ``calls.jsonl`` in the
output folder and flushed at once (a SIGKILL loses at most the call in flight). A torn last line
is cut when the cache is reopened. The key is a digest of everything that defines the answer:
image hash, prompt, schema, teacher identity, sampling parameters, sample index and attempt.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError

CACHE_FILE = "calls.jsonl"


def digest(data: bytes | str) -> str:
    """SHA-256 hex digest of bytes or text."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def call_key(**parts: Any) -> str:
    """A stable key for a call: the digest of its defining parts as canonical JSON."""
    return digest(json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str))


class CallCache:
    """Finished calls of one output folder; ``hits`` / ``misses`` count lookups in this process."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / CACHE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, Any] = {}
        self.hits = self.misses = self.written = 0
        self._load()
        self._fh = self.path.open("a", encoding="utf-8")

    def _load(self) -> None:
        if not self.path.is_file():
            return
        from docfoundry.store import repair_tail

        repair_tail(self.path)  # a complete last entry gets its newline; a torn one (a kill mid-write) is cut
        for lineno, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                self.entries[entry["key"]] = entry["value"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UserError(f"{self.path}:{lineno}: not a cache entry; delete the file to "
                                "start the cache afresh") from None

    def get(self, key: str) -> Any | None:
        """The cached value of ``key`` (``None`` on a miss); counts the hit or miss."""
        value = self.entries.get(key)
        if value is None:
            self.misses += 1
        else:
            self.hits += 1
        return value

    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def put(self, key: str, value: Any) -> None:
        """Record a finished call (one line, flushed before returning)."""
        self._fh.write(json.dumps({"key": key, "value": value}, ensure_ascii=False) + "\n")
        self._fh.flush()
        self.entries[key] = value
        self.written += 1

    def hit_rate(self) -> float:
        looked = self.hits + self.misses
        return self.hits / looked if looked else 0.0

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> CallCache:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
