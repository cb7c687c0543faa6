"""`label` and `label audit` with the ocr teacher (real rapidocr on real synthetic pages), the call
cache, kill-and-resume, bad input, and the confidence helpers."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from printed import printed_leaves

from distill.label import AuditConfig, LabelConfig, check_answer, remove_paths, run, run_audit
from docfoundry.cli import main
from docfoundry.doctypes import load_doc_type
from docfoundry.records import flatten
from docfoundry.store import read_samples

N = 4


@pytest.fixture(scope="module")
def audit(tmp_path_factory):
    """`label audit --teacher ocr --schema receipt --n 4`: pages/, labels/, cache/, audit.json."""
    out = tmp_path_factory.mktemp("audit") / "receipt"
    summary = run_audit(AuditConfig(teacher="ocr", schema="receipt", n=N, out=str(out), progress=False))
    return out, summary


def label_cfg(audit_dir: Path, out: Path, **kw) -> LabelConfig:
    return LabelConfig(source=str(audit_dir / "pages"), schema="receipt", out=str(out), progress=False, **kw)


def test_audit_reports_field_accuracy_and_confidence_buckets(audit):
    out, summary = audit
    report = json.loads((out / "audit.json").read_text())
    doc = load_doc_type("receipt")
    # every leaf the pages print is scored, and the ocr teacher reads most of them right
    assert set(report["per_field"]) >= printed_leaves(out / "pages", doc)
    assert report["field_accuracy"] >= 0.85, report["per_field"]
    assert summary["field_accuracy"] == report["field_accuracy"]
    truth = [flatten(s.gt_parse) for s in read_samples(out / "pages")]
    assert report["truth_fields"] == sum(len(t) for t in truth)
    buckets = report["per_confidence_bucket"]
    labeled = [s.meta["fields"] for s in read_samples(out / "labels")]
    assert sum(b["n"] for b in buckets.values()) == sum(len(f) for f in labeled)
    shares = [t["kept_share"] for t in report["thresholds"]]
    assert shares == sorted(shares, reverse=True) and shares[0] == 1.0
    assert "| field | accuracy | n |" in (out / "audit.md").read_text()


def test_labels_carry_confidence_grounding_and_validate(audit):
    out, _ = audit
    doc = load_doc_type("receipt")
    samples = list(read_samples(out / "labels"))
    assert [s.id for s in samples] == [f"receipt_{i:06d}" for i in range(N)]
    for s in samples:
        doc.validate(s.gt_parse)  # nothing dropped at --min-confidence 0: the full schema object
        assert s.meta["teacher"] == "ocr" and s.meta["confidence_method"] == "teacher"
        assert s.words, "OCR words with boxes are kept"
        for path, f in s.meta["fields"].items():
            assert 0 <= f["confidence"] <= 1
            assert (f["grounding"] is None) == (f["value"] == ""), path
        assert json.loads(s.meta["raw"][0]) == s.gt_parse
    from datasets import load_dataset

    ds = load_dataset("imagefolder", data_dir=str(out / "labels"), split="train")
    assert len(ds) == N


def test_rerun_and_shared_cache_issue_no_calls(audit, tmp_path):
    out, _ = audit
    again = run(label_cfg(out, out / "labels", cache=str(out / "cache")))
    assert again["labeled_now"] == 0 and again["teacher_calls"] == 0 and again["ocr_calls"] == 0
    fresh = run(label_cfg(out, tmp_path / "fresh", cache=str(out / "cache")))
    assert fresh["labeled_now"] == N and fresh["teacher_calls"] == 0 and fresh["ocr_calls"] == 0
    assert (tmp_path / "fresh" / "metadata.jsonl").read_bytes() == (out / "labels" / "metadata.jsonl").read_bytes()


def test_min_confidence_drops_fields_or_pages(audit, tmp_path):
    out, _ = audit
    cache = str(out / "cache")
    s = run(label_cfg(out, tmp_path / "kept", cache=cache, min_confidence=0.8))
    samples = list(read_samples(tmp_path / "kept"))
    low = {x.id: [p for p, f in x.meta["fields"].items() if f["confidence"] < 0.8] for x in samples}
    assert s["dropped_fields"] == sum(map(len, low.values())) > 0
    for x in samples:
        assert sorted(x.meta["dropped"]) == sorted(low[x.id])
        assert not set(low[x.id]) & set(flatten(x.gt_parse))
        assert set(flatten(x.gt_parse)) | set(low[x.id]) == set(x.meta["fields"])
    p = run(label_cfg(out, tmp_path / "pages", cache=cache, min_confidence=0.8, drop_pages=True))
    assert p["dropped_pages"] == sum(1 for v in low.values() if v)
    assert p["pages"] == N - p["dropped_pages"]


def test_kill_and_resume_gives_identical_rows_without_repeating_a_call(audit, tmp_path):
    out, _ = audit
    target = tmp_path / "killed"
    cmd = [sys.executable, "-m", "docfoundry.cli", "label", "--in", str(out / "pages"), "--schema", "receipt",
           "--out", str(target), "--batch", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    meta = target / "metadata.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if meta.is_file() and meta.read_text().count("\n") >= 1:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows_at_kill = meta.read_text().count("\n")
    assert 1 <= rows_at_kill < N, "the kill must land mid-run"
    calls_before = (target / "cache" / "calls.jsonl").read_text().splitlines()
    resumed = run(label_cfg(out, target))
    assert resumed["labeled_now"] == N - rows_at_kill
    assert meta.read_bytes() == (out / "labels" / "metadata.jsonl").read_bytes()
    keys = [json.loads(line)["key"] for line in (target / "cache" / "calls.jsonl").read_text().splitlines()]
    assert len(keys) == len(set(keys)), "a finished call was repeated"
    reference = {json.loads(line)["key"] for line in (out / "cache" / "calls.jsonl").read_text().splitlines()}
    assert set(keys) == reference  # exactly the calls of an uninterrupted run
    assert resumed["teacher_calls"] + resumed["ocr_calls"] == len(keys) - len(calls_before)


def test_bad_pages_are_recorded_and_skipped(audit, tmp_path):
    from PIL import Image

    out, _ = audit
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(out / "pages" / "images" / "receipt_000000.jpg", src / "good.jpg")
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (src / "fake.pdf").write_bytes(b"%PDF-1.4 truncated")
    Image.open(src / "good.jpg").save(src / "scan.pdf", resolution=150)  # renders back at its size
    cfg = LabelConfig(source=str(src), schema="receipt", out=str(tmp_path / "out"), progress=False,
                      cache=str(out / "cache"))
    s = run(cfg)
    assert s["failed"] == 2 and s["pages"] == 2
    failed = {json.loads(line)["id"]: json.loads(line)["reason"] for line in
              (tmp_path / "out" / "failed.jsonl").read_text().splitlines()}
    assert set(failed) == {"broken", "fake"}
    assert str(src / "broken.jpg") in failed["broken"] and "cannot read the image" in failed["broken"]
    assert str(src / "fake.pdf") in failed["fake"] and "not a readable PDF" in failed["fake"]
    assert {x.id for x in read_samples(tmp_path / "out")} == {"good", "scan_p001"}
    assert s["ocr_calls"] == 1  # good.jpg is the audit's page: its OCR came from the shared cache


def test_bombs_and_huge_pdf_pages_are_failed_pages(audit, tmp_path):
    from bad_pages import bomb_png, huge_page_pdf

    out, _ = audit
    src = tmp_path / "in"
    src.mkdir()
    bomb_png(src / "a_bomb.png")                         # sorted first: the good pages come after it
    huge_page_pdf(src / "b_poster.pdf")                  # 200 inches square: 900 million pixels at 150 DPI
    shutil.copy(out / "pages" / "images" / "receipt_000000.jpg", src / "good.jpg")
    cfg = LabelConfig(source=str(src), schema="receipt", out=str(tmp_path / "out"), progress=False,
                      cache=str(out / "cache"))
    for _ in range(2):                                   # a re-run meets them again and goes on again
        s = run(cfg)
        assert s["failed"] == 2 and s["pages"] == 1
        failed = {json.loads(line)["id"]: json.loads(line)["reason"] for line in
                  (tmp_path / "out" / "failed.jsonl").read_text().splitlines()}
        assert set(failed) == {"a_bomb", "b_poster_p001"}
        assert "too large" in failed["a_bomb"] and "200x200 inches" in failed["b_poster_p001"]
        assert [x.id for x in read_samples(tmp_path / "out")] == ["good"]


def test_label_reads_and_writes_only_inside_its_folders(audit, tmp_path):
    out, _ = audit
    src = tmp_path / "a" / "in"
    (src / "images").mkdir(parents=True)
    page = out / "pages" / "images" / "receipt_000000.jpg"
    shutil.copy(page, src / "images" / "ok.jpg")
    shutil.copy(page, tmp_path / "outside.jpg")          # exists: only the confinement keeps it unread
    rows = [{"id": "../../evil_id", "image": "images/ok.jpg", "fields": {}},
            {"id": "up", "image": "../../outside.jpg", "fields": {}}]
    (src / "labels.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    dest = tmp_path / "a" / "out"
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    s = run(LabelConfig(source=str(src), schema="receipt", out=str(dest), progress=False, cache=str(out / "cache")))
    assert s["pages"] == 1 and s["failed"] == 1
    assert {p for p in tmp_path.rglob("*") if p.is_file()} - before == {p for p in dest.rglob("*") if p.is_file()}
    (sample,) = read_samples(dest)
    assert sample.id == "../../evil_id" and sample.file_name.startswith("images/evil_id-")
    (failed,) = [json.loads(line) for line in (dest / "failed.jsonl").read_text().splitlines()]
    assert failed["id"] == "up" and "'../../outside.jpg': must be a path inside" in failed["reason"]


def test_invalid_schema_exits_2_naming_the_file(tmp_path, capsys, audit):
    out, _ = audit
    bad = tmp_path / "schema.json"
    bad.write_text(json.dumps({"type": "object", "properties": {"total": {"type": "money"}}}))
    code = main(["label", "--in", str(out / "pages"), "--schema", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "not a valid JSON Schema" in err
    assert not (tmp_path / "o").exists()


def test_teacher_specs_and_registry(tmp_path, capsys, audit):
    from distill.teachers import teacher_class, teacher_names

    assert teacher_names() == ["hf", "ocr", "openai", "vllm"]
    assert all(teacher_class(n).name == n for n in teacher_names())
    out, _ = audit
    base = ["label", "--in", str(out / "pages"), "--schema", "receipt", "--out", str(tmp_path / "o")]
    for spec, message in [("nope", "unknown teacher 'nope' (known: hf, ocr, openai, vllm)"),
                          ("vllm", "say which model, as vllm:MODEL_OR_PATH"),
                          ("ocr:x", "takes no target"),
                          ("openai:localhost#m", "expected openai:http(s)://HOST:PORT/v1#MODEL")]:
        assert main([*base, "--teacher", spec]) == 2
        assert message in capsys.readouterr().err
    assert main([*base, "--samples", "3"]) == 2
    assert "same answer every time" in capsys.readouterr().err


def test_server_down_is_one_error_naming_the_url(audit, tmp_path, capsys):
    out, _ = audit
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    code = main(["label", "--in", str(out / "pages"), "--schema", "receipt", "--out", str(tmp_path / "o"),
                 "--teacher", f"openai:{url}#m", "--retries", "1", "--timeout", "5", "--no-grounding",
                 "--limit", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and f"error: {url}: the server did not answer after 2 tries" in err
    assert json.loads((tmp_path / "o" / "run.json").read_text())["status"] == "partial"


# --- helpers ------------------------------------------------------------------------------------

def test_vote_takes_the_normalized_majority_with_its_share():
    from distill.confidence import vote

    doc = load_doc_type("receipt")
    a = {"total": "12.50", "date": "2024-03-01", "items": [{"description": "Tea", "amount": "1.00"}]}
    b = {"total": "12,50", "date": "2024-03-01", "items": [{"description": "Tea", "amount": "1.00"},
                                                          {"description": "Cake", "amount": "2.00"}]}
    c = {"total": "99.00", "date": "2024-03-02", "items": [{"description": "tea", "amount": "1.0"}]}
    fields, conf = vote(doc, [a, b, c, None], 4)
    assert fields["total"] == "12.50" and conf["total"] == 0.5  # 12.50 == 12,50 as amounts
    assert fields["date"] == "2024-03-01" and conf["date"] == 0.5
    assert len(fields["items"]) == 1 and conf["items.0.description"] == 0.75  # "tea" folds to "Tea"
    assert conf["store_name"] == 0.0 and fields["store_name"] == ""


def test_logprob_confidence_is_the_probability_of_the_value_tokens():
    import math

    from distill.confidence import logprob_confidence, value_spans

    text = '{"total":"12.50","items":[{"amount":"1"}]}'
    assert text[slice(*value_spans(text)["total"])] == '"12.50"'
    assert text[slice(*value_spans(text)["items.0.amount"])] == '"1"'
    pieces = ['{"total":"', "12", ".50", '","items":[{"amount":"', '1"', "}]}"]
    lps = [-0.01, math.log(0.5), math.log(0.8), -0.02, math.log(0.9), -0.01]
    conf = logprob_confidence(text, list(zip(pieces, lps)), ["total", "items.0.amount"])
    # tokens overlapping the quoted value: the opening-quote token, "12", ".50", the closing-quote token
    assert conf["total"] == pytest.approx(math.exp(-0.01 + math.log(0.5) + math.log(0.8) - 0.02), abs=1e-4)
    assert conf["items.0.amount"] == pytest.approx(math.exp(-0.02 + math.log(0.9)), abs=1e-4)


def test_grounding_finds_values_fuzzily_and_numbers_as_numbers():
    from distill.confidence import ground

    doc = load_doc_type("receipt")
    ocr = "Dunlap-Moore\n2381 Alejandro Skyway\nSubtotal 1.234,50\nPhone:(200)448-8439\nTotal 99.00"
    g = ground(doc, {"store_name": "Dunlap Moore", "subtotal": "1234.50", "phone": "(200) 448-8439",
                     "total": "98.00", "store_address": "2381 Alejandro Skyway\nNowhere City", "tax": ""}, ocr)
    assert g["store_name"] >= 0.9 and g["subtotal"] == 1.0 and g["phone"] == 1.0
    assert g["total"] < 0.9 and g["store_address"] < 0.9 and "tax" not in g


def test_cache_survives_a_torn_line(tmp_path):
    from distill.cache import CallCache, call_key

    with CallCache(tmp_path) as c:
        c.put(call_key(a=1), {"text": "one"})
        c.put(call_key(a=2), {"text": "two"})
    path = tmp_path / "calls.jsonl"
    path.write_bytes(path.read_bytes() + b'{"key": "torn", "val')
    c = CallCache(tmp_path)
    assert c.get(call_key(a=1)) == {"text": "one"} and c.get(call_key(a=2)) == {"text": "two"}
    assert c.get("torn") is None and path.read_bytes().endswith(b"}\n")
    c.close()


def test_cache_keeps_a_complete_last_entry_without_its_newline(tmp_path):
    """Regression: a last entry that parses but lacks its newline (a file copied or edited by hand) was
    cut as torn, so that call was paid again."""
    from distill.cache import CallCache, call_key

    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps({"key": call_key(a=1), "value": {"text": "one"}}), encoding="utf-8")
    c = CallCache(tmp_path)
    assert c.get(call_key(a=1)) == {"text": "one"}
    c.put(call_key(a=2), {"text": "two"})  # appended on a line of its own
    c.close()
    assert [line.count('"key"') for line in path.read_text(encoding="utf-8").splitlines()] == [1, 1]


def test_answers_that_are_not_json_or_break_the_schema_are_rejected():
    from distill.teachers import Answer

    doc = load_doc_type("receipt")
    fields, why = check_answer(doc, Answer("sorry, I cannot read this"))
    assert fields is None and why.startswith("not JSON")
    fields, why = check_answer(doc, Answer('{"total": 12}'))
    assert fields is None and why.startswith("schema violation")
    # read as eval reads it: a raw newline inside a value, prose around the object
    pairs = [{"question": f"Q{i}", "answer": "line 1\nline 2"} for i in range(3)]
    text = json.dumps({"title": "T", "form_number": "1", "fields": pairs, "choices": []}).replace("\\n", "\n")
    fields, why = check_answer(load_doc_type("form"), Answer(f"Here it is: {text} done"))
    assert why == "" and fields["fields"][0]["answer"] == "line 1\nline 2"
    assert remove_paths({"a": "1", "items": [{"x": "1", "y": "2"}]}, ["a", "items.0.y"]) == {"items": [{"x": "1"}]}
