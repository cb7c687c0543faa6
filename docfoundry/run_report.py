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

from eval.report import Block


def _pipeline(state: dict[str, Any]) -> list[Block]:
    rows = []
    for name, s in state.get("stages", {}).items():
        summary = s.get("summary") or {}
        counts = ", ".join(f"{k}={v}" for k, v in summary.items()
                           if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "seconds")
        rows.append([name, s.get("status", ""), str(s.get("seconds", "")), counts[:160]])
    return [Block("h2", "Pipeline"), Block("table", headers=["stage", "status", "seconds", "counts"], rows=rows)]


def page_with_boxes(image_path: Path, field_boxes: list[dict[str, Any]], max_side: int = 520) -> bytes:
    """A page thumbnail with its field boxes drawn in red (PNG bytes)."""
    from PIL import Image, ImageDraw

    with Image.open(image_path) as im:
        page = im.convert("RGB")
    draw = ImageDraw.Draw(page)
    for f in field_boxes:
        draw.rectangle(f["box"], outline=(220, 30, 30), width=2)
    page.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


def _samples(run_dir: Path) -> list[Block]:
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
        blocks.append(Block("image", f"{doc_type} / {preset} ({row['id']})",
                            image=page_with_boxes(folder / row["file_name"], row["field_boxes"])))
    return blocks


def _json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _section_files(run_dir: Path, stage: str, title: str, files: list[str], missing: str) -> list[Block]:
    """Embed a stage's PNGs and Markdown summary if the stage wrote them."""
    folder = run_dir / stage
    blocks = [Block("h2", title)]
    found = False
    for pattern in files:
        for p in sorted(folder.glob(pattern)):
            found = True
            if p.suffix == ".png":
                blocks.append(Block("image", f"{stage}: {p.stem}", image=p.read_bytes()))
            elif p.suffix == ".json":
                blocks.append(Block("pre", json.dumps(json.loads(p.read_text()), indent=1)[:3000]))
    if not found:
        blocks.append(Block("warn", missing))
    return blocks


SECTIONS = [
    ("audit", "Teacher audit (accuracy per confidence bucket)", ["**/*.png", "audit.json"],
     "the teacher audit has not run yet"),
    ("train", "Training curves", ["*.png", "loss.json"], "training has not run yet"),
    ("compare", "Before / after", ["**/*.png", "compare.json"], "the comparison has not run yet"),
]


def write_run_report(run_dir: Path) -> str:
    """Write ``RUN_DIR/report.html`` and ``report.md``; returns the HTML path."""
    from eval.report import write_documents

    state = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").is_file() else {}
    blocks = [Block("h1", f"docfoundry run: {run_dir.name}"), *_pipeline(state), *_samples(run_dir)]
    for stage, title, files, missing in SECTIONS:
        blocks += _section_files(run_dir, stage, title, files, missing)
    return write_documents(run_dir, blocks, f"docfoundry run {run_dir.name}", "report")["html"]
