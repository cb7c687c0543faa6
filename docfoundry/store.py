"""Dataset folder I/O shared by every stage: ``images/``, ``metadata.jsonl``, ``run.json``.

Writing is crash-safe and resumable: an image is written to a temporary name and renamed, then
its row is appended in one write; a reopened folder knows which ids are done. ``finish`` sorts
rows into a fixed order so the same inputs give byte-identical metadata whatever the worker count.
One writer at a time: ``DatasetWriter`` holds an ``OutputLock`` on its folder, so a second run
on the same ``--out`` stops with one line naming the first.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError
from docfoundry.paths import inside, safe_name
from docfoundry.records import Sample

METADATA = "metadata.jsonl"
RUN_INFO = "run.json"
LOCK_FILE = ".docfoundry.lock"  # OS-locked while a writer holds its folder; empty, left in place
LOCK_INFO = ".docfoundry.lock.json"  # who holds the lock (pid, host, command, since); removed on release


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of the given distributions (for provenance)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("docfoundry", *packages):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def read_json_file(path: Path, what: str = "file") -> Any:
    """A JSON file's content; a missing, unreadable, non-UTF-8 or malformed file is one
    ``UserError`` naming it (``what`` says what the file is: "schema", "export")."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: {what} file not found") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    except (ValueError, RecursionError) as e:  # a 5000-digit number, nesting past the parser's depth
        raise UserError(f"{path}: not valid JSON ({str(e).splitlines()[0]})") from None


def read_run_info(folder: str | Path) -> dict[str, Any]:
    """The folder's ``run.json`` (empty when there is none)."""
    p = Path(folder) / RUN_INFO
    if not p.is_file():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise UserError(f"{p}: not valid JSON ({e.msg})") from None


def atomic_write(path: Path, data: bytes | str, *, shared: bool = False) -> None:
    """Write ``path`` through a temporary file and one rename: a reader never sees half a file.

    ``shared``: processes may write the file at once (a cache), so each uses its own temporary file.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp" if shared else f".{path.name}.tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def _parse_row(raw: bytes) -> Any:
    """One JSONL line as a value; ``ValueError`` when it is not UTF-8 JSON."""
    return json.loads(raw.decode("utf-8"))


def _warn(problem: str, problems: list[str] | None = None) -> None:
    # A caller that keeps a problem list records it; otherwise the user reads it on stderr.
    if problems is not None:
        problems.append(problem)
    else:
        print(f"warning: {problem}", file=sys.stderr)


def iter_rows(folder: str | Path, name: str = METADATA, problems: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Rows of ``metadata.jsonl`` (or another JSONL file).

    A line that parses is a row, with or without its final newline. A last line without a newline
    that does not parse is torn (a write cut short): it is skipped and reported as ``file:line``
    (appended to ``problems`` when given, else a warning on stderr). Any other line that is not a
    JSON object is a ``UserError`` naming the file and line.
    """
    p = Path(folder) / name
    if not p.is_file():
        return
    with p.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                row = _parse_row(raw)
            except ValueError as e:
                if not raw.endswith(b"\n"):  # only the last line can lack it: a torn write
                    _warn(f"{p}:{lineno}: torn last line (a write cut short), skipped", problems)
                    return
                why = e.msg if isinstance(e, json.JSONDecodeError) else "not UTF-8"
                raise UserError(f"{p}:{lineno}: not valid JSON ({why})") from None
            if not isinstance(row, dict):
                raise UserError(f"{p}:{lineno}: a row must be a JSON object, got {type(row).__name__}")
            yield row


def repair_tail(path: str | Path) -> None:
    """Make a JSONL file that a writer resumes end on a newline: a last line without one that
    parses is a complete row and gets it; one that does not parse is torn (a crash mid-write) and
    is cut, reported as ``file:line``, so appends start on a fresh line and that item is redone."""
    p = Path(path)
    if not p.is_file():
        return
    data = p.read_bytes()
    if not data or data.endswith(b"\n"):
        return
    start = data.rfind(b"\n") + 1
    try:
        if data[start:].strip():
            _parse_row(data[start:])
    except ValueError:
        with p.open("r+b") as fh:
            fh.truncate(start)
        line = data.count(b"\n") + 1
        _warn(f"{p}:{line}: torn last line (a write cut short) removed; that item is redone")
        return
    with p.open("ab") as fh:
        fh.write(b"\n")


def read_samples(folder: str | Path, split: str | None = None) -> Iterator[Sample]:
    """Records of a dataset folder, optionally one split."""
    folder = Path(folder)
    if not (folder / METADATA).is_file():
        raise UserError(f"{folder}: not a dataset folder (no {METADATA})")
    for row in iter_rows(folder):
        if split is None or row.get("split") == split:
            yield Sample.from_row(row)


def _command() -> str:
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def lock_holder(folder: str | Path) -> str:
    """Who holds ``folder``'s writer lock, as ``LOCK_INFO`` tells (for the refusal message)."""
    try:
        info = json.loads((Path(folder) / LOCK_INFO).read_text())
        command = str(info.get("command", "?"))
        command = command if len(command) <= 160 else command[:157] + "..."
        return f"pid {info.get('pid', '?')} on {info.get('host', '?')} since {info.get('since', '?')}: {command}"
    except (OSError, ValueError, AttributeError):
        return "holder not recorded yet"


def _unlock(lock: Any, info: Path) -> None:
    info.unlink(missing_ok=True)  # while still locked: a new holder's info is never deleted
    lock.release()


class OutputLock:
    """One writer per output folder, across processes: an OS file lock (``filelock``) on
    ``LOCK_FILE`` inside the folder, its holder named in ``LOCK_INFO``. A second writer gets a
    ``UserError`` naming the holder. The kernel drops the lock when its process dies (kill -9
    included), so a crashed run never blocks its own resume. In one process a new lock on the same
    folder takes over from an earlier holder: stages run one after another there, so an unreleased
    earlier lock belongs to a writer that an error abandoned."""

    _held: weakref.WeakValueDictionary[str, OutputLock] = weakref.WeakValueDictionary()

    def __init__(self, folder: str | Path, flag: str = "--out") -> None:
        from filelock import FileLock, Timeout

        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise UserError(f"{self.folder}: is a file, not a folder; choose another {flag}")
        self.folder.mkdir(parents=True, exist_ok=True)
        key = str(self.folder.resolve())
        earlier = OutputLock._held.get(key)
        if earlier is not None:
            earlier.release()
        lock = FileLock(str(self.folder / LOCK_FILE), timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise UserError(f"{self.folder}: in use by another writer ({lock_holder(self.folder)}); "
                            f"wait for it to finish or choose another {flag}") from None
        info = self.folder / LOCK_INFO
        self._release = weakref.finalize(self, _unlock, lock, info)
        OutputLock._held[key] = self
        holder = {"pid": os.getpid(), "host": platform.node(), "command": _command(),
                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}
        atomic_write(info, json.dumps(holder).encode())

    def release(self) -> None:
        """Let the next writer in (again: no effect)."""
        self._release()

    def __enter__(self) -> OutputLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _has_files(folder: Path) -> bool:
    """Does ``folder`` hold anything but the writer's lock files, the temporary file of an interrupted
    ``atomic_write`` (a kill before its rename) and empty folders (no work to lose)?"""
    return any(p.name not in (LOCK_FILE, LOCK_INFO) and not (p.name.startswith(".") and p.name.endswith(".tmp"))
               and not (p.is_dir() and not any(p.iterdir())) for p in folder.iterdir())


class DatasetWriter:
    """Appends samples to a dataset folder and records provenance in ``run.json``.

    ``fingerprint`` holds the settings that define the content; reopening a folder written with
    other settings is refused, so a resume never mixes two runs.
    """

    def __init__(self, folder: str | Path, *, stage: str, fingerprint: dict[str, Any],
                 config: dict[str, Any], packages: tuple[str, ...] = (), rows_file: str = METADATA) -> None:
        self.folder = Path(folder)
        self.rows_file = rows_file
        self.stage = stage
        self.fingerprint = fingerprint
        if self.folder.is_dir() and not (self.folder / RUN_INFO).is_file() and _has_files(self.folder):
            raise UserError(f"{self.folder}: exists, is not empty and has no {RUN_INFO}; "
                            "choose another --out")
        self.lock = OutputLock(self.folder)  # before reading run.json: a second writer stops here
        try:
            self._open(prev=read_run_info(self.folder), config=config, packages=packages)
        except BaseException:
            self.lock.release()
            raise

    def _open(self, prev: dict[str, Any], config: dict[str, Any], packages: tuple[str, ...]) -> None:
        stage, fingerprint = self.stage, self.fingerprint
        if prev:
            if prev.get("stage") != stage or prev.get("fingerprint") != fingerprint:
                diff = sorted(k for k in set(prev.get("fingerprint", {})) | set(fingerprint)
                              if prev.get("fingerprint", {}).get(k) != fingerprint.get(k))
                raise UserError(
                    f"{self.folder}: holds a different run ({prev.get('stage')}; differs in "
                    f"{', '.join(diff) or 'stage'}); choose another --out or delete it")
        self._repair_tail()
        self.done: set[str] = {row["id"] for row in iter_rows(self.folder, self.rows_file)}
        self.started = time.time()
        self.info = {
            "stage": stage,
            "status": "running",
            "command": _command(),
            "fingerprint": fingerprint,
            "config": config,
            "versions": versions(*packages),
            "counts": prev.get("counts", {}),
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(self.folder / RUN_INFO, json.dumps(self.info, indent=2, default=str).encode())
        # content only after run.json: a kill in between never leaves a folder a resume refuses
        (self.folder / "images").mkdir(exist_ok=True)
        self._meta = (self.folder / self.rows_file).open("a", encoding="utf-8")

    def _repair_tail(self) -> None:
        """Resume on a clean line: see ``repair_tail``."""
        repair_tail(self.folder / self.rows_file)

    def write_file(self, rel: str, data: bytes) -> None:
        """Write a side file (image, PDF) atomically under the folder (a path leading out of it is refused)."""
        path = inside(self.folder, rel, "file")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data)

    def add(self, sample: Sample, image_bytes: bytes | list[bytes], ext: str = "jpg") -> None:
        """Write the page image(s), then append its row (a crash in between redoes the sample).

        The image is named after the id made safe as a file name (``paths.safe_name``): an id from
        the input (``../x``, ``a/b``) never picks where the file goes. A document of several pages
        (a list of images) gets ``images/<id>.<ext>`` for its first page, ``images/<id>_p2.<ext>``
        and on for the others, listed in the row's ``pages``."""
        images = image_bytes if isinstance(image_bytes, list) else [image_bytes]
        names = page_file_names(sample.id, len(images), ext)
        for name, data in zip(names, images):
            self.write_file(name, data)
        sample.file_name = names[0]
        sample.pages = names if len(names) > 1 else []
        self.append(sample.to_row())

    def append(self, row: dict[str, Any]) -> None:
        """Append one row (with an ``id``) in a single write; write its files first."""
        self._meta.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._meta.flush()
        self.done.add(row["id"])

    def finish(self, counts: dict[str, Any], order: Callable[[dict[str, Any]], Any] | None = None,
               status: str = "complete") -> dict[str, Any]:
        """Close, sort the rows by ``order`` (fixed output whatever the write order) and write ``run.json``."""
        self._meta.close()
        if order is not None:
            latest = {row["id"]: row for row in iter_rows(self.folder, self.rows_file)}  # regenerated id: last wins
            rows = sorted(latest.values(), key=order)
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            atomic_write(self.folder / self.rows_file, data.encode("utf-8"))
        self.info.update(status=status, counts=counts, seconds=round(time.time() - self.started, 2))
        atomic_write(self.folder / RUN_INFO, json.dumps(self.info, indent=2, default=str).encode())
        self.lock.release()
        return self.info


def page_file_names(sample_id: str, count: int, ext: str = "jpg") -> list[str]:
    """Where a document's page images go: ``images/<id>.<ext>``, then ``images/<id>_p2.<ext>`` ..."""
    base, ext = safe_name(sample_id), safe_name(ext)
    return [f"images/{base}.{ext}"] + [f"images/{base}_p{k}.{ext}" for k in range(2, count + 1)]


def read_pages(folder: str | Path, sample: Sample) -> list[Any]:
    """A record's page images (RGB ``PIL.Image``), in page order; a missing, broken or misplaced
    file is a ``BadItem`` naming the row."""
    from docfoundry.images import open_image

    where = f"{Path(folder) / METADATA} row {sample.id}: file_name"
    return [open_image(path, str(path), "page image")
            for path in (inside(folder, name, where) for name in sample.page_files)]


def subset(src: str | Path, dst: str | Path, keep: Callable[[dict[str, Any]], bool]) -> int:
    """A dataset folder with the rows of ``src`` that ``keep`` accepts, images hard-linked (copied
    across file systems); returns the row count. Used to give a one-schema stage one type's pages."""
    import shutil

    src, dst = Path(src), Path(dst)
    rows = [row for row in iter_rows(src) if keep(row)]
    (dst / "images").mkdir(parents=True, exist_ok=True)
    for row in rows:
        for name in row.get("pages") or [row["file_name"]]:  # every page of a document
            source = inside(src, name, f"{src / METADATA} file_name")
            target = inside(dst, name, f"{src / METADATA} file_name")
            if not target.exists():
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copyfile(source, target)
    atomic_write(dst / METADATA, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
    return len(rows)
