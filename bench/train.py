"""Benchmark: `docfoundry train` vs TRL's SFTTrainer (its documented VLM recipe), same run.

    pip install -e ".[bench]"                                         # TRL, the baseline
    flock /tmp/bench.lock .venv/bin/python -m bench.train            # ~200M SmolVLM-shaped model, CPU
    .venv/bin/python -m bench.train --size micro --steps 4           # a quick smoke run

Same model (random weights, built offline from a config), same training conversations, same image
budget, same LoRA config (rank, alpha, dropout, target modules), optimizer settings and steps. Each
trainer runs in its own process (peak RSS is per process); then one more process scores both
adapters with the same answer-only loss on held-out conversations. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def make_data(work: Path, pages: int, seed: int) -> tuple[Path, Path]:
    """Synthetic pages -> two instruction folders (with and without the long caption task) -> one mix,
    written as a training folder and a validation folder (image paths absolute)."""
    from distill.instruct import InstructConfig
    from distill.instruct import run as instruct
    from finetune.data import build_mix
    from synth.generate import SynthConfig
    from synth.generate import run as synth

    train_dir, val_dir = work / "mix-train", work / "mix-val"
    if (val_dir / "conversations.jsonl").is_file():
        return train_dir, val_dir
    synth(SynthConfig(out=str(work / "pages"), n=pages, seed=seed))
    instruct(InstructConfig(input=str(work / "pages"), out=str(work / "qa"), per_page=3, caption_position="none",
                            seed=seed))
    instruct(InstructConfig(input=str(work / "pages"), out=str(work / "caption"), per_page=1,
                            caption_position="first", seed=seed))
    mix = build_mix([str(work / "qa"), str(work / "caption") + ":0.5"], [], 0.15, seed)
    for folder, convs in ((train_dir, mix.train), (val_dir, mix.validation)):
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{"id": f"{c.source}/{c.id}", "images": [str(c.image.resolve())], "messages": c.messages}
                for c in convs]
        (folder / "conversations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return train_dir, val_dir


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_docfoundry(a: argparse.Namespace) -> dict[str, Any]:
    from finetune.train import TrainConfig, train

    out = Path(a.work) / "run-docfoundry"
    cfg = TrainConfig(data=[str(Path(a.work) / "mix-train")], student=a.model, out=str(out), method="lora",
                      rank=a.r, alpha=2 * a.r, dropout=0.05, lr=a.lr, warmup=0.1, max_steps=a.steps, batch=a.batch,
                      grad_accum=1, max_image_tokens=a.max_image_tokens, val_share=0.0, log_every=1,
                      save_every=10**6, seed=a.seed, dtype=a.dtype)
    _, summary = train(cfg)
    padding = json.loads((out / "run.json").read_text())["padding_per_batch"]
    return {"trainer": f"docfoundry (dtype {a.dtype})", "seconds": summary["train_seconds"],
            "samples_per_s": summary["samples_per_s"], "tokens_per_s": summary["tokens_per_s"],
            "padding_per_batch": padding, "final_train_loss": summary["final_loss"], "adapter": str(out),
            "peak_rss_mb": peak_rss_mb()}


def run_trl(a: argparse.Namespace) -> dict[str, Any]:
    """TRL's VLM recipe: a dataset with `images` and `messages`, SFTConfig(max_length=None), the model
    id, a peft LoraConfig. The processor is passed in only because AutoProcessor cannot build this
    family's processor without torchvision here; it carries the same image budget as ours."""
    import datasets
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from docfoundry.families import family_of
    from docfoundry.loading import load_config, load_processor
    from finetune.data import read_folder

    family = family_of(load_config(a.model))
    processor = load_processor(a.model, family)
    family.set_image_budget(processor, a.max_image_tokens)
    convs, _ = read_folder(Path(a.work) / "mix-train")
    dataset = datasets.Dataset.from_list([{"images": [str(c.image)], "messages": c.messages} for c in convs])
    dataset = dataset.cast_column("images", datasets.List(datasets.Image()))
    out = Path(a.work) / "run-trl"
    args = SFTConfig(output_dir=str(out), max_length=None, per_device_train_batch_size=a.batch,
                     gradient_accumulation_steps=1, learning_rate=a.lr, lr_scheduler_type="cosine",
                     warmup_steps=0.1, max_steps=a.steps, logging_steps=1, save_strategy="no", report_to="none",
                     seed=a.seed, use_cpu=True, dataloader_num_workers=0, bf16=a.trl_bf16)
    lora = LoraConfig(r=a.r, lora_alpha=2 * a.r, lora_dropout=0.05, target_modules=family.lora_targets,
                      task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=a.model, args=args, train_dataset=dataset, processing_class=processor,
                         peft_config=lora)
    batches: list[tuple[int, int, int]] = []
    collate = trainer.data_collator

    def counting(examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = collate(examples)
        mask = batch["attention_mask"]
        batches.append((int(mask.sum()), mask.numel(), mask.shape[0]))
        return batch

    trainer.data_collator = counting
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    trainer.model.save_pretrained(out)
    processor.save_pretrained(out)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    real, padded, samples = (sum(c) for c in zip(*batches))
    return {"trainer": f"TRL SFTTrainer (bf16={a.trl_bf16})", "seconds": round(seconds, 1), "samples_per_s": round(samples / seconds, 3),
            "tokens_per_s": round(real / seconds, 1), "padding_per_batch": [round(1 - r / p, 4) for r, p, _ in batches],
            "final_train_loss": losses[-1], "adapter": str(out), "peak_rss_mb": peak_rss_mb()}


def run_eval(a: argparse.Namespace) -> dict[str, Any]:
    """Answer-only loss of each adapter on the held-out conversations (fp32 base, same batches)."""
    import torch
    import torch.nn.functional as F

    from docfoundry.families import family_of
    from docfoundry.loading import load_model
    from finetune.collate import IGNORE, ChatEncoder, Collator, prepare
    from finetune.data import read_folder

    convs, _ = read_folder(Path(a.work) / "mix-val")
    out = {}
    for name in a.adapters.split(","):
        model, processor = load_model(a.model, dtype="float32", adapter=name, max_image_tokens=a.max_image_tokens)
        encoder = ChatEncoder(processor, family_of(model))
        examples, _ = prepare(convs, encoder, 0)
        collator, total, count = Collator(encoder), 0.0, 0
        for i in range(0, len(examples), a.batch):
            batch = collator(examples[i:i + a.batch])
            labels = batch.pop("labels")[:, 1:]
            with torch.no_grad():
                logits = model(**batch).logits[:, :-1].float()
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                     ignore_index=IGNORE, reduction="sum").item()
            count += int((labels != IGNORE).sum())
        out[name] = round(total / count, 4)
    return out


WORKERS = {"docfoundry": run_docfoundry, "trl": run_trl, "eval": run_eval}


def subprocess_json(args: list[str]) -> Any:
    proc = subprocess.run([sys.executable, "-m", "bench.train", *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench worker failed: {' '.join(args[:2])}\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="small", choices=["micro", "tiny", "small"])
    p.add_argument("--pages", type=int, default=12)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--r", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--max-image-tokens", type=int, default=256)
    p.add_argument("--dtype", default="auto", help="docfoundry's --dtype")
    p.add_argument("--trl-bf16", action="store_true",
                   help="TRL's default bf16 autocast (off: fp32, as docfoundry picks on a CPU without bf16)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default="/tmp/docfoundry-bench-train")
    p.add_argument("--worker", choices=list(WORKERS), help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--adapters", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(WORKERS[a.worker](a)))
        return

    import shutil

    from docfoundry.tiny import cached_tiny

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    model = str(cached_tiny("smolvlm", a.size, cache=work / "models"))
    make_data(work, a.pages, a.seed)
    for old in ("run-docfoundry", "run-trl"):
        shutil.rmtree(work / old, ignore_errors=True)
    common = ["--model", model, "--work", str(work), "--steps", str(a.steps), "--batch", str(a.batch),
              "--r", str(a.r), "--lr", str(a.lr), "--max-image-tokens", str(a.max_image_tokens),
              "--seed", str(a.seed), "--dtype", a.dtype, *(["--trl-bf16"] if a.trl_bf16 else [])]
    results = [subprocess_json(["--worker", name, *common]) for name in ("trl", "docfoundry")]
    losses = subprocess_json(["--worker", "eval", *common, "--adapters", ",".join(r["adapter"] for r in results)])
    print(f"model: {model} ({a.size}), {a.steps} steps x batch {a.batch}, LoRA r={a.r}, "
          f"max_image_tokens={a.max_image_tokens}\n")
    print("| trainer | samples/s | tokens/s | peak RSS MiB | padding per batch (mean / max) | "
          "final train loss | held-out answer loss |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        pad = r["padding_per_batch"]
        print(f"| {r['trainer']} | {r['samples_per_s']:.3f} | {r['tokens_per_s']:.0f} | {r['peak_rss_mb']:.0f} | "
              f"{sum(pad) / len(pad):.1%} / {max(pad):.1%} | {r['final_train_loss']:.3f} | "
              f"{losses[r['adapter']]:.3f} |")
    trl, ours = results
    print(f"\nsamples/s ratio (docfoundry / TRL): {ours['samples_per_s'] / trl['samples_per_s']:.2f}x; "
          f"peak RSS ratio: {ours['peak_rss_mb'] / trl['peak_rss_mb']:.2f}; held-out loss "
          f"{losses[ours['adapter']]:.3f} vs {losses[trl['adapter']]:.3f}")


if __name__ == "__main__":
    main()
