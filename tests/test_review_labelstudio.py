"""The review loop against a real Label Studio: export tasks of real receipts, create a project with
the generated labeling config through label-studio-sdk, import the tasks, submit an annotation that
corrects two fields (to the receipt's real truth), export, and ``review import`` the export.

Label Studio runs from its own environment (install.sh's ``.venv-review``); the test skips only
where that is not installed. With a headless Chromium it also opens the annotated task in Label
Studio's editor and checks what it shows (``tests/review_screenshot.py`` makes the README's picture).
"""

from __future__ import annotations

import json

import pytest
from labelstudio import LabelStudio, review_python
from review_data import SROIE, label_receipts

from docfoundry.cli import main
from docfoundry.doctypes import load_doc_type
from docfoundry.normalize import normalized_equal
from docfoundry.store import read_samples

pytestmark = pytest.mark.skipif(review_python() is None,
                                reason="the review extra (Label Studio, .venv-review from install.sh) is not installed")

CORRECTED = {"company": "store_name", "total": "total"}  # SROIE truth field -> the receipt field it corrects


def test_the_review_loop_through_a_real_label_studio(tmp_path_factory, tmp_path):
    labeled = label_receipts(tmp_path_factory)
    tasks_file = tmp_path / "tasks.json"
    assert main(["review", "export", "--in", str(labeled), "--out", str(tasks_file), "--below", "1.0"]) == 0
    tasks = json.loads(tasks_file.read_text())
    first = tasks[0]["data"]["page_id"]
    truth = next(json.loads(line)["fields"] for line in (SROIE / "labels.jsonl").read_text().splitlines()
                 if json.loads(line)["id"] == first)
    edits = {field: truth[key] for key, field in CORRECTED.items()}
    (tmp_path / "edits.json").write_text(json.dumps(edits))
    export = tmp_path / "export.json"
    with LabelStudio(tmp_path / "label-studio", review_python()) as ls:
        project = ls.sdk("project", str(tasks_file.with_suffix(".xml")), str(tasks_file))
        assert project["tasks"] == len(tasks)
        done = ls.sdk("annotate", str(project["project"]), first, str(tmp_path / "edits.json"))
        assert ls.sdk("export", str(project["project"]), str(export)) == {"tasks": len(tasks)}
        shown = ls.screenshot(project["project"], done["task"], tmp_path / "task.png",
                              ["store_name", "total", edits["total"]])
    if shown is not None:  # the generated config renders: the page image, its field headers, the values
        from PIL import Image

        page_width = Image.open(labeled / next(p for p in read_samples(labeled) if p.id == first).file_name).width
        assert [True, page_width] in shown["images"], shown["images"]
        assert "store_name" in shown["text"] and "total" in shown["text"] and edits["total"] in shown["text"]
    out = tmp_path / "reviewed"
    assert main(["review", "import", "--in", str(labeled), "--export", str(export), "--out", str(out)]) == 0

    doc = load_doc_type("receipt")
    teacher = {p.id: p for p in read_samples(labeled)}
    reviewed = {p.id: p for p in read_samples(out)}
    page = reviewed[first]
    for field, value in edits.items():
        assert page.gt_parse[field] == value
        f = page.meta["fields"][field]
        assert f["source"] == "human" and f["confidence"] == 1.0
        assert f["teacher_value"] == teacher[first].meta["fields"].get(field, {}).get("value")
    kept = {p: f for p, f in page.meta["fields"].items() if p not in edits}
    assert kept and all(f["value"] == f["teacher_value"] for f in kept.values())  # accepted as predicted
    assert page.meta["review"]["annotator"] == "user 1"  # the export names the Label Studio user by id
    assert page.meta["review"]["annotated_at"] and page.meta["review"]["lead_time_s"] == 42.0
    for pid in set(reviewed) - {first}:
        assert reviewed[pid].gt_parse == teacher[pid].gt_parse and reviewed[pid].meta["review"]["status"] == "unreviewed"
    changed = [f for f, v in edits.items()
               if not normalized_equal(teacher[first].meta["fields"].get(f, {}).get("value"), v, doc.leaf(f).kind)]
    report = json.loads((out / "review.json").read_text())
    assert report["reviewed_pages"] == 1 and report["changed"] == len(changed)
    assert sorted(page.meta["review"]["changed"] + page.meta["review"]["added"]) == sorted(changed)
