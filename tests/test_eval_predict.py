"""`eval --model` on a tiny offline model: answers recorded with their latency, resume, bad settings."""

from __future__ import annotations

import json
import sys

from eval_fixtures import RECEIPTS, dataset_folder, text_folder

from docfoundry.adapters import TruthRecord
from docfoundry.cli import main
from docfoundry.doctypes import load_doc_type
from eval.predict import prompt_for, speed_summary


def test_prompt_comes_from_the_schema_or_the_truth_keys():
    receipt = prompt_for(TruthRecord("a", "", "test", "receipt", {}))
    for leaf in load_doc_type("receipt").leaves:
        assert f"- {leaf.pattern}: {leaf.description}" in receipt
    sroie = prompt_for(TruthRecord("b", "", "test", "sroie", {"company": "X", "total": "1"}))
    assert sroie.endswith("- company\n- total")


def test_speed_summary():
    s = speed_summary([1.0, 2.0, 3.0, 4.0], load_s=5.0, memory={"peak_memory_gb": 1.5})
    assert s["latency_mean_s"] == 2.5 and s["latency_p50_s"] == 2.5 and s["latency_p95_s"] == 4.0
    assert s["pages_per_s"] == 0.4 and s["model_load_s"] == 5.0 and s["peak_memory_gb"] == 1.5


def test_eval_runs_a_tiny_model_and_resumes(tiny_model, tmp_path, capsys):
    truth = dataset_folder(tmp_path / "truth", {k: RECEIPTS[k] for k in ("r1", "r2")})
    out = tmp_path / "report"
    args = ["eval", "--truth", str(truth), "--model", str(tiny_model("smolvlm")), "--max-new-tokens", "4",
            "--bootstrap", "0", "--out", str(out)]
    assert main(args) == 0
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["r1", "r2"] and all(r["latency_s"] > 0 for r in rows)
    speed = json.loads((out / "metrics.json").read_text())["speed"]
    assert speed["pages_timed"] == 2 and speed["pages_per_s"] > 0 and speed["peak_memory_gb"] > 0
    assert "Speed" in (out / "report.html").read_text()
    capsys.readouterr()

    assert main(args) == 0                                    # everything answered: nothing is generated again
    assert "all 2 pages already answered" in capsys.readouterr().err
    assert (out / "predictions.jsonl").read_text().count("\n") == 2

    other = [a if a != "4" else "5" for a in args]
    assert main(other) == 2
    assert "holds predictions of other model settings (differs in max_new_tokens)" in capsys.readouterr().err
    assert main([*args[:-1], str(tmp_path / "vllm"), "--engine", "vllm", "--quantization", "4bit"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --quantization is for --engine hf") and err.count("\n") == 1
    assert not (tmp_path / "vllm").exists()                   # refused before anything was written


def random_adapter(model_dir, out):
    """A LoRA adapter with random (non-zero) weights on the family's language-model targets."""
    import torch
    from peft import LoraConfig, get_peft_model

    from docfoundry.families import family_of
    from docfoundry.loading import load_model

    model, _ = load_model(str(model_dir), dtype="float32")
    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=64, target_modules=family_of(model).lora_targets, init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(out)
    return out


def test_vllm_engine_answers_like_transformers_with_and_without_an_adapter(tiny_model, tmp_path):
    import pytest

    pytest.importorskip("vllm")
    truth = text_folder(tmp_path / "truth", RECEIPTS)  # pages OCR reads: the adapter runs ask with their lines
    model = tiny_model("idefics3")  # vLLM's CPU attention needs 64-wide heads: the micro Idefics3 has them
    adapter = random_adapter(model, tmp_path / "adapter")

    def answers(engine, *extra):
        out = tmp_path / f"{engine}{len(extra)}"
        assert main(["eval", "--truth", str(truth), "--model", str(model), "--engine", engine, "--dtype", "float32",
                     "--max-new-tokens", "10", "--batch", "2", "--bootstrap", "0", "--out", str(out), *extra]) == 0
        rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        return {r["id"]: r["prediction"] for r in rows}, json.loads((out / "metrics.json").read_text())["speed"]

    base_hf, _ = answers("hf")
    base_vllm, speed = answers("vllm")
    assert base_vllm == base_hf and len(base_vllm) == len(RECEIPTS)  # greedy in float32: the same tokens
    assert speed["engine"] == "vllm" and speed["pages_per_call"] == 2 and speed["pages_timed"] == len(RECEIPTS)
    # served as a vLLM LoRA, with a capped OCR context built and trimmed alike by both engines' tokenizers
    context = ["--ocr-context", "layout", "--ocr-max-tokens", "40", "--ocr-cache", str(tmp_path / "ocr")]
    tuned_vllm, vllm_speed = answers("vllm", "--adapter", str(adapter), *context)
    tuned_hf, hf_speed = answers("hf", "--adapter", str(adapter), *context)
    assert tuned_vllm == tuned_hf and tuned_vllm != base_vllm
    assert vllm_speed["ocr_lines_cut"] == hf_speed["ocr_lines_cut"] > 0


def test_an_adapter_trained_again_in_place_is_not_answered_from_old_predictions(tiny_model, tmp_path, capsys):
    from safetensors.torch import load_file, save_file

    truth = dataset_folder(tmp_path / "truth", {"r1": RECEIPTS["r1"]})
    adapter = random_adapter(tiny_model("smolvlm"), tmp_path / "adapter")
    args = ["eval", "--truth", str(truth), "--model", str(tiny_model("smolvlm")), "--adapter", str(adapter),
            "--max-new-tokens", "4", "--bootstrap", "0", "--out", str(tmp_path / "report")]
    assert main(args) == 0
    capsys.readouterr()
    weights = adapter / "adapter_model.safetensors"
    size = weights.stat().st_size
    save_file({k: v * 2 for k, v in load_file(weights).items()}, weights, metadata={"format": "pt"})  # same size
    assert weights.stat().st_size == size
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "differs in adapter_content" in err and "already answered" not in err


def test_model_digest_follows_content_not_sizes(tmp_path, monkeypatch):
    import os

    import docfoundry.digest as digest

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(digest, "_cache", None)
    model = tmp_path / "model"
    (model / "checkpoints").mkdir(parents=True)
    (model / "config.json").write_text("{}")
    (model / "weights.bin").write_bytes(b"\0" * 64)
    first = digest.model_digest(str(model))
    (model / "checkpoints" / "state.bin").write_bytes(b"x")  # not part of the model
    assert digest.model_digest(str(model)) == first
    (model / "weights.bin").write_bytes(b"\1" * 64)  # same size
    os.utime(model / "weights.bin", ns=(1, 1))
    assert digest.model_digest(str(model)) != first
    cached = json.loads((tmp_path / "cache" / "docfoundry" / "file_digests.json").read_text())
    assert cached[os.path.realpath(model / "weights.bin")][:2] == [64, 1]  # keyed by (size, mtime_ns)
    assert digest.model_digest("someone/not-downloaded") == "id:someone/not-downloaded"


def test_structured_answers_hold_the_schema_where_free_ones_do_not(tiny_model, tmp_path, capsys):
    """--structured holds a random model's answer to the type's JSON Schema (xgrammar, as the hf teacher
    decodes); without it the same model writes no JSON. The two are different predictions (fingerprint)."""
    import pytest

    pytest.importorskip("xgrammar")
    schema = tmp_path / "note.json"
    schema.write_text(json.dumps({
        "title": "note", "description": "A short note", "type": "object", "additionalProperties": False,
        "required": ["title", "total"],
        "properties": {"title": {"type": "string", "description": "Title", "x-category": "header"},
                       "total": {"type": "string", "description": "Amount", "x-category": "totals"}}}))
    truth = dataset_folder(tmp_path / "truth", {"n1": {"title": "Tea", "total": "4.00"},
                                                "n2": {"title": "Cake", "total": "8.00"}}, doc_type=str(schema))
    out = tmp_path / "report"
    args = ["eval", "--truth", str(truth), "--model", str(tiny_model("idefics3")), "--schema", str(schema),
            "--max-new-tokens", "60", "--bootstrap", "0", "--out", str(out), "--max-field-chars", "8"]

    def answers():
        return [json.loads(line)["prediction"] for line in (out / "predictions.jsonl").read_text().splitlines()]

    assert main(args) == 0
    assert not any(a.lstrip().startswith('{"title": "') for a in answers())   # random weights: no JSON
    assert main([*args, "--structured"]) == 2                                 # not resumed from free answers
    assert "differs in structured" in capsys.readouterr().err
    out = tmp_path / "structured"
    assert main([*args[:-4], "--out", str(out), "--max-field-chars", "8", "--structured"]) == 0
    for answer in answers():
        parsed = json.loads(answer)
        assert list(parsed) == ["title", "total"] and all(len(v) <= 8 for v in parsed.values())
    assert json.loads((out / "metrics.json").read_text())["overall"]["parse_rate"]["value"] == 100.0
    held = answers()
    assert main([*args[:-4], "--out", str(out), "--max-field-chars", "8", "--structured",
                 "--repetition-penalty", "1.5"]) == 2                  # not resumed from unpenalized answers
    assert "differs in repetition_penalty" in capsys.readouterr().err
    out = tmp_path / "penalized"
    assert main([*args[:-4], "--out", str(out), "--max-field-chars", "8", "--structured",
                 "--repetition-penalty", "1.5"]) == 0
    assert answers() != held and all(list(json.loads(a, strict=False)) == ["title", "total"] for a in answers())
    capsys.readouterr()
    assert main([*args, "--structured", "--engine", "vllm", "--out", str(tmp_path / "vllm")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --structured is for --engine hf") and err.count("\n") == 1
    with pytest.MonkeyPatch.context() as mp:  # without xgrammar the answers would be free, silently
        mp.setitem(sys.modules, "xgrammar", None)
        assert main([*args, "--structured", "--out", str(tmp_path / "no-grammar")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --structured needs xgrammar") and err.count("\n") == 1
    assert not (tmp_path / "no-grammar").exists()
