"""How far a teacher's labels can be trusted: labeled pages scored against truth, per field, per
confidence bucket and per ``--min-confidence`` threshold; the seed fuzzy score; the synthetic-real gap.
``label audit`` and the run's audit stage both score through ``score_labels``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AUDIT_THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
TARGET_ACCURACY = 0.9  # what the recommended --min-confidence aims for on the fields it keeps

def _bucket(c: float) -> str:
    lo = min(int(c * 10), 9) / 10
    return f"{lo:.1f}-{lo + 0.1:.1f}"


def recommend_min_confidence(thresholds: list[dict[str, Any]], target: float = TARGET_ACCURACY) -> dict[str, Any]:
    """The ``--min-confidence`` to label with: the lowest threshold whose kept fields reach ``target``
    accuracy (it keeps the most); when none does, the one with the most accurate kept fields."""
    usable = [t for t in thresholds if t["accuracy_kept"] is not None]
    if not usable:
        return {"min_confidence": None, "kept_share": None, "accuracy_kept": None, "target": target,
                "reaches_target": False}
    reaching = [t for t in usable if t["accuracy_kept"] >= target]
    best = reaching[0] if reaching else max(usable, key=lambda t: (t["accuracy_kept"], -t["min_confidence"]))
    return {**best, "target": target, "reaches_target": bool(reaching)}


def audit_scores(doc: Any, truth_rows: dict[str, dict[str, Any]], labeled: dict[str, dict[str, Any]],
                 failed: set[str], fields: set[str] | None = None,
                 target: float = TARGET_ACCURACY) -> dict[str, Any]:
    """Per-field accuracy and accuracy per confidence bucket of labeled pages against exact truth.

    ``truth_rows``: id -> flat truth; ``labeled``: id -> the row's ``meta["fields"]`` report.
    A failed page counts every truth field as wrong. ``fields``: score only these schema patterns
    (real truth labels some fields only: the teacher's other fields cannot be judged). List items are
    paired with the truth's by agreement (``docfoundry.alignment``), not by index; each predicted
    field keeps its own confidence.
    """
    from docfoundry.alignment import aligned
    from docfoundry.doctypes import path_pattern
    from docfoundry.normalize import normalized_equal

    def kind_of(path: str) -> str:
        leaf = doc.leaf(path)
        return leaf.kind if leaf else "text"

    def same(path: str, truth_value: Any, pred_value: Any) -> bool:
        return normalized_equal(truth_value, pred_value, kind_of(path))

    per_field: dict[str, list[int]] = {}
    buckets: dict[str, list[int]] = {}
    scored: list[tuple[float, bool]] = []
    for pid, truth in truth_rows.items():
        report = aligned(truth, labeled.get(pid, {}), same, value_of=lambda r: r.get("value"))
        for path in sorted(set(truth) | set(report)):
            if fields is not None and path_pattern(path) not in fields:
                continue
            pred = report.get(path, {}).get("value") if path in report else None
            ok = pid not in failed and same(path, truth.get(path), pred)
            if path in truth:
                tally = per_field.setdefault(path_pattern(path), [0, 0])
                tally[0] += ok
                tally[1] += 1
            if path in report:
                c = float(report[path]["confidence"])
                scored.append((c, ok))
                b = buckets.setdefault(_bucket(c), [0, 0])
                b[0] += ok
                b[1] += 1
    total = sum(t for _, t in per_field.values())
    correct = sum(c for c, _ in per_field.values())
    thresholds = []
    for t in AUDIT_THRESHOLDS:
        kept = [ok for c, ok in scored if c >= t]
        thresholds.append({"min_confidence": t, "kept_share": round(len(kept) / len(scored), 4) if scored else None,
                           "accuracy_kept": round(sum(kept) / len(kept), 4) if kept else None})
    ece = (sum(abs(sum(ok for c, ok in scored if _bucket(c) == b) - sum(c for c, _ in scored if _bucket(c) == b))
               for b in buckets) / len(scored)) if scored else None
    return {
        "field_accuracy": round(correct / total, 4) if total else None,
        "truth_fields": total,
        "per_field": {p: {"accuracy": round(c / n, 4), "n": n} for p, (c, n) in sorted(per_field.items())},
        "per_confidence_bucket": {b: {"accuracy": round(c / n, 4), "n": n} for b, (c, n) in sorted(buckets.items())},
        "thresholds": thresholds,
        "expected_calibration_error": round(ece, 4) if ece is not None else None,
        "recommended_min_confidence": recommend_min_confidence(thresholds, target),
    }


def _one_line(value: Any) -> str:
    return " ".join(("" if value is None else str(value)).split("\n"))


def seed_fuzzy(truth_rows: dict[str, dict[str, Any]], labeled: dict[str, dict[str, Any]],
               failed: set[str]) -> dict[str, Any]:
    """The seed receipts metric: per page the mean ``rapidfuzz.fuzz.ratio`` over its truth fields
    (newlines read as spaces; a missing value is empty), then the mean over pages (0-100)."""
    from rapidfuzz import fuzz

    from docfoundry.doctypes import path_pattern

    per_page: list[float] = []
    per_field: dict[str, list[float]] = {}
    for pid, truth in truth_rows.items():
        report = {} if pid in failed else labeled.get(pid, {})
        ratios = []
        for path, value in truth.items():
            r = fuzz.ratio(_one_line(value), _one_line(report.get(path, {}).get("value")))
            ratios.append(r)
            per_field.setdefault(path_pattern(path), []).append(r)
        if ratios:
            per_page.append(sum(ratios) / len(ratios))
    return {"fuzzy": round(sum(per_page) / len(per_page), 2) if per_page else None,
            "per_field": {p: round(sum(v) / len(v), 2) for p, v in sorted(per_field.items())}}


def gap_table(synthetic: dict[str, Any], synthetic_same: dict[str, Any], real: dict[str, Any]) -> dict[str, Any]:
    """Per field the teacher scores on synthetic and on real pages, and the gap (synthetic - real,
    accuracy 0..1: positive when the synthetic audit is too hopeful); ``overall`` over the same fields."""
    def gap(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a - b, 4)

    rows = {}
    for p, r in real["per_field"].items():
        syn = synthetic["per_field"].get(p, {})
        rows[p] = {"synthetic_accuracy": syn.get("accuracy"), "real_accuracy": r["accuracy"],
                   "gap": gap(syn.get("accuracy"), r["accuracy"]), "real_fuzzy": real["per_field_fuzzy"].get(p),
                   "n_synthetic": syn.get("n", 0), "n_real": r["n"]}
    return {"fields": rows,
            "overall": {"synthetic_accuracy": synthetic_same["field_accuracy"],
                        "real_accuracy": real["field_accuracy"],
                        "gap": gap(synthetic_same["field_accuracy"], real["field_accuracy"])}}


def synthetic_truth(pages: str | Path, doc_type: str | None = None) -> dict[str, dict[str, Any]]:
    """The exact truth of a synthetic dataset folder as flat fields by page id (of one type, if given)."""
    from docfoundry.records import flatten
    from docfoundry.store import read_samples

    return {s.id: flatten(s.gt_parse) for s in read_samples(pages) if doc_type is None or s.doc_type == doc_type}


def score_labels(doc: Any, truth_rows: dict[str, dict[str, Any]], labels: str | Path,
                 fields: set[str] | None = None, target: float = TARGET_ACCURACY) -> dict[str, Any]:
    """``audit_scores`` of the label output folder ``labels`` (its rows and its failed pages) against
    ``truth_rows``: the one scoring of ``label audit`` and of the run's audit stage."""
    from distill.label.stage import read_labels

    labeled, failed = read_labels(Path(labels))
    return audit_scores(doc, truth_rows, labeled, failed, fields, target)
