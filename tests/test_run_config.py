"""`docfoundry run` config validation: errors name the key or path and the file, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from docfoundry.cli import main
from docfoundry.orchestration.pipeline import load_run_config, stage_hashes, stage_names


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "run.yaml"
    p.write_text(text)
    return str(p)


def test_quickstart_config_loads_and_names_every_stage():
    cfg = load_run_config("")
    assert cfg.synth.n > 0 and cfg.teacher.spec == "ocr" and cfg.student.model.startswith("tiny:")
    assert set(stage_hashes(cfg)) == set(stage_names())


@pytest.mark.parametrize(("text", "needle"), [
    ("synth:\n  n_pages: 10\n", "unknown config key 'synth.n_pages'"),
    ("sinth:\n  n: 10\n", "unknown config key 'sinth'"),
    ("synth:\n  n: ten\n", "synth.n"),
    ("unlabeled:\n  path: /no/such/folder\n", "unlabeled.path"),
    ("eval:\n  real: [/no/such/truth]\n", "eval.real[0]"),
    ("synth:\n  locales: [xx_XX]\n", "unsupported locale 'xx_XX'"),
    ("synth:\n  doc_types: [passport]\n", "unknown document type 'passport'"),
    ("teacher:\n  options: {tensor_paralel_size: 2}\n", "unknown config key 'teacher.options.tensor_paralel_size'"),
    ("teacher:\n  options: {samples: many}\n", "teacher.options.samples"),
    ("teacher:\n  options: {seed: 4}\n", "config key 'teacher.options.seed': set by the run itself"),
    ("teacher:\n  options: {samples: 3}\n", "config section 'teacher': the ocr teacher gives the same answer"),
    ("teacher:\n  spec: vllm\n", "config key 'teacher.spec': --teacher vllm: say which model"),
])
def test_bad_config_exits_2_naming_the_key(tmp_path, capsys, text, needle):
    code = main(["run", write(tmp_path, text), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "synth").exists()  # nothing started


def test_unknown_stage_and_incomplete_earlier_stage(tmp_path, capsys):
    cfg = write(tmp_path, "synth:\n  n: 4\n")
    assert main(["run", cfg, "--out", str(tmp_path / "r"), "--from", "labell"]) == 2
    assert "unknown stage 'labell'" in capsys.readouterr().err
    assert main(["run", cfg, "--out", str(tmp_path / "r"), "--from", "instruct"]) == 2
    assert "stage 'synth'" in capsys.readouterr().err


def test_hash_changes_only_downstream_of_a_change():
    a = load_run_config("")
    b = load_run_config("")
    b.instruct.per_page += 1
    ha, hb = stage_hashes(a), stage_hashes(b)
    assert ha["synth"] == hb["synth"] and ha["instruct"] != hb["instruct"]


def test_a_student_folder_trained_again_in_place_changes_the_hashes(tmp_path, monkeypatch):
    import os

    import docfoundry.digest

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(docfoundry.digest, "_cache", None)
    model = tmp_path / "student"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"\0" * 32)
    cfg = load_run_config("")
    cfg.student.model = str(model)
    before = stage_hashes(cfg)
    (model / "model.safetensors").write_bytes(b"\1" * 32)  # same path, same size
    os.utime(model / "model.safetensors", ns=(1, 1))
    after = stage_hashes(cfg)
    assert before["synth"] == after["synth"] and before["label"] == after["label"]
    assert all(before[s] != after[s] for s in ("student", "train", "eval_base", "eval_student", "compare"))


def test_the_base_is_asked_with_the_students_ocr_context(tmp_path):
    """Regression: the base has no train_config.json, so eval's `auto` asked it without the OCR context the
    student was trained with, and the before/after compared two prompts."""
    from docfoundry.orchestration.pipeline import base_ocr_setting

    plain = load_run_config(write(tmp_path, "synth:\n  n: 4\n"))
    grounded = load_run_config(write(tmp_path, "synth:\n  n: 4\ninstruct:\n  ocr_context: text\n  ocr_max_tokens: 256\n"))
    assert base_ocr_setting(grounded) == {"ocr_context": "text", "ocr_max_tokens": 256}
    assert base_ocr_setting(plain) == {"ocr_context": "none", "ocr_max_tokens": plain.instruct.tasks_from_truth.ocr_max_tokens}
    assert stage_hashes(grounded)["eval_base"] != stage_hashes(plain)["eval_base"]  # a changed context re-asks the base
    told = load_run_config(write(tmp_path, "instruct:\n  ocr_context: text\neval:\n  ocr_context: none\n"))
    assert base_ocr_setting(told) == {}  # eval's own setting wins: the flags then go to base and student alike


def test_a_stage_that_fails_is_recorded_as_failed_with_its_error(tmp_path, capsys):
    """Regression: a stage that raised left the run's state at "running", as if it were still going."""
    import json

    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "a.png").write_bytes(b"not a png")
    config = write(tmp_path, f"synth:\n  n: 2\n  like: {scans}\n")
    assert main(["run", config, "--out", str(tmp_path / "r"), "--until", "synth"]) == 2
    state = json.loads((tmp_path / "r" / "run.json").read_text())["stages"]["synth"]
    assert state["status"] == "failed" and "a.png" in state["error"] and "\n" not in state["error"]
    assert "a.png" in capsys.readouterr().err


def test_the_slices_the_docs_show_name_real_stages():
    import re

    from docfoundry.orchestration.pipeline import stage_names

    root = Path(__file__).resolve().parent.parent
    texts = [(root / "README.md").read_text(), (root / "docfoundry/orchestration/pipeline.py").read_text()]
    named = [m.group(1) for t in texts for line in t.splitlines() if "docfoundry run" in line
             for m in re.finditer(r"--(?:from|until) (\w+)", line)]
    assert named and set(named) <= set(stage_names()), named  # the README's `--until eval` was no stage
    order = " ".join(stage_names())
    assert f"`{order}`" in " ".join(texts[0].split())  # the README lists the stages as they are
