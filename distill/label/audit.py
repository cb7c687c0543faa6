"""``docfoundry label audit``: a teacher on synthetic pages with exact truth, and on labeled real
pages (``--truth``), scored side by side per field with the --min-confidence to label with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.label.config import LabelConfig, TeacherArgs, teacher_settings
from distill.label.scores import (
    TARGET_ACCURACY,
    audit_scores,
    gap_table,
    score_labels,
    seed_fuzzy,
    synthetic_truth,
)
from distill.label.stage import read_labels, run
from docfoundry.adapters import ADAPTERS
from docfoundry.config import grouped, opt, validate
from docfoundry.errors import UserError
from synth.generate import degrade_help


@grouped
@dataclass(kw_only=True)
class AuditConfig(TeacherArgs):
    schema: str = opt(help="document type to generate and label (a folder in templates/: invoice, receipt, ...)")
    out: str = opt(help="report folder: pages/ (synthetic), labels/ (teacher), audit.json, audit.md")
    n: int = opt(200, "synthetic pages")
    degrade: str = opt("clean", degrade_help)
    synth_seed: int = opt(1, "seed of the synthetic pages")
    locales: list[str] = opt([], "locales of the synthetic pages (default: synth's)")
    progress: bool = opt(True, "show progress bars")
    truth: str = opt("", "labeled real pages (labels.jsonl, SROIE, FUNSD, CORD or a dataset folder): the teacher "
                         "is scored on them too, side by side with the synthetic pages (real/ in --out)")
    truth_format: str = opt("auto", "layout of --truth", choices=["auto", *ADAPTERS])
    field_map: dict[str, str] = opt({}, "truth field=schema field, comma-separated (company=store_name,"
                                        "address=store_address); the schema's x-aliases map without it")
    limit: int = opt(0, "score only the first N pages of --truth (0 = all)")
    target_accuracy: float = opt(TARGET_ACCURACY, "accuracy of the kept fields the recommended --min-confidence "
                                                  "aims for (from the real pages when --truth is given)")
    cache: str = opt("", "call cache folder (default OUT/cache); a label run's cache reuses its OCR and answers")

    def validate(self) -> None:
        """The teacher settings, then the audit's own."""
        super().validate()
        if self.n < 1:
            raise UserError("--n must be at least 1 (the synthetic pages the real ones are compared with)")
        if self.limit < 0:
            raise UserError("--limit must be 0 (all) or more")
        if not 0 <= self.target_accuracy <= 1:
            raise UserError("--target-accuracy must be between 0 and 1")
        if (self.field_map or self.limit) and not self.truth:
            raise UserError("--field-map and --limit apply to --truth (labeled real pages); give --truth DIR")


def load_real_truth(schema: str, truth: str, truth_format: str = "auto", field_map: dict[str, str] | None = None,
                    limit: int = 0, flag: str = "--field-map") -> tuple[Any, Any]:
    """Real truth for an audit and its map onto ``schema``: ``(TruthSet, FieldMap)``.

    A bad map entry, or truth with no field that maps onto the schema, is a ``UserError``: it is
    found before any page is read.
    """
    from docfoundry.adapters import load_truth
    from docfoundry.doctypes import load_doc_type
    from eval.fieldmap import resolve_field_map, some_names, truth_patterns

    doc = load_doc_type(schema)
    records = load_truth(truth, truth_format, limit=limit)
    fmap = resolve_field_map(doc, truth_patterns(records.records), field_map or {}, source=records.source, flag=flag)
    if not fmap.covered:
        raise UserError(f"{records.source}: none of its fields ({some_names(fmap.unmapped)}) is a {doc.name} "
                        f"field or one of its x-aliases; map them with {flag} truth_field=schema_field")
    return records, fmap


def real_audit(cfg: AuditConfig, doc: Any, truth: Any, fmap: Any, out: Path) -> dict[str, Any]:
    """Label the real pages of ``truth`` with the teacher into ``out/labels`` and score them on the
    fields ``fmap`` covers: the synthetic audit's numbers plus the seed fuzzy score, and the case
    convention of the truth next to the schema's (``docfoundry.case``)."""
    from docfoundry.case import case_conventions
    from docfoundry.records import flatten

    source = Path(cfg.truth)
    if source.is_file() and source.name in ("labels.jsonl", "metadata.jsonl"):
        source = source.parent  # the pages are listed from the folder
    shared = teacher_settings(cfg)
    summary = run(LabelConfig(source=str(source), schema=cfg.schema, out=str(out / "labels"), limit=cfg.limit,
                              cache=cfg.cache or str(Path(cfg.out) / "cache"), progress=cfg.progress, **shared))
    labeled, failed = read_labels(out / "labels")
    rows = {r.id: flatten(fmap.apply(r.fields)) for r in truth.records}
    if not any(i in labeled or i in failed for i in rows):
        raise UserError(f"{cfg.truth}: the pages labeled from it have none of its truth ids "
                        f"(e.g. truth '{next(iter(rows))}'); is --truth-format the folder's layout?")
    scores = audit_scores(doc, rows, labeled, failed, fmap.covered, cfg.target_accuracy)
    fuzzy = seed_fuzzy(rows, labeled, failed)
    return {"truth": cfg.truth, "adapter": truth.adapter, "pages": len(rows), "field_map": fmap.to_json(),
            "label": summary, **scores, "fuzzy": fuzzy["fuzzy"], "per_field_fuzzy": fuzzy["per_field"],
            "case": case_conventions(doc.schema, rows.values(), fmap.covered)}  # the fuzzy score is case-sensitive


def run_audit(cfg: AuditConfig) -> dict[str, Any]:
    """Generate ``cfg.n`` synthetic pages, label them with the teacher, score against the exact truth;
    with ``cfg.truth``, also label and score the real pages and put both side by side per field."""
    from distill.label.audit_report import audit_markdown
    from docfoundry.doctypes import load_doc_type
    from synth.generate import SynthConfig
    from synth.generate import run as synth_run

    validate(cfg)  # every setting, before any page is made
    doc = load_doc_type(cfg.schema)
    truth = fmap = None
    if cfg.truth:  # a bad map fails here, before any page is made or read
        truth, fmap = load_real_truth(cfg.schema, cfg.truth, cfg.truth_format, cfg.field_map, cfg.limit)
    out = Path(cfg.out)
    synth_kwargs: dict[str, Any] = {"locales": cfg.locales} if cfg.locales else {}
    synth_run(SynthConfig(out=str(out / "pages"), doc_types=[cfg.schema], n=cfg.n, seed=cfg.synth_seed,
                          degrade=cfg.degrade, workers=cfg.workers, splits={"test": 1.0}, **synth_kwargs))
    shared = teacher_settings(cfg)
    summary = run(LabelConfig(source=str(out / "pages"), schema=cfg.schema, out=str(out / "labels"),
                              cache=cfg.cache or str(out / "cache"), progress=cfg.progress, **shared))
    synth_truth = synthetic_truth(out / "pages")
    scores = score_labels(doc, synth_truth, out / "labels", target=cfg.target_accuracy)
    report: dict[str, Any] = {"teacher": cfg.teacher, "schema": cfg.schema, "n": cfg.n, "degrade": cfg.degrade,
                              "synth_seed": cfg.synth_seed, "label": summary, **scores}
    real = gaps = None
    if truth is not None:
        real = real_audit(cfg, doc, truth, fmap, out / "real")
        same = score_labels(doc, synth_truth, out / "labels", fmap.covered, cfg.target_accuracy)
        gaps = gap_table(scores, same, real)
        report.update(real=real, synthetic_same_fields=same, gap=gaps)
        report["recommended_min_confidence"] = {**real["recommended_min_confidence"], "from": "real"}
    else:
        report["recommended_min_confidence"] = {**scores["recommended_min_confidence"], "from": "synthetic"}
    (out / "audit.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out / "audit.md").write_text(audit_markdown(cfg, scores, summary, real, gaps))
    result = {"out": cfg.out, "field_accuracy": scores["field_accuracy"], "truth_fields": scores["truth_fields"],
              "failed_pages": summary["failed"], "pages_per_s": summary["pages_per_s"],
              "per_confidence_bucket": scores["per_confidence_bucket"],
              "recommended_min_confidence": report["recommended_min_confidence"]["min_confidence"],
              "report": str(out / "audit.md")}
    if real is not None and gaps is not None:
        result.update(real_field_accuracy=real["field_accuracy"], real_fuzzy=real["fuzzy"],
                      real_pages=real["pages"], gap=gaps["overall"]["gap"],
                      gap_per_field={p: g["gap"] for p, g in gaps["fields"].items()})
    return result
