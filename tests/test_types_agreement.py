"""An agreement written as a folder: fields inside clauses and prose carry exact boxes, and the type
goes through synth --verify, medium degradation, instruction tasks and eval."""

from __future__ import annotations

import json

import pytest
from types_fixtures import AGREEMENT, AGREEMENT_LAYOUTS, installed_type, write_type

from docfoundry.cli import main
from docfoundry.store import read_samples


@pytest.fixture(scope="module")
def agreement(tmp_path_factory):
    with installed_type(tmp_path_factory.mktemp("tpl"), "agreement", AGREEMENT, AGREEMENT_LAYOUTS):
        out = tmp_path_factory.mktemp("agr") / "ds"
        assert main(["synth", "--doc-types", "agreement", "--n", "6", "--out", str(out), "--verify",
                     "--locales", "en_US,de_DE,fr_FR", "--seed", "4"]) == 0
        yield out


def test_fields_inside_prose_sit_between_their_words(agreement):
    for s in read_samples(agreement):
        boxes = {f.path: f for f in s.field_boxes}
        assert {"fee", "notice_days", "governing_city", "parties.1.name", "parties.0.title"} <= set(boxes)
        fee = boxes["fee"].box
        line = [w for w in s.words if w.page == boxes["fee"].page and abs(w.box[1] - fee[1]) <= 2]
        before = [w.text for w in line if w.box[2] <= fee[0]]
        after = [w.text for w in line if w.box[0] > fee[2]]
        # "... a fee of {fee}, invoiced monthly ...": the comma is prose, glued to the value's right
        assert before[-2:] == ["fee", "of"], (s.id, before)
        assert after and after[0] == "invoiced", (s.id, after)
        words_in = [w.text for w in line if fee[0] - 1 <= w.box[0] < fee[2]]
        assert " ".join(words_in) == boxes["fee"].text + ","
        assert fee[3] - fee[1] < 30  # one line tall at 150 dpi


def test_agreement_survives_medium_degradation_and_scores(agreement, tmp_path):
    from PIL import Image

    medium = tmp_path / "medium"
    assert main(["degrade", "--in", str(agreement), "--out", str(medium), "--preset", "medium"]) == 0
    for s in read_samples(medium):
        w, h = Image.open(medium / s.file_name).size
        assert len(s.field_boxes) == len(s.gt_parse) - 1 + 8  # 8 party fields instead of the list
        assert all(0 <= f.box[0] < f.box[2] <= w and 0 <= f.box[1] < f.box[3] <= h for f in s.field_boxes)
    instr = tmp_path / "instr"
    assert main(["instruct", "--in", str(medium), "--out", str(instr), "--per-page", "10"]) == 0
    per_family = json.loads((instr / "summary.json").read_text())["per_family"]
    assert per_family.get("qa", 0) > 0 and per_family.get("ground_text_to_box", 0) > 0
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": s.id, "fields": s.gt_parse}) + "\n" for s in read_samples(medium)))
    assert main(["eval", "--truth", str(medium), "--pred", str(preds), "--out", str(tmp_path / "r")]) == 0
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["doc_types"]["agreement"]["documents"] == 6
    assert metrics["overall"]["exact_match"]["value"] == 100.0 and set(metrics["categories"]) == {
        "document", "parties", "terms"}


def test_a_paragraph_naming_an_unknown_field_is_refused(tmp_path, monkeypatch, capsys):
    from docfoundry.doctypes import load_doc_type
    from synth.layout import load_layouts

    layouts = {"services": {"blocks": [{"type": "paragraph", "text": "Made on {signing_dat} by {parties[0].name}"}]}}
    write_type(tmp_path / "tpl", "agreement", AGREEMENT, layouts)
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(tmp_path / "tpl"))
    load_doc_type.cache_clear()
    load_layouts.cache_clear()
    assert main(["synth", "--doc-types", "agreement", "--n", "1", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    load_doc_type.cache_clear()
    load_layouts.cache_clear()
    assert "services.yaml" in err and "'signing_dat' is not a field" in err
