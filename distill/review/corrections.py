"""A Label Studio JSON export of reviewed tasks -> a dataset folder whose reviewed fields are truth.

    docfoundry review import --in data/labeled --export ls_export.json --out data/reviewed

A page with a submitted annotation is reviewed as a whole: its fields are the annotation's values
(``source: "human"``, confidence 1.0; a field the reviewer cleared is gone), with the teacher's
value and confidence kept beside them, and who reviewed it when in ``meta.review``. Every other
page keeps the teacher's fields (``source: "teacher"``). ``review.json`` says per field and per
teacher confidence how often the reviewer changed the teacher: the teacher's real error rate, in
the real audit's own terms (``audit``, from ``distill.label.audit_scores``). ``labels.jsonl`` holds
the reviewed pages' truth, for ``docfoundry label audit --truth REVIEWED/labels.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from distill.review.labeling import BOX, BOX_TEXT, Control, controls, parse_entry, schema_digest
from distill.review.tasks import folder_identity, labeled_pages
from docfoundry.errors import UserError
from docfoundry.records import FieldBox, Sample, flatten, unflatten
from docfoundry.store import read_json_file

REVIEW_FILE = "review.json"
TRUTH_FILE = "labels.jsonl"
NOT_PREDICTED = "not predicted"  # the bucket of fields the reviewer added


def read_export(path: Path) -> list[dict[str, Any]]:
    """The tasks of a Label Studio JSON export; anything else is a one-line ``UserError``."""
    tasks = read_json_file(path, "export")
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise UserError(f"{path}: expected a list of tasks (Label Studio's JSON export, not JSON-MIN or CSV)")
    for i, t in enumerate(tasks):
        if not isinstance(t.get("data"), dict) or not isinstance(t.get("annotations", []), list):
            raise UserError(f"{path}: task {t.get('id', i)} has no 'data' object or 'annotations' list "
                            "(Label Studio's JSON export)")
    return tasks


def _check_task(task: dict[str, Any], where: str, doc: Any, identity: str, ids: set[str]) -> str:
    """The page id a task is for, once it is known to come from this folder and schema."""
    tag = task["data"].get("docfoundry")
    if not isinstance(tag, dict):
        raise UserError(f"{where}: has no data.docfoundry (not made by docfoundry review export: an export "
                        "of another project?)")
    if tag.get("schema") != doc.name or tag.get("schema_digest") != schema_digest(doc):
        raise UserError(f"{where}: is for schema {tag.get('schema')} ({tag.get('schema_digest')}), not "
                        f"{doc.name} ({schema_digest(doc)}): an export of another schema or schema version")
    if tag.get("labeled") != identity:
        raise UserError(f"{where}: was exported from another labeled folder (id {tag.get('labeled')}, this one "
                        f"is {identity})")
    page = str(tag.get("page"))
    if page not in ids:
        raise UserError(f"{where}: page '{page}' is not in the labeled folder")
    return page


def latest_annotation(task: dict[str, Any]) -> dict[str, Any] | None:
    """The task's last submitted annotation (skipped ones left out), or None."""
    done = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    return max(done, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), str(a.get("id"))),
               default=None)


def _user(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("email") or value.get("username") or f"user {value.get('id')}")
    return "" if value is None else f"user {value}"


def _pixels(value: dict[str, Any], size: tuple[int, int]) -> list[int]:
    w, h = size
    x0, y0 = value["x"] * w / 100, value["y"] * h / 100
    return [round(x0), round(y0), round(x0 + value["width"] * w / 100), round(y0 + value["height"] * h / 100)]


def annotation_values(result: list[Any], doc: Any, where: str) -> tuple[dict[str, str], list[FieldBox]]:
    """The flat field values and the field boxes of one annotation's results."""
    by_name: dict[str, Control] = {c.name: c for c in controls(doc)}
    flat: dict[str, str] = {}
    regions: dict[str, dict[str, Any]] = {}
    for r in result:
        name, value = (r.get("from_name"), r.get("value")) if isinstance(r, dict) else (None, None)
        if not isinstance(value, dict):
            raise UserError(f"{where}: a result without a 'value' object")
        c = by_name.get(name)
        if c is not None and c.kind == "list":
            for i, entry in enumerate(str(e) for e in value.get("text") or []):
                flat.update({f"{c.pattern}.{i}.{k}": v for k, v in parse_entry(entry, c.columns, where).items()})
        elif c is not None:
            parts = value.get("choices" if c.kind == "choices" else "text") or []
            flat[c.pattern] = "\n".join(str(p) for p in parts)
        elif name in (BOX, BOX_TEXT):
            regions.setdefault(str(r.get("id")), {"size": (r.get("original_width"), r.get("original_height"))})
            regions[str(r.get("id"))].update(value)
        else:
            raise UserError(f"{where}: result '{name}' is not a control of the {doc.name} labeling config "
                            "(an export of another project or schema?)")
    boxes = []
    for reg in regions.values():
        labels, size = reg.get("rectanglelabels") or [], reg["size"]
        if not labels or not all(isinstance(v, (int, float)) for v in (*size, reg.get("x"), reg.get("width"))):
            continue
        path = _region_path(labels[0], " ".join(reg.get("text") or []), flat)
        if path is not None:
            boxes.append(FieldBox(path, flat.get(path, ""), _pixels(reg, size)))
    return flat, boxes


def _region_path(pattern: str, text: str, flat: dict[str, str]) -> str | None:
    """The field a box is of: its label, or for a list column the item whose value is its text."""
    if "[]" not in pattern:
        return pattern
    from docfoundry.doctypes import path_pattern

    same = [p for p in flat if path_pattern(p) == pattern]
    return next((p for p in same if " ".join(flat[p].split()) == " ".join(text.split())), None)


def reviewed_sample(page: Sample, flat: dict[str, str], boxes: list[FieldBox], doc: Any,
                    who: dict[str, Any]) -> tuple[Sample, dict[str, Any]]:
    """A reviewed page: the reviewer's values as truth, the teacher's beside them; and what changed."""
    from docfoundry.normalize import normalized_equal

    teacher = page.meta["fields"]
    values = {p: v for p, v in flat.items() if str(v).strip()}
    box_of = {b.path: b.box for b in boxes}
    fields: dict[str, Any] = {}
    for path, value in values.items():
        t = teacher.get(path, {})
        leaf = doc.leaf(path)
        fields[path] = {"value": value, "confidence": 1.0, "source": "human", "grounding": t.get("grounding"),
                        "grounded": t.get("grounded"), "teacher_value": t.get("value"),
                        "teacher_confidence": t.get("confidence"),
                        "changed": not normalized_equal(t.get("value"), value, leaf.kind if leaf else "text")}
        if path in box_of:
            fields[path]["box"] = box_of[path]
    changed = sorted(p for p, f in fields.items() if f["changed"] and p in teacher)
    review = {"status": "reviewed", **who, "changed": changed,
              "added": sorted(p for p in fields if p not in teacher),
              "removed": sorted(p for p in teacher if p not in fields and str(teacher[p].get("value") or "").strip())}
    meta = {**page.meta, "fields": fields, "dropped": [], "review": review}
    sample = Sample(id=page.id, doc_type=page.doc_type, split=page.split, gt_parse=unflatten(values),
                    words=page.words, field_boxes=boxes, meta=meta, file_name=page.file_name)
    return sample, review


def _bucket(c: float | None) -> str:
    if c is None:
        return NOT_PREDICTED
    lo = min(int(float(c) * 10), 9) / 10
    return f"{lo:.1f}-{lo + 0.1:.1f}"


def change_rates(doc: Any, reviewed: list[tuple[dict[str, Any], dict[str, str]]]) -> dict[str, Any]:
    """How often the reviewer changed the teacher, per field and per teacher-confidence bucket.

    ``reviewed``: per reviewed page the teacher's field report and the reviewer's flat values; a
    field either side has counts (added by the reviewer: bucket ``not predicted``; cleared: changed).
    """
    from docfoundry.doctypes import path_pattern
    from docfoundry.normalize import normalized_equal

    per_field: dict[str, Counter[str]] = {}
    per_bucket: dict[str, Counter[str]] = {}
    for teacher, human in reviewed:
        for path in sorted(set(teacher) | set(human)):
            t = teacher.get(path, {})
            if path not in human and not str(t.get("value") or "").strip():
                continue  # an empty teacher value the reviewer left empty: nothing to judge
            leaf = doc.leaf(path)
            changed = not normalized_equal(t.get("value"), human.get(path), leaf.kind if leaf else "text")
            for table, key in ((per_field, path_pattern(path)), (per_bucket, _bucket(t.get("confidence")))):
                tally = table.setdefault(key, Counter())
                tally["n"] += 1
                tally["changed"] += changed

    def rows(table: dict[str, Counter[str]]) -> dict[str, Any]:
        return {k: {"n": v["n"], "changed": v["changed"], "change_rate": round(v["changed"] / v["n"], 4)}
                for k, v in sorted(table.items())}

    n = sum(v["n"] for v in per_field.values())
    changed = sum(v["changed"] for v in per_field.values())
    return {"fields_reviewed": n, "changed": changed, "change_rate": round(changed / n, 4) if n else None,
            "per_field": rows(per_field), "per_confidence_bucket": rows(per_bucket)}


def import_review(folder: str, export: str, out: str, schema: str = "") -> dict[str, Any]:
    """Write the reviewed dataset folder ``out`` from labeled ``folder`` and Label Studio ``export``."""
    from distill.label import audit_scores
    from docfoundry.paths import inside
    from docfoundry.store import DatasetWriter, atomic_write

    src, export_path = Path(folder), Path(export)
    doc, pages = labeled_pages(src, schema)
    tasks = read_export(export_path)
    identity, by_id = folder_identity(src), {p.id: p for p in pages}
    annotations: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {}
    for i, task in enumerate(tasks):
        where = f"{export_path}: task {task.get('id', i)}"
        page = _check_task(task, where, doc, identity, set(by_id))
        ann = latest_annotation(task)
        if ann is not None:
            if not isinstance(ann.get("result"), list):
                raise UserError(f"{where}: annotation {ann.get('id')} has no 'result' list")
            earlier = annotations.get(page)
            if earlier is not None and latest_annotation({"annotations": [earlier[1], ann]}) is earlier[1]:
                continue  # the page imported twice: the latest annotation of either task wins
            annotations[page] = (task, ann, f"{where} annotation {ann.get('id')}")
    images = {}
    for p in pages:  # every image before any is written: a gone one stops the run with nothing half-made
        images[p.id] = [inside(src, name, f"{src / 'metadata.jsonl'} page {p.id}: file_name") for name in p.page_files]
        for path in images[p.id]:  # a document of several pages keeps them all
            if not path.is_file():
                raise UserError(f"{path}: the image of page {p.id} is gone")
    parsed = {pid: annotation_values(ann["result"], doc, where) for pid, (_, ann, where) in annotations.items()}
    export_digest = hashlib.sha256(export_path.read_bytes()).hexdigest()[:16]
    writer = DatasetWriter(out, stage="review", fingerprint={"labeled": identity, "export": export_digest,
                                                             "schema_digest": schema_digest(doc)},
                           config={"in": folder, "export": export, "out": out, "schema": doc.name})
    reviewed_pairs, truth_rows, counts = [], [], Counter()
    status = "partial"
    try:
        for page in pages:
            if page.id in parsed:
                task, ann, _ = annotations[page.id]
                who = {"annotator": _user(ann.get("completed_by")),
                       "annotated_at": ann.get("updated_at") or ann.get("created_at"),
                       "annotation_id": ann.get("id"), "task_id": task.get("id"), "project": task.get("project"),
                       "lead_time_s": ann.get("lead_time")}
                sample, _ = reviewed_sample(page, *parsed[page.id], doc, who)
                reviewed_pairs.append((page.meta["fields"], parsed[page.id][0]))
                truth_rows.append({"id": page.id, "image": page.file_name, "split": page.split,
                                   "doc_type": doc.name, "fields": sample.gt_parse})
                counts["reviewed"] += 1
            else:
                fields = {p: {**f, "source": "teacher"} for p, f in page.meta["fields"].items()}
                sample = Sample(id=page.id, doc_type=page.doc_type, split=page.split, gt_parse=page.gt_parse,
                                words=page.words, field_boxes=page.field_boxes, gt_typed=page.gt_typed,
                                meta={**page.meta, "fields": fields, "review": {"status": "unreviewed"}})
            if page.id not in writer.done:
                files = images[page.id]
                data = [f.read_bytes() for f in files]
                writer.add(sample, data if len(data) > 1 else data[0], files[0].suffix.lstrip(".") or "jpg")
        rates = change_rates(doc, reviewed_pairs)
        audit = audit_scores(doc, {pid: flatten(unflatten({p: v for p, v in flat.items() if str(v).strip()}))
                                   for pid, (flat, _) in parsed.items()},
                             {pid: by_id[pid].meta["fields"] for pid in parsed}, set())
        report = {"labeled": folder, "export": export, "schema": doc.name, "pages": len(pages),
                  "reviewed_pages": counts["reviewed"], **rates, "audit": audit}
        atomic_write(writer.folder / REVIEW_FILE, json.dumps(report, indent=2, ensure_ascii=False).encode())
        atomic_write(writer.folder / TRUTH_FILE,
                     "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in truth_rows).encode("utf-8"))
        status = "complete"
    finally:
        order = {p.id: i for i, p in enumerate(pages)}
        writer.finish({"pages": len(pages), "reviewed": counts["reviewed"]},
                      order=lambda row: order.get(row["id"], len(order)), status=status)
    return {"out": out, "pages": len(pages), "reviewed_pages": counts["reviewed"],
            "fields_reviewed": rates["fields_reviewed"], "changed": rates["changed"],
            "change_rate": rates["change_rate"],
            "change_rate_per_confidence": {b: r["change_rate"] for b, r in rates["per_confidence_bucket"].items()},
            "recommended_min_confidence": audit["recommended_min_confidence"]["min_confidence"],
            "report": str(writer.folder / REVIEW_FILE)}
