"""Paths that come from data (row ids, ``file_name`` and ``image`` fields) stay inside their folder.

Every stage that turns a row's text into a path goes through here: ``safe_name`` for names it
writes, ``inside`` for paths it reads or writes under a dataset or input folder.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath, PureWindowsPath

from docfoundry.errors import BadItem

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")


def safe_name(key: str) -> str:
    """``key`` as one file name: kept as it is when it is plain (letters, digits, ``._-``, not
    hidden, at most 120 characters), else its plain characters plus a digest of the whole key,
    so two different keys never share a name and the same key always gets the same one."""
    if _SAFE.fullmatch(key):
        return key
    plain = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("._-")[:80]
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=5).hexdigest()
    return f"{plain}-{digest}" if plain else digest


def inside(root: str | Path, rel: str | Path, what: str = "path") -> Path:
    """``root / rel`` when it stays inside ``root``: an absolute path, a ``..`` part or a symlink
    that leads out of ``root`` is a ``BadItem`` naming ``what`` (e.g. ``"metadata.jsonl file_name"``)."""
    text = str(rel)
    win = PureWindowsPath(text)  # a row written on Windows: backslashes and drives count as path syntax
    if not text.strip() or win.anchor or text.startswith("/") or ".." in (*PurePosixPath(text).parts, *win.parts):
        raise BadItem(f"{what} '{text}': must be a path inside {root} (no absolute path, no '..')")
    path = Path(root) / text
    base = Path(root).resolve()
    if not path.resolve().is_relative_to(base):
        raise BadItem(f"{what} '{text}': leads outside {root} (through a symbolic link)")
    return path
