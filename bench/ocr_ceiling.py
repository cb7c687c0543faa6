"""How much of FUNSD's truth the OCR reads at all: a ceiling for the form pair F1.

    python -m bench.ocr_ceiling --split train --ocr-cache /work/cache/ocr-forms
    python -m bench.ocr_ceiling --split train --ocr-cache /work/cache/ocr-forms-1280 --part 1/8

A truth text (a linked question, or its answers joined as ``funsd_fields`` joins them) is
*readable* at two levels, each with the pair metric's test (``fuzz.ratio`` >= 80 after
``fold_pair_text``), one truth pair per linked question entity as in labels.jsonl (``truth_pairs``):

- ``segment``: some OCR segment, or a run of consecutive words inside one, reads it; this is what
  the pairing rules can hit without joining segments.
- ``place``: the OCR words whose centres lie inside the truth's own boxes, in reading order, read it;
  this is the recognition alone, whatever the segmentation (the truth boxes say where to look).

A truth pair is readable when both of its sides are. Printed as markdown rows for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

THRESHOLD = 80  # the pair metric's (eval.metrics.pair_counts)


def truth_pairs(form: list[dict[str, Any]]) -> list[tuple[str, str, list[list[int]], list[list[int]]]]:
    """One pair per linked question entity, as labels.jsonl's ``fields`` holds them (a question
    printed again is its own pair): question text, its answers' text in reading order (top, then
    left), and each side's boxes."""
    by_id = {e["id"]: e for e in form}
    out = []
    for q in (e for e in form if e.get("label") == "question" and e.get("text", "").strip()):
        linked = {b if a == q["id"] else a for a, b in q.get("linking") or []}
        answers = sorted((by_id[i] for i in linked if i in by_id and by_id[i].get("label") == "answer"
                          and by_id[i].get("text", "").strip()),
                         key=lambda e: (e["box"][1], e["box"][0], e["text"].strip()))
        if answers:
            out.append((q["text"].strip(), " ".join(e["text"].strip() for e in answers),
                        [q["box"]], [e["box"] for e in answers]))
    return out


def segment_texts(lines: list[Any]) -> list[str]:
    """Every OCR segment's folded text and every run of consecutive words inside a segment."""
    from eval.metrics import fold_pair_text

    out = {fold_pair_text(line.text) for line in lines}
    for line in lines:
        words = [w for w, _ in line.words]
        out.update(fold_pair_text(" ".join(words[i:j])) for i in range(len(words))
                   for j in range(i + 1, len(words) + 1))
    return [t for t in out if t]


def _inside(box: list[int], areas: list[list[int]], pad: int = 2) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(a[0] - pad <= cx <= a[2] + pad and a[1] - pad <= cy <= a[3] + pad for a in areas)


def text_at(lines: list[Any], areas: list[list[int]]) -> str:
    """The OCR words whose centres lie inside ``areas``, area by area, each in segment order then x."""
    from eval.metrics import fold_pair_text

    out = []
    for area in areas:
        out += [w for line in lines for w, box in sorted(line.words, key=lambda wb: wb[1][0]) if _inside(box, [area])]
    return fold_pair_text(" ".join(out))


def readable(text: str, candidates: list[str]) -> bool:
    """Whether some candidate reads ``text`` as the pair metric would match it."""
    from rapidfuzz import fuzz, process

    from eval.metrics import fold_pair_text

    return process.extractOne(fold_pair_text(text), candidates, scorer=fuzz.ratio,
                              score_cutoff=THRESHOLD) is not None


def page_ceiling(form: list[dict[str, Any]], lines: list[Any]) -> dict[str, int]:
    """Counts of one page's truth questions, answers and pairs readable at each level."""
    segs = segment_texts(lines)
    c = {"pairs": 0}
    for question, answer, q_boxes, a_boxes in truth_pairs(form):
        c["pairs"] += 1
        q_seg, a_seg = readable(question, segs), readable(answer, segs)
        q_at, a_at = readable(question, [text_at(lines, q_boxes)]), readable(answer, [text_at(lines, a_boxes)])
        for name, hit in (("q_segment", q_seg), ("a_segment", a_seg), ("pair_segment", q_seg and a_seg),
                          ("q_place", q_at), ("a_place", a_at), ("pair_place", q_at and a_at)):
            c[name] = c.get(name, 0) + int(hit)
    return c


def split_ceiling(root: Path, split: str, cache: Path, part: str = "") -> dict[str, int]:
    """``page_ceiling`` summed over a FUNSD split (or its ``K/N`` part), OCR lines from ``cache``."""
    import json

    from bench.forms import funsd_rows, page_lines

    total: dict[str, int] = {"forms": 0}
    for row in funsd_rows(root, split, part):
        form = json.loads((root / row["annotation"]).read_text())["form"]
        for k, v in page_ceiling(form, page_lines(root / row["image"], cache)).items():
            total[k] = total.get(k, 0) + v
        total["forms"] += 1
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--funsd", default="../shared/datasets/funsd", help="FUNSD folder (labels.jsonl, annotations/)")
    parser.add_argument("--split", default="train")
    parser.add_argument("--part", default="", help="K/N: every N-th form by id from the K-th")
    parser.add_argument("--ocr-cache", required=True, help="folder of OCR lines per FUNSD page (read or filled)")
    args = parser.parse_args()
    t = split_ceiling(Path(args.funsd), args.split, Path(args.ocr_cache), args.part)
    share = {k: t[k] / t["pairs"] for k in t if k not in ("forms", "pairs")}
    print(f"| {args.ocr_cache} {args.split} {args.part} ({t['forms']} forms, {t['pairs']} pairs) | "
          + " | ".join(f"{100 * share[f'{s}_{lvl}']:.1f}%" for lvl in ("segment", "place") for s in ("q", "a", "pair"))
          + " |")


if __name__ == "__main__":
    main()
