"""A labeled dataset folder -> a Label Studio import file of the pages a person should review.

    docfoundry review export --in data/labeled --out review/tasks.json --below 0.8
    docfoundry review export --in data/labeled --out review/tasks.json --image local-files --local-root data

Pages come most doubtful first: lowest field confidence, then most ungrounded fields. Each task
carries the page image (a data URL, or a Label Studio local-files URL), the teacher's answers as
a prediction whose results carry each field's confidence as their score, and the ids that tie an
export back to this folder and schema. The labeling config is written beside the tasks (``.xml``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from distill.review.labeling import (
    BOX,
    BOX_TEXT,
    IMAGE,
    Control,
    controls,
    item_entry,
    labeling_config,
    schema_digest,
)
from docfoundry.errors import UserError
from docfoundry.records import Sample, flatten, unflatten

MIME = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
LOCATE_SCORE = 90.0  # fuzzy score (0-100) at which OCR words are taken as a value's box


def folder_identity(folder: Path) -> str:
    """What ties tasks to one labeled folder: its run's fingerprint (else its page ids)."""
    from docfoundry.store import iter_rows, read_run_info

    info = read_run_info(folder)
    basis = info.get("fingerprint") or sorted(str(r.get("id")) for r in iter_rows(folder))
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]


def labeled_pages(folder: Path, schema: str = "") -> tuple[Any, list[Sample]]:
    """The document type and the pages of a labeled folder (``docfoundry label`` output); a folder
    whose rows have no teacher field report, or another type than ``schema``, is a ``UserError``."""
    from docfoundry.doctypes import load_doc_type
    from docfoundry.store import read_run_info, read_samples

    pages = list(read_samples(folder))
    if not pages:
        raise UserError(f"{folder}: holds no pages")
    unlabeled = next((p for p in pages if not isinstance(p.meta.get("fields"), dict)), None)
    if unlabeled is not None:
        raise UserError(f"{folder / 'metadata.jsonl'}: page {unlabeled.id} has no meta.fields (the teacher's "
                        "field report); review a folder written by docfoundry label")
    doc = load_doc_type(schema or read_run_info(folder).get("config", {}).get("schema") or pages[0].doc_type)
    other = next((p for p in pages if p.doc_type != doc.name), None)
    if other is not None:
        raise UserError(f"{folder / 'metadata.jsonl'}: page {other.id} is a {other.doc_type}, not a {doc.name}")
    return doc, pages


def doubt(page: Sample, below: float) -> tuple[float, int, int]:
    """(lowest field confidence, ungrounded fields, fields below ``below``) of a page; no field is 0."""
    fields = page.meta["fields"].values()
    confidences = [float(f.get("confidence", 0.0)) for f in fields]
    return (min(confidences, default=0.0), sum(f.get("grounded") is False for f in fields),
            sum(c < below for c in confidences))


def locate(value: Any, words: list[Any]) -> list[int] | None:
    """The box of the OCR words that spell ``value`` (fuzzy, at least ``LOCATE_SCORE``), or None."""
    from rapidfuzz import fuzz

    target = " ".join(str(value).split()).lower()
    if not target or not words:
        return None
    starts, text = [], ""
    for w in words:
        starts.append(len(text))
        text += w.text.lower() + " "
    hit = fuzz.partial_ratio_alignment(target, text)
    if hit is None or hit.score < LOCATE_SCORE:
        return None
    used = [w for w, s in zip(words, starts) if s < hit.dest_end and s + len(w.text) > hit.dest_start]
    if not used:
        return None
    return [min(w.box[0] for w in used), min(w.box[1] for w in used),
            max(w.box[2] for w in used), max(w.box[3] for w in used)]


def field_box(page: Sample, path: str, value: Any) -> list[int] | None:
    """A field's box: the teacher's (``meta.fields[path].box``), the row's ``field_boxes``, else located."""
    box = page.meta["fields"].get(path, {}).get("box")
    # the task shows a document's first page: a box on a later page is not drawn there
    box = box or next((f.box for f in page.field_boxes if f.path == path and f.page == 0), None)
    return list(box) if box else locate(value, page.on_page(0)[0])


def image_url(folder: Path, page: Sample, mode: str, local_root: Path) -> tuple[str, Path]:
    """The task's image (a data URL or a local-files URL) and its file; a missing file is a ``UserError``."""
    from urllib.parse import quote

    from docfoundry.paths import inside

    path = inside(folder, page.file_name, f"{folder / 'metadata.jsonl'} page {page.id}: file_name")
    if not path.is_file():
        raise UserError(f"{path}: the image of page {page.id} is gone")
    if mode == "data":
        ext = path.suffix.lstrip(".").lower()
        return f"data:{MIME.get(ext, 'image/' + ext)};base64,{base64.b64encode(path.read_bytes()).decode()}", path
    try:
        rel = path.resolve().relative_to(local_root.resolve())
    except ValueError:
        raise UserError(f"{path}: not under --local-root {local_root} (Label Studio's "
                        "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT)") from None
    return f"/data/local-files/?d={quote(rel.as_posix())}", path


def _percent(box: list[int], size: tuple[int, int]) -> dict[str, float]:
    w, h = size
    return {"x": round(100 * box[0] / w, 4), "y": round(100 * box[1] / h, 4),
            "width": round(100 * (box[2] - box[0]) / w, 4), "height": round(100 * (box[3] - box[1]) / h, 4),
            "rotation": 0}


def _value_result(c: Control, flat: dict[str, Any], fields: dict[str, Any], gt: dict[str, Any]) -> dict[str, Any] | None:
    base = {"id": c.name, "from_name": c.name, "to_name": IMAGE}
    if c.kind == "list":
        items = gt.get(c.pattern) if isinstance(gt.get(c.pattern), list) else []
        entries = [item_entry(flatten(item), c.columns) for item in items if isinstance(item, dict)]
        entries = [e for e in entries if e]
        scores = [float(f["confidence"]) for p, f in fields.items() if p.startswith(c.pattern + ".")]
        return {**base, "type": "textarea", "value": {"text": entries}, "score": min(scores)} if entries else None
    value = flat.get(c.pattern)
    if value is None or not str(value).strip():
        return None
    score = float(fields.get(c.pattern, {}).get("confidence", 0.0))
    if c.kind == "choices":
        return {**base, "type": "choices", "value": {"choices": [str(value)]}, "score": score}
    return {**base, "type": "textarea", "value": {"text": [str(value)]}, "score": score}


def prediction(doc: Any, page: Sample, size: tuple[int, int]) -> dict[str, Any]:
    """The teacher's answers for one page as a Label Studio prediction (score: lowest confidence)."""
    from docfoundry.doctypes import path_pattern

    fields = page.meta["fields"]
    flat = {p: f.get("value") for p, f in fields.items()}
    gt = unflatten(flat)
    results = [r for c in controls(doc) if (r := _value_result(c, flat, fields, gt)) is not None]
    for i, (path, value) in enumerate(flat.items()):
        box = field_box(page, path, value) if value is not None and str(value).strip() else None
        if box is None or box[2] <= box[0] or box[3] <= box[1]:
            continue
        region = {"id": f"box{i}", "to_name": IMAGE, "original_width": size[0], "original_height": size[1],
                  "image_rotation": 0, "score": float(fields[path].get("confidence", 0.0))}
        geometry = _percent(box, size)
        results.append({**region, "from_name": BOX, "type": "rectanglelabels",
                        "value": {**geometry, "rectanglelabels": [path_pattern(path)]}})
        results.append({**region, "from_name": BOX_TEXT, "type": "textarea",
                        "value": {**geometry, "text": [str(value)]}})
    low = min((float(f.get("confidence", 0.0)) for f in fields.values()), default=0.0)
    return {"model_version": str(page.meta.get("teacher", "teacher")), "score": low, "result": results}


def build_tasks(folder: Path, doc: Any, pages: list[Sample], below: float, max_pages: int, order: str,
                image: str, local_root: Path) -> list[dict[str, Any]]:
    """The Label Studio tasks of the pages to review, most doubtful first (``order="uncertainty"``)."""
    from PIL import Image

    position = {p.id: i for i, p in enumerate(pages)}
    scored = [(doubt(p, below), p) for p in pages]
    chosen = [(d, p) for d, p in scored if d[2] or d[1] or not p.meta["fields"]]
    if order == "uncertainty":
        chosen.sort(key=lambda dp: (dp[0][0], -dp[0][1], -dp[0][2], position[dp[1].id]))
    if max_pages:
        chosen = chosen[:max_pages]
    identity, digest = folder_identity(folder), schema_digest(doc)
    tasks = []
    for (low, ungrounded, doubtful), page in chosen:
        url, path = image_url(folder, page, image, local_root)
        with Image.open(path) as im:
            size = im.size
        tasks.append({
            "data": {"image": url, "page_id": page.id,
                     "title": f"{page.id}: {doubtful} field(s) below {below}, {ungrounded} ungrounded, "
                              f"lowest confidence {low:.2f}",
                     "docfoundry": {"schema": doc.name, "schema_digest": digest, "labeled": identity,
                                    "page": page.id}},
            "predictions": [prediction(doc, page, size)],
        })
    return tasks


def export_tasks(folder: str, out: str, schema: str = "", below: float = 0.8, max_pages: int = 0,
                 order: str = "uncertainty", image: str = "data", local_root: str = ".") -> dict[str, Any]:
    """Write ``out`` (the tasks) and the labeling config beside it (``.xml``); returns a summary."""
    from docfoundry.store import atomic_write

    src = Path(folder)
    doc, pages = labeled_pages(src, schema)
    tasks = build_tasks(src, doc, pages, below, max_pages, order, image, Path(local_root))
    target = Path(out)
    if target.is_dir():
        raise UserError(f"{target}: is a folder; --out names the tasks file (tasks.json)")
    target.parent.mkdir(parents=True, exist_ok=True)
    config = target.with_suffix(".xml")
    atomic_write(target, json.dumps(tasks, ensure_ascii=False, indent=1).encode("utf-8"))
    atomic_write(config, labeling_config(doc).encode("utf-8"))
    return {"out": str(target), "labeling_config": str(config), "schema": doc.name, "pages": len(pages),
            "tasks": len(tasks), "most_doubtful": [t["data"]["page_id"] for t in tasks[:5]]}
