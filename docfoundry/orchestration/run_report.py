"""The run report: pipeline counts and times, sample pages with their boxes, the teacher audit,
training curves and the before/after comparison, as one self-contained HTML page plus Markdown.

Each section reads what its stage left in ``RUN_DIR/<stage>/``; a stage that has not run yet is
reported as such, never guessed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from docfoundry.errors import BadItem
from eval.report import Block, fmt


def _pipeline(state: dict[str, Any], stale: list[str]) -> list[Block]:
    rows = []
    for name, s in state.get("stages", {}).items():
        summary = s.get("summary") or {}
        counts = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "seconds")
        rows.append([name, s.get("status", ""), str(s.get("seconds", "")), counts[:160]])
    blocks = [Block("h2", "Pipeline"), Block("table", headers=["stage", "status", "seconds", "counts"], rows=rows)]
    if stale:
        blocks.append(Block("warn", f"stale: {', '.join(stale)} ran before their inputs changed (config or an earlier "
                                    f"stage); what this report shows of them is from that run: `docfoundry run CONFIG "
                                    f"--from {stale[0]}` redoes them"))
    return blocks


def _stale(state: dict[str, Any]) -> list[str]:
    return [name for name, s in state.get("stages", {}).items() if s.get("status") == "stale"]


def page_with_boxes(image_path: Path, field_boxes: list[dict[str, Any]], max_side: int = 520) -> bytes:
    """A page thumbnail with its field boxes drawn in red (PNG bytes); a broken or oversized image
    is a ``BadItem``."""
    from PIL import ImageDraw

    from docfoundry.images import open_image

    page = open_image(image_path, str(image_path), "page image")
    draw = ImageDraw.Draw(page)
    for f in field_boxes:
        draw.rectangle(f["box"], outline=(220, 30, 30), width=2)
    page.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


def _samples(run_dir: Path) -> list[Block]:
    from docfoundry.paths import inside
    from docfoundry.store import iter_rows

    folder = run_dir / "synth"
    if not (folder / "metadata.jsonl").is_file():
        return [Block("h2", "Sample pages"), Block("warn", "synth has not run yet")]
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for row in iter_rows(folder):
        preset = json.loads(row["meta"]).get("degradation", {}).get("preset", "clean")
        seen.setdefault((row["doc_type"], preset), row)
    blocks = [Block("h2", "Sample pages"),
              Block("p", "One page per document type and degradation preset, field boxes in red.")]
    for (doc_type, preset), row in sorted(seen.items()):
        title = f"{doc_type} / {preset} ({row['id']})"
        try:
            image = inside(folder, row["file_name"], f"{folder / 'metadata.jsonl'} row {row['id']}: file_name")
            blocks.append(Block("image", title, image=page_with_boxes(image, row["field_boxes"])))
        except BadItem as e:  # one unreadable page costs its thumbnail, not the report
            blocks.append(Block("warn", f"{title}: no thumbnail: {e}"))
    return blocks


def _json(path: Path) -> dict[str, Any] | None:
    """A JSON object a stage wrote, or None when absent; a corrupt one is a one-line error naming it."""
    from docfoundry.errors import UserError

    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e}); re-run the stage that wrote it") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_state(run_dir: Path) -> dict[str, Any]:
    """A run folder's ``run.json`` (``{}`` when absent), checked to be the shape the run writes."""
    from docfoundry.errors import UserError

    state = _json(run_dir / "run.json") or {}
    stages = state.get("stages", {})
    if not isinstance(stages, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("summary") or {}, dict) for v in stages.values()):
        raise UserError(f"{run_dir / 'run.json'}: 'stages' is not a mapping of stage records; "
                        "not a run folder written by `docfoundry run`")
    return state


def _images(folder: Path, stage: str, pattern: str) -> list[Block]:
    return [Block("image", f"{stage}: {p.stem}", image=p.read_bytes()) for p in sorted(folder.glob(pattern))]


def _pct(x: float | None) -> str:
    return fmt(None if x is None else 100 * x)


def _confidence_tables(a: dict[str, Any], pages: str) -> list[Block]:
    """Accuracy per confidence bucket and what each --min-confidence keeps, on ``pages``."""
    return [Block("table", headers=[f"confidence ({pages})", "accuracy %", "fields"],
                  rows=[[b, _pct(v["accuracy"]), str(v["n"])] for b, v in a["per_confidence_bucket"].items()]),
            Block("table", headers=[f"keep fields with confidence ≥ ({pages})", "share kept %", "accuracy of kept %"],
                  rows=[[fmt(t["min_confidence"], 2), _pct(t["kept_share"]), _pct(t["accuracy_kept"])]
                        for t in a["thresholds"]])]


def _recommended(rec: dict[str, Any] | None, pages: str) -> list[Block]:
    if not rec or rec.get("min_confidence") is None:
        return []
    how = "the lowest that reaches" if rec["reaches_target"] else "none reaches"
    return [Block("p", f"Recommended --min-confidence {rec['min_confidence']} (from the {pages}; {how} "
                       f"{_pct(rec['target'])}% accuracy of kept fields): keeps {_pct(rec['kept_share'])}% of the "
                       f"fields at {_pct(rec['accuracy_kept'])}% accuracy.")]


def _real_audit(doc_type: str, a: dict[str, Any]) -> list[Block]:
    """The teacher on labeled real pages: per field next to the synthetic pages, with the gap."""
    real, gap = a["real"], a["gap"]
    rows = [[p, _pct(g["synthetic_accuracy"]), _pct(g["real_accuracy"]), _pct(g["gap"]), fmt(g["real_fuzzy"]),
             str(g["n_real"])] for p, g in gap["fields"].items()]
    rows.append(["(all these fields)", _pct(gap["overall"]["synthetic_accuracy"]),
                 _pct(gap["overall"]["real_accuracy"]), _pct(gap["overall"]["gap"]), fmt(real["fuzzy"]),
                 str(real["truth_fields"])])
    return [Block("h3", f"{doc_type} on {real['pages']} real pages ({real['truth']}): field accuracy "
                        f"{_pct(real['field_accuracy'])}% over {real['truth_fields']} truth fields, seed fuzzy score "
                        f"{fmt(real['fuzzy'])}, calibration error {fmt(real.get('expected_calibration_error'), 3)}"),
            Block("table", headers=["field", "synthetic accuracy %", "real accuracy %", "gap (points)", "real fuzzy",
                                    "n real"], rows=rows),
            *_confidence_tables(real, "real pages")]


def _audit(folder: Path) -> list[Block]:
    """Per document type: accuracy per confidence bucket, what each threshold keeps, the worst fields;
    with labeled real pages, their audit and the synthetic-real gap, and the threshold to use."""
    audit = _json(folder / "audit.json") or {}
    blocks = _images(folder, "audit", "**/*.png")
    for doc_type, a in sorted(audit.items()):
        blocks.append(Block("h3", f"{doc_type}: field accuracy {fmt(100 * a['field_accuracy'])}% over "
                                  f"{a['truth_fields']} truth fields, calibration error {fmt(a.get('expected_calibration_error'), 3)}"))
        blocks += _confidence_tables(a, "synthetic pages")
        worst = sorted(a["per_field"].items(), key=lambda kv: (kv[1]["accuracy"], -kv[1]["n"]))[:5]
        blocks.append(Block("table", headers=["worst fields", "accuracy %", "n"],
                            rows=[[k, fmt(100 * v["accuracy"]), str(v["n"])] for k, v in worst]))
        if "real" in a:
            blocks += _real_audit(doc_type, a)
        blocks += _recommended(a.get("recommended_min_confidence"), "real pages" if "real" in a else "synthetic pages")
    return blocks


def _train(folder: Path) -> list[Block]:
    """The loss curves and the run's headline numbers."""
    summary = (_json(folder / "run.json") or {}).get("summary", {})
    rows = [[k, fmt(v, 4)] for k, v in summary.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return [*_images(folder, "train", "*.png"), *([Block("table", headers=["measure", "value"], rows=rows)]
                                                   if rows else [])]


def _compare(folder: Path) -> list[Block]:
    """Headline metrics of base, student and teacher side by side with the change from the baseline."""
    from eval.compare import headline_rows

    overall = (_json(folder / "compare.json") or {}).get("overall", {})
    _, rows = headline_rows(overall) if overall else ([], [])
    table = [Block("table", headers=["metric", *overall], rows=rows)] if rows else []
    return [*table, *_images(folder, "compare", "**/*.png")]


# stage folder -> (section title, renderer, what the report says before the stage ran)
SECTIONS = [
    ("audit", "Teacher audit (accuracy per confidence bucket)", _audit, "the teacher audit has not run yet"),
    ("train", "Training curves", _train, "training has not run yet"),
    ("compare", "Before / after", _compare, "the comparison has not run yet"),
]


def write_run_report(run_dir: Path) -> str:
    """Write ``RUN_DIR/report.html`` and ``report.md``; returns the HTML path."""
    from eval.report import write_documents

    state = read_state(run_dir)
    stale = _stale(state)
    blocks = [Block("h1", f"docfoundry run: {run_dir.name}"), *_pipeline(state, stale), *_samples(run_dir)]
    for stage, title, render, missing in SECTIONS:
        found = (run_dir / stage).is_dir() and render(run_dir / stage)
        old = [Block("warn", "stale: from a run before its inputs changed")] if found and stage in stale else []
        blocks += [Block("h2", title), *old, *(found or [Block("warn", missing)])]
    return write_documents(run_dir, blocks, f"docfoundry run {run_dir.name}", "report")["html"]
