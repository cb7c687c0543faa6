"""`docfoundry run` end to end on a mini config: every stage, the report, kill-and-resume, slices."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser import assert_renders

from docfoundry.cli import main

MINI = """
seed: 3
synth: {doc_types: [receipt, invoice], n: 12, locales: [en_US, de_DE], degrade: "clean=0.5,light=0.5", workers: 1}
unlabeled: {n: 4, degrade: light}
teacher: {spec: ocr, options: {workers: 1, cache: CACHE}}
instruct: {per_page: 2}
student:
  model: tiny:idefics3
  tiny_size: micro
  train: {max_steps: 3, batch: 2, grad_accum: 1, log_every: 1}
eval: {n: 4, max_new_tokens: 24}
"""


def final_state(run_dir: Path) -> dict:
    """What a finished run must reproduce: the datasets and the metrics of every evaluated model."""
    out = {}
    for rel in ("synth/metadata.jsonl", "heldout/metadata.jsonl", "evalset/metadata.jsonl",
                "instruct/truth/conversations.jsonl"):
        out[rel] = (run_dir / rel).read_text()
    for name in ("base", "student", "teacher"):
        m = json.loads((run_dir / "eval" / name / "metrics.json").read_text())
        out[name] = json.dumps(m.get("overall", m), sort_keys=True, default=str)
    return out


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """The mini config; every run of this module shares one teacher call cache (label's ``cache``:
    re-thresholding is free), so a page is OCR'd once per module, not once per run."""
    folder = tmp_path_factory.mktemp("cfg")
    p = folder / "mini.yaml"
    p.write_text(MINI.replace("CACHE", json.dumps(str(folder / "teacher-cache"))))
    return p


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "ref"
    assert main(["run", str(config), "--out", str(out)]) == 0
    return out


def test_every_stage_completes_and_the_report_renders(reference):
    from docfoundry.orchestration.pipeline import stage_names

    state = json.loads((reference / "run.json").read_text())
    assert [s for s in stage_names() if state["stages"][s]["status"] != "complete"] == []
    assert all("seconds" in s for s in state["stages"].values()) and state["versions"]["torch"]
    html = (reference / "report.html").read_text()
    for section in ("Pipeline", "Sample pages", "Teacher audit", "Training curves", "Before / after"):
        assert f">{section}" in html, section
    assert html.count("data:image/png;base64,") >= 4 and "has not run yet" not in html
    audit = json.loads((reference / "audit" / "audit.json").read_text())
    assert set(audit) == {"receipt", "invoice"} and all("per_confidence_bucket" in a for a in audit.values())
    compare = reference / "compare"
    assert (compare / "compare.json").is_file() and (compare / "compare.html").is_file()


@pytest.mark.browser
def test_the_run_report_renders_in_a_browser(reference, tmp_path):
    assert_renders(reference / "report.html", tmp_path / "run-report.png", min_images=4)


def test_rerun_skips_finished_stages(config, reference):
    before = json.loads((reference / "run.json").read_text())
    start = time.time()
    assert main(["run", str(config), "--out", str(reference)]) == 0
    after = json.loads((reference / "run.json").read_text())
    assert {k: v["seconds"] for k, v in after["stages"].items()} == {k: v["seconds"] for k, v in before["stages"].items()}
    assert time.time() - start < 60


def downstream_of(stage: str) -> set[str]:
    """``stage`` and every stage that reads what it wrote, directly or not."""
    from docfoundry.orchestration.pipeline import STAGES

    out = {stage}
    for s in STAGES:  # in run order: a stage's needs come before it
        if out & set(s.needs):
            out.add(s.name)
    return out


def copy_without(reference: Path, out: Path, stages: set[str]) -> None:
    """A copy of the reference run as if ``stages`` had never run (their folders and state gone)."""
    import shutil

    from docfoundry.orchestration.pipeline import STAGES

    shutil.copytree(reference, out)
    for s in STAGES:
        if s.name in stages:
            for folder in s.writes:
                shutil.rmtree(out / folder, ignore_errors=True)
    state = json.loads((out / "run.json").read_text())
    state["stages"] = {k: v for k, v in state["stages"].items() if k not in stages}
    (out / "run.json").write_text(json.dumps(state, indent=2))


def test_kill_and_resume_gives_the_same_result(config, reference, tmp_path):
    out = tmp_path / "killed"
    copy_without(reference, out, downstream_of("label"))  # what the killed stage can change runs again
    cmd = [sys.executable, "-m", "docfoundry", "run", str(config), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:  # kill once the run is inside the label stage
        state = out / "run.json"
        if state.is_file() and '"label"' in state.read_text():
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    state = json.loads((out / "run.json").read_text())
    assert state["stages"].get("compare") is None, "the kill must land mid-run"
    assert main(["run", str(config), "--out", str(out)]) == 0
    assert final_state(out) == final_state(reference)


# what transformers, bitsandbytes, peft and the HF Trainer print (they belong in the run's log)
LIBRARY_OUTPUT = ("pad_token_id", "gemm_4bit", "kernels", "Loading weights", "Writing model shards", "{'loss'",
                  "train_runtime", "it/s]", "Warning")


def assert_console_is_one_line_per_stage(proc: subprocess.CompletedProcess, log_text: str) -> None:
    """``log_text``: what the run added to its log file."""
    from docfoundry.orchestration.pipeline import stage_names

    for needle in LIBRARY_OUTPUT:
        assert needle not in proc.stdout + proc.stderr, needle
    assert "{'loss'" in log_text and "Loading weights" in log_text  # routed, not lost (the train stage ran)
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("warning: ")]  # ours: for the user
    assert [line.split()[0].rstrip(":") for line in lines] == stage_names(), proc.stderr
    assert json.loads(proc.stdout)["stages"]["compare"] == "complete"  # stdout: the summary alone


def test_from_until_runs_a_slice(config, tmp_path):
    out = tmp_path / "slice"
    assert main(["run", str(config), "--out", str(out), "--until", "heldout"]) == 0
    assert set(json.loads((out / "run.json").read_text())["stages"]) == {"synth", "heldout"}
    assert main(["run", str(config), "--out", str(out), "--from", "label", "--until", "audit"]) == 0
    stages = json.loads((out / "run.json").read_text())["stages"]
    assert set(stages) == {"synth", "heldout", "label", "audit"}
    assert (out / "audit" / "audit.json").is_file() and not (out / "train").exists()


def test_stages_after_until_whose_inputs_changed_are_stale_until_run_again(config, reference, tmp_path):
    import shutil

    out, changed = tmp_path / "until", tmp_path / "lr.yaml"
    shutil.copytree(reference, out)
    changed.write_text(config.read_text().replace("train: {max_steps: 3,", "train: {lr: 0.05, max_steps: 3,"))
    assert main(["run", str(changed), "--out", str(out), "--until", "train"]) == 0
    stages = json.loads((out / "run.json").read_text())["stages"]
    # the student's old scores are not this config's (it was "complete": the report showed them as the new model's)
    assert {name for name, s in stages.items() if s["status"] == "stale"} == {"eval_student", "compare"}
    assert stages["train"]["status"] == stages["eval_base"]["status"] == "complete"
    report = (out / "report.md").read_text()
    assert "stale: eval_student, compare ran before their inputs changed" in report
    assert main(["run", str(changed), "--out", str(out)]) == 0
    stages = json.loads((out / "run.json").read_text())["stages"]
    assert {s["status"] for s in stages.values()} == {"complete"} and "stale" not in (out / "report.md").read_text()


def rerun_changed(config: Path, reference: Path, out: Path, old: str, new: str) -> Path:
    """A copy of the reference run, run again (as a user does, in its own process) with one config
    line changed; what the user reads must be one line per stage."""
    import shutil

    text = config.read_text()
    assert old in text
    shutil.copytree(reference, out)
    log = out / "run.log"
    before = log.stat().st_size if log.is_file() else 0
    changed = out.parent / f"{out.name}.yaml"
    changed.write_text(text.replace(old, new))
    proc = subprocess.run([sys.executable, "-m", "docfoundry", "run", str(changed), "--out", str(out)],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr
    assert_console_is_one_line_per_stage(proc, log.read_bytes()[before:].decode("utf-8", "replace"))
    return out


def test_every_folder_a_run_writes_is_owned_by_one_stage(reference):
    from docfoundry.orchestration.pipeline import LOG, STAGES

    owned = [f for s in STAGES for f in s.writes]
    assert len(owned) == len(set(owned))
    written = {p.relative_to(reference).as_posix() for p in reference.iterdir() if p.is_dir()}
    written |= {f"eval/{p.name}" for p in (reference / "eval").iterdir()} - {"eval"}
    assert written - {"eval", "plots"} == set(owned)  # a stage folder nobody owns would never be invalidated
    files = {p.name for p in reference.iterdir() if p.is_file() and not p.name.startswith(".")}  # not locks
    assert files <= {"run.json", LOG, "report.html", "report.md"}


def test_changed_training_rescores_the_student(config, reference, tmp_path):
    from docfoundry.digest import model_digest

    out = rerun_changed(config, reference, tmp_path / "lr", "train: {max_steps: 3,", "train: {lr: 0.05, max_steps: 3,")
    old_rows, new_rows = ((run / "eval" / "student" / "predictions.jsonl").read_text() for run in (reference, out))
    assert new_rows != old_rows  # answered again, not reused
    fingerprint = json.loads((out / "eval" / "student" / "predictions.run.json").read_text())
    assert fingerprint["adapter_content"] == model_digest(str(out / "train"))  # scored with the new adapter
    compare = json.loads((out / "compare" / "compare.json").read_text())["overall"]["student"]
    metrics = json.loads((out / "eval" / "student" / "metrics.json").read_text())["overall"]
    assert compare and all(compare[k] == metrics[k] for k in compare)  # the report shows this run's scores
    base = [(run / "eval" / "base" / "predictions.jsonl").read_text() for run in (reference, out)]
    assert base[0] == base[1]  # the base model did not change: its answers are kept


def test_changed_teacher_relabels_the_eval_set(config, reference, tmp_path):
    out = rerun_changed(config, reference, tmp_path / "teacher", "teacher: {spec: ocr,", "teacher: {spec: ocr, min_confidence: 0.1,")
    for folder in (out / "teacher_eval").iterdir():
        if (folder / "run.json").is_file():
            assert json.loads((folder / "run.json").read_text())["config"]["min_confidence"] == 0.1
    state = json.loads((out / "run.json").read_text())["stages"]
    assert all(state[s]["status"] == "complete" for s in ("label", "eval_teacher", "compare"))
