"""The gap report: ``gap.json`` (every number), ``pages.jsonl`` (features per page), and ``gap.md`` +
a self-contained ``gap.html`` built from one list of blocks (``eval.report``: values escaped in both)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.report import Block, fmt, write_documents

TOP_FEATURES = 9  # histograms of the most separating features


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def _auc_rows(result: dict[str, Any]) -> list[list[str]]:
    rows = [["all features", fmt(result["test"]["auc"], 3), fmt(result["test"]["auc_sd"], 3), result["test"]["verdict"]]]
    for group, t in result["groups"].items():
        rows.append([f"{group} only", fmt(t["auc"], 3), fmt(t["auc_sd"], 3), t["verdict"]])
    return rows


def _teacher_blocks(t: dict[str, Any]) -> list[Block]:
    rows = [[p, _pct(g["synthetic_accuracy"]), _pct(g["real_accuracy"]),
             "—" if g["gap"] is None else f"{100 * g['gap']:+.1f}", str(g["n_synthetic"]), str(g["n_real"])]
            for p, g in t["gap"]["fields"].items()]
    o = t["gap"]["overall"]
    rows.append(["all mapped fields", _pct(o["synthetic_accuracy"]), _pct(o["real_accuracy"]),
                 "—" if o["gap"] is None else f"{100 * o['gap']:+.1f}", str(t["synthetic_pages"]), str(t["real_pages"])])
    return [Block("h2", f"Teacher accuracy: synthetic vs real ({t['teacher']})"),
            Block("p", "Normalized exact match per field, as label audit --truth scores it; the gap is synthetic "
                       "minus real in points (positive: the synthetic pages are easier than the real ones)."),
            Block("table", headers=["field", "synthetic %", "real %", "gap (points)", "synthetic n", "real n"], rows=rows)]


def gap_blocks(result: dict[str, Any], histograms: bytes | None, thumbs: dict[str, list[tuple[str, bytes]]]) -> list[Block]:
    """The report's content: headline AUCs, the separating features, histograms, vocabulary, samples."""
    test = result["test"]
    blocks = [Block("h1", "Synthetic-to-real gap"),
              Block("p", f"synthetic: {result['synth']['source']} ({test['n_synthetic']} pages); "
                         f"real: {result['real']['source']} ({test['n_real']} pages)"),
              Block("h2", "Can a classifier tell them apart?"),
              Block("p", f"Cross-validated ROC AUC of a classifier that predicts 'real' from a page's features "
                         f"({test['classifier']}, {test['cv']}): 0.5 = indistinguishable, 1.0 = every page "
                         "gives itself away."),
              Block("table", headers=["features", "AUC", "sd over repeats", "reading"], rows=_auc_rows(result)),
              Block("h2", "Features that separate the sets most"),
              Block("table", headers=["feature", "AUC alone", "synthetic median", "real median"],
                    rows=[[f["feature"], fmt(f["auc"], 3), fmt(f["synthetic_median"], 3), fmt(f["real_median"], 3)]
                          for f in test["features"][:20]])]
    if histograms:
        blocks.append(Block("image", "histograms of the most separating features", image=histograms))
    vocab = result.get("vocabulary")
    if vocab:
        blocks += [Block("h2", "OCR vocabulary"),
                   Block("table", headers=["measure", "value"],
                         rows=[["distinct real words the synthetic pages also use", _pct(vocab["real_words_in_synthetic"]) + "%"],
                               ["real word occurrences covered", _pct(vocab["real_occurrences_covered"]) + "%"],
                               ["Jaccard index of the vocabularies", fmt(vocab["jaccard"], 3)],
                               ["vocabulary size synthetic / real",
                                f"{int(vocab['synthetic_vocabulary'])} / {int(vocab['real_vocabulary'])}"]])]
    if result.get("teacher"):
        blocks += _teacher_blocks(result["teacher"])
    for name, items in thumbs.items():
        blocks.append(Block("h2", f"Sample {name} pages"))
        blocks += [Block("image", f"{name} {pid}", image=data) for pid, data in items]
    return blocks


def write_gap_report(out: Path, result: dict[str, Any], pages: list[dict[str, Any]],
                     histograms: bytes | None, thumbs: dict[str, list[tuple[str, bytes]]]) -> dict[str, str]:
    """Write gap.json, pages.jsonl, gap.md (+ plots/) and gap.html into ``out``; returns their paths."""
    from docfoundry.store import atomic_write

    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "gap.json", json.dumps(result, indent=2, ensure_ascii=False).encode("utf-8"))
    atomic_write(out / "pages.jsonl", "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages).encode("utf-8"))
    docs = write_documents(out, gap_blocks(result, histograms, thumbs), "docfoundry gap", "gap")
    return {"json": str(out / "gap.json"), **docs}
