"""A purchase order written as a folder (schema draw rules + layouts, no Python) goes through the
chain: synth --verify, medium degradation with its boxes, instruction tasks, eval."""

from __future__ import annotations

import json

import pytest
from PIL import Image
from types_fixtures import PO_LAYOUTS, PURCHASE_ORDER, installed_type

from docfoundry.cli import main
from docfoundry.store import read_samples


@pytest.fixture(scope="module")
def po_root(tmp_path_factory):
    with installed_type(tmp_path_factory.mktemp("tpl"), "purchase_order", PURCHASE_ORDER, PO_LAYOUTS) as root:
        yield root


@pytest.fixture(scope="module")
def po_synth(po_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("po") / "ds"
    args = ["synth", "--doc-types", "purchase_order", "--n", "10", "--out", str(out), "--verify",
            "--locales", "en_US,de_DE,fr_FR", "--seed", "3"]
    assert main(args) == 0
    return out


def test_purchase_order_pages_verify_and_carry_derived_totals(po_synth, capsys):
    from docfoundry.checks import evaluate_checks
    from docfoundry.doctypes import load_doc_type

    run = json.loads((po_synth / "run.json").read_text())
    assert run["counts"]["pages"] == 10
    doc = load_doc_type("purchase_order")
    samples = list(read_samples(po_synth))
    assert len(samples) == 10
    for s in samples:
        checks = evaluate_checks(doc, s.gt_typed)
        names = {c.name.split(" in row")[0] for c in checks}
        assert {"amount", "subtotal", "tax", "total"} <= names
        assert all(c.holds for c in checks), [c for c in checks if not c.holds]
        assert {f.path for f in s.field_boxes} >= {"po_number", "total", "line_items.0.amount"}
    assert len({s.meta["layout"] for s in samples}) == 2
    absent = [s for s in samples if "phone" not in s.gt_parse["supplier"]]
    assert absent and len(absent) < len(samples)
    for s in absent:  # an optional field left out prints no label either
        assert not {"Phone:", "Tel.:", "Phone", "Tel."} & {w.text for w in s.words}, s.id


def test_purchase_order_folder_is_the_same_bytes_across_processes(po_root, tmp_path):
    import os
    import subprocess
    import sys

    digests = []
    for hashseed in ("0", "7"):
        out = tmp_path / f"h{hashseed}"
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "DOCFOUNDRY_TEMPLATES": str(po_root)}
        subprocess.run([sys.executable, "-m", "docfoundry", "synth", "--doc-types", "purchase_order", "--n", "4",
                        "--out", str(out), "--locales", "en_US,fr_FR", "--seed", "9"], env=env, check=True,
                       capture_output=True)
        digests.append({p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
                        if p.is_file() and p.name not in ("run.json",) and not p.name.startswith(".")})
    assert digests[0] == digests[1] and len(digests[0]) == 5


def test_purchase_order_survives_medium_degradation_with_boxes(po_synth, tmp_path):
    out = tmp_path / "medium"
    assert main(["degrade", "--in", str(po_synth), "--out", str(out), "--preset", "medium"]) == 0
    clean = {s.id: s for s in read_samples(po_synth)}
    for s in read_samples(out):
        assert s.meta["degradation"]["preset"] == "medium"
        w, h = Image.open(out / s.file_name).size
        assert len(s.field_boxes) == len(clean[s.id].field_boxes)
        for f in s.field_boxes:
            x0, y0, x1, y1 = f.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (s.id, f.path, f.box)


def test_purchase_order_gives_instruction_tasks_and_scores_in_eval(po_synth, tmp_path):
    instr = tmp_path / "instr"
    assert main(["instruct", "--in", str(po_synth), "--out", str(instr), "--per-page", "12"]) == 0
    summary = json.loads((instr / "summary.json").read_text())
    families = set(summary["per_family"])
    assert {"qa", "arithmetic", "table"} <= families, summary
    preds = tmp_path / "preds.jsonl"
    samples = [s for s in read_samples(po_synth)]
    with preds.open("w") as fh:
        for i, s in enumerate(samples):
            fields = json.loads(json.dumps(s.gt_parse))
            if i == 0:
                fields["po_number"] = "WRONG"
            fh.write(json.dumps({"id": s.id, "fields": fields}) + "\n")
    report = tmp_path / "report"
    assert main(["eval", "--truth", str(po_synth), "--pred", str(preds),
                 "--out", str(report)]) == 0
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["doc_types"]["purchase_order"]["documents"] == 10
    # the schema's categories are the eval's: one wrong PO number is one wrong 'document' field
    assert metrics["categories"]["document"]["outcomes"]["wrong"] == 1
    assert metrics["categories"]["totals"]["exact_match"] == 100.0
    assert 95 < metrics["overall"]["exact_match"]["value"] < 100
