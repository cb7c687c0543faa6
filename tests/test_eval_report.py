"""`docfoundry eval` end to end: scores by hand on a tiny dataset, report files, bad input, compare."""

from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser

import pytest
from browser import assert_renders
from eval_fixtures import RECEIPTS, dataset_folder, write_jsonl
from PIL import Image

from docfoundry.cli import main


def approx(x):
    return pytest.approx(x, abs=1e-3)  # metrics.json keeps 4 decimals


R1_PRED = {"store_name": "Corner Market", "date": "2024-03-12", "total": "12.5", "tax": "0.50",
           "items": [{"description": "Tea", "amount": "4.00"}, {"description": "Cake", "amount": "8.00"}]}


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """One eval run: r1 fenced JSON, r2 not JSON, r3 without prediction, plus an unknown id."""
    root = tmp_path_factory.mktemp("eval")
    truth = dataset_folder(root / "truth")
    preds = write_jsonl(root / "preds.jsonl", [
        {"id": "r1", "prediction": "Here you go:\n```json\n" + json.dumps(R1_PRED) + "\n```"},
        {"id": "r2", "prediction": "Sorry, I cannot read this receipt."},
        {"id": "zzz", "fields": {"total": "1"}},
    ])
    out = root / "report"
    code = main(["eval", "--truth", str(truth), "--pred", str(preds), "--out", str(out), "--bootstrap", "200",
                 "--label", "student"])
    assert code == 0
    return root, truth, out


def test_headline_numbers_by_hand(evaluated):
    _, _, out = evaluated
    m = json.loads((out / "metrics.json").read_text())
    overall = m["overall"]
    # Nova: r1 7 of 8 keys (the date is written differently), r2 unparseable 0 of 6, r3 missing 0 of 6
    assert overall["field_accuracy"]["value"] == approx(100 * 7 / 20)
    lo, hi = overall["field_accuracy"]["ci95"]
    assert lo <= 35 <= hi
    # normalized exact match: r1 8/8 (dates compared as dates), r2 and r3 only the empty tax of r2
    assert overall["exact_match"]["value"] == approx(100 * 9 / 20)
    assert overall["parse_rate"]["value"] == approx(50.0)          # r1 of r1, r2
    assert overall["schema_valid_rate"]["value"] == 0.0                   # r1 lacks required receipt fields
    assert m["validity"]["parse_failures"] == 1 and m["validity"]["schema_checked"] == 1
    assert m["matching"]["truth_without_prediction"] == 1 and m["matching"]["missing_ids_sample"] == ["r3"]
    assert m["matching"]["predictions_for_unknown_ids"] == 1 and m["matching"]["unknown_ids_sample"] == ["zzz"]
    # categories come from the receipt schema; category accuracy counts truth keys only
    cats = m["categories"]
    assert set(cats) == {"store", "transaction", "totals", "items"}
    assert cats["totals"]["field_accuracy"] == approx(100 * 2 / 6)
    assert cats["transaction"]["field_accuracy"] == 0.0 and cats["transaction"]["exact_match"] == approx(100 / 3)
    fields = m["doc_types"]["receipt"]["fields"]
    assert fields["items[].amount"]["n_truth"] == 4 and fields["items[].amount"]["category"] == "items"
    assert fields["tax"]["outcomes"] == {"tp": 1, "fn": 1, "false_alarm": 0, "wrong": 0, "tn": 1}
    assert m["worst_documents"][:2] == ["r2", "r3"] or m["worst_documents"][:2] == ["r3", "r2"]
    assert m["run"]["label"] == "student" and m["run"]["adapter"] == "dataset"
    rows = [json.loads(line) for line in (out / "documents.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == list(RECEIPTS) and rows[0]["field_accuracy"] == approx(87.5)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.images, self.errors = [], [], []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs)["src"])
        elif tag not in ("meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_html_report_is_self_contained(evaluated):
    _, _, out = evaluated
    page = (out / "report.html").read_text()
    parser = _Tags()
    parser.feed(page)
    assert not parser.errors and not parser.stack                        # every tag closed in order
    assert len(parser.images) >= 5                                       # headline, categories, pages, thumbnails
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")                  # nothing outside the file
        Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).verify()
    assert page.count("<table>") >= 5
    for text in ("Headline", "Categories", "Fields, worst first", "Worst 5 pages", "Sorry, I cannot read",
                 "no prediction for this page", "truth pages with no prediction: 1"):
        assert text in page


@pytest.mark.browser
def test_html_report_renders_in_a_browser(evaluated, tmp_path):
    _, _, out = evaluated
    assert_renders(out / "report.html", tmp_path / "report.png", min_images=5)


def test_markdown_report_links_its_plots(evaluated):
    _, _, out = evaluated
    md = (out / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) >= 5 and all((out / link).is_file() for link in links)
    assert "| metric | value | 95% CI | definition |" in md
    assert re.search(r"\| field_accuracy \| 35\.0 \| \d", md)


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_bad_input_is_one_line(evaluated, tmp_path, capsys):
    _, truth, _ = evaluated
    not_jsonl = tmp_path / "preds.json"
    not_jsonl.write_text(json.dumps([{"id": "r1", "fields": {}}], indent=2))
    cases = [
        (["--pred", str(not_jsonl)], f"{not_jsonl}:1: not JSONL"),
        (["--pred", str(write_jsonl(tmp_path / "other.jsonl", [{"id": "x9", "fields": {}}]))],
         "none of its 1 ids is among the 3 truth pages"),
        (["--pred", str(write_jsonl(tmp_path / "noid.jsonl", [{"fields": {}}]))], "noid.jsonl:1: row has no 'id'"),
        (["--pred", str(tmp_path / "missing.jsonl")], "missing.jsonl: predictions file not found"),
        (["--pred", str(not_jsonl), "--model", "m"], "give either --pred FILE or --model"),
        (["--pred", str(not_jsonl), "--schema", "passport"], "unknown document type 'passport'"),
        (["--pred", str(not_jsonl), "--truth-format", "sroie"], "truth: not a sroie folder"),
    ]
    for extra, message in cases:
        code, _, err = _run(capsys, "eval", "--truth", str(truth), "--out", str(tmp_path / "r"), *extra)
        assert code == 2, message
        assert err.startswith("error: ") and message in err and err.count("\n") == 1, err


@pytest.mark.browser
def test_compare_reports(evaluated, tmp_path, capsys):
    root, truth, base = evaluated
    better = write_jsonl(tmp_path / "better.jsonl", [{"id": k, "fields": v} for k, v in RECEIPTS.items()])
    student = tmp_path / "student"
    code, _, _ = _run(capsys, "eval", "--truth", str(truth), "--pred", str(better), "--out", str(student),
                      "--bootstrap", "0", "--worst", "1", "--label", "teacher")
    assert code == 0
    assert json.loads((student / "metrics.json").read_text())["overall"]["field_accuracy"]["value"] == 100.0
    out = tmp_path / "cmp"
    code, stdout, _ = _run(capsys, "eval", "compare", str(base), str(student), "--out", str(out))
    assert code == 0 and json.loads(stdout)["runs"]["teacher"]["field_accuracy"] == 100.0
    cmp = json.loads((out / "compare.json").read_text())
    assert cmp["baseline"] == "student" and set(cmp["overall"]) == {"student", "teacher"}
    page = (out / "compare.html").read_text()
    assert page.count("data:image/png;base64,") >= 4 and "100.0 (+65.0)" in page   # delta to the baseline
    assert_renders(out / "compare.html", tmp_path / "compare.png", min_images=4)
    code, _, err = _run(capsys, "eval", "compare", str(base), str(tmp_path), "--out", str(out))
    assert code == 2 and "not an eval report (no metrics.json" in err
