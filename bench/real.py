"""The ``ocr`` teacher on real labeled pages: the seed receipts metric per field, confidence buckets, speed.

    python -m bench.real ocr --truth ../shared/datasets/sroie-dev --cache /tmp/df-real-ocr   # OCR once
    python -m bench.real score --truth ../shared/datasets/sroie-dev --cache /tmp/df-real-ocr \\
        --schema receipt   # extraction only: seconds (SROIE's keys map through the schema's x-aliases)
    python -m bench.real downscale --truth ../shared/datasets/sroie-dev --cache /tmp/df-real-ocr --side 1280 --n 20

``ocr`` reads every page once on one core and stores its OCR lines with the seconds it took, so
``score`` (extraction from the cached lines) takes seconds and can be rerun after every change.
``score`` prints the seed receipts metric (per page the mean over the truth keys of
``rapidfuzz.fuzz.ratio(truth, prediction)``, newlines read as spaces; then the mean over pages)
overall and per field, the same with truth and prediction case-folded (SROIE's truth is all
upper case, also where the receipt prints "Sdn Bhd": the folded score is the reading quality),
accuracy per confidence bucket (a field counts as right when its case-folded ratio is at least
``--right``), the OCR seconds per page (CPU seconds of the one OCR thread: on a shared machine the
wall clock also counts the other jobs), and the worst fields for reading. With ``--synthetic
AUDIT.json`` (a ``label audit`` report) it adds the per-field table synthetic vs real accuracy,
both as the audit's normalized exact match, and the gap.

Truth keys line up with the schema through ``eval.fieldmap`` (the keys named like a field, then
the schema's ``x-aliases``); ``--map truth=schema_field`` entries come first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any


def parse_map(text: str) -> dict[str, str]:
    """``"company=store_name,address=store_address"`` -> ``{"company": "store_name", ...}``."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        truth, _, schema = part.partition("=")
        if not schema:
            raise SystemExit(f"--map: '{part}' is not truth=schema_field")
        out[truth.strip()] = schema.strip()
    return out


def select_part(records: list[Any], part: str, key: Any = lambda r: r.id) -> list[Any]:
    """The ``K/N`` part of ``records`` (every N-th in id order from the K-th, ``key`` reading a
    record's id); all of them for ``""``."""
    if not part:
        return records
    k, _, n = part.partition("/")
    if not (k.isdigit() and n.isdigit() and 1 <= int(k) <= int(n)):
        raise SystemExit(f"--part: '{part}' is not K/N with 1 <= K <= N")
    ordered = sorted(records, key=key)
    return ordered[int(k) - 1::int(n)]


def cache_ocr(truth_dir: str, cache: Path, limit: int = 0) -> None:
    """OCR every page of ``truth_dir`` not yet in ``cache`` (one JSON per page: lines, size, seconds)."""
    from distill.ocr import read_page, warm_engines
    from docfoundry.adapters import load_truth

    cache.mkdir(parents=True, exist_ok=True)
    warm_engines()  # the model loads are not a page's time
    for rec in load_truth(truth_dir, limit=limit).records:
        out = cache / f"{rec.id}.json"
        if out.exists():
            continue
        image = rec.open_image()
        t0, c0 = time.perf_counter(), time.process_time()
        lines = read_page(image)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        out.write_text(json.dumps({"id": rec.id, "size": list(image.size), "seconds": round(seconds, 3),
                                   "cpu": round(cpu, 3), "lines": [line.to_json() for line in lines]}))
        print(f"{rec.id} {image.size[0]}x{image.size[1]} {seconds:.2f}s {len(lines)} lines", flush=True)


def downscale(truth_dir: str, cache: Path, side: int, n: int) -> dict[str, Any]:
    """OCR the ``n`` largest pages again with rapidocr's ``max_side_len`` at ``side`` (the image
    downscaled further before detection) and compare CPU seconds and the case-folded seed metric on
    those pages with the cached reading at ``distill/ocr.py``'s setting."""
    import numpy as np
    from rapidfuzz import fuzz
    from rapidocr import RapidOCR

    from distill.extract import extract
    from distill.ocr import ENGINE_PARAMS, OcrLine, _box
    from docfoundry.adapters import load_truth
    from docfoundry.doctypes import load_doc_type
    from eval.fieldmap import resolve_field_map, truth_patterns

    doc = load_doc_type("receipt")
    records = [r for r in load_truth(truth_dir).records if (cache / f"{r.id}.json").exists()]
    fmap = resolve_field_map(doc, truth_patterns(records), {}, flag="--map").rules
    cached = {r.id: json.loads((cache / f"{r.id}.json").read_text()) for r in records}
    largest = sorted(records, key=lambda r: -cached[r.id]["size"][0] * cached[r.id]["size"][1])[:n]
    engine = RapidOCR(params={**ENGINE_PARAMS, "Global.max_side_len": side})

    def fuzzy(lines: list[Any], truth: dict[str, Any]) -> float:
        fields, _ = extract(doc, lines)
        return statistics.mean(fuzz.ratio(_flat_text(v).casefold(), _flat_text(fields.get(fmap.get(k, k), "")).casefold())
                               for k, v in truth.items())

    cpu, scores, cpu_cached, scores_cached = [], [], [], []
    for rec in largest:
        image = np.asarray(rec.open_image().convert("RGB"))
        c0 = time.process_time()
        res = engine(image)
        cpu.append(time.process_time() - c0)
        words = res.word_results or [()] * len(res.txts or [])
        lines = [OcrLine(str(t), _box(b), float(sc), [(w[0], _box(w[2])) for w in ws if w and str(w[0]).strip()]
                         or [(str(t), _box(b))]) for b, t, sc, ws in zip(res.boxes, res.txts, res.scores, words)] \
            if res.txts is not None else []
        scores.append(fuzzy(lines, rec.fields))
        cpu_cached.append(cached[rec.id].get("cpu", cached[rec.id]["seconds"]))
        scores_cached.append(fuzzy([OcrLine.from_json(d) for d in cached[rec.id]["lines"]], rec.fields))
    result = {"pages": len(largest), "side": side,
              "cpu_median": round(statistics.median(cpu), 2), "cpu_max": round(max(cpu), 2),
              "fuzzy_casefolded": round(statistics.mean(scores), 1),
              "cached_cpu_median": round(statistics.median(cpu_cached), 2), "cached_cpu_max": round(max(cpu_cached), 2),
              "cached_fuzzy_casefolded": round(statistics.mean(scores_cached), 1)}
    print(f"{len(largest)} largest pages: max_side_len {side}: CPU median {result['cpu_median']} s, max "
          f"{result['cpu_max']} s, case-folded fuzzy {result['fuzzy_casefolded']} | cached ({ENGINE_PARAMS.get('Global.max_side_len', 2000)}): "
          f"CPU median {result['cached_cpu_median']} s, max {result['cached_cpu_max']} s, fuzzy {result['cached_fuzzy_casefolded']}")
    return result


def _flat_text(value: Any) -> str:
    return " ".join(str(value or "").split("\n"))


def score(truth_dir: str, cache: Path, schema: str, field_map: dict[str, str], right: float,
          worst: int, show: str = "", synthetic: str = "", part: str = "") -> dict[str, Any]:
    """Extract every cached page and score it against its truth (see the module docstring);
    ``part`` ``"K/N"`` scores every N-th page from the K-th in id order (a held-out half: ``1/2``, ``2/2``)."""
    from rapidfuzz import fuzz

    from distill.confidence import ground
    from distill.extract import extract
    from distill.label import LabelConfig, _bucket, audit_scores
    from distill.ocr import OcrLine, page_text
    from docfoundry.adapters import load_truth
    from docfoundry.case import apply_case, truth_cases
    from docfoundry.doctypes import load_doc_type
    from docfoundry.errors import UserError
    from docfoundry.normalize import normalized_equal
    from docfoundry.records import flatten
    from eval.fieldmap import resolve_field_map, truth_patterns

    doc = load_doc_type(schema)
    defaults = LabelConfig.__dataclass_fields__  # grounding as `label` applies it by default
    threshold, penalty = defaults["ground_threshold"].default, defaults["ungrounded_penalty"].default
    records = [r for r in load_truth(truth_dir).records if (cache / f"{r.id}.json").exists()]
    records = select_part(records, part)
    if not records:  # an empty or wrong cache folder: say so, not a StatisticsError from the means
        raise UserError(f"{cache}: no cached OCR for any page of {truth_dir}{' in part ' + part if part else ''}; "
                        f"run `python -m bench.real ocr --truth {truth_dir} --cache {cache}` first")
    fmap = resolve_field_map(doc, truth_patterns(records), field_map, flag="--map")
    field_map = fmap.rules  # the explicit entries, then truth keys named like a field, then x-aliases
    print(f"field map: {', '.join(f'{t}={s}' for t, s in sorted(field_map.items()))}"
          + (f"; unmapped: {', '.join(fmap.unmapped)}" if fmap.unmapped else ""))
    cases = truth_cases(flatten(r.fields) for r in records)  # the truth's own case convention, per key
    print("truth case convention: " + (", ".join(f"{k}={c}" for k, c in cases.items()) or "none (mixed case)"))
    per_field: dict[str, list[float]] = {}
    folded: dict[str, list[float]] = {}
    in_case: dict[str, list[float]] = {}
    page_scores, page_folded, page_case, seconds, cpu, misses = [], [], [], [], [], []
    buckets: dict[str, list[int]] = {}
    by_field: dict[str, dict[str, list[bool]]] = {}
    exact: dict[str, list[bool]] = {}  # schema path -> the audit's normalized exact match per page
    audit_truth: dict[str, dict[str, Any]] = {}
    audit_labeled: dict[str, dict[str, Any]] = {}  # as `label` reports a page: grounded confidence per path
    t0 = time.perf_counter()
    for rec in records:
        cached = json.loads((cache / f"{rec.id}.json").read_text())
        seconds.append(cached["seconds"])
        cpu.append(cached.get("cpu", cached["seconds"]))
        ocr = [OcrLine.from_json(d) for d in cached["lines"]]
        fields, scores = extract(doc, ocr)
        flat = flatten(fields)
        grounding = ground(doc, flat, page_text(ocr))
        audit_labeled[rec.id] = {p: {"value": v, "confidence": float(scores.get(p, 0.0)) * (
            penalty if grounding.get(p, 1.0) < threshold else 1.0)} for p, v in flat.items()}
        audit_truth[rec.id] = {field_map.get(k, k): v for k, v in flatten(rec.fields).items()}
        ratios, ratios_folded, ratios_case = [], [], []
        for key, truth in flatten(rec.fields).items():
            path = field_map.get(key, key)
            pred = _flat_text(flat.get(path, ""))
            r = fuzz.ratio(_flat_text(truth), pred)
            ratios.append(r)
            per_field.setdefault(key, []).append(r)
            ratios_folded.append(fuzz.ratio(_flat_text(truth).casefold(), pred.casefold()))
            ratios_case.append(fuzz.ratio(_flat_text(truth), apply_case(pred, cases.get(key))))
            in_case.setdefault(key, []).append(ratios_case[-1])
            folded.setdefault(key, []).append(ratios_folded[-1])
            leaf = doc.leaf(path)
            exact.setdefault(path, []).append(normalized_equal(truth, pred, leaf.kind if leaf else "text"))
            b = buckets.setdefault(_bucket(float(scores.get(path, 0.0))), [0, 0])
            b[0] += ratios_folded[-1] >= right
            b[1] += 1
            by_field.setdefault(key, {}).setdefault(_bucket(float(scores.get(path, 0.0))), []).append(ratios_folded[-1] >= right)
            if ratios_folded[-1] < 100:  # worst first by the case-folded ratio: reading errors, not case
                misses.append((ratios_folded[-1], rec.id, key, _flat_text(truth), pred, scores.get(path, 0.0)))
            if rec.id == show:
                print(f"{key}: {r:.0f} truth={_flat_text(truth)!r} pred={pred!r} conf={scores.get(path)}")
        page_scores.append(sum(ratios) / len(ratios))
        page_folded.append(sum(ratios_folded) / len(ratios_folded))
        page_case.append(sum(ratios_case) / len(ratios_case))
    took = time.perf_counter() - t0
    audit = audit_scores(doc, audit_truth, audit_labeled, set(), set(field_map.values()))
    result = {
        "pages": len(records),
        "fuzzy": round(statistics.mean(page_scores), 1),
        "per_field": {k: round(statistics.mean(v), 1) for k, v in per_field.items()},
        "truth_case": cases,
        "fuzzy_truth_case": round(statistics.mean(page_case), 1),
        "per_field_truth_case": {k: round(statistics.mean(v), 1) for k, v in in_case.items()},
        "fuzzy_casefolded": round(statistics.mean(page_folded), 1),
        "per_field_casefolded": {k: round(statistics.mean(v), 1) for k, v in folded.items()},
        "per_confidence_bucket": {b: {"right": round(c / n, 3), "n": n} for b, (c, n) in sorted(buckets.items())},
        "field_accuracy": {p: round(sum(v) / len(v), 4) for p, v in exact.items()},
        "audit": {k: audit[k] for k in ("field_accuracy", "per_confidence_bucket", "expected_calibration_error",
                                        "recommended_min_confidence")},
        "ocr_seconds": {"median": round(statistics.median(seconds), 2), "max": round(max(seconds), 2)},
        "ocr_cpu_seconds": {"median": round(statistics.median(cpu), 2), "max": round(max(cpu), 2)},
        "extract_seconds_per_page": round(took / max(1, len(records)), 4),
    }
    print(f"pages {result['pages']}: fuzzy {result['fuzzy']} | "
          + " | ".join(f"{k} {v}" for k, v in result["per_field"].items()))
    print(f"in the truth's case convention (opt-in, x-case): fuzzy {result['fuzzy_truth_case']} | "
          + " | ".join(f"{k} {v}" for k, v in result["per_field_truth_case"].items()))
    print(f"case-folded (truth and prediction): fuzzy {result['fuzzy_casefolded']} | "
          + " | ".join(f"{k} {v}" for k, v in result["per_field_casefolded"].items()))
    print(f"right (case-folded ratio >= {right:g}) per confidence bucket: "
          + ", ".join(f"{b}: {v['right']:.2f} (n={v['n']})" for b, v in result["per_confidence_bucket"].items()))
    for key, per in by_field.items():
        print(f"  {key}: " + ", ".join(f"{b}: {sum(v) / len(v):.2f} (n={len(v)})" for b, v in sorted(per.items())))
    print(f"as `label audit --truth` scores them (normalized exact match, grounded confidence): accuracy "
          f"{audit['field_accuracy']}, expected calibration error {audit['expected_calibration_error']}, "
          f"recommended --min-confidence {audit['recommended_min_confidence']['min_confidence']}; per bucket: "
          + ", ".join(f"{b}: {v['accuracy']:.2f} (n={v['n']})" for b, v in audit["per_confidence_bucket"].items()))
    print(f"OCR seconds/page when cached, one core: CPU median {result['ocr_cpu_seconds']['median']}, "
          f"max {result['ocr_cpu_seconds']['max']}; wall median {result['ocr_seconds']['median']}, "
          f"max {result['ocr_seconds']['max']}; extraction {1000 * result['extract_seconds_per_page']:.1f} ms/page")
    if synthetic:
        syn = json.loads(Path(synthetic).read_text())
        print(f"\n| field | synthetic ({syn.get('degrade')}, n={syn.get('n')}) | real (n={len(records)}) | gap |")
        print("| --- | ---: | ---: | ---: |")
        for path, acc in result["field_accuracy"].items():
            s_acc = syn["per_field"].get(path, {}).get("accuracy")
            gap = f"{100 * (s_acc - acc):+.1f}" if s_acc is not None else "-"
            print(f"| {path} | {'-' if s_acc is None else f'{100 * s_acc:.1f}%'} | {100 * acc:.1f}% | {gap} |")
    for r, pid, key, truth, pred, conf in sorted(misses)[:worst]:
        print(f"  {r:5.1f} {pid} {key} conf={conf:.2f}\n        truth {truth!r}\n        pred  {pred!r}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    o = sub.add_parser("ocr", help="OCR every page once into the cache, timed")
    s = sub.add_parser("score", help="extract from the cached OCR and score against the truth")
    d = sub.add_parser("downscale", help="the largest pages OCR'd again at a smaller max side: CPU s and accuracy")
    for p in (o, s, d):
        p.add_argument("--truth", required=True, help="labeled real pages, any layout eval reads")
        p.add_argument("--cache", required=True, help="folder of cached OCR (one JSON per page)")
    o.add_argument("--limit", type=int, default=0)
    d.add_argument("--side", type=int, default=1280, help="rapidocr Global.max_side_len to try")
    d.add_argument("--n", type=int, default=20, help="the N largest pages")
    s.add_argument("--schema", default="receipt")
    s.add_argument("--map", default="", help="truth=schema_field,... (e.g. company=store_name)")
    s.add_argument("--right", type=float, default=80.0, help="a field is right at this fuzz.ratio or more")
    s.add_argument("--worst", type=int, default=0, help="print the N worst fields")
    s.add_argument("--show", default="", help="print every field of this page id")
    s.add_argument("--json", default="", help="also write the result here")
    s.add_argument("--part", default="", help="K/N: score every N-th page from the K-th in id order (1/2 to "
                                              "develop on, 2/2 held out)")
    s.add_argument("--synthetic", default="", help="a synthetic label audit's audit.json: per-field accuracy "
                                                   "(normalized exact match) side by side with the real pages'")
    args = parser.parse_args()
    if args.what == "ocr":
        cache_ocr(args.truth, Path(args.cache), args.limit)
        return
    if args.what == "downscale":
        downscale(args.truth, Path(args.cache), args.side, args.n)
        return
    from docfoundry.errors import UserError

    try:
        result = score(args.truth, Path(args.cache), args.schema, parse_map(args.map), args.right, args.worst, args.show,
                       args.synthetic, args.part)
    except UserError as e:
        raise SystemExit(f"error: {e}") from None
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
