"""docfoundry review without a Label Studio server: the labeling config is the schema's, tasks come
most doubtful first with the teacher's answers, and an export in Label Studio's JSON format becomes a
reviewed folder; bad inputs are one line and exit 2. (tests/test_review_labelstudio.py does the
same loop against a real Label Studio.)"""

from __future__ import annotations

import base64
import copy
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from review_data import label_receipts

from distill.review.labeling import BOX, controls, labeling_config
from docfoundry.cli import main
from docfoundry.doctypes import available, load_doc_type
from docfoundry.records import flatten
from docfoundry.store import read_samples

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def labeled(tmp_path_factory) -> Path:
    return label_receipts(tmp_path_factory)


@pytest.fixture(scope="module")
def tasks_file(labeled, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("review") / "tasks.json"
    assert main(["review", "export", "--in", str(labeled), "--out", str(out), "--below", "1.0"]) == 0
    return out


def _one_line_error(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    return err


@pytest.mark.parametrize("doc_type", available())
def test_the_labeling_config_has_one_control_per_schema_field(doc_type, capsys):
    doc = load_doc_type(doc_type)
    root = ET.fromstring(labeling_config(doc))
    named = {el.get("name"): el for el in root.iter() if el.get("name")}
    for leaf in doc.leaves:  # every leaf is a box label; a list leaf is a column of its list's control
        assert leaf.pattern in [lab.get("value") for lab in named[BOX].iter("Label")]
    for c in controls(doc):
        el = named[c.name]
        assert el.get("toName") == "image"
        assert el.tag == ("Choices" if c.kind == "choices" else "TextArea")
        if c.kind == "list":
            assert c.columns and all(f"{c.pattern}[].{col}" in doc.leaf_map for col in c.columns)
            assert el.get("maxSubmissions") is None  # one entry per item
    listed = {c.pattern for c in controls(doc) if c.kind != "list"} | {
        f"{c.pattern}[].{col}" for c in controls(doc) if c.kind == "list" for col in c.columns}
    assert listed == {leaf.pattern for leaf in doc.leaves}
    capsys.readouterr()
    assert main(["review", "config", "--schema", doc_type]) == 0
    assert capsys.readouterr().out == labeling_config(doc)


def test_the_config_follows_a_new_schema(tmp_path):
    schema = {"type": "object", "title": "ticket", "properties": {
        "seat": {"type": "string", "x-category": "seat", "x-kind": "code", "enum": ["A", "B"],
                 "description": "Seat row"},
        "stops": {"type": "array", "items": {"type": "object", "properties": {
            "town": {"type": "string", "x-category": "route", "x-kind": "text"}}}}}}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    root = ET.fromstring(labeling_config(load_doc_type(str(tmp_path / "schema.json"))))
    seat = next(el for el in root.iter("Choices") if el.get("name") == "seat")
    assert [c.get("value") for c in seat.iter("Choice")] == ["A", "B"]
    assert any(el.get("name") == "stops" for el in root.iter("TextArea"))
    assert "stops[].town" in [lab.get("value") for lab in root.iter("Label")]
    checks = ET.fromstring(labeling_config(load_doc_type("w2")))
    assert any(el.get("name") == "retirement_plan" for el in checks.iter("Choices"))  # x-kind: check


def test_export_puts_the_most_doubtful_page_first_with_the_teacher_answers(labeled, tasks_file):
    pages = {p.id: p for p in read_samples(labeled)}
    tasks = json.loads(tasks_file.read_text())
    assert len(tasks) == len(pages)  # --below 1.0: every page with a field under 1.0
    lows = [min(f["confidence"] for f in pages[t["data"]["page_id"]].meta["fields"].values()) for t in tasks]
    assert lows == sorted(lows)
    assert tasks_file.with_suffix(".xml").read_text() == labeling_config(load_doc_type("receipt"))
    doc = load_doc_type("receipt")
    names = {c.name: c for c in controls(doc)}
    for task in tasks:
        page = pages[task["data"]["page_id"]]
        fields = page.meta["fields"]
        header, data = task["data"]["image"].split(",", 1)
        assert header == "data:image/jpeg;base64"
        assert base64.b64decode(data) == (labeled / page.file_name).read_bytes()
        (pred,) = task["predictions"]
        assert pred["score"] == min(f["confidence"] for f in fields.values())
        for r in pred["result"]:
            if r["from_name"] in names and names[r["from_name"]].kind == "text":
                path = names[r["from_name"]].pattern
                assert r["value"]["text"] == [fields[path]["value"]] and r["score"] == fields[path]["confidence"]
            elif r["type"] == "rectanglelabels":
                v = r["value"]
                assert 0 <= v["x"] < v["x"] + v["width"] <= 100.001 and 0 <= v["y"] < v["y"] + v["height"] <= 100.001
        texts = [r for r in pred["result"] if r["from_name"] in names and names[r["from_name"]].kind == "text"]
        assert len(texts) == sum(1 for p, f in fields.items() if "." not in p and str(f["value"]).strip())
        assert any(r["type"] == "rectanglelabels" for r in pred["result"])  # the located field boxes


def test_max_pages_and_below_choose_the_pages(labeled, tmp_path):
    out = tmp_path / "one.json"
    assert main(["review", "export", "--in", str(labeled), "--out", str(out), "--below", "1.0",
                 "--max-pages", "1"]) == 0
    first = json.loads(out.read_text())
    assert len(first) == 1
    assert main(["review", "export", "--in", str(labeled), "--out", str(out), "--below", "0.0"]) == 0
    pages = {p.id: p for p in read_samples(labeled)}
    kept = {t["data"]["page_id"] for t in json.loads(out.read_text())}
    assert kept == {i for i, p in pages.items() if any(f["grounded"] is False for f in p.meta["fields"].values())}


def test_local_files_urls(labeled, tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["review", "export", "--in", str(labeled), "--out", str(out), "--below", "1.0",
                 "--image", "local-files", "--local-root", str(labeled.parent)]) == 0
    for task in json.loads(out.read_text()):
        page = next(p for p in read_samples(labeled) if p.id == task["data"]["page_id"])
        assert task["data"]["image"] == f"/data/local-files/?d={labeled.name}/{page.file_name}"
    err = _one_line_error(capsys, ["review", "export", "--in", str(labeled), "--out", str(out), "--image",
                                   "local-files", "--local-root", str(tmp_path)])
    assert "--local-root" in err


def annotated_export(tasks: list[dict], edits: dict[str, str]) -> list[dict]:
    """Tasks as Label Studio exports them once a reviewer accepted the first task's prediction
    with ``edits`` (control name -> new text); the other tasks are not annotated."""
    out = []
    for i, task in enumerate(copy.deepcopy(tasks)):
        result = task["predictions"][0]["result"]
        anns = []
        if i == 0:
            for r in result:
                if r["from_name"] in edits and r["type"] == "textarea":
                    r["value"]["text"] = [edits[r["from_name"]]]
            anns = [{"id": 7, "completed_by": 1, "result": result, "was_cancelled": False,
                     "created_at": "2026-12-02T01:00:00Z", "updated_at": "2026-12-02T01:02:00Z", "lead_time": 12.5}]
        out.append({"id": 100 + i, "data": task["data"], "annotations": anns, "project": 3})
    return out


def test_import_makes_reviewed_fields_truth_and_keeps_the_rest(labeled, tasks_file, tmp_path):
    tasks = json.loads(tasks_file.read_text())
    export = tmp_path / "export.json"
    export.write_text(json.dumps(annotated_export(tasks, {"total": "99.99", "date": "01/01/2019"})))
    out = tmp_path / "reviewed"
    assert main(["review", "import", "--in", str(labeled), "--export", str(export), "--out", str(out)]) == 0
    teacher = {p.id: p for p in read_samples(labeled)}
    reviewed = {p.id: p for p in read_samples(out)}
    assert list(reviewed) == list(teacher)
    first = tasks[0]["data"]["page_id"]
    page = reviewed[first]
    assert page.gt_parse["total"] == "99.99" and page.gt_parse["date"] == "01/01/2019"
    fields = page.meta["fields"]
    assert fields["total"]["source"] == "human" and fields["total"]["confidence"] == 1.0
    assert fields["total"]["teacher_value"] == teacher[first].meta["fields"]["total"]["value"]
    assert fields["total"]["changed"] is True
    assert page.meta["review"]["changed"] == ["date", "total"]
    assert page.meta["review"]["annotator"] == "user 1"
    assert page.meta["review"]["annotated_at"] == "2026-12-02T01:02:00Z"
    kept = [f for p, f in fields.items() if p not in ("date", "total")]
    assert kept and all(f["source"] == "human" and f["changed"] is False for f in kept)
    for pid in set(reviewed) - {first}:  # not annotated: the teacher's labels as they were
        assert reviewed[pid].gt_parse == teacher[pid].gt_parse
        assert all(f["source"] == "teacher" for f in reviewed[pid].meta["fields"].values())
        assert reviewed[pid].meta["review"] == {"status": "unreviewed"}
    report = json.loads((out / "review.json").read_text())
    assert report["reviewed_pages"] == 1 and report["changed"] == 2
    assert report["per_field"]["total"] == {"n": 1, "changed": 1, "change_rate": 1.0}
    assert sum(b["changed"] for b in report["per_confidence_bucket"].values()) == 2
    assert report["audit"]["per_field"]["total"]["accuracy"] == 0.0
    from docfoundry.adapters import load_truth

    truth = load_truth(out / "labels.jsonl")
    (row,) = truth.records
    assert row.id == first and flatten(row.fields)["total"] == "99.99"
    instr = tmp_path / "instr"
    assert main(["instruct", "--in", str(out), "--out", str(instr), "--tasks", "extract", "--per-page", "1",
                 "--caption-position", "none"]) == 0
    rows = {json.loads(line)["id"]: json.loads(line) for line in (instr / "conversations.jsonl").read_text().splitlines()}
    assert json.loads(rows[first]["messages"][1]["content"])["total"] == "99.99"


def test_bad_exports_are_one_line(labeled, tasks_file, tmp_path, capsys):
    tasks = json.loads(tasks_file.read_text())
    out = tmp_path / "r"

    def refused(content: str) -> str:
        export = tmp_path / "bad.json"
        export.write_text(content)
        err = _one_line_error(capsys, ["review", "import", "--in", str(labeled), "--export", str(export),
                                       "--out", str(out)])
        assert not (out / "metadata.jsonl").exists()
        return err

    good = annotated_export(tasks, {"total": "1.00"})
    assert "not valid JSON" in refused(json.dumps(good)[:-20])
    assert "list of tasks" in refused(json.dumps({"tasks": good}))
    other_project = copy.deepcopy(good)
    del other_project[0]["data"]["docfoundry"]
    assert "another project" in refused(json.dumps(other_project))
    other_schema = copy.deepcopy(good)
    other_schema[0]["data"]["docfoundry"].update(schema="invoice")
    assert "another schema" in refused(json.dumps(other_schema))
    other_folder = copy.deepcopy(good)
    other_folder[0]["data"]["docfoundry"]["labeled"] = "0" * 16
    assert "another labeled folder" in refused(json.dumps(other_folder))
    foreign = copy.deepcopy(good)
    foreign[0]["annotations"][0]["result"].append({"from_name": "sentiment", "to_name": "text", "type": "choices",
                                                    "value": {"choices": ["Positive"]}})
    assert "'sentiment' is not a control" in refused(json.dumps(foreign))
    bad_item = copy.deepcopy(good)
    bad_item[0]["annotations"][0]["result"].append({"from_name": "items", "to_name": "image", "type": "textarea",
                                                     "value": {"text": ["colour: red"]}})
    assert "not 'column: value'" in refused(json.dumps(bad_item))


def test_a_page_whose_image_is_gone_is_one_line(labeled, tasks_file, tmp_path, capsys):
    copy_dir = tmp_path / "labeled"
    shutil.copytree(labeled, copy_dir, ignore=shutil.ignore_patterns("cache", ".docfoundry.lock*"))
    gone = next(read_samples(copy_dir))
    (copy_dir / gone.file_name).unlink()
    err = _one_line_error(capsys, ["review", "export", "--in", str(copy_dir), "--out", str(tmp_path / "t.json"),
                                   "--below", "1.0"])
    assert "is gone" in err and gone.id in err
    export = tmp_path / "export.json"
    export.write_text(json.dumps(annotated_export(json.loads(tasks_file.read_text()), {})))
    err = _one_line_error(capsys, ["review", "import", "--in", str(copy_dir), "--export", str(export),
                                   "--out", str(tmp_path / "r")])
    assert "is gone" in err
    err = _one_line_error(capsys, ["review", "export", "--in", str(REPO / "templates"), "--out",
                                   str(tmp_path / "t.json")])
    assert "not a dataset folder" in err


def test_export_bytes_do_not_depend_on_the_hash_seed(labeled, tmp_path):
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"tasks{seed}.json"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        subprocess.run([sys.executable, "-m", "docfoundry", "review", "export", "--in", str(labeled), "--out",
                        str(out), "--below", "1.0"], env=env, check=True, capture_output=True, timeout=120)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and len(outs[0]) > 1000


def test_a_run_config_names_a_reviewed_folder(labeled, tasks_file, tmp_path, capsys):
    from docfoundry.orchestration.pipeline import load_run_config, stage_hashes, stage_instruct

    export = tmp_path / "export.json"
    export.write_text(json.dumps(annotated_export(json.loads(tasks_file.read_text()), {"total": "77.70"})))
    reviewed = tmp_path / "reviewed"
    assert main(["review", "import", "--in", str(labeled), "--export", str(export), "--out", str(reviewed)]) == 0
    config = tmp_path / "run.yaml"
    config.write_text(f"instruct:\n  labeled: [{reviewed}]\n  tasks: [extract]\n  teacher_tasks: [extract]\n")
    cfg = load_run_config(str(config), out=str(tmp_path / "run"))
    run_dir = Path(cfg.out)
    assert main(["synth", "--n", "2", "--out", str(run_dir / "synth"), "--doc-types", "receipt"]) == 0
    stage_instruct(cfg, run_dir)
    made = next((run_dir / "instruct").glob("labeled_0_*")) / "conversations.jsonl"
    answers = [json.loads(m["content"]) for line in made.read_text().splitlines()
               for m in json.loads(line)["messages"] if m["role"] == "assistant" and m["content"].startswith("{")]
    assert {"total": "77.70"}.items() <= next(a for a in answers if a.get("total") == "77.70").items()
    before = stage_hashes(cfg)["instruct"]  # a re-import changes what the stage reads: it is redone
    (reviewed / "metadata.jsonl").write_text((reviewed / "metadata.jsonl").read_text().replace("77.70", "77.71"))
    assert stage_hashes(cfg)["instruct"] != before
    config.write_text(f"instruct:\n  labeled: [{tmp_path / 'nowhere'}]\n")
    err = _one_line_error(capsys, ["run", str(config), "--out", str(tmp_path / "run2")])
    assert "instruct.labeled[0]" in err


def test_a_page_imported_twice_takes_its_latest_annotation(labeled, tasks_file, tmp_path):
    tasks = json.loads(tasks_file.read_text())
    old, new = annotated_export(tasks, {"total": "1.00"}), annotated_export(tasks, {"total": "2.00"})
    new[0]["annotations"][0]["updated_at"] = "2026-12-02T03:00:00Z"
    export = tmp_path / "export.json"
    export.write_text(json.dumps([new[0], *old]))  # the later annotation comes first in the file
    out = tmp_path / "reviewed"
    assert main(["review", "import", "--in", str(labeled), "--export", str(export), "--out", str(out)]) == 0
    page = next(p for p in read_samples(out) if p.id == tasks[0]["data"]["page_id"])
    assert page.gt_parse["total"] == "2.00" and page.meta["review"]["annotated_at"] == "2026-12-02T03:00:00Z"
