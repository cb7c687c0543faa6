"""Instruction tasks from truth: every answer is recomputed from the ground truth; exports load."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from docfoundry.checks import evaluate_checks
from docfoundry.cli import main
from docfoundry.doctypes import load_doc_type
from docfoundry.records import flatten
from docfoundry.store import read_samples


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "ds"
    assert main(["synth", "--n", "16", "--out", str(out), "--locales", "en_US,de_DE"]) == 0
    return out


@pytest.fixture(scope="module")
def instr_dir(synth_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("instr") / "i"
    assert main(["instruct", "--in", str(synth_dir), "--out", str(out), "--per-page", "12"]) == 0
    return out


def rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "conversations.jsonl").read_text().splitlines()]


def recompute(family: str, params: dict, sample, size: tuple[int, int], style: str, answer: str) -> None:
    """Check one answer against the truth without using the task makers."""
    values = {k: v for k, v in flatten(sample.gt_parse).items()}
    if family in ("qa", "table"):
        assert values[params["path"]] in answer
        if style == "precise":
            assert answer == values[params["path"]]
    elif family == "extract":
        assert json.loads(answer) == sample.gt_parse
    elif family == "subset":
        assert json.loads(answer) == {p: values[p] for p in params["paths"]}
    elif family == "count":
        n = len(sample.gt_parse[params["list"]])
        assert re.search(rf"\b{n}\b", answer)
    elif family == "arithmetic":
        checks = {c.name: c for c in evaluate_checks(load_doc_type(sample.doc_type), sample.gt_typed)}
        c = checks[params["check"]]
        ops = {"add": sum, "sum": sum, "subtract": lambda v: v[0] - sum(v[1:])}
        if c.op in ops:
            assert ops[c.op]([v for _, v in c.operands]) == Decimal(str(flatten(sample.gt_typed)[c.target]))
        assert answer.startswith("Yes")
    elif family in ("ground_text_to_box", "ground_box_to_text"):
        fb = next(f for f in sample.field_boxes if f.path == params["path"])
        w, h = size
        expect = [round(fb.box[0] * 1000 / w), round(fb.box[1] * 1000 / h),
                  round(fb.box[2] * 1000 / w), round(fb.box[3] * 1000 / h)]
        if family == "ground_text_to_box":
            assert str(expect) in answer
        else:
            assert fb.text in answer and fb.text == values[params["path"]]
    elif family == "yesno":
        assert (params["claim"] == values[params["path"]]) == params["truth"]
        assert answer.startswith("Yes" if params["truth"] else "No")
    elif family == "choice":
        assert params["options"]["ABCD".index(params["letter"])] == values[params["path"]]
        assert len(set(params["options"])) == 4
        assert answer.startswith(params["letter"]) or answer == values[params["path"]]
    elif family == "classify":
        assert sample.doc_type in answer or load_doc_type(sample.doc_type).schema["description"][1:] in answer
    elif family == "caption":
        assert load_doc_type(sample.doc_type).schema["description"].rstrip(".")[1:] in answer
    else:
        raise AssertionError(f"no recompute rule for family {family}")


def test_every_answer_recomputes_from_truth(synth_dir, instr_dir):
    from PIL import Image

    samples = {s.id: s for s in read_samples(synth_dir)}
    checked = set()
    for row in rows(instr_dir):
        sample = samples[row["id"]]
        size = Image.open(instr_dir / row["images"][0]).size
        assert len(row["messages"]) == 2 * len(row["turns"])
        for turn, q, a in zip(row["turns"], row["messages"][::2], row["messages"][1::2]):
            assert q["role"] == "user" and a["role"] == "assistant" and a["content"]
            recompute(turn["family"], json.loads(turn["params"]), sample, size, turn["style"], a["content"])
            checked.add(turn["family"])
    from distill.truth_tasks import FAMILIES

    assert checked == set(FAMILIES), set(FAMILIES) - checked


def test_caption_first_or_last_and_summary(instr_dir):
    positions = {("first" if r["turns"][0]["family"] == "caption" else "last") for r in rows(instr_dir)}
    assert all(r["turns"][0]["family"] == "caption" or r["turns"][-1]["family"] == "caption" for r in rows(instr_dir))
    assert positions == {"first", "last"}
    summary = json.loads((instr_dir / "summary.json").read_text())
    assert summary["conversations"] == 16 and summary["tasks"] == sum(summary["per_family"].values())
    assert summary["distinct_questions"] > 100 and len(summary["per_template"]) > 30


@pytest.mark.parametrize("fmt", ["sharegpt", "messages", "bedrock"])
def test_exports_load_with_datasets(instr_dir, tmp_path, fmt):
    import datasets

    out = tmp_path / f"{fmt}.jsonl"
    assert main(["instruct", "export", str(instr_dir), "--format", fmt, "--out", str(out)]) == 0
    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    assert len(ds) == 16
    if fmt == "sharegpt":
        for ex in ds:
            text = "".join(m["content"] for m in ex["messages"])
            assert text.count("<image>") == len(ex["images"]) == 1 and Path(ex["images"][0]).is_file()
    if fmt == "messages":
        first = ds[0]["messages"][0]["content"]
        assert first[0]["type"] == "image" and first[1]["type"] == "text"
    if fmt == "bedrock":
        assert ds[0]["schemaVersion"] == "bedrock-conversation-2024"
        assert ds[0]["messages"][0]["content"][0]["image"]["format"] == "jpeg"


def test_resume_and_task_selection(synth_dir, tmp_path):
    out = tmp_path / "sel"
    assert main(["instruct", "--in", str(synth_dir), "--out", str(out), "--tasks", "count,qa", "--per-page", "3"]) == 0
    first = (out / "conversations.jsonl").read_bytes()
    assert main(["instruct", "--in", str(synth_dir), "--out", str(out), "--tasks", "count,qa", "--per-page", "3"]) == 0
    assert (out / "conversations.jsonl").read_bytes() == first
    fams = {t["family"] for r in rows(out) for t in r["turns"]}
    assert fams == {"count", "qa", "caption"}


def test_unknown_family_exits_2_listing_known(synth_dir, tmp_path, capsys):
    assert main(["instruct", "--in", str(synth_dir), "--out", str(tmp_path / "x"), "--tasks", "poetry"]) == 2
    err = capsys.readouterr().err
    assert "unknown task family 'poetry'" in err and "arithmetic" in err


def test_missing_images_and_empty_truth_are_skipped_and_counted(synth_dir, tmp_path):
    import shutil

    copy = tmp_path / "broken"
    shutil.copytree(synth_dir, copy)
    lines = (copy / "metadata.jsonl").read_text().splitlines()
    row0, row1 = json.loads(lines[0]), json.loads(lines[1])
    (copy / row0["file_name"]).unlink()
    row1["ground_truth"] = json.dumps({"gt_parse": {}})
    lines[1] = json.dumps(row1)
    (copy / "metadata.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "o"
    assert main(["instruct", "--in", str(copy), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped"] == {"missing_image": 1, "no_truth": 1} and summary["conversations"] == 14
