"""The ``ocr`` teacher on forms: real FUNSD pairs next to the synthetic form audit.

    python -m bench.forms --funsd ../shared/datasets/funsd --split test --n 50 --degrade medium
    python -m bench.forms --skip-audit --split train --ocr-cache /tmp/forms-ocr --show 3
    python -m bench.forms --skip-audit --split train --part 1/2      # a half of train (every other form by id)

``funsd``: every form of the split is OCR'd (once: ``--ocr-cache`` keeps the lines on disk), read
with the teacher's extraction for the ``form`` schema, and its predicted question -> answer pairs
(every item of the schema's question/answer arrays) are scored against the form's linked pairs
with ``eval.metrics.pair_counts`` (both sides ``fuzz.ratio`` >= 80 after case, whitespace and
trailing-colon folding; matched one to one; a question printed again is matched by its text, the
`` #2`` labels.jsonl keys it by is not part of it). ``audit``: ``docfoundry label audit --teacher ocr
--schema form`` on synthetic pages with exact truth. Prints markdown rows for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any


def page_lines(image_path: Path, cache: Path | None) -> list[Any]:
    """OCR lines of a page, read from / written to ``cache/<stem>.json`` when a cache is given."""
    from distill.ocr import OcrLine, read_page

    if cache is not None and (cache / f"{image_path.stem}.json").is_file():
        return [OcrLine.from_json(d) for d in json.loads((cache / f"{image_path.stem}.json").read_text())]
    from PIL import Image

    lines = read_page(Image.open(image_path))
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"{image_path.stem}.json").write_text(json.dumps([line.to_json() for line in lines]))
    return lines


def predicted_pairs(doc: Any, fields: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (question, answer) item of the schema's question/answer arrays with an answer."""
    from distill.pairs import pair_arrays

    out = []
    for a in pair_arrays(doc.schema):
        node: Any = fields
        for part in a.head[:-2].split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        for item in node if isinstance(node, list) else []:
            if str(item.get(a.answer, "")).strip():
                out.append((str(item.get(a.question, "")).strip(), str(item[a.answer])))
    return out


_REPEAT = re.compile(r"^(.*) #\d+$")  # labels.jsonl's key for a question printed again: "DATE #2"


def truth_pairs(fields: dict[str, str]) -> list[tuple[str, str]]:
    """A form's linked (question, answer) pairs from its labels.jsonl ``fields``, each question as
    printed: the `` #2``, `` #3`` that keeps a repeated question's keys apart there is numbered in
    the annotation's order, not text (the one-to-one matching tells repeats apart by their answers)."""
    out = []
    for q, a in fields.items():
        m = _REPEAT.match(q)
        out.append((m.group(1) if m and m.group(1) in fields else q, a))
    return out


def funsd_rows(root: Path, split: str, part: str = "") -> list[dict[str, Any]]:
    """The labels.jsonl rows of a FUNSD split; ``part`` ``"K/N"``: every N-th form by id from the K-th."""
    from bench.real import select_part

    rows = [json.loads(line) for line in (root / "labels.jsonl").read_text().splitlines() if line.strip()]
    return select_part([r for r in rows if r["split"] == split], part, key=lambda r: r["id"])


def score_funsd(root: Path, split: str, cache: Path | None, show: int = 0, part: str = "") -> dict[str, Any]:
    """Pair precision / recall / F1 of the ``ocr`` teacher's form extraction on a FUNSD split (or
    the ``K/N`` part of it)."""
    from distill.extract import extract
    from docfoundry.doctypes import load_doc_type
    from eval.metrics import PairCounts, pair_counts

    doc = load_doc_type("form")
    total = PairCounts()
    seconds = 0.0
    rows = funsd_rows(root, split, part)
    for i, row in enumerate(rows):
        lines = page_lines(root / row["image"], cache)
        start = time.perf_counter()
        fields, _ = extract(doc, lines)
        seconds += time.perf_counter() - start
        pred = predicted_pairs(doc, fields)
        c = pair_counts(truth_pairs(row["fields"]), pred)
        total.merge(c)
        if i < show:
            print(f"\n## {row['id']}: {c.matched} of {c.truth} truth pairs, {c.predicted} predicted")
            for q, a in pred:
                print(f"  pred  {q!r} -> {a!r}")
            for q, a in truth_pairs(row["fields"]):
                print(f"  truth {q!r} -> {a!r}")
    n = len(rows)
    return {"forms": n, **total.prf(), "matched": total.matched, "predicted": total.predicted,
            "truth": total.truth, "questions_found": total.questions_found,
            "extraction_ms_per_page": 1000 * seconds / n if n else None}


def run_form_audit(n: int, degrade: str, out: Path) -> dict[str, Any]:
    from distill.label import AuditConfig, run_audit

    run_audit(AuditConfig(teacher="ocr", schema="form", n=n, out=str(out), degrade=degrade, progress=False))
    return json.loads((out / "audit.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--funsd", default="../shared/datasets/funsd", help="FUNSD folder (labels.jsonl, images/)")
    parser.add_argument("--split", default="test", help="FUNSD split to score (develop on train, report test)")
    parser.add_argument("--ocr-cache", default=str(Path(tempfile.gettempdir()) / "docfoundry-bench-forms-ocr"),
                        help="folder of OCR lines per FUNSD page ('' for none)")
    parser.add_argument("--part", default="", help="K/N: score every N-th form by id from the K-th (1/2 and 2/2: "
                        "the halves a train-tuned rule must raise both)")
    parser.add_argument("--show", type=int, default=0, help="print predicted and truth pairs of the first N forms")
    parser.add_argument("--n", type=int, default=50, help="synthetic form pages of the audit")
    parser.add_argument("--degrade", default="medium", help="degradation preset of the audit pages")
    parser.add_argument("--audit-out", default=str(Path(tempfile.gettempdir()) / "docfoundry-bench-forms-audit"))
    parser.add_argument("--skip-audit", action="store_true", help="score FUNSD only")
    args = parser.parse_args()

    cache = Path(args.ocr_cache) if args.ocr_cache else None
    real = score_funsd(Path(args.funsd), args.split, cache, args.show, args.part)
    print("| pages | split / preset | measure | precision | recall | score | detail |")
    print("| --- | --- | --- | ---: | ---: | ---: | --- |")
    split = f"{args.split} {args.part}".strip()
    print(f"| FUNSD, {real['forms']} real forms | {split} | question->answer pair F1 | "
          f"{real['precision']:.3f} | {real['recall']:.3f} | **{real['f1']:.3f}** | "
          f"{real['matched']} matched, {real['predicted']} predicted, {real['truth']} in truth, "
          f"{real['questions_found']} questions found; extraction {real['extraction_ms_per_page']:.1f} ms/page |",
          flush=True)
    if not args.skip_audit:
        report = run_form_audit(args.n, args.degrade, Path(args.audit_out))
        worst = sorted(report["per_field"].items(), key=lambda kv: kv[1]["accuracy"])[:3]
        print(f"| synthetic form, {args.n} pages | {args.degrade} | field accuracy (label audit) | | | "
              f"**{report['field_accuracy']:.3f}** | worst: "
              + ", ".join(f"{p} {v['accuracy']:.2f}" for p, v in worst) + " |")


if __name__ == "__main__":
    main()
