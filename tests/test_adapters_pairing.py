"""SROIE and FUNSD native layouts read through one pairing base: truth file + image by stem, per split."""

from __future__ import annotations

import json

from PIL import Image

from docfoundry.adapters import FUNSD, SROIE, load_truth


def _image(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (20, 20), "white").save(path)


def test_sroie_pairs_by_stem_per_split_and_reports_bad_pages(tmp_path):
    for split in ("train", "test"):
        base = tmp_path / split
        (base / "entities").mkdir(parents=True)
        _image(base / "img" / f"{split}1.jpg")
        (base / "entities" / f"{split}1.txt").write_text(json.dumps({"total": 12.5, "company": "A"}))
    (tmp_path / "test" / "entities" / "lost.txt").write_text("{}")  # no image
    (tmp_path / "test" / "entities" / "list.txt").write_text("[1]")  # not an object
    _image(tmp_path / "test" / "img" / "list.png")
    truth = load_truth(tmp_path)
    assert truth.adapter == "sroie" and SROIE.detect(tmp_path)
    assert {(r.id, r.split) for r in truth.records} == {("train1", "train"), ("test1", "test")}
    assert next(r for r in truth.records if r.id == "test1").fields == {"total": "12.5", "company": "A"}
    assert sorted(p.split(": ", 1)[1] for p in truth.problems) == [
        "expected a JSON object of entities", f"no image named lost.* in {tmp_path / 'test' / 'img'}"]
    assert "sroie" in truth.hints


def test_funsd_pairs_by_stem_and_names_a_malformed_entity(tmp_path):
    base = tmp_path / "testing_data"
    (base / "annotations").mkdir(parents=True)
    form = [{"id": 0, "label": "question", "text": "Date:", "linking": [[0, 1]]},
            {"id": 1, "label": "answer", "text": "1/2/99", "box": [5, 5, 9, 9], "linking": [[0, 1]]}]
    (base / "annotations" / "f1.json").write_text(json.dumps({"form": form}))
    _image(base / "images" / "f1.png")
    (base / "annotations" / "bad.json").write_text(json.dumps({"form": [{"label": "question", "linking": [[0, 1]]}]}))
    _image(base / "images" / "bad.png")
    truth = load_truth(tmp_path)
    assert truth.adapter == "funsd" and FUNSD.detect(tmp_path) and not SROIE.detect(tmp_path)
    assert [(r.id, r.split, r.doc_type, r.fields) for r in truth.records] == [("f1", "test", "funsd", {"Date:": "1/2/99"})]
    assert len(truth.problems) == 1 and "bad.json: malformed entity (KeyError(" in truth.problems[0]
