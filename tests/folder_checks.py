"""Byte-for-byte views of a dataset folder, for the determinism tests across workers and processes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from docfoundry.store import LOCK_FILE


def folder_bytes(folder: Path, *, skip: Callable[[str], bool] = lambda name: name == LOCK_FILE,
                 run_drop: Iterable[str] = ("seconds",), config_drop: Iterable[str] = ()) -> dict[str, bytes]:
    """Every file's bytes by relative path, but files whose name ``skip`` takes; run.json without
    the keys (``run_drop``) and config keys (``config_drop``) that say how it ran, not what it made."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not skip(p.name):
            data = p.read_bytes()
            if p.name == "run.json":
                info = json.loads(data)
                for key in run_drop:
                    info.pop(key, None)
                for key in config_drop:
                    info.get("config", {}).pop(key, None)
                data = json.dumps(info, sort_keys=True).encode()
            out[str(p.relative_to(folder))] = data
    return out
