"""review: how many of the teacher's wrong fields a reviewer meets in the first K tasks when
``docfoundry review export`` puts the most doubtful page first, against the folder's page order
(the obvious alternative), on real labeled pages; and the change rate per teacher-confidence bucket
that ``review import`` would report for a reviewer who sets every truth field right.

    nice -n 10 .venv/bin/python -m bench.review_order --labeled data/labeled --truth ../shared/datasets/sroie-dev

Truth names map onto the schema by its ``x-aliases`` (``eval.fieldmap``); a field is wrong when the
teacher's value is not the truth after normalization by ``x-kind``. Only truth fields are judged.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def measure(labeled: Path, truth: str, ks: list[int]) -> dict:
    from distill.label import load_real_truth
    from distill.review.corrections import change_rates
    from distill.review.tasks import build_tasks, labeled_pages
    from docfoundry.normalize import normalized_equal
    from docfoundry.records import flatten

    doc, pages = labeled_pages(labeled)
    records, fmap = load_real_truth(doc.name, truth)
    rows = {r.id: flatten(fmap.apply(r.fields)) for r in records.records}
    pages = [p for p in pages if p.id in rows]
    wrong = {}
    for p in pages:
        fields = p.meta["fields"]
        wrong[p.id] = sum(not normalized_equal(fields.get(path, {}).get("value"), value, doc.leaf(path).kind)
                          for path, value in rows[p.id].items() if doc.leaf(path))
    total = sum(wrong.values())
    orders = {name: [t["data"]["page_id"] for t in build_tasks(labeled, doc, pages, 1.0, 0, name, "local-files",
                                                                labeled)]
              for name in ("uncertainty", "page")}
    found = {name: {k: sum(wrong[i] for i in order[:k]) for k in ks} for name, order in orders.items()}
    reviewed = [({path: f for path, f in p.meta["fields"].items() if path in rows[p.id]}, rows[p.id]) for p in pages]
    return {"pages": len(pages), "truth_fields": sum(len(rows[p.id]) for p in pages), "wrong_fields": total,
            "found_in_first_k": found, "change_rates": change_rates(doc, reviewed)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labeled", required=True, help="a docfoundry label output folder of real pages")
    ap.add_argument("--truth", required=True, help="their truth (labels.jsonl, SROIE, FUNSD, CORD)")
    ap.add_argument("--k", default="5,10,20", help="review budgets, in pages")
    args = ap.parse_args()
    ks = [int(k) for k in args.k.split(",")]
    r = measure(Path(args.labeled), args.truth, ks)
    print(json.dumps(r, indent=1))
    print(f"\n{r['pages']} pages, {r['truth_fields']} truth fields, {r['wrong_fields']} wrong\n")
    print("| pages reviewed | wrong fields met, most doubtful first | in page order | ratio |")
    print("|---:|---:|---:|---:|")
    for k in ks:
        u, p = r["found_in_first_k"]["uncertainty"][k], r["found_in_first_k"]["page"][k]
        print(f"| {k} | {u} ({u / r['wrong_fields']:.0%}) | {p} ({p / r['wrong_fields']:.0%}) | "
              f"{u / p if p else float('inf'):.2f}x |")
    print("\n| teacher confidence | truth fields | changed by the reviewer | change rate |")
    print("|---|---:|---:|---:|")
    for b, v in r["change_rates"]["per_confidence_bucket"].items():
        print(f"| {b} | {v['n']} | {v['changed']} | {v['change_rate']:.2f} |")


if __name__ == "__main__":
    main()
