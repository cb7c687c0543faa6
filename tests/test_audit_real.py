"""`label audit --truth`: the teacher scored on labeled real receipts (a few pages of
``../shared/datasets/sroie-dev``, real rapidocr) next to synthetic pages; the field map and the
schema's x-aliases that line real truth up with a schema, in the audit, in `eval` and in a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from printed import printed_leaves
from rapidfuzz import fuzz
from real_data import SROIE

from distill.label import AUDIT_THRESHOLDS, AuditConfig, run_audit
from docfoundry.cli import main
from docfoundry.doctypes import load_doc_type
from docfoundry.errors import UserError
from docfoundry.normalize import normalized_equal
from docfoundry.store import read_samples
from eval.fieldmap import resolve_field_map, truth_patterns

PAGES = 4
SCHEMA_OF_SROIE = {"company": "store_name", "address": "store_address", "date": "date", "total": "total"}


def sroie_rows(n: int = PAGES) -> list[dict]:
    assert (SROIE / "labels.jsonl").is_file(), f"the real receipts are missing: {SROIE}"
    return [json.loads(line) for line in (SROIE / "labels.jsonl").read_text().splitlines()[:n]]


def own_labels(folder: Path, n: int, fields) -> Path:
    """A user's labels.jsonl folder holding the first ``n`` real receipts, truth named by ``fields(row)``."""
    (folder / "images").mkdir(parents=True)
    lines = []
    for r in sroie_rows(n):
        (folder / r["image"]).write_bytes((SROIE / r["image"]).read_bytes())
        lines.append(json.dumps({"id": r["id"], "image": r["image"], "fields": fields(r)}) + "\n")
    (folder / "labels.jsonl").write_text("".join(lines))
    return folder


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """`label audit --teacher ocr --schema receipt --n 2 --truth sroie-dev --limit 4` (no field map)."""
    out = tmp_path_factory.mktemp("real-audit") / "receipt"
    summary = run_audit(AuditConfig(teacher="ocr", schema="receipt", n=2, truth=str(SROIE), limit=PAGES,
                                    out=str(out), progress=False))
    return out, summary, json.loads((out / "audit.json").read_text())


def teacher_fields(out: Path) -> dict[str, dict]:
    return {s.id: {p: f["value"] for p, f in s.meta["fields"].items()} for s in read_samples(out / "real" / "labels")}


def test_sroie_lines_up_with_the_receipt_schema_through_its_aliases(audit):
    _, _, report = audit
    assert report["real"]["field_map"]["map"] == SCHEMA_OF_SROIE
    assert report["real"]["field_map"]["unmapped"] == [] and report["real"]["pages"] == PAGES


def test_real_audit_is_side_by_side_with_the_synthetic_one(audit):
    out, summary, report = audit
    doc = load_doc_type("receipt")
    rows, teacher = sroie_rows(), teacher_fields(out)
    assert sorted(teacher) == sorted(r["id"] for r in rows)  # every real page was labeled
    gaps = report["gap"]["fields"]
    assert set(gaps) == set(report["real"]["per_field"]) == set(SCHEMA_OF_SROIE.values())
    page_means = []
    for truth_key, path in SCHEMA_OF_SROIE.items():
        right = [normalized_equal(r["fields"][truth_key], teacher[r["id"]].get(path), doc.leaf(path).kind)
                 for r in rows]
        real = round(sum(right) / len(right), 4)
        synthetic = report["per_field"][path]["accuracy"]
        assert report["real"]["per_field"][path] == {"accuracy": real, "n": PAGES}
        assert gaps[path]["real_accuracy"] == real and gaps[path]["synthetic_accuracy"] == synthetic
        assert gaps[path]["gap"] == round(synthetic - real, 4)
    for r in rows:  # the seed metric: per page the mean ratio over the four keys, newlines read as spaces
        pred = teacher[r["id"]]
        page_means.append(sum(fuzz.ratio(str(v), " ".join(str(pred.get(SCHEMA_OF_SROIE[k], "")).split("\n")))
                              for k, v in r["fields"].items()) / 4)
    assert report["real"]["fuzzy"] == round(sum(page_means) / PAGES, 2) == summary["real_fuzzy"]
    # buckets and thresholds score the four mapped fields only (the teacher's phone, items ... are not judged)
    scored = sum(len([p for p in teacher[r["id"]] if p in SCHEMA_OF_SROIE.values()]) for r in rows)
    assert sum(b["n"] for b in report["real"]["per_confidence_bucket"].values()) == scored
    assert [t["min_confidence"] for t in report["real"]["thresholds"]] == list(AUDIT_THRESHOLDS)
    # the synthetic pages still score every leaf they print, and the synthetic audit is untouched
    assert set(report["per_field"]) >= printed_leaves(out / "pages", doc)
    overall = report["gap"]["overall"]
    assert overall["real_accuracy"] == report["real"]["field_accuracy"] == summary["real_field_accuracy"]
    assert overall["synthetic_accuracy"] == report["synthetic_same_fields"]["field_accuracy"]
    md = (out / "audit.md").read_text()
    assert "| field | synthetic accuracy % | real accuracy % | gap (points) | real fuzzy | n real |" in md
    for path, g in gaps.items():
        assert (f"| {path} | {100 * g['synthetic_accuracy']:.1f} | {100 * g['real_accuracy']:.1f} | "
                f"{100 * g['gap']:.1f} | {g['real_fuzzy']} | {PAGES} |") in md


def test_recommended_threshold_comes_from_the_real_pages(audit):
    _, summary, report = audit
    rec, thresholds = report["recommended_min_confidence"], report["real"]["thresholds"]
    assert rec["from"] == "real" and summary["recommended_min_confidence"] == rec["min_confidence"]
    usable = [t for t in thresholds if t["accuracy_kept"] is not None]
    reaching = [t["min_confidence"] for t in usable if t["accuracy_kept"] >= rec["target"]]
    best = max(usable, key=lambda t: (t["accuracy_kept"], -t["min_confidence"]))["min_confidence"]
    assert rec["min_confidence"] == (reaching[0] if reaching else best)
    assert rec["reaches_target"] == bool(reaching)


def test_explicit_map_and_aliases_resolve_nested_and_case_folded_names():
    receipt = load_doc_type("receipt")
    # a user's own labels: an explicit entry wins over the alias of the same field
    fm = resolve_field_map(receipt, ["shop", "company", "Date"], {"shop": "store_name"})
    assert fm.rules == {"shop": "store_name", "Date": "date"} and fm.unmapped == ["company"]
    # CORD: nested names, a one-item menu written as an object, a modifier with no receipt field
    cord = [{"menu": [{"nm": "A", "cnt": "2", "price": "4.00", "sub": [{"nm": "x"}]}, {"nm": "B", "price": "1.00"}],
             "sub_total": {"subtotal_price": "5.00"}, "total": {"total_price": "5.50", "cashprice": "10.00"}},
            {"menu": {"nm": "C", "price": "3.00"}, "total": {"total_price": "3.00"}}]

    class Rec:
        def __init__(self, fields):
            self.fields = fields

    fm = resolve_field_map(receipt, truth_patterns(Rec(c) for c in cord))
    assert fm.unmapped == ["menu[].sub[].nm"]
    assert fm.apply(cord[0]) == {"items": [{"description": "A", "quantity": "2", "amount": "4.00"},
                                           {"description": "B", "amount": "1.00"}],
                                 "subtotal": "5.00", "total": "5.50", "tendered": "10.00"}
    assert fm.apply(cord[1]) == {"items": [{"description": "C", "amount": "3.00"}], "total": "3.00"}
    # eval keeps unmapped truth where it is, and a key may hold dots (flattened paths are dotted)
    fm = resolve_field_map(receipt, ["company", "No. of items"])
    assert fm.apply({"company": "A", "No. of items": "3"}, keep_unmapped=True) == {"store_name": "A",
                                                                                  "No. of items": "3"}
    with pytest.raises(UserError, match="'store_name' is already mapped from 'company'"):
        resolve_field_map(receipt, ["company", "merchant"], {"company": "store_name", "merchant": "store_name"})
    with pytest.raises(UserError, match="list field"):
        resolve_field_map(receipt, ["menu[].nm"], {"menu[].nm": "store_name"})


@pytest.mark.parametrize("entry, named", [("company=store_nam", "store_nam"), ("compny=store_name", "compny")])
def test_bad_field_map_exits_2_naming_it_before_any_work(tmp_path, capsys, entry, named):
    out = tmp_path / "audit"
    code = main(["label", "audit", "--teacher", "ocr", "--schema", "receipt", "--n", "2", "--truth", str(SROIE),
                 "--field-map", entry, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"'{named}'" in err and "--field-map" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()  # no synthetic page made, no real page read
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": sroie_rows(1)[0]["id"], "fields": {}}) + "\n")
    code = main(["eval", "--truth", str(SROIE), "--schema", "receipt", "--pred", str(preds), "--field-map", entry,
                 "--out", str(tmp_path / "eval"), "--bootstrap", "0"])
    err = capsys.readouterr().err
    assert code == 2 and f"'{named}'" in err and len(err.strip().splitlines()) == 1, err


def test_eval_field_map_needs_a_schema_to_map_onto(tmp_path, capsys):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": sroie_rows(1)[0]["id"], "fields": {}}) + "\n")
    code = main(["eval", "--truth", str(SROIE), "--pred", str(preds), "--field-map", "company=store_name",
                 "--out", str(tmp_path / "eval"), "--bootstrap", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "--schema" in err and "'sroie-dev'" in err, err


def _eval(truth: Path, preds: Path, out: Path, *extra: str) -> dict:
    assert main(["eval", "--truth", str(truth), "--schema", "receipt", "--pred", str(preds), "--limit", str(PAGES),
                 "--out", str(out), "--bootstrap", "0", *extra]) == 0
    return json.loads((out / "metrics.json").read_text())


def test_eval_maps_truth_like_the_audit(audit, tmp_path, capsys):
    out, _, report = audit
    preds = tmp_path / "teacher.jsonl"
    preds.write_text("".join(json.dumps({"id": s.id, "fields": s.gt_parse}) + "\n"
                             for s in read_samples(out / "real" / "labels")))
    # SROIE with --schema receipt: the aliases map it, and only the four labeled fields are scored
    fields = _eval(SROIE, preds, tmp_path / "sroie")["doc_types"]["receipt"]["fields"]
    assert set(fields) == set(SCHEMA_OF_SROIE.values())
    for path, f in fields.items():
        assert f["exact_match"] == pytest.approx(100 * report["real"]["per_field"][path]["accuracy"], abs=1e-2)
    # a user's labels.jsonl with its own names: --field-map lines it up the same way
    own = own_labels(tmp_path / "mine", PAGES, lambda r: {"shop": r["fields"]["company"], "when": r["fields"]["date"]})
    mapped = _eval(own, preds, tmp_path / "mine-eval", "--field-map", "shop=store_name,when=date")
    fields = mapped["doc_types"]["receipt"]["fields"]
    assert set(fields) == {"store_name", "date"}
    for path in fields:
        assert fields[path]["exact_match"] == pytest.approx(100 * report["real"]["per_field"][path]["accuracy"],
                                                            abs=1e-2)
    assert mapped["field_map"]["receipt"]["map"] == {"shop": "store_name", "when": "date"}
    # the teacher's other fields are not judged: no truth page labels them (they are not false alarms)
    assert {"phone", "total", "items[].amount"} <= set(mapped["unscored_schema_fields"]["receipt"])
    assert mapped["doc_types"]["receipt"]["fields"]["date"]["outcomes"]["false_alarm"] == 0
    # without the map those names match no field: they are scored under their own names
    capsys.readouterr()
    unmapped = _eval(own, preds, tmp_path / "mine-raw")["doc_types"]["receipt"]["fields"]
    assert set(unmapped) == {"shop", "when"} and unmapped["shop"]["exact_match"] == 0
    assert unmapped["shop"]["category"] == "(not in schema)"


def test_run_config_real_truth_audit_in_the_report(tmp_path):
    """`unlabeled: {path, schema, truth}`: the run's audit scores the real pages next to synthetic ones,
    and the report shows the gap table and the threshold from the real pages. Adding the truth to a
    run that labeled its pages keeps the labels."""
    pages = own_labels(tmp_path / "mine", 2, lambda r: r["fields"])
    plain = f"""
seed: 1
synth: {{doc_types: [receipt], n: 4, degrade: clean, workers: 1}}
unlabeled: {{path: {pages}, schema: receipt, n: 2, degrade: clean}}
teacher: {{spec: ocr, options: {{workers: 1}}}}
"""
    config, bad = tmp_path / "run.yaml", tmp_path / "bad.yaml"
    config.write_text(plain.replace("schema: receipt,", f"schema: receipt, truth: {pages},"))
    bad.write_text(plain.replace("schema: receipt,", f"schema: receipt, truth: {pages}, field_map: {{shop: store_name}},"))
    assert main(["run", str(bad), "--out", str(tmp_path / "bad"), "--until", "audit"]) == 2
    assert not (tmp_path / "bad" / "synth").exists()
    out = tmp_path / "run"
    (tmp_path / "plain.yaml").write_text(plain)
    assert main(["run", str(tmp_path / "plain.yaml"), "--out", str(out), "--until", "label"]) == 0
    labeled = json.loads((out / "run.json").read_text())["stages"]["label"]
    assert main(["run", str(config), "--out", str(out), "--until", "audit"]) == 0
    state = json.loads((out / "run.json").read_text())["stages"]
    assert state["label"] == labeled  # not redone: the truth is the audit's business
    audit = json.loads((out / "audit" / "audit.json").read_text())["receipt"]
    assert audit["real"]["pages"] == 2 and audit["recommended_min_confidence"]["from"] == "real"
    assert audit["real"]["label"]["ocr_calls"] == 0  # the label stage's OCR of the same pages was reused
    md = (out / "report.md").read_text()
    assert "receipt on 2 real pages" in md and "| field | synthetic accuracy % | real accuracy % |" in md
    rec = audit["recommended_min_confidence"]
    assert f"Recommended --min-confidence {rec['min_confidence']} (from the real pages" in md


def test_truth_with_no_field_of_the_schema_exits_2_in_one_short_line(tmp_path, capsys):
    """FUNSD's fields are its printed questions: none is a form-schema field, and the error says so
    briefly (a list of every question would be hundreds of names) before any page is read."""
    funsd = SROIE.parent / "funsd"
    out = tmp_path / "audit"
    code = main(["label", "audit", "--schema", "form", "--n", "2", "--truth", str(funsd), "--limit", "3",
                 "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "is a form field or one of its x-aliases" in err and " more)" in err, err
    assert len(err.strip().splitlines()) == 1 and len(err) < 600 and not out.exists()
