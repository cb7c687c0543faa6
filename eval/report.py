"""Report files: ``metrics.json`` (every number), ``documents.jsonl`` (per page), ``report.md`` with
``plots/*.png``, and a self-contained ``report.html`` (plots and thumbnails as data URIs).

The content is built once as a list of blocks (headings, paragraphs, tables, images) and rendered
to Markdown and to HTML, so the two reports always say the same thing.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from docfoundry.adapters import TruthRecord
from docfoundry.errors import UserError
from docfoundry.normalize import normalized_equal
from docfoundry.predictions import Prediction
from docfoundry.records import flatten
from eval.metrics import nova_equal
from eval.score import DocScore, Scored

MAX_FIELD_ROWS = 40
MAX_CELL = 120
CATEGORY_COLUMNS = [("field_accuracy", "field acc."), ("exact_match", "exact"), ("fuzzy", "fuzzy"),
                    ("anls", "ANLS"), ("f1", "F1"), ("strict_f1", "strict F1"),
                    ("false_alarm_rate", "false alarms %")]


@dataclass
class Block:
    """One piece of a report: ``kind`` is h1, h2, h3, p, warn, table, image or pre."""

    kind: str
    text: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: bytes = b""
    mime: str = "image/png"


def fmt(value: Any, digits: int = 1) -> str:
    """A score for a table cell; missing values are a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def fmt_ci(ci: list[float] | None) -> str:
    return "—" if not ci else f"{ci[0]:.1f} – {ci[1]:.1f}"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


# Rendering.

_MD_SPECIAL = re.compile(r"([\\`\[\]])")


def md_text(text: str) -> str:
    """``text`` as Markdown shows it literally: no raw HTML, links, images or code spans from the data.

    Report text holds values read from predictions and datasets; like ``report.html`` (which
    escapes every value) the Markdown must not let them inject tags or fetch remote images.
    """
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)


def _fence(text: str) -> str:
    """A code fence longer than any backtick run in ``text``, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(blocks: list[Block], image_names: dict[int, str]) -> str:
    """Markdown; images are links to files (``image_names`` maps block index -> relative path)."""
    out = []
    for i, b in enumerate(blocks):
        if b.kind in ("h1", "h2", "h3"):
            out.append(f"{'#' * int(b.kind[1])} {md_text(' '.join(b.text.splitlines()))}")
        elif b.kind == "p":
            out.append(md_text(b.text))
        elif b.kind == "warn":
            out.append(f"> **Note:** {md_text(b.text)}")
        elif b.kind == "pre":
            fence = _fence(b.text)
            out.append(f"{fence}\n{b.text}\n{fence}")
        elif b.kind == "image":
            out.append(f"![{md_text(b.text)}]({image_names[i]})")
        elif b.kind == "table":
            def row(cells: list[str]) -> str:
                return "| " + " | ".join(md_text(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
            out.append("\n".join([row(b.headers), row(["---"] * len(b.headers)), *map(row, b.rows)]))
    return "\n\n".join(out) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}tr:nth-child(even) td{background:#fafafa}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}
.warn{background:#fff6e0;border-left:4px solid #e0a800;padding:.4em .8em}
pre{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.8em;white-space:pre-wrap}
"""


def render_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page: styles inline, images as base64 data URIs."""
    e = html.escape
    body = []
    for b in blocks:
        if b.kind in ("h1", "h2", "h3"):
            body.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "warn":
            body.append(f'<p class="warn">{e(b.text)}</p>')
        elif b.kind == "pre":
            body.append(f"<pre>{e(b.text)}</pre>")
        elif b.kind == "image":
            data = base64.b64encode(b.image).decode("ascii")
            body.append(f'<img alt="{e(b.text)}" src="data:{b.mime};base64,{data}">')
        elif b.kind == "table":
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in b.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_documents(out: Path, blocks: list[Block], title: str, stem: str) -> dict[str, str]:
    """Write ``<stem>.md`` (+ ``plots/``) and ``<stem>.html`` for the blocks; returns their paths."""
    plots = out / "plots"
    names: dict[int, str] = {}
    for i, b in enumerate(blocks):
        if b.kind == "image":
            plots.mkdir(parents=True, exist_ok=True)
            name = f"plots/{len(names):02d}_{''.join(c if c.isalnum() else '_' for c in b.text)[:40]}.png"
            (out / name).write_bytes(b.image)
            names[i] = name
    md, page = out / f"{stem}.md", out / f"{stem}.html"
    md.write_text(render_markdown(blocks, names), encoding="utf-8")
    page.write_text(render_html(blocks, title), encoding="utf-8")
    return {"markdown": str(md), "html": str(page)}


# Content of the eval report.

def headline_blocks(overall: dict[str, Any]) -> list[Block]:
    """The headline table and its chart (value with its 95% interval)."""
    from eval.plots import grouped_bars

    rows = [[name, fmt(m["value"]), fmt_ci(m.get("ci95")), m["description"]] for name, m in overall.items()]
    shown = [n for n, m in overall.items() if m.get("ci95") and m["value"] is not None]
    chart = grouped_bars(shown, {"score": [overall[n]["value"] for n in shown]}, "Headline metrics (95% CI)",
                         errors={"score": [tuple(overall[n]["ci95"]) for n in shown]})
    return [Block("table", headers=["metric", "value", "95% CI", "definition"], rows=rows),
            Block("image", "headline metrics", image=chart)]


def category_blocks(categories: dict[str, Any], title: str) -> list[Block]:
    from eval.plots import grouped_bars

    if not categories:
        return [Block("p", "No fields to score.")]
    names = list(categories)
    chart = grouped_bars(names, {label: [categories[c][key] for c in names]
                                 for key, label in CATEGORY_COLUMNS[:3]}, title)
    rows = [[c, fmt(s["n_truth"]), *(fmt(s[key]) for key, _ in CATEGORY_COLUMNS)] for c, s in categories.items()]
    return [Block("image", title, image=chart),
            Block("table", headers=["category", "truth fields", *(label for _, label in CATEGORY_COLUMNS)],
                  rows=rows)]


def field_rows(doc_types: dict[str, Any]) -> tuple[list[list[str]], int]:
    """Per-field rows across document types, worst field accuracy first (capped at MAX_FIELD_ROWS)."""
    rows = []
    for doc_type, entry in doc_types.items():
        for pattern, s in entry.get("fields", {}).items():
            rows.append((s["field_accuracy"] is None, s["field_accuracy"] or 0.0, s["exact_match"] or 0.0,
                         -s["n_truth"], [doc_type, pattern, s["category"], s["kind"], fmt(s["n_truth"]),
                          *(fmt(s[key]) for key, _ in CATEGORY_COLUMNS),
                          fmt(s["outcomes"]["false_alarm"])]))
    rows.sort(key=lambda r: r[:4])  # worst first; among equals, the fields seen most often
    return [r[4] for r in rows[:MAX_FIELD_ROWS]], max(0, len(rows) - MAX_FIELD_ROWS)


def worst_documents(docs: list[DocScore], n: int) -> list[DocScore]:
    """The ``n`` lowest-scoring pages (field accuracy, then fuzzy score)."""
    scored = [d for d in docs if d.n_truth]
    return sorted(scored, key=lambda d: (d.field_accuracy, d.fuzzy or 0.0, d.id))[:n]


def document_blocks(doc: DocScore, truth: TruthRecord, pred: Prediction | None, kind_of: Any) -> list[Block]:
    """One page: thumbnail, and truth next to prediction field by field."""
    from eval.plots import thumbnail

    blocks = [Block("h3", f"{doc.id} ({doc.doc_type}): field accuracy {100 * doc.field_accuracy:.1f}, "
                          f"fuzzy {fmt(doc.fuzzy)}")]
    try:
        blocks.append(Block("image", f"page {doc.id}", image=thumbnail(truth.open_image())))
    except UserError as e:
        blocks.append(Block("warn", f"no thumbnail: {e}"))
    if pred is None:
        blocks.append(Block("warn", "no prediction for this page (scored as an empty prediction)"))
    elif pred.fields is None:
        blocks.append(Block("warn", "the prediction is not JSON (scored as {}); its raw text:"))
        blocks.append(Block("pre", (pred.raw or "")[:1500]))
    t, p = flatten(truth.fields), flatten((pred.fields if pred else None) or {})
    rows = []
    for key in [*t, *(k for k in p if k not in t)]:
        tv, pv = t.get(key), p.get(key)
        ok = key in t and key in p and nova_equal(tv, pv)
        same = normalized_equal(tv, pv, kind_of(key))
        rows.append([key, _cell(tv if key in t else "(not in truth)"),
                     _cell(pv if key in p else "(missing)"), "✓" if ok else "✗", "✓" if same else "✗"])
    blocks.append(Block("table", headers=["field", "truth", "prediction", "accurate", "normalized match"],
                        rows=rows))
    return blocks


def eval_blocks(scored: Scored, metrics: dict[str, Any], truth_by_id: dict[str, TruthRecord],
                predictions: dict[str, Prediction], run_info: dict[str, Any], worst: int) -> list[Block]:
    """The whole eval report."""
    from eval.plots import grouped_bars, histogram

    label = run_info.get("label", "predictions")
    m = metrics["matching"]
    blocks = [Block("h1", f"docfoundry eval: {label}"),
              Block("p", f"Truth: {run_info.get('truth', '?')} ({run_info.get('adapter', '?')} layout"
                         f"{', split ' + run_info['split'] if run_info.get('split') else ''}), "
                         f"{m['truth_documents']} pages. Predictions: {run_info.get('predictions', label)}. "
                         "Scores are 0-100.")]
    if m["truth_without_prediction"]:
        blocks.append(Block("warn", f"truth pages with no prediction: {m['truth_without_prediction']}; they are "
                                    "scored as misses (an empty prediction)."))
    if m["predictions_for_unknown_ids"]:
        blocks.append(Block("warn", f"predictions whose id is not in the truth: {m['predictions_for_unknown_ids']}; "
                                    f"ignored (e.g. {', '.join(m['unknown_ids_sample'][:5])})."))
    v = metrics["validity"]
    if v["parse_failures"]:
        blocks.append(Block("warn", f"predictions that are not JSON: {v['parse_failures']} (scored as {{}})."))
    for problem in metrics.get("truth_problems", [])[:5]:
        blocks.append(Block("warn", f"truth skipped: {problem}"))
    blocks += [Block("h2", "Headline"), *headline_blocks(metrics["overall"])]
    blocks += [Block("h2", "Validity"), Block("table", headers=["count", "value"],
                                              rows=[[k.replace("_", " "), fmt(val)] for k, val in v.items()])]
    if metrics.get("speed"):
        blocks += [Block("h2", "Speed"), Block("table", headers=["measure", "value"],
                                               rows=[[k.replace("_", " "), fmt(val, 3)] for k, val in
                                                     metrics["speed"].items()])]
    blocks += [Block("h2", "Categories"), *category_blocks(metrics["categories"], "Scores per category")]
    if len(metrics["doc_types"]) > 1:
        types = list(metrics["doc_types"])
        keys = ["field_accuracy", "exact_match", "fuzzy", "f1", "ted_accuracy"]
        series = {k: [metrics["doc_types"][t]["headline"][k]["value"] for t in types] for k in keys}
        blocks += [Block("h2", "Document types"), Block("image", "per document type",
                                                         image=grouped_bars(types, series, "Per document type")),
                   Block("table", headers=["doc type", "pages", *keys],
                         rows=[[t, fmt(metrics["doc_types"][t]["documents"]),
                                *(fmt(metrics["doc_types"][t]["headline"][k]["value"]) for k in keys)]
                               for t in types])]
    rows, more = field_rows(metrics["doc_types"])
    blocks += [Block("h2", "Fields, worst first"),
               Block("table", headers=["doc type", "field", "category", "kind", "truth fields",
                                       *(label for _, label in CATEGORY_COLUMNS), "false alarm count"], rows=rows)]
    if more:
        blocks.append(Block("p", f"{more} more fields in metrics.json."))
    blocks += [Block("h2", "Pages"),
               Block("image", "page field accuracy",
                     image=histogram([100 * d.field_accuracy for d in scored.docs if d.n_truth],
                                     "Field accuracy per page", "field accuracy (0-100)"))]
    if worst:
        blocks.append(Block("h2", f"Worst {worst} pages"))
        for doc in worst_documents(scored.docs, worst):
            def kind_of(key: str, d: DocScore = doc) -> str:
                return scored.catalog.info(d.doc_type, key).kind
            blocks += document_blocks(doc, truth_by_id[doc.id], predictions.get(doc.id), kind_of)
    return blocks


def document_row(d: DocScore) -> dict[str, Any]:
    """A ``documents.jsonl`` row: every per-page number."""
    row = {f.name: getattr(d, f.name) for f in fields(DocScore)}  # dataclasses.asdict is 10x slower
    row["outcomes"] = vars(d.outcomes).copy()
    row["field_accuracy"] = round(100 * d.field_accuracy, 4)
    return row


def write_report(out: str | Path, scored: Scored, metrics: dict[str, Any], truth_by_id: dict[str, TruthRecord],
                 predictions: dict[str, Prediction], run_info: dict[str, Any], worst: int = 5) -> dict[str, str]:
    """Write every report file into ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    worst_ids = [d.id for d in worst_documents(scored.docs, worst)]
    full = {"run": run_info, "scale": "0-100", **metrics, "worst_documents": worst_ids}
    (out / "metrics.json").write_text(json.dumps(full, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    with (out / "documents.jsonl").open("w", encoding="utf-8") as fh:
        for d in scored.docs:
            fh.write(json.dumps(document_row(d), ensure_ascii=False) + "\n")
    blocks = eval_blocks(scored, metrics, truth_by_id, predictions, run_info, worst)
    paths = write_documents(out, blocks, f"docfoundry eval: {run_info.get('label', '')}", "report")
    return {"metrics": str(out / "metrics.json"), "documents": str(out / "documents.jsonl"), **paths}
