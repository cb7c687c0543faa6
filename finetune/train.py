"""Student post-training: instruction folders + a small VLM -> a LoRA / QLoRA / DoRA adapter (or a full model).

    docfoundry train --data data/instr --student models/tiny-smolvlm --out runs/smol --max-steps 200
    docfoundry train --data data/instr --data data/teacher-instr:0.5 --student HuggingFaceTB/SmolVLM-256M-Instruct \\
        --out runs/smol --method qlora --max-image-tokens 1024 --eval-every 50 --early-stopping 3
    docfoundry train --config train.yaml --resume          # continue from the last checkpoint
    docfoundry train merge runs/smol --out models/smol-merged

One stage, one mix: caption, instruction and extraction conversations train together. The loss is
on the assistant answers only (see ``finetune.collate``). ``RUN_DIR`` holds the adapter, the full
processor (chat template, image budget), the training config, the data mix actually used, versions,
and the loss curves; ``load_model(student, adapter=RUN_DIR)`` and vLLM (``enable_lora``) load it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docfoundry.commands import Command
from docfoundry.config import opt, to_dict
from docfoundry.errors import UserError
from docfoundry.optional import has_module

log = logging.getLogger("docfoundry.train")

METHODS = ("lora", "qlora", "dora", "full")
CHECKPOINTS = "checkpoints"


@dataclass
class TrainConfig:
    # required: as a flag or a --config key (checked once both are read)
    data: list[str] = opt(help="instruction folder(s) from `docfoundry instruct`, each DIR or "
                               "DIR:weight (repeat --data or separate with commas)")
    student: str = opt(help="student model, a hub id or model folder (`docfoundry models info`)")
    out: str = opt(help="run folder (adapter, processor, config, data mix, loss curves, checkpoints/)")
    method: str = opt("lora", "lora, qlora (4-bit NF4 double-quant base), dora, or full fine-tuning",
                      choices=list(METHODS))
    rank: int = opt(16, "LoRA rank (r)", min=1)
    alpha: int = opt(32, "LoRA alpha", min=1)
    dropout: float = opt(0.05, "LoRA dropout", min=0, max=1)
    lr: float = opt(2e-4, "peak learning rate (linear warmup, then cosine decay)", min=0)
    warmup: float = opt(0.03, "warmup: a share of the steps (< 1) or a number of steps", min=0)
    weight_decay: float = opt(0.0, "AdamW weight decay", min=0)
    epochs: float = opt(1.0, "passes over the training mix (when --max-steps is 0)", min=0)
    max_steps: int = opt(0, "optimizer steps (0: from --epochs)", min=0)
    batch: int = opt(4, "samples per device per forward pass", min=1)
    grad_accum: int = opt(4, "forward passes per optimizer step", min=1)
    max_image_tokens: int = opt(0, "image-token budget per page: caps the resolution (0: the processor's setting)",
                                min=0)
    max_length: int = opt(4096, "max tokens per sample; longer samples are dropped and counted, never truncated",
                          min=1)
    eval_every: int = opt(0, "validation loss every N steps, keeping the best checkpoint (0: once at the end)", min=0)
    early_stopping: int = opt(0, "stop after K validations without improvement (needs --eval-every)", min=0)
    val_share: float = opt(0.05, "share of each folder held out for validation (by a hash of the id)", min=0, max=1)
    val_data: list[str] = opt([], "validation folder(s) instead of --val-share")
    save_every: int = opt(0, "checkpoint every N steps (0: at each validation, or every 50 steps)", min=0)
    keep_checkpoints: int = opt(2, "checkpoints kept besides the best one", min=0)
    train_vision: bool = opt(False, "also train the vision tower and projector (frozen by default)")
    gradient_checkpointing: bool = opt(True, "recompute activations in the backward pass (less memory)")
    dtype: str = opt("auto", "weights: auto (bf16 where the device supports it), bfloat16 or float32",
                     choices=["auto", "bfloat16", "float32"])
    workers: int = opt(-1, "data-loader worker processes (-1: 4 on a GPU; on CPU 1 for a one-thread model "
                           "with a core spare, else 0)", min=-1)
    log_every: int = opt(10, "log the training loss every N steps", min=1)
    seed: int = opt(0, "seed for the mix, the split, the order and the adapter init")
    resume: bool = opt(False, "continue from the last checkpoint in RUN_DIR/checkpoints")

    def validate(self) -> None:
        """The cross-field checks of ``check_config`` (``docfoundry.config.validate`` calls this hook)."""
        check_config(self)


# --- checks and choices ---------------------------------------------------------------------------


def check_config(cfg: TrainConfig) -> None:
    """Refuse settings that cannot work, each with one line: every field's range, then how they combine."""
    from docfoundry.config import check_fields

    check_fields(cfg)  # a config built in Python gets the ranges the command line enforces
    missing = [f"--{name}" for name in ("data", "student", "out") if not getattr(cfg, name)]
    if missing:
        raise UserError(f"{', '.join(missing)} required (as flags or keys of --config)")
    if cfg.method == "qlora" and not has_module("bitsandbytes"):
        raise UserError("--method qlora needs bitsandbytes (pip install 'docfoundry[ml]'), or use --method lora")
    if cfg.batch < 1 or cfg.grad_accum < 1:
        raise UserError("--batch and --grad-accum must be >= 1")
    if cfg.early_stopping and not cfg.eval_every:
        raise UserError("--early-stopping needs --eval-every N (validations to compare)")
    if cfg.eval_every and cfg.save_every and cfg.save_every % cfg.eval_every:
        raise UserError("--save-every must be a multiple of --eval-every (the best checkpoint is kept)")
    if not 0 <= cfg.val_share < 1:
        raise UserError("--val-share must be in [0, 1)")
    if cfg.lr <= 0:
        raise UserError(f"--lr must be above 0 (got {cfg.lr})")
    if not cfg.max_steps and cfg.epochs <= 0:
        raise UserError("--epochs must be above 0 when --max-steps is 0 (nothing would be trained)")


def weights_dtype(cfg: TrainConfig) -> Any:
    """bf16 weights for adapter training where the device has bf16, else fp32; full training keeps
    fp32 master weights (and runs the forward in bf16 autocast where supported)."""
    import torch

    if cfg.dtype != "auto":
        return getattr(torch, cfg.dtype)
    if cfg.method == "full":
        return torch.float32
    return torch.bfloat16 if bf16_supported() else torch.float32


def bf16_supported() -> bool:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    # CPU: only with native bf16 (AVX512-BF16 / AMX); emulated bf16 was 3x+ slower than fp32 here
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def checkpoint_to_resume(run_dir: Path, resume: bool) -> str | None:
    """The last complete checkpoint when resuming; refuse to mix a new run into old checkpoints.

    A checkpoint is complete once its ``trainer_state.json`` exists (the Trainer writes it after the
    weights, optimizer and RNG state): a run killed mid-save leaves a newer, partial folder behind."""
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    folder = run_dir / CHECKPOINTS
    found = sorted((p for p in folder.glob(f"{PREFIX_CHECKPOINT_DIR}-*")
                    if p.is_dir() and p.name.split("-", 1)[1].isdigit()),
                   key=lambda p: int(p.name.split("-", 1)[1])) if folder.is_dir() else []
    complete = [p for p in found if (p / "trainer_state.json").is_file()]
    if resume and not complete:
        raise UserError(f"{folder}: no complete checkpoint to resume from; run without --resume to start")
    if not resume and found:
        raise UserError(f"{run_dir} already holds checkpoints: pass --resume to continue, or a new --out")
    return str(complete[-1]) if resume else None


# --- model ---------------------------------------------------------------------------------------


def load_student(cfg: TrainConfig) -> tuple[Any, Any, Any]:
    """(model, processor, family) ready for training: quantized for QLoRA, image budget set."""
    import torch

    from docfoundry.families import family_of
    from docfoundry.loading import load_model

    quantization = "4bit" if cfg.method == "qlora" else None
    device_map = None
    if quantization and torch.cuda.is_available():  # bitsandbytes quantizes on the GPU it will run on
        device_map = {"": int(os.environ.get("LOCAL_RANK", 0))}
    model, processor = load_model(cfg.student, dtype=weights_dtype(cfg), quantization=quantization,
                                  device_map=device_map, max_image_tokens=cfg.max_image_tokens or None)
    model.config.use_cache = False
    return model, processor, family_of(model)


def attach_adapter(model: Any, family: Any, cfg: TrainConfig) -> Any:
    """Wrap the model for ``cfg.method``: LoRA/DoRA on the registry's targets, vision frozen by default."""
    checkpointing = {"use_reentrant": False}
    if cfg.method == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=cfg.gradient_checkpointing,
                                                gradient_checkpointing_kwargs=checkpointing)
    elif cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpointing)
        model.enable_input_require_grads()  # checkpointed blocks need an input that requires grad
    if cfg.method == "full":
        for name, param in model.named_parameters():
            param.requires_grad = cfg.train_vision or not family.is_vision_module(name)
        return model
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=family.lora_targets,
                      use_dora=cfg.method == "dora", task_type="CAUSAL_LM",
                      modules_to_save=list(family.vision_modules) if cfg.train_vision else None)
    if not family.lora_modules(model):
        raise UserError(f"{cfg.student}: no module matches the LoRA targets {family.lora_targets}")
    return get_peft_model(model, lora)


# --- trainer -------------------------------------------------------------------------------------


def make_trainer_class() -> type:
    """transformers ``Trainer`` with length-grouped batches and an answer-only loss that runs the LM
    head only where a label is learned (no full-vocabulary logits over images and prompts)."""
    import torch
    import torch.nn.functional as F
    from transformers import Trainer

    from finetune.collate import IGNORE, length_grouped_order

    class LengthGroupedOrder(torch.utils.data.Sampler):
        """Batches of similar lengths; a new shuffle every epoch (the trainer calls ``set_epoch``)."""

        def __init__(self, lengths: list[int], batch: int, seed: int):
            self.lengths, self.batch, self.seed, self.epoch = lengths, batch, seed, 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __len__(self) -> int:
            return len(self.lengths)

        def __iter__(self) -> Any:
            return iter(length_grouped_order(self.lengths, self.batch, self.seed * 1000 + self.epoch))

    class AnswerOnlyTrainer(Trainer):
        def __init__(self, *args: Any, lengths: list[int], **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.lengths = lengths
            self.batch_stats: list[tuple[int, int, int]] = []  # (real tokens, padded tokens, samples) per batch

        def _get_train_sampler(self, train_dataset: Any = None) -> Any:
            return LengthGroupedOrder(self.lengths, self.args.train_batch_size, self.args.seed)

        def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                         num_items_in_batch: Any = None) -> Any:
            labels = inputs.pop("labels")
            target = labels[:, 1:]
            keep = (target != IGNORE).any(0).nonzero().squeeze(-1)  # positions whose next token is learned
            outputs = model(**inputs, logits_to_keep=keep)
            logits = outputs.logits.float()
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target[:, keep].reshape(-1),
                                   ignore_index=IGNORE, reduction="sum")
            # summed over the accumulated batch's answer tokens: exact under gradient accumulation
            self.loss_is_scaled_for_ga = num_items_in_batch is not None
            count = num_items_in_batch if num_items_in_batch is not None else (target != IGNORE).sum()
            loss = loss / torch.clamp(torch.as_tensor(count, device=loss.device), min=1)
            if num_items_in_batch is not None and self.args.average_tokens_across_devices:
                loss = loss * self.accelerator.num_processes  # DDP averages gradients over processes
            if model.training:
                mask = inputs["attention_mask"]
                self.batch_stats.append((int(mask.sum()), mask.numel(), mask.shape[0]))
            return (loss, outputs) if return_outputs else loss

    return AnswerOnlyTrainer


def default_loader_workers(on_gpu: bool, threads: int, cores: int, processes: int) -> int:
    """Data-loader worker processes for ``--workers -1``: 4 on a GPU; on CPU one when the model steps on
    one thread (``docfoundry.threads``) in a single process and a core is spare, so the next batch's
    images are decoded while the model steps (bench/loader.py), else none."""
    if on_gpu:
        return 4
    return 1 if threads == 1 and processes == 1 and cores >= 2 else 0


def training_arguments(cfg: TrainConfig, run_dir: Path, bf16: bool, has_validation: bool) -> Any:
    import torch
    from transformers import TrainingArguments

    eval_steps = cfg.eval_every if has_validation else 0
    save_steps = cfg.save_every or eval_steps or 50
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    workers = cfg.workers if cfg.workers >= 0 else default_loader_workers(
        torch.cuda.is_available(), torch.get_num_threads(), cores, int(os.environ.get("WORLD_SIZE", "1")))
    return TrainingArguments(
        output_dir=str(run_dir / CHECKPOINTS), per_device_train_batch_size=cfg.batch,
        per_device_eval_batch_size=cfg.batch, gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr, weight_decay=cfg.weight_decay, lr_scheduler_type="cosine",
        warmup_steps=cfg.warmup, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1,
        bf16=bf16, logging_steps=cfg.log_every, logging_first_step=True,
        eval_strategy="steps" if eval_steps else "no", eval_steps=eval_steps or None,
        save_strategy="steps", save_steps=save_steps, save_total_limit=cfg.keep_checkpoints,
        load_best_model_at_end=bool(eval_steps), metric_for_best_model="eval_loss", greater_is_better=False,
        remove_unused_columns=False, label_names=["labels"], prediction_loss_only=True,
        dataloader_num_workers=workers, dataloader_persistent_workers=workers > 0,  # no new fork every epoch
        seed=cfg.seed, report_to="none", disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
    )


def step_progress() -> Any:
    """A trainer callback that counts optimizer steps on the progress line, with the last loss (the
    raw log dicts still go to stdout: the run's log under ``docfoundry run``)."""
    from transformers import TrainerCallback

    from docfoundry.progress import counter

    class StepProgress(TrainerCallback):
        bar: Any = None
        loss = ""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.bar = counter(max(0, state.max_steps - state.global_step), "train", unit="steps",
                               extra=lambda: self.loss)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                self.loss = f"loss {float(logs['loss']):.4g}"
                if self.bar is not None:
                    self.bar.advance(0)  # show it now, not at the next step

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.advance(1)

        def close(self) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return StepProgress()


# --- outputs -------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """Versions of the libraries a run depends on (for RUN_DIR/versions.json); missing ones are left out."""
    from docfoundry.store import versions as installed

    found = installed("torch", "transformers", "peft", "accelerate", "bitsandbytes")
    return {name: v for name, v in found.items() if v != "not installed"}


def loss_curves(history: list[dict[str, Any]]) -> dict[str, list[list[float]]]:
    """Train and validation loss by step, from the trainer's log history."""
    return {"train": [[h["step"], h["loss"]] for h in history if "loss" in h],
            "validation": [[h["step"], h["eval_loss"]] for h in history if "eval_loss" in h]}


def plot_losses(curves: dict[str, list[list[float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, points in curves.items():
        if points:
            ax.plot(*zip(*points), marker="o" if name == "validation" else None, label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (answer tokens)")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def peak_memory_mb() -> float:
    """Peak GPU memory allocated, or the process's peak RSS on CPU, in MiB."""
    import torch

    from docfoundry.memory import peak_memory

    return peak_memory("cuda" if torch.cuda.is_available() else "cpu")[0] / 2**20


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


# --- the stage -----------------------------------------------------------------------------------


def run(cfg: TrainConfig) -> dict[str, Any]:
    """Train the student on the instruction mix and write ``RUN_DIR``; returns a summary."""
    return train(cfg)[1]


def train(cfg: TrainConfig, callbacks: tuple[Any, ...] = ()) -> tuple[Any, dict[str, Any]]:
    """``run``, also returning the trainer (its ``model`` is the trained model, in memory);
    ``callbacks`` are extra ``TrainerCallback``s (bench/student.py evaluates and stops on a CPU budget)."""
    import torch
    from transformers import EarlyStoppingCallback, set_seed

    from docfoundry.loading import save_processor
    from finetune.collate import ChatEncoder, Collator, prepare
    from finetune.data import build_mix

    check_config(cfg)
    run_dir = Path(cfg.out)
    resume_from = checkpoint_to_resume(run_dir, cfg.resume)
    mix = build_mix(cfg.data, cfg.val_data, cfg.val_share, cfg.seed)
    set_seed(cfg.seed)
    model, processor, family = load_student(cfg)
    encoder = ChatEncoder(processor, family, mix.ocr_context, mix.ocr_max_tokens)  # the data folders' setting
    train_set, dropped = prepare(mix.train, encoder, cfg.max_length)
    val_set, val_dropped = prepare(mix.validation, encoder, cfg.max_length)
    if not train_set:
        raise UserError(f"--data: none of the {len(mix.train)} training samples is usable ({dict(dropped)})")
    if cfg.early_stopping and not val_set:
        raise UserError("--early-stopping needs validation conversations (--val-share > 0 or --val-data)")
    val_set.sort(key=lambda ex: ex.length)  # less padding in validation batches
    model = attach_adapter(model, family, cfg)
    bf16 = weights_dtype(cfg) == torch.bfloat16 or (cfg.method == "full" and cfg.dtype == "auto" and bf16_supported())
    args = training_arguments(cfg, run_dir, bf16, bool(val_set))
    steps = step_progress()
    callbacks = [steps, *callbacks, *([EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping)]
                          if cfg.early_stopping else [])]
    collator = Collator(encoder)
    trainer = make_trainer_class()(model=model, args=args, train_dataset=train_set, eval_dataset=val_set or None,
                                   data_collator=collator, callbacks=callbacks,
                                   lengths=[ex.length for ex in train_set])
    run_dir.mkdir(parents=True, exist_ok=True)
    from docfoundry.store import OutputLock

    # one training run per folder; DDP ranks run under rank 0's lock (only rank 0 writes the run files)
    lock = OutputLock(run_dir) if int(os.environ.get("RANK", "0")) == 0 else None
    data_mix = {"sources": mix.sources, "train_samples": len(train_set), "validation_samples": len(val_set),
                "dropped": dict(dropped), "validation_dropped": dict(val_dropped),
                "max_length": cfg.max_length, "image_budget": family.budget.describe(processor),
                **ocr_record(mix, train_set + val_set)}
    if trainer.is_world_process_zero():
        write_json(run_dir / "train_config.json", saved_config(cfg, mix))
        write_json(run_dir / "data_mix.json", data_mix)
        write_json(run_dir / "versions.json", versions())
    start = time.perf_counter()
    try:
        result = trainer.train(resume_from_checkpoint=resume_from)
    finally:
        steps.close()
    seconds = time.perf_counter() - start
    final_eval = trainer.evaluate() if val_set else {}
    stats = trainer.batch_stats
    real, padded, samples = (sum(column) for column in zip(*stats)) if stats else (0, 0, 0)
    curves = loss_curves(trainer.state.log_history)
    summary = {
        "out": str(run_dir), "method": cfg.method, "family": family.name,
        "steps": trainer.state.global_step, "resumed_from": resume_from, "processes": trainer.args.world_size,
        "train_samples": len(train_set), "validation_samples": len(val_set), "dropped": dict(dropped),
        "failed_images": collator.failed_images,
        "first_loss": curves["train"][0][1] if curves["train"] else None,
        "final_loss": curves["train"][-1][1] if curves["train"] else None,
        "eval_loss": final_eval.get("eval_loss"), "best_checkpoint": trainer.state.best_model_checkpoint,
        "samples_per_s": round(samples / seconds, 3),
        "tokens_per_s": round(real / seconds, 1), "padding_share": round(1 - real / padded, 4) if padded else 0.0,
        "peak_memory_mb": round(peak_memory_mb(), 1), "train_seconds": round(seconds, 1),
        "train_runtime": result.metrics.get("train_runtime"),
    }
    if trainer.is_world_process_zero():
        save_model(trainer.model, cfg, run_dir)
        save_processor(processor, family, run_dir)
        write_json(run_dir / "loss.json", curves)
        plot_losses(curves, run_dir / "loss.png")
        write_json(run_dir / "run.json", {"command": "train", "config": to_dict(cfg), "summary": summary,
                                          "data_mix": data_mix, "versions": versions(),
                                          "padding_per_batch": [round(1 - r / p, 4) for r, p, _ in stats]})
    if lock is not None:
        lock.release()
    return trainer, summary


def saved_config(cfg: TrainConfig, mix: Any) -> dict[str, Any]:
    """``train_config.json``: the flags, plus the OCR context the data was made with, so that
    ``eval --model RUN_DIR`` and a vLLM LoRA ask with the prompt the student was trained on."""
    return {**to_dict(cfg), "ocr_context": mix.ocr_context, "ocr_max_tokens": mix.ocr_max_tokens}


def ocr_record(mix: Any, examples: list[Any]) -> dict[str, Any]:
    """The data mix's OCR context and how many context lines the cap trimmed (``data_mix.json``)."""
    if mix.ocr_context == "none":
        return {}
    return {"ocr_context": mix.ocr_context, "ocr_max_tokens": mix.ocr_max_tokens,
            "ocr_lines_cut": sum(ex.ocr_lines_cut for ex in examples),
            "ocr_samples_cut": sum(1 for ex in examples if ex.ocr_lines_cut)}


def save_model(model: Any, cfg: TrainConfig, run_dir: Path) -> None:
    """The adapter (or the full model) in ``run_dir``; the adapter names its base by absolute path."""
    from docfoundry.loading import resolve_source

    base, _ = resolve_source(cfg.student)
    if hasattr(model, "peft_config"):
        for peft_cfg in model.peft_config.values():
            peft_cfg.base_model_name_or_path = str(Path(base).resolve()) if Path(base).is_dir() else base
    model.save_pretrained(run_dir)


@dataclass
class MergeConfig:
    run_dir: str = opt(help="run folder written by `docfoundry train`", positional=True)
    out: str = opt(help="folder for the merged model and its processor")


def run_merge(cfg: MergeConfig) -> dict[str, Any]:
    from finetune.export import merge

    return merge(Path(cfg.run_dir), Path(cfg.out))


COMMANDS = [
    Command("train", "post-train a student VLM on instruction folders (LoRA, QLoRA, DoRA or full)",
            TrainConfig, run, usage=__doc__.split("\n\n")[1]),
    Command("train merge", "merge a run's adapter into its bf16 base model; saves model + processor",
            MergeConfig, run_merge,
            "example:\n  docfoundry train merge runs/smol --out models/smol-merged"),
]
