"""The README's picture of a generated review task in Label Studio, on synthetic pages (real
documents stay out of the repository):

    .venv/bin/python tests/review_screenshot.py docs/review-task.png

Synthesizes receipts, labels them with the ocr teacher, exports the tasks, starts Label Studio on
loopback (tests/labelstudio.py), creates the project with the generated config through the SDK,
imports the tasks and screenshots the most doubtful one in the editor with headless Chromium.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelstudio import LabelStudio, review_python  # noqa: E402

from docfoundry.cli import main  # noqa: E402


def make(png: Path, pages: int = 3) -> dict:
    python = review_python()
    if python is None:
        raise SystemExit("no .venv-review with Label Studio (run install.sh)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        assert main(["synth", "--n", str(pages), "--doc-types", "receipt", "--degrade", "medium", "--seed", "7",
                     "--out", str(work / "synth"), "--locales", "en_US"]) == 0
        assert main(["label", "--in", str(work / "synth"), "--schema", "receipt", "--out", str(work / "labeled"),
                     "--no-progress"]) == 0
        tasks = work / "tasks.json"
        assert main(["review", "export", "--in", str(work / "labeled"), "--out", str(tasks), "--below", "1.0"]) == 0
        LabelStudio.prepare_template(python, work / "first-start")
        with LabelStudio(work / "label-studio", python) as ls:
            project = ls.sdk("project", str(tasks.with_suffix(".xml")), str(tasks))["project"]
            first = json.loads(tasks.read_text())[0]["data"]["page_id"]
            (work / "none.json").write_text("{}")
            task = ls.sdk("annotate", str(project), first, str(work / "none.json"))["task"]
            shown = ls.screenshot(project, task, png, "store_name")
    if shown is None:
        raise SystemExit("no headless Chromium + Playwright here")
    return {"png": str(png), "page": first}


if __name__ == "__main__":
    print(make(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review-task.png")))
