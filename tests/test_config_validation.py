"""Field choices and ranges hold alike for flags, --config YAML and configs built in Python; bad
values end in one line (exit 2) before anything is written (issue 13, items 7 and 9)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from docfoundry.cli import main
from docfoundry.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def one_line_error(capsys, code: int, needle: str) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1, err
    return err


def yaml_file(tmp_path: Path, text: str) -> str:
    p = tmp_path / "cfg.yaml"
    p.write_text(text)
    return str(p)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Path:
    """Two synthetic receipts, both in the train split."""
    out = tmp_path_factory.mktemp("pages") / "ds"
    assert main(["synth", "--n", "2", "--doc-types", "receipt", "--locales", "en_US", "--splits", "train=1",
                 "--out", str(out)]) == 0
    return out


# --- item 7: --config values get the checks flags get ---------------------------------------------

@pytest.mark.parametrize(("argv", "text", "needle"), [
    (["synth"], "image_format: gif\n", "config key 'image_format': 'gif' is not one of jpg, png"),
    (["synth"], "dpi: 0\n", "config key 'dpi': must be between 1 and 1200 (got 0)"),
    (["synth"], "n: true\n", "config key 'n': expected int, got True"),
    (["synth"], "max_cer: .nan\n", "config key 'max_cer': expected a finite number"),
    (["instruct", "--in", "unused"], "caption_position: middle\n", "config key 'caption_position': 'middle' is not one of"),
    (["instruct", "--in", "unused"], "styles: [precise, chatty]\n", "config key 'styles': 'chatty' is not one of"),
    (["instruct", "--in", "unused"], "tasks: [qa, poetry]\n", "unknown task family 'poetry'"),
    (["eval", "--truth", "unused", "--pred", "unused.jsonl"], "engine: tpu\n", "config key 'engine': 'tpu'"),
    (["train", "--data", "unused", "--student", "unused"], "max_steps: -3\n", "config key 'max_steps': must be at least 0"),
])
def test_config_file_values_are_checked_like_flags(tmp_path, capsys, argv, text, needle):
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out), "--config", yaml_file(tmp_path, text)])
    one_line_error(capsys, code, needle)
    assert not out.exists()


@pytest.mark.parametrize(("text", "needle"), [
    ("eval:\n  engine: tpu\n", "config key 'eval.engine': 'tpu' is not one of hf, vllm"),
    ("eval:\n  n: -4\n", "config key 'eval.n': must be at least 1 (got -4)"),
    ("eval:\n  max_new_tokens: 0\n", "config key 'eval.max_new_tokens': must be at least 1"),
    ("student:\n  model: tiny:llama\n", "config key 'student.model': 'llama' is not one of idefics3"),
    ("student:\n  tiny_size: huge\n", "config key 'student.tiny_size': 'huge' is not one of micro"),
    ("student:\n  train: {max_steps: -3}\n", "config key 'student.train.max_steps': must be at least 0"),
    ("student:\n  train: {lr: 0}\n", "config section 'student.train': --lr must be above 0"),
    ("instruct:\n  tasks: [qa, poetry]\n", "config section 'instruct.tasks': unknown task family 'poetry'"),
    ("instruct:\n  teacher_tasks: [prose]\n", "config section 'instruct.teacher_tasks': unknown task family 'prose'"),
    ("instruct:\n  per_page: -1\n", "config key 'instruct.per_page': must be at least 0"),
    ("synth:\n  workers: 0\n", "config key 'synth.workers': must be at least 1"),
    ("unlabeled:\n  n: 0\n", "config key 'unlabeled.n': must be at least 1"),
    ("teacher:\n  min_confidence: 5\n", "config section 'teacher': --min-confidence must be between 0 and 1"),
])
def test_run_checks_every_section_before_any_work(tmp_path, capsys, text, needle):
    run_dir = tmp_path / "run"
    code = main(["run", yaml_file(tmp_path, text), "--out", str(run_dir), "--until", "synth"])  # bounded if it fails
    one_line_error(capsys, code, needle)
    assert not run_dir.exists()  # no stage started, no run.json marked running


def test_odd_keys_and_values_stay_one_line():
    from docfoundry.config import from_dict
    from synth.generate import SynthConfig

    for data, needle in [({"out": "x", "a\nb": 1}, "unknown config key 'a\\nb'"),
                         ({"out": "x", "splits": {"tr\nain": "x"}}, "--splits.tr\\nain"),
                         ({"out": "x", "workers": False}, "config key 'workers': expected int, got False"),
                         ({"out": "x", "jpeg_quality": 1e400}, "expected int, got inf")]:
        with pytest.raises(UserError) as e:
            from_dict(SynthConfig, data)
        assert needle in str(e.value) and "\n" not in str(e.value), str(e.value)


# --- item 9: one line instead of a traceback, and no silent wrong result --------------------------

def test_synth_dpi_0_is_one_line_and_leaves_no_folder(tmp_path):
    out = tmp_path / "ds"
    proc = subprocess.run([sys.executable, "-m", "docfoundry", "synth", "--n", "1", "--dpi", "0", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "error: --dpi: must be between 1 and 1200 (got 0)"
    assert not out.exists()


def test_library_configs_get_the_same_ranges(tmp_path):
    from docfoundry.models import TinyConfig, run_tiny
    from synth.generate import SynthConfig
    from synth.generate import run as synth

    with pytest.raises(UserError, match=r"^--dpi: must be between 1 and 1200 \(got 0\)$"):
        synth(SynthConfig(out=str(tmp_path / "ds"), n=1, dpi=0))
    with pytest.raises(UserError, match=r"^--init-range: must be at least 0"):
        run_tiny(TinyConfig(family="idefics3", out=str(tmp_path / "m"), init_range=-1))
    assert not (tmp_path / "ds").exists() and not (tmp_path / "m").exists()


def test_eval_negative_limit(pages, tmp_path, capsys):
    preds = tmp_path / "p.jsonl"
    preds.write_text("".join(json.dumps({"id": f"receipt_{i:06d}", "fields": {}}) + "\n" for i in range(2)))
    code = main(["eval", "--truth", str(pages), "--pred", str(preds), "--limit", "-2", "--out", str(tmp_path / "r")])
    one_line_error(capsys, code, "--limit: must be at least 0 (got -2)")
    assert not (tmp_path / "r").exists()


def test_train_negative_max_steps(pages, tmp_path, capsys):
    code = main(["train", "--data", str(pages), "--student", "unused", "--max-steps", "-3",
                 "--out", str(tmp_path / "t")])
    one_line_error(capsys, code, "--max-steps: must be at least 0 (got -3)")
    assert not (tmp_path / "t").exists()


def test_instruct_split_that_selects_nothing(pages, tmp_path, capsys):
    code = main(["instruct", "--in", str(pages), "--out", str(tmp_path / "a"), "--split", "bogus"])
    one_line_error(capsys, code, "--split: 'bogus' is not one of train, validation, test")
    code = main(["instruct", "--in", str(pages), "--out", str(tmp_path / "b"), "--split", "validation"])
    err = one_line_error(capsys, code, "--split validation: no page of")
    assert "its splits: train" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b" / "conversations.jsonl").exists()


def test_label_fails_when_every_page_failed(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (src / "b.pdf").write_bytes(b"%PDF-1.4 truncated")
    out = tmp_path / "out"
    code = main(["label", "--in", str(src), "--schema", "receipt", "--teacher", "ocr", "--out", str(out),
                 "--no-progress"])
    one_line_error(capsys, code, f"{out / 'failed.jsonl'}: all 2 pages failed")
    assert len((out / "failed.jsonl").read_text().splitlines()) == 2  # the reasons are kept


def test_models_tiny_refuses_a_bad_out(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("keep me")
    for argv, needle in [(["--init-range", "-1", "--out", str(tmp_path / "m")], "--init-range: must be at least 0"),
                         (["--out", str(afile)], "is a file"),
                         (["--out", str(busy)], "folder is not empty and holds no tiny model")]:
        one_line_error(capsys, main(["models", "tiny", "--family", "idefics3", *argv]), needle)
    assert afile.read_text() == "keep me" and [p.name for p in busy.iterdir()] == ["notes.txt"]
    assert not (tmp_path / "m").exists()


def test_models_tiny_rebuilds_only_a_folder_of_its_own(tmp_path, tiny_model, capsys):
    out = tmp_path / "m"
    shutil.copytree(tiny_model("idefics3"), out)
    (out / "notes.txt").write_text("keep me")
    before = sorted(p.name for p in out.iterdir())
    assert main(["models", "tiny", "--family", "idefics3", "--out", str(out)]) == 2
    assert "holds files that are not part of a tiny model (notes.txt" in capsys.readouterr().err.splitlines()[-1]
    assert sorted(p.name for p in out.iterdir()) == before
    (out / "notes.txt").unlink()
    assert main(["models", "tiny", "--family", "idefics3", "--out", str(out), "--seed", "3"]) == 0
    assert json.loads((out / "docfoundry_tiny.json").read_text())["seed"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no staging folder left behind


@pytest.mark.parametrize("text", ['{"stages": ', "[1, 2]", '{"stages": {"synth": 3}}', '{"stages": [1]}'])
def test_report_on_a_corrupt_run_json(tmp_path, capsys, text):
    (tmp_path / "run.json").write_text(text)
    one_line_error(capsys, main(["report", str(tmp_path)]), str(tmp_path / "run.json"))
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("overall", [
    "x", [1], {"fuzzy": 5}, {"fuzzy": {"value": "high"}}, {"fuzzy": {"value": 50, "ci95": [1]}},
    {"fuzzy": {"value": True}},
])
def test_eval_compare_on_a_malformed_overall(tmp_path, capsys, overall):
    good = {"overall": {"fuzzy": {"value": 50.0, "ci95": [40.0, 60.0]}}}
    for name, metrics in (("a", good), ("b", {"overall": overall})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(metrics))
    code = main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c")])
    one_line_error(capsys, code, str(tmp_path / "b" / "metrics.json"))
    assert not (tmp_path / "c").exists()
