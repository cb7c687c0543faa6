"""The gap a student will meet: the teacher's per-field accuracy on the synthetic pages (their exact
truth) against its accuracy on labeled real pages, scored the way ``label audit --truth`` scores them
(``distill.label``: normalized exact match, the real truth mapped through ``eval.fieldmap``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docfoundry.errors import UserError


def teacher_gap(*, schema: str, synth: str, truth: str, teacher: str, out: Path, cache: str,
                field_map: dict[str, str], limit: int, workers: int, progress: bool) -> dict[str, Any]:
    """Label the synthetic pages and the real labeled pages with ``teacher`` (into ``out/synthetic``
    and ``out/real``, OCR shared through ``cache``) and return both audits and the per-field gap."""
    from distill.label import (
        AuditConfig,
        LabelConfig,
        audit_scores,
        gap_table,
        load_real_truth,
        read_labels,
        real_audit,
        run,
    )
    from docfoundry.doctypes import load_doc_type
    from docfoundry.records import flatten
    from docfoundry.store import read_samples

    doc = load_doc_type(schema)
    truth_set, fmap = load_real_truth(schema, truth, "auto", field_map, limit, flag="--field-map")
    if not (Path(synth) / "metadata.jsonl").is_file():
        raise UserError(f"--synth {synth}: --truth compares the teacher on synthetic pages with exact truth; "
                        "give a dataset folder made by docfoundry synth")
    synth_truth = {s.id: flatten(s.gt_parse) for s in read_samples(Path(synth)) if s.doc_type == doc.name}
    if not synth_truth:
        raise UserError(f"--synth {synth}: no {doc.name} pages to score the teacher on")
    summary = run(LabelConfig(source=synth, schema=schema, out=str(out / "synthetic"), teacher=teacher,
                              cache=cache, limit=limit, workers=workers, progress=progress))
    labeled, failed = read_labels(out / "synthetic")
    synth_truth = {i: t for i, t in synth_truth.items() if i in labeled or i in failed}
    scores = audit_scores(doc, synth_truth, labeled, failed)
    same = audit_scores(doc, synth_truth, labeled, failed, fmap.covered)
    audit_cfg = AuditConfig(schema=schema, out=str(out), truth=truth, teacher=teacher, field_map=field_map,
                            limit=limit, cache=cache, workers=workers, progress=progress)
    real = real_audit(audit_cfg, doc, truth_set, fmap, out / "real")
    gaps = gap_table(scores, same, real)
    return {"teacher": teacher, "schema": doc.name, "synthetic_pages": len(synth_truth), "real_pages": real["pages"],
            "field_map": real["field_map"], "synthetic_label": summary,
            "synthetic_field_accuracy": same["field_accuracy"], "real_field_accuracy": real["field_accuracy"],
            "real_fuzzy": real["fuzzy"], "gap": gaps}
