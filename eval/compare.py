"""``eval compare``: several eval reports side by side (base vs student vs teacher), with deltas.

The first report is the baseline; every other run's numbers are shown with their difference to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError
from eval.report import CATEGORY_COLUMNS, Block, fmt, fmt_ci, write_documents

COMPARED = ["field_accuracy", "fuzzy", "exact_match", "f1", "strict_f1", "anls", "donut_f1", "ted_accuracy",
            "parse_rate", "schema_valid_rate"]
MAX_FIELD_CHANGES = 15


def load_report(folder: str | Path) -> dict[str, Any]:
    """A report's ``metrics.json``; a folder without one is a one-line error."""
    path = Path(folder) / "metrics.json"
    if not path.is_file():
        raise UserError(f"{folder}: not an eval report (no metrics.json; run `docfoundry eval --out {folder}`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e.msg})") from None
    if not isinstance(data, dict) or "overall" not in data:
        raise UserError(f"{path}: not a docfoundry eval metrics file (no 'overall')")
    problem = _shape_problem(data)
    if problem:
        raise UserError(f"{path}: not a docfoundry eval metrics file ({problem})")
    return data


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _shape_problem(data: dict[str, Any]) -> str | None:
    """The first part of a metrics file that the comparison reads and that has the wrong shape."""
    for key in ("overall", "categories", "doc_types", "matching", "run"):
        if not isinstance(data.get(key, {}), dict):
            return f"'{key}' is not a mapping"
    for m in COMPARED:
        entry = data["overall"].get(m)
        if entry is None:
            continue
        if not isinstance(entry, dict) or not _is_number(entry.get("value")):
            return f"'overall.{m}' is not {{value: number, ci95: [low, high]}}"
        ci = entry.get("ci95")
        if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(
                _is_number(c) and c is not None for c in ci)):
            return f"'overall.{m}.ci95' is not [low, high]"
    for c, entry in data.get("categories", {}).items():
        if not isinstance(entry, dict) or not all(_is_number(entry.get(k)) for k, _ in CATEGORY_COLUMNS):
            return f"'categories.{c}' is not a mapping of numbers"
    for t, entry in data.get("doc_types", {}).items():
        fields = entry.get("fields", {}) if isinstance(entry, dict) else None
        if not isinstance(fields, dict) or not all(
                isinstance(f, dict) and _is_number(f.get("field_accuracy")) for f in fields.values()):
            return f"'doc_types.{t}.fields' is not a mapping of per-field scores"
    if not _is_number(data.get("matching", {}).get("truth_documents")):
        return "'matching.truth_documents' is not a number"
    if not isinstance(data.get("run", {}).get("label", ""), (str, type(None))):
        return "'run.label' is not a string"
    return None


def _delta(value: float | None, base: float | None) -> str:
    if value is None:
        return "—"
    if base is None:
        return fmt(value)
    return f"{value:.1f} ({value - base:+.1f})"


def _field_changes(runs: list[dict[str, Any]]) -> list[list[str]]:
    """Fields whose accuracy moved most between the baseline and the last run."""
    def fields(run: dict[str, Any]) -> dict[tuple[str, str], float]:
        return {(t, f): s["field_accuracy"] for t, entry in run.get("doc_types", {}).items()
                for f, s in entry.get("fields", {}).items() if s.get("field_accuracy") is not None}

    base, last = fields(runs[0]), fields(runs[-1])
    moved = sorted(((last[k] - base[k], k) for k in base.keys() & last.keys()), key=lambda x: -abs(x[0]))
    return [[t, f, fmt(base[(t, f)]), fmt(last[(t, f)]), f"{d:+.1f}"] for d, (t, f) in moved[:MAX_FIELD_CHANGES]]


def headline_rows(overall: dict[str, dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The compared metrics some run has, and a row per metric: the baseline's value, then each other
    run's with its change from the baseline, each with its 95% interval. ``overall``: run name -> the
    ``overall`` of its metrics.json, the baseline first."""
    runs = list(overall.values())
    metrics = [m for m in COMPARED if any((o.get(m) or {}).get("value") is not None for o in runs)]
    rows = []
    for m in metrics:
        base = (runs[0].get(m) or {}).get("value")
        cells = []
        for i, o in enumerate(runs):
            entry = o.get(m) or {}
            text = fmt(entry.get("value")) if i == 0 else _delta(entry.get("value"), base)
            cells.append(f"{text} [{fmt_ci(entry.get('ci95'))}]")
        rows.append([m, *cells])
    return metrics, rows


def compare_blocks(runs: list[dict[str, Any]], labels: list[str]) -> list[Block]:
    """The comparison report: headline table and chart, categories with deltas, field changes."""
    from eval.plots import grouped_bars

    blocks = [Block("h1", f"docfoundry eval compare: {' vs '.join(labels)}"),
              Block("p", f"Baseline: {labels[0]}. Numbers are 0-100; brackets hold the change from the "
                         "baseline; intervals are 95% bootstrap intervals over pages.")]
    pages = {lab: r.get("matching", {}).get("truth_documents") for lab, r in zip(labels, runs)}
    if len(set(pages.values())) > 1:
        blocks.append(Block("warn", "the runs were scored on different numbers of pages: "
                                    + ", ".join(f"{k}: {v}" for k, v in pages.items())))
    metrics, rows = headline_rows({lab: r["overall"] for lab, r in zip(labels, runs)})
    series = {lab: [r["overall"].get(m, {}).get("value") for m in metrics] for lab, r in zip(labels, runs)}
    errors = {lab: [tuple(r["overall"][m]["ci95"]) if r["overall"].get(m, {}).get("ci95") else None
                    for m in metrics] for lab, r in zip(labels, runs)}
    blocks += [Block("h2", "Headline"),
               Block("image", "headline by run", image=grouped_bars(metrics, series, "Headline metrics by run",
                                                                   errors=errors, annotate_delta=True)),
               Block("table", headers=["metric", *labels], rows=rows)]
    categories = sorted({c for r in runs for c in r.get("categories", {})})
    for key, label in CATEGORY_COLUMNS[:3]:
        series = {lab: [r.get("categories", {}).get(c, {}).get(key) for c in categories]
                  for lab, r in zip(labels, runs)}
        blocks += [Block("h2", f"Categories: {label}"),
                   Block("image", f"categories {key}",
                         image=grouped_bars(categories, series, f"{label} per category", annotate_delta=True)),
                   Block("table", headers=["category", *labels],
                         rows=[[c, *(fmt(v) if i == 0 else _delta(v, series[labels[0]][j])
                                     for i, v in enumerate(series[lab][j] for lab in labels))]
                               for j, c in enumerate(categories)])]
    changes = _field_changes(runs)
    if changes:
        blocks += [Block("h2", f"Fields that moved most ({labels[0]} -> {labels[-1]})"),
                   Block("table", headers=["doc type", "field", labels[0], labels[-1], "change"], rows=changes)]
    return blocks


def compare_reports(folders: list[str], out: str | Path, labels: list[str] | None = None) -> dict[str, Any]:
    """Write ``compare.json``, ``compare.md`` and ``compare.html`` for the given report folders."""
    if len(folders) < 2:
        raise UserError("eval compare needs at least two report folders (the first is the baseline)")
    runs = [load_report(f) for f in folders]
    if labels and len(labels) != len(folders):
        raise UserError(f"--labels has {len(labels)} names for {len(folders)} reports")
    names = labels or [r.get("run", {}).get("label") or Path(f).name for r, f in zip(runs, folders)]
    if len(set(names)) < len(names):  # two runs with one name would hide each other in the charts
        names = [f"{n} ({i + 1})" for i, n in enumerate(names)]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = {n: {m: r["overall"].get(m) for m in COMPARED} for n, r in zip(names, runs)}
    (out / "compare.json").write_text(json.dumps({"baseline": names[0], "reports": dict(zip(names, folders)),
                                                  "overall": table,
                                                  "categories": {n: r.get("categories", {})
                                                                 for n, r in zip(names, runs)}},
                                                 indent=2), encoding="utf-8")
    paths = write_documents(out, compare_blocks(runs, names), "docfoundry eval compare", "compare")
    summary = {n: {m: (table[n][m] or {}).get("value") for m in ("field_accuracy", "fuzzy", "f1")} for n in names}
    return {"out": str(out), "runs": summary, "json": str(out / "compare.json"), **paths}
