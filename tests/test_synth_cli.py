"""`docfoundry synth`: determinism across workers, resume after SIGKILL, --only, errors, imagefolder."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docfoundry.cli import main

ARGS = ["--doc-types", "invoice,receipt,w2,form", "--locales", "en_US,de_DE,fr_FR"]


def synth(out: Path, n: int, *extra: str) -> int:
    return main(["synth", "--n", str(n), "--out", str(out), *ARGS, *extra])


def folder_bytes(folder: Path) -> dict[str, bytes]:
    files = sorted(folder.glob("images/*")) + [folder / "metadata.jsonl"]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ds"
    assert synth(out, 24, "--workers", "1", "--verify", "--keep-pdf") == 0
    return out


def test_run_writes_dataset_folder(reference):
    rows = [json.loads(line) for line in (reference / "metadata.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and len({r["id"] for r in rows}) == 24
    assert {r["doc_type"] for r in rows} == {"invoice", "receipt", "w2", "form"}
    assert all((reference / r["file_name"]).is_file() for r in rows)
    assert all((reference / "pdf" / f"{r['id']}.pdf").is_file() for r in rows)
    info = json.loads((reference / "run.json").read_text())
    assert info["status"] == "complete" and info["counts"]["pages"] == 24
    assert info["counts"]["train"] + info["counts"]["validation"] + info["counts"]["test"] == 24
    row = rows[0]
    assert set(row) == {"file_name", "id", "split", "doc_type", "ground_truth", "words", "field_boxes", "meta"}
    gt = json.loads(row["ground_truth"])["gt_parse"]
    assert gt and row["field_boxes"] and row["words"]


def test_same_bytes_for_any_worker_count(reference, tmp_path):
    assert synth(tmp_path / "w2", 24, "--workers", "2") == 0
    assert folder_bytes(tmp_path / "w2") == folder_bytes(reference)


def test_only_regenerates_one_sample_alone(reference, tmp_path):
    rows = {json.loads(x)["id"]: x for x in (reference / "metadata.jsonl").read_text().splitlines()}
    target = sorted(rows)[5]
    assert synth(tmp_path / "one", 24, "--only", target) == 0
    assert (tmp_path / "one" / "metadata.jsonl").read_text().strip() == rows[target]
    name = f"images/{target}.jpg"
    assert (tmp_path / "one" / name).read_bytes() == (reference / name).read_bytes()


def test_resume_after_sigkill_matches_uninterrupted_run(reference, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "docfoundry", "synth", "--n", "24", "--out", str(out), *ARGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meta = out / "metadata.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not meta.exists() or meta.read_text().count("\n") < 5):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = meta.read_text().count("\n")
    assert 5 <= written < 24, "the kill must land mid-run"
    assert synth(out, 24) == 0
    assert folder_bytes(out) == folder_bytes(reference)


def test_imagefolder_round_trip(reference):
    import datasets

    ds = datasets.load_dataset("imagefolder", data_dir=str(reference))
    assert set(ds) <= {"train", "validation", "test"} and sum(len(s) for s in ds.values()) == 24
    ex = ds["train"][0]
    assert ex["image"].size[0] > 500
    assert json.loads(ex["ground_truth"])["gt_parse"]
    assert ex["field_boxes"][0]["box"] and ex["words"][0]["text"]


@pytest.mark.parametrize(("extra", "needle"), [
    (["--doc-types", "passport"], "unknown document type 'passport'"),
    (["--locales", "xx_XX"], "unsupported locale 'xx_XX'"),
    (["--splits", "train=0.5,test=0.2"], "--splits"),
    (["--only", "invoice_999999"], "--only"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, extra, needle):
    code = main(["synth", "--n", "4", "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o" / "metadata.jsonl").exists()


def test_output_folder_of_another_run_is_refused_untouched(reference, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(reference, copy)
    before = folder_bytes(copy)
    assert synth(copy, 24, "--seed", "1") == 2
    assert "holds a different run" in capsys.readouterr().err
    assert folder_bytes(copy) == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert synth(tmp_path / "other", 4) == 2
    assert "not empty" in capsys.readouterr().err


@pytest.mark.parametrize(("break_it", "needle"), [
    (lambda d: (d / "layouts" / "classic.yaml").write_text("blocks: [{type: hologram}]"), "unknown block type 'hologram'"),
    (lambda d: (d / "layouts" / "classic.yaml").write_text("blocks: [{type: kv, fields: [invoice_numbr]}]"), "invoice_numbr"),
    (lambda d: (d / "layouts" / "classic.yaml").write_text("blocks: [unclosed"), "not valid YAML"),
    (lambda d: (d / "schema.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "schema.json").write_text('{"type": "object", "properties": {"a": {"type": 5}}}'), "not a valid JSON Schema"),
])
def test_broken_template_exits_2_naming_the_file(tmp_path, monkeypatch, capsys, break_it, needle):
    from docfoundry.doctypes import load_doc_type, templates_root
    from synth.layout import load_layouts

    root = tmp_path / "tpl"
    shutil.copytree(templates_root() / "invoice", root / "myinvoice")
    schema = json.loads((root / "myinvoice" / "schema.json").read_text())
    (root / "myinvoice" / "schema.json").write_text(json.dumps({**schema, "x-values": "invoice"}))
    break_it(root / "myinvoice")
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(root))
    load_doc_type.cache_clear()
    load_layouts.cache_clear()
    code = main(["synth", "--n", "2", "--out", str(tmp_path / "o"), "--doc-types", "myinvoice"])
    err = capsys.readouterr().err
    load_doc_type.cache_clear()
    assert code == 2 and needle in err and "myinvoice" in err, err
    assert len(err.strip().splitlines()) == 1


def test_custom_type_folder_works(tmp_path, monkeypatch):
    from docfoundry.doctypes import load_doc_type, templates_root

    root = tmp_path / "tpl"
    shutil.copytree(templates_root() / "receipt", root / "shop_receipt")
    schema = json.loads((root / "shop_receipt" / "schema.json").read_text())
    (root / "shop_receipt" / "schema.json").write_text(json.dumps({**schema, "x-values": "receipt"}))
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(root))
    load_doc_type.cache_clear()
    try:
        assert main(["synth", "--n", "3", "--out", str(tmp_path / "o"), "--doc-types", "shop_receipt", "--verify"]) == 0
    finally:
        load_doc_type.cache_clear()
    rows = (tmp_path / "o" / "metadata.jsonl").read_text().splitlines()
    assert len(rows) == 3 and all(json.loads(r)["doc_type"] == "shop_receipt" for r in rows)


def test_help_lists_commands_without_heavy_imports():
    out = subprocess.run([sys.executable, "-m", "docfoundry", "--help"], capture_output=True, text=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0 and "synth" in out.stdout
    heavy = subprocess.run([sys.executable, "-c", "import docfoundry.cli as c, sys; c.all_commands(); "
                            "print(sorted(m for m in ('torch','vllm','augraphy','transformers','cv2') if m in sys.modules))"],
                           capture_output=True, text=True)
    assert heavy.stdout.strip() == "[]", heavy.stdout + heavy.stderr
