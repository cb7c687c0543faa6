"""Facts the stages share are stated once in the core and used from there."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from docfoundry.store import atomic_write


def test_image_suffixes_numeric_kinds_and_fold_come_from_the_core():
    import distill.confidence
    import distill.extract
    import distill.pages
    import docfoundry.adapters
    import synth.layout
    from docfoundry.doctypes import KINDS, NUMERIC_KINDS
    from docfoundry.images import IMAGE_SUFFIXES
    from docfoundry.normalize import fold_text

    assert distill.pages.IMAGE_SUFFIXES is IMAGE_SUFFIXES and docfoundry.adapters.IMAGE_SUFFIXES is IMAGE_SUFFIXES
    assert distill.confidence.NUMERIC_KINDS is NUMERIC_KINDS and synth.layout.NUMERIC_KINDS is NUMERIC_KINDS
    assert set(NUMERIC_KINDS) < set(KINDS)
    assert distill.extract.fold is fold_text
    assert fold_text("  Total\tDue \n") == "total due"


def test_atomic_write_takes_text_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "cache.json"
    atomic_write(target, json.dumps({"a": 1}), shared=True)
    atomic_write(target, b'{"a": 2}')
    assert json.loads(target.read_text()) == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json"]


def test_shared_atomic_writes_from_many_processes_leave_a_whole_file(tmp_path):
    target = tmp_path / "digests.json"
    code = ("import json, sys; from pathlib import Path; from docfoundry.store import atomic_write\n"
            "for i in range(200): atomic_write(Path(sys.argv[1]), json.dumps({'writer': sys.argv[2], 'i': i, "
            "'pad': 'x' * 20000}), shared=True)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(target), str(n)], env=dict(os.environ))
             for n in range(3)]
    assert [p.wait() for p in procs] == [0, 0, 0]
    assert json.loads(target.read_text())["i"] == 199  # never half of one writer's text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digests.json"]


def test_train_versions_are_the_store_versions_without_missing_packages():
    from docfoundry.store import versions as installed
    from finetune.train import versions

    found = versions()
    assert found["python"] and "torch" in found and "not installed" not in found.values()
    assert all(installed(name)[name] == v for name, v in found.items() if name != "python")


def test_fingerprint_leaves_out_output_false_and_other_scopes():
    from dataclasses import dataclass

    from docfoundry.config import fingerprint, opt

    @dataclass
    class Cfg:
        out: str = opt("o", output=False)
        seed: int = opt(1)
        tasks: list[str] = opt(["qa"], output="truth")
        teacher: str = opt("hf:m", output="teacher")

    assert fingerprint(Cfg()) == {"seed": 1}
    assert fingerprint(Cfg(), "truth") == {"seed": 1, "tasks": ["qa"]}
    assert fingerprint(Cfg(), "teacher") == {"seed": 1, "teacher": "hf:m"}


def test_required_flags_may_come_from_the_config_file(tmp_path, capsys):
    # argparse used to demand --in/--out on the command line even when --config held them
    from docfoundry.cli import main

    assert main(["instruct", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip() == "error: --in required (as flags or keys of --config)"
    missing = tmp_path / "nothing"
    missing.mkdir()
    cfg = tmp_path / "instruct.yaml"
    cfg.write_text(f"input: {missing}\nout: {tmp_path / 'o'}\n")
    assert main(["instruct", "--config", str(cfg)]) == 2  # the keys are read: the error is about the folder
    err = capsys.readouterr().err
    assert "(as flags or keys of --config)" not in err and f"{missing}: not a dataset folder" in err


def test_train_takes_its_required_settings_from_the_config_file(tmp_path, capsys):
    from docfoundry.cli import main

    assert main(["train"]) == 2
    assert capsys.readouterr().err.strip() == "error: --data, --student, --out required (as flags or keys of --config)"
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"data: [{tmp_path / 'none'}]\nstudent: {tmp_path / 'no-model'}\nout: {tmp_path / 'run'}\n")
    assert main(["train", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "(as flags or keys of --config)" not in err and "none: no conversations.jsonl" in err  # keys were read


def test_stage_fingerprints_hold_the_settings_existing_folders_were_written_with():
    # a field added to a stage config joins its fingerprint unless marked output=False: folders written before
    # would then refuse to resume, so the sets are pinned here and a change must be a decision
    from distill.instruct import InstructConfig
    from distill.label import LabelConfig
    from docfoundry.config import fingerprint
    from eval.run import EvalConfig
    from synth.generate import SynthConfig

    assert set(fingerprint(SynthConfig(out="o"))) == {
        "doc_types", "n", "locales", "seed", "dpi", "splits", "keep_pdf", "degrade", "max_cer", "image_format",
        "jpeg_quality"}
    assert set(fingerprint(LabelConfig(source="s", schema="receipt", out="o"))) == {
        "samples", "temperature", "top_p", "max_tokens", "logprobs", "structured", "max_field_chars", "grounding",
        "ground_threshold", "ungrounded_penalty", "seed", "max_image_tokens", "min_confidence", "drop_pages", "limit"}
    instruct = InstructConfig(input="i", out="o")
    assert set(fingerprint(instruct, "truth")) == {"input", "source", "tasks", "per_page", "weights", "styles",
                                                   "caption_position", "split", "seed"}
    assert set(fingerprint(instruct, "teacher")) == {"input", "source", "teacher", "filter", "caption_position",
                                                     "seed", "max_tokens"}
    assert set(fingerprint(EvalConfig(truth="t", out="o"), "predictions")) == {
        "model", "adapter", "engine", "dtype", "quantization", "max_image_tokens", "max_new_tokens"}
