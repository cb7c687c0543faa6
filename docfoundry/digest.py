"""Content digests of model and adapter folders, for the fingerprints that decide whether saved
outputs (predictions, run stages) still belong to the model they were made with.

A file's sha256 is cached by (path, size, mtime_ns) in ``$XDG_CACHE_HOME/docfoundry/file_digests.json``,
so a re-run reads only the files that changed; the digest itself always comes from content.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from docfoundry.store import atomic_write

_cache: dict[str, list] | None = None  # realpath -> [size, mtime_ns, sha256], loaded once per process


def _cache_file() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "docfoundry" / "file_digests.json"


def _load() -> dict[str, list]:
    global _cache
    if _cache is None:
        try:
            _cache = json.loads(_cache_file().read_text())
            if not isinstance(_cache, dict):
                _cache = {}
        except (OSError, ValueError):
            _cache = {}
    return _cache


def _save(cache: dict[str, list]) -> None:
    path = _cache_file()
    for gone in [k for k in cache if not os.path.exists(k)]:  # deleted runs must not grow the cache forever
        del cache[gone]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(cache), shared=True)  # a racing process keeps a whole file
    except OSError:
        pass  # only a cache: a read-only home costs re-hashing, never a wrong digest


def file_digest(path: Path, save: bool = True) -> str:
    """sha256 of a file's content, cached by its (size, mtime_ns); ``save=False`` leaves writing the
    cache to the caller (one write per folder)."""
    real = os.path.realpath(path)
    st = os.stat(real)
    cache = _load()
    hit = cache.get(real)
    if hit and hit[:2] == [st.st_size, st.st_mtime_ns]:
        return hit[2]
    h = hashlib.sha256()
    with open(real, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    cache[real] = [st.st_size, st.st_mtime_ns, h.hexdigest()]
    if save:
        _save(cache)
    return h.hexdigest()


def folder_digest(folder: Path) -> str:
    """Digest of the names and contents of a folder's own files: what ``from_pretrained`` reads (weights,
    configs, tokenizer). Subfolders (``checkpoints/``) and hidden files are not part of the model."""
    h = hashlib.sha256()
    before = dict(_load())
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.is_file():
            continue
        h.update(f"{p.name}\0{file_digest(p, save=False)}\n".encode())
    if _load() != before:
        _save(_load())
    return h.hexdigest()[:16]


def model_digest(name_or_path: str | None) -> str | None:
    """Content digest of a model or adapter: a local folder (or file) by its files; a hub id by its
    cached snapshot when there is one, else by the id itself. ``None`` for no model."""
    if not name_or_path:
        return None
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return folder_digest(p)
    if p.is_file():
        return file_digest(p)[:16]
    try:
        from huggingface_hub import snapshot_download

        return folder_digest(Path(snapshot_download(str(name_or_path), local_files_only=True)))
    except (OSError, ValueError):  # not downloaded (or not a hub id): the name is all there is
        return f"id:{name_or_path}"
