"""``types new`` scaffolds a working type from a few labeled rows; ``types check`` renders it."""

from __future__ import annotations

import json
import random
import re

import pytest
import real_data

from docfoundry.checks import evaluate_checks
from docfoundry.cli import main
from docfoundry.doctypes import load_doc_type
from synth.layout import load_layouts

# Invented delivery notes, the shape a user's labels.jsonl has (eval's labels layout).
ROWS = [
    {"note_no": "DN-40211", "delivery_date": "2024-03-05", "carrier_name": "Fastway Freight Ltd",
     "consignee": {"name": "Harriet Vale", "address": "12 Mill Lane\nBristol BS1 4DJ", "phone": "0117 496 0123"},
     "items": [{"code": "A1-220", "description": "Garden hose 20m", "qty": "2", "unit_price": "14.50", "amount": "29.00"},
               {"code": "B7-031", "description": "Hose reel", "qty": "1", "unit_price": "32.00", "amount": "32.00"}],
     "net": "61.00", "vat": "12.20", "total": "73.20", "status": "Delivered"},
    {"note_no": "DN-40377", "delivery_date": "2024-07-19", "carrier_name": "Northline Couriers Ltd",
     "consignee": {"name": "Omar Reyes", "address": "4 Harbour Road\nLeeds LS2 7QA", "phone": "0113 496 0555"},
     "items": [{"code": "C3-118", "description": "Patio chair", "qty": "4", "unit_price": "45.00", "amount": "180.00"}],
     "net": "180.00", "vat": "36.00", "total": "216.00", "status": "Delivered"},
    {"note_no": "DN-41002", "delivery_date": "2025-01-08", "carrier_name": "Fastway Freight Ltd",
     "consignee": {"name": "Lena Brooks", "address": "77 Station Street\nYork YO1 6HE", "phone": "01904 496 010"},
     "items": [{"code": "A1-220", "description": "Garden hose 20m", "qty": "3", "unit_price": "14.50", "amount": "43.50"},
               {"code": "D9-404", "description": "Watering can", "qty": "2", "unit_price": "8.25", "amount": "16.50"},
               {"code": "B7-031", "description": "Hose reel", "qty": "1", "unit_price": "32.00", "amount": "32.00"}],
     "net": "92.00", "vat": "18.40", "total": "110.40", "status": "Returned"},
    {"note_no": "DN-41310", "delivery_date": "2025-04-22", "carrier_name": "Northline Couriers Ltd",
     "consignee": {"name": "Priya Shah", "address": "3 Elm Close\nBath BA2 3LT", "phone": "01225 496 777"},
     "items": [{"code": "E2-900", "description": "Compost bin", "qty": "1", "unit_price": "59.99", "amount": "59.99"}],
     "net": "59.99", "vat": "12.00", "total": "71.99", "status": "Delivered"},
]


@pytest.fixture()
def scaffolded(tmp_path, monkeypatch):
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"id": f"n{i}", "image": f"n{i}.png", "fields": r}) + "\n"
                              for i, r in enumerate(ROWS)))
    root = tmp_path / "tpl"
    assert main(["types", "new", "delivery_note", "--from", str(labels), "--out", str(root / "delivery_note")]) == 0
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(root))
    load_doc_type.cache_clear()
    load_layouts.cache_clear()
    yield root / "delivery_note"
    load_doc_type.cache_clear()
    load_layouts.cache_clear()


def test_types_new_infers_kinds_rules_labels_and_derivations(scaffolded):
    schema = json.loads((scaffolded / "schema.json").read_text())
    p = schema["properties"]
    assert p["note_no"]["x-kind"] == "id" and p["note_no"]["x-pattern"] == "DN-{#####}"
    assert p["delivery_date"]["x-kind"] == "date" and p["delivery_date"]["x-range"] == ["2024-01-01", "2025-12-31"]
    assert p["carrier_name"]["x-faker"] == "company"
    c = p["consignee"]["properties"]
    assert c["name"]["x-faker"] == "name" and c["address"]["x-faker"] == {"provider": "address", "lines": 2}
    assert c["phone"]["x-faker"] == "phone_number"
    items = p["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 3)
    i = items["items"]["properties"]
    assert i["amount"]["x-derive"] == "product(qty, unit_price)" and i["qty"]["x-kind"] == "number"
    assert p["net"]["x-derive"] == "sum(items[].amount)"
    assert p["total"]["x-derive"] == "add(net, vat)"
    assert "x-derive" not in p["vat"]  # 20% here, but 12.00 on 59.99 is no product of two fields
    assert p["status"]["x-choices"] == ["Delivered", "Returned"]
    assert i["unit_price"]["x-labels"] == ["Unit Price"] and p["note_no"]["x-labels"] == ["Note No."]
    assert sorted(x.name for x in scaffolded.glob("layouts/*.yaml")) == ["list.yaml", "two_column.yaml"]
    assert sorted(x.name for x in (scaffolded / "check").glob("*.png")) == ["list.png", "two_column.png"]


def test_scaffolded_type_generates_valid_verified_samples(scaffolded, tmp_path):
    from synth.locales import Locale
    from synth.values import ValueContext, split_truth, values_for

    doc = load_doc_type("delivery_note")
    for seed in range(15):
        gt, typed = split_truth(values_for(doc, ValueContext(Locale("en_GB", seed), random.Random(seed))))
        doc.validate(gt)
        assert re.fullmatch(r"DN-\d{5}", gt["note_no"])
        assert all(c.holds for c in evaluate_checks(doc, typed))
    out = tmp_path / "ds"
    assert main(["synth", "--doc-types", "delivery_note", "--n", "6", "--out", str(out), "--verify",
                 "--locales", "en_GB,de_DE"]) == 0
    assert len((out / "metadata.jsonl").read_text().splitlines()) == 6


def test_types_check_renders_one_png_per_layout(scaffolded, tmp_path, capsys):
    capsys.readouterr()
    assert main(["types", "check", "delivery_note", "--out", str(tmp_path / "look")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layouts"] == 2 and summary["generator"] == "schema"
    assert summary["verified"].split(" of ")[0] == summary["verified"].split(" of ")[1].split()[0]
    from PIL import Image

    for png in summary["pngs"]:
        assert Image.open(png).size[0] > 1000


def test_types_check_names_a_broken_layout(scaffolded, tmp_path, capsys):
    (scaffolded / "layouts" / "list.yaml").write_text("blocks: [{type: kv, fields: [note_number]}]")
    load_layouts.cache_clear()
    assert main(["types", "check", "delivery_note", "--out", str(tmp_path / "look")]) == 2
    err = capsys.readouterr().err
    assert "list.yaml" in err and "note_number" in err and len(err.strip().splitlines()) == 1


def test_types_new_refuses_bad_input_in_one_line(tmp_path, capsys):
    bad = tmp_path / "labels.jsonl"
    bad.write_text('{"id": "a", "fields": {"x": "1"}}\nnot json\n')
    assert main(["types", "new", "thing", "--from", str(bad), "--out", str(tmp_path / "t")]) == 2
    assert "line 2 is not JSON" in capsys.readouterr().err
    assert main(["types", "new", "Bad-Name", "--from", str(bad)]) == 2
    assert not (tmp_path / "t").exists()


SROIE = real_data.SROIE / "labels.jsonl"


@pytest.mark.skipif(not SROIE.exists(), reason="needs ../shared/datasets/sroie-dev")
def test_types_new_on_real_receipt_labels_fits_kinds_despite_stray_values(tmp_path, monkeypatch):
    """157 real SROIE labels: dates in several formats, totals as printed, addresses joined on one line."""
    out = tmp_path / "tpl" / "real_receipt"
    assert main(["types", "new", "real_receipt", "--from", str(SROIE), "--out", str(out)]) == 0
    p = json.loads((out / "schema.json").read_text())["properties"]
    assert p["date"]["x-kind"] == "date" and len(p["date"]["x-format"]) >= 2
    assert p["total"]["x-kind"] == "amount" and p["total"]["x-category"] == "totals"
    assert p["address"]["x-faker"] == {"provider": "address", "join": " "}
    assert p["company"]["x-faker"] == "company"
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(tmp_path / "tpl"))
    load_doc_type.cache_clear()
    from synth.locales import Locale
    from synth.values import ValueContext, split_truth, values_for

    doc = load_doc_type("real_receipt")
    for seed in range(10):
        gt, _ = split_truth(values_for(doc, ValueContext(Locale("en_GB", seed), random.Random(seed))))
        doc.validate(gt)
        assert "address" not in gt or "\n" not in gt["address"]
    load_doc_type.cache_clear()


def test_types_new_reads_a_dataset_folder_too(scaffolded, tmp_path):
    """A synth output folder (any layout eval reads) is examples too: its truth shapes the new type."""
    data = tmp_path / "ds"
    assert main(["synth", "--doc-types", "delivery_note", "--n", "4", "--out", str(data)]) == 0
    out = tmp_path / "again"
    assert main(["types", "new", "delivery_note_again", "--from", str(data), "--out", str(out)]) == 0
    p = json.loads((out / "schema.json").read_text())["properties"]
    assert p["note_no"]["x-pattern"] == "DN-{#####}" and p["items"]["type"] == "array"
    assert p["net"]["x-derive"] == "sum(items[].amount)"
