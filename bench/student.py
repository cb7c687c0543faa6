"""Learning curves of a tiny student trained from scratch on CPU, for a fixed CPU-time budget.

    .venv/bin/python -m bench.student --budget-min 10                     # receipts: none vs text vs layout
    .venv/bin/python -m bench.student --budget-min 30 --real ../shared/datasets/sroie-dev   # the issue's run
    .venv/bin/python -m bench.student --budget-min 3 --contexts none --sizes micro,tiny \
        --doc-types invoice,receipt,w2,form --eval-pages 8                  # sizes, as the quickstart trains
    .venv/bin/python -m bench.student --budget-min 1.5 --contexts none --eval-pages 0 \
        --init-ranges 0.02,0.15 --vocabs 1024,2048                         # loss-only sweep

Each arm builds a tiny random-init student (``docfoundry models tiny``, the run's larger init), trains
it with ``docfoundry train`` on extraction tasks made from synthetic pages, and every ``--eval-every``
steps saves it and scores it with ``docfoundry eval --model`` on unseen synthetic pages (another
seed): parse rate, schema-valid rate, normalized exact match, fuzzy. Training stops when the arm has
used ``--budget-min`` minutes of *process CPU time* on training (evaluation excluded), so a busy shared
machine changes the wall time, not the result; ``--threads`` torch threads. Arms share pages, seed,
steps plan and budget and differ only in what ``--contexts`` / ``--sizes`` / ``--vocabs`` /
``--init-ranges`` / ``--lrs`` name (``--threads 1``: spinning OpenMP threads would count as CPU time).
With ``--real`` the last student of each arm is also scored on real receipts (SROIE: the seed
metric, i.e. eval's fuzzy with ``--schema receipt``). Writes ``OUT/results.json``, ``OUT/curves.png``
and prints the markdown table for ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",")]


METRICS = ("parse_rate", "schema_valid_rate", "exact_match", "fuzzy")  # eval's headline names
EVAL_SEED_OFFSET = 2_000_003  # the eval pages' seed, as `docfoundry run` draws its evalset


@dataclass(frozen=True)
class Arm:
    """One training run of the comparison: what differs between arms."""

    context: str
    size: str
    vocab: int         # 0: the size's own
    init_range: float  # std of the random text weights
    lr: float
    tasks: str = "extract"  # instruct's task families, comma-separated
    pieces: str = "bytelevel"  # the tokenizer's pre-tokenizer (docfoundry.tiny.PIECES)

    @property
    def name(self) -> str:
        mix = "" if self.tasks == "extract" else "-tasks_" + self.tasks.replace(",", "+")
        return f"{self.size}-{self.tokenizer}-init{self.init_range:g}-lr{self.lr:g}-ctx_{self.context}{mix}"

    @property
    def tokenizer(self) -> str:
        return f"v{self.vocab or 'default'}" + ("" if self.pieces == "bytelevel" else f"-{self.pieces}")


# --- data -----------------------------------------------------------------------------------------


def make_pages(a: argparse.Namespace, work: Path) -> tuple[Path, Path]:
    """Training pages and unseen eval pages (another seed, split test), shared by every arm."""
    from synth.generate import SynthConfig
    from synth.generate import run as synth

    common = {"doc_types": a.doc_types, "degrade": a.degrade, "workers": 1}
    synth(SynthConfig(out=str(work / "pages"), n=a.train_pages, seed=a.seed, splits={"train": 1.0}, **common))
    if a.eval_pages:
        synth(SynthConfig(out=str(work / "evalpages"), n=a.eval_pages, seed=a.seed + EVAL_SEED_OFFSET,
                          splits={"test": 1.0}, **common))
    return work / "pages", work / "evalpages"


def context_options(a: argparse.Namespace, context: str) -> dict[str, Any]:
    """The OCR-context settings of ``docfoundry instruct`` (issue 17.1) for this arm; 'none' needs nothing."""
    if context == "none":
        return {}
    return {"ocr_context": context, "ocr_cache": a.ocr_cache,
            **({"ocr_max_tokens": a.ocr_max_tokens} if a.ocr_max_tokens else {})}


def make_tasks(a: argparse.Namespace, pages: Path, work: Path, context: str, tasks: str = "extract",
               per_page: int = 0, name: str = "tasks") -> Path:
    """The arm's instruction folder: ``tasks`` (instruct's families) made from ``pages``."""
    from distill.instruct import InstructConfig
    from distill.instruct import run as instruct

    mix = "" if tasks == "extract" else "-" + tasks.replace(",", "+")
    out = work / f"{name}-{context}{mix}"
    instruct(InstructConfig(input=str(pages), out=str(out), tasks=tasks.split(","), per_page=per_page or a.per_page,
                            caption_position="none", seed=a.seed, **context_options(a, context)))
    return out


def make_student(a: argparse.Namespace, work: Path, arm: Arm) -> Path:
    """The arm's random-init student (same seed for every arm of a size and vocabulary)."""
    from docfoundry.tiny import MARKER, SIZES, build_tiny, save_tiny

    out = work / "students" / f"{a.family}-{arm.size}-{arm.tokenizer}-init{arm.init_range:g}"
    if (out / MARKER).is_file():
        return out
    size = dataclasses.replace(SIZES[arm.size], vocab=arm.vocab or SIZES[arm.size].vocab, pieces=arm.pieces)
    model, processor = build_tiny(a.family, size, seed=a.seed, init_range=arm.init_range)
    save_tiny(model, processor, out, family=a.family, size=arm.size, vocab=arm.vocab, pieces=arm.pieces,
              seed=a.seed, init_range=arm.init_range)
    return out


# --- training with evaluations on a CPU budget ------------------------------------------------------


def evaluate(a: argparse.Namespace, model_dir: Path, truth: Path, out: Path, **kw: Any) -> dict[str, Any]:
    """``docfoundry eval --model`` on a saved student: the headline metrics we plot."""
    from eval.run import EvalConfig
    from eval.run import run as run_eval

    if out.exists():
        shutil.rmtree(out)
    run_eval(EvalConfig(truth=str(truth), model=str(model_dir), out=str(out), max_new_tokens=a.max_new_tokens,
                        bootstrap=0, worst=0, label=model_dir.name, ocr_cache=a.ocr_cache, structured=a.structured,
                        max_field_chars=a.max_field_chars, repetition_penalty=a.repetition_penalty, **kw))
    overall = json.loads((out / "metrics.json").read_text())["overall"]
    return {k: overall[k]["value"] for k in METRICS}


_VALUE = re.compile(r'":\s*"((?:[^"\\]|\\.)*)"')  # a JSON string value after its key


def value_mask(tokenizer: Any, answer: str) -> list[bool]:
    """Per token of ``answer`` (tokenized as training does): whether it lies inside a string value."""
    inside = [False] * len(answer)
    for m in _VALUE.finditer(answer):
        inside[m.start(1):m.end(1)] = [True] * (m.end(1) - m.start(1))
    enc = tokenizer(answer, add_special_tokens=False, return_offsets_mapping=True)
    return [a < b and all(inside[a:b]) for a, b in enc["offset_mapping"]]


def copy_probe(a: argparse.Namespace, model: Any, processor: Any, evaltasks: Path, context: str) -> dict[str, Any]:
    """Does the student read its OCR context? Teacher-forced accuracy on the answers' value tokens of
    unseen pages, given each page's own OCR context and given another page's (rotated by one): the
    difference (``copy_gain``) is what the context buys, i.e. copying; 0 for a student that ignores it."""
    import torch

    from docfoundry.chat import DEFAULT_OCR_MAX_TOKENS
    from docfoundry.families import get_family
    from finetune.collate import IGNORE, ChatEncoder, Collator, image_size
    from finetune.data import read_folder

    if context == "none":
        return {}
    convs, _ = read_folder(evaltasks, needs_ocr=True)
    encoder = ChatEncoder(processor, get_family(a.family), context, a.ocr_max_tokens or DEFAULT_OCR_MAX_TOKENS)
    collate = Collator(encoder)
    out: dict[str, Any] = {}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for name, shift in (("own", 0), ("other", 1)):
            right = values = 0
            for k, conv in enumerate(convs):
                other = convs[(k + shift) % len(convs)]
                ex = encoder.encode(dataclasses.replace(conv, ocr=other.ocr), image_size(conv.image))
                batch = collate([ex])
                logits = model(**{key: v for key, v in batch.items() if key != "labels"}).logits[0, :-1]
                labels = batch["labels"][0, 1:]
                answer_ids, _ = ex.rest[0]
                text = processor.tokenizer.decode(answer_ids)
                mask = value_mask(processor.tokenizer, text)
                if len(mask) != len(answer_ids):  # decode/encode not round-tripping: score every answer token
                    mask = [True] * len(answer_ids)
                positions = (labels != IGNORE).nonzero().flatten()[:len(answer_ids)]
                chosen = positions[torch.tensor(mask[:len(positions)], dtype=torch.bool)]
                right += int((logits[chosen].argmax(-1) == labels[chosen]).sum())
                values += len(chosen)
            out[f"value_acc_{name}"] = round(100 * right / max(1, values), 2)
    model.train(was_training)
    out["copy_gain"] = round(out["value_acc_own"] - out["value_acc_other"], 2)
    return out


def snapshot(model: Any, processor: Any, cfg: Any, folder: Path) -> Path:
    """The student as it is now, saved the way `docfoundry train` saves it (so eval loads it the same way)."""
    from docfoundry.chat import SAVED_SETTING
    from docfoundry.families import family_of
    from docfoundry.loading import save_processor
    from finetune.train import save_model

    folder.mkdir(parents=True, exist_ok=True)
    save_model(model, cfg, folder)
    save_processor(processor, family_of(model), folder)
    # the run's train_config.json (written before step 1) carries the OCR context: eval asks with it
    shutil.copyfile(Path(cfg.out) / SAVED_SETTING, folder / SAVED_SETTING)
    return folder


def budget_callback(a: argparse.Namespace, cfg: Any, processor: Any, evalpages: Path, arm_dir: Path,
                    points: list[dict[str, Any]], losses: list[dict[str, Any]], probe: Any = None) -> Any:
    """Evaluate every ``--eval-every`` steps (and at the start), stop when training used the CPU budget."""
    from transformers import TrainerCallback

    budget = a.budget_min * 60

    class BudgetEval(TrainerCallback):
        cpu0 = wall0 = eval_cpu = eval_wall = 0.0
        loss: float | None = None

        def spent(self) -> float:
            """Training time so far on the budget's clock (evaluations excluded)."""
            if a.clock == "cpu":
                return time.process_time() - self.cpu0 - self.eval_cpu
            return time.perf_counter() - self.wall0 - self.eval_wall

        def measure(self, model: Any, step: int, last: bool = False) -> None:
            c, w = time.process_time(), time.perf_counter()
            folder = snapshot(model, processor, cfg, arm_dir / "snapshot")
            generate = a.eval_pages and (last or a.generate == "all")  # --eval-pages 0: loss curves only
            metrics = (evaluate(a, folder, evalpages, arm_dir / "evals" / f"step-{step:05d}") if generate
                       else dict.fromkeys(METRICS))
            copying = probe(model) if probe else {}
            point = {"step": step, "train_cpu_s": round(c - self.cpu0 - self.eval_cpu, 1),
                     "train_wall_s": round(w - self.wall0 - self.eval_wall, 1), "loss": self.loss, **metrics,
                     **copying}
            points.append(point)
            print(f"[{arm_dir.name}] " + json.dumps(point), file=sys.stderr, flush=True)
            self.eval_cpu += time.process_time() - c
            self.eval_wall += time.perf_counter() - w

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            self.cpu0, self.wall0 = time.process_time(), time.perf_counter()
            if a.eval_start:
                self.measure(model, 0)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                self.loss = round(float(logs["loss"]), 4)
                losses.append({"step": state.global_step, "train_cpu_s": round(self.spent_cpu(), 1),
                               "loss": self.loss})

        def spent_cpu(self) -> float:
            return time.process_time() - self.cpu0 - self.eval_cpu

        def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any) -> None:
            over = self.spent() >= budget
            due = a.eval_every and state.global_step % a.eval_every == 0
            last = over or state.global_step >= state.max_steps
            if last or due:
                self.measure(model, state.global_step, last)
            if over:
                control.should_training_stop = True

    return BudgetEval()


def train_config(a: argparse.Namespace, arm: Arm, data: Path, student: Path, out: Path, steps: int) -> Any:
    from finetune.train import TrainConfig

    return TrainConfig(data=[str(data)], student=str(student), out=str(out), method=a.method, lr=arm.lr,
                       rank=a.rank, alpha=2 * a.rank, warmup=a.warmup, max_steps=steps, batch=a.batch,
                       grad_accum=1, val_share=0.0, log_every=5, save_every=10**6, seed=a.seed,
                       gradient_checkpointing=False, max_length=a.max_length)


def plan_steps(a: argparse.Namespace, arm: Arm, data: Path, student: Path, work: Path) -> tuple[int, float]:
    """Steps that fill the CPU budget (the cosine schedule needs its length up front), from the CPU
    seconds of a few calibration steps of the same arm."""
    from transformers import TrainerCallback

    from finetune.train import train

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *args: Any, **kw: Any) -> None:
            times.append(time.process_time() if a.clock == "cpu" else time.perf_counter())

    out = work / "calibration"
    shutil.rmtree(out, ignore_errors=True)
    train(train_config(a, arm, data, student, out, a.calibration_steps + 1), callbacks=(Clock(),))
    shutil.rmtree(out, ignore_errors=True)
    per_step = (times[-1] - times[0]) / max(1, len(times) - 1)
    return max(1, int(a.budget_min * 60 / per_step)), per_step


def run_arm(a: argparse.Namespace, arm: Arm, pages: Path, evalpages: Path, work: Path) -> dict[str, Any]:
    from finetune.train import train

    arm_dir = work / "arms" / arm.name
    done = arm_dir / "arm.json"
    if done.is_file() and not a.redo:
        return json.loads(done.read_text())
    shutil.rmtree(arm_dir, ignore_errors=True)
    data = make_tasks(a, pages, work, arm.context, arm.tasks)
    student = make_student(a, work, arm)
    steps, per_step = (a.max_steps, None) if a.max_steps else plan_steps(a, arm, data, student, arm_dir)
    cfg = train_config(a, arm, data, student, arm_dir / "train", steps)
    points: list[dict[str, Any]] = []
    losses: list[dict[str, Any]] = []
    from docfoundry.families import get_family
    from docfoundry.loading import load_processor

    processor = load_processor(str(student), get_family(a.family))
    probe = None
    if a.probe and a.eval_pages and arm.context != "none":
        evaltasks = make_tasks(a, evalpages, work, arm.context, per_page=1, name="evaltasks")
        probe = lambda model: copy_probe(a, model, processor, evaltasks, arm.context)  # noqa: E731
    _, summary = train(cfg, callbacks=(budget_callback(a, cfg, processor, evalpages, arm_dir, points, losses,
                                                       probe),))
    result = {"arm": dataclasses.asdict(arm), "name": arm.name, "planned_steps": steps,
              "calibrated_s_per_step": per_step, "steps": summary["steps"],
              "train_samples": summary["train_samples"], "samples_per_s": summary["samples_per_s"],
              "tokens_per_s": summary["tokens_per_s"], "peak_memory_mb": summary["peak_memory_mb"],
              "train_cpu_s": points[-1]["train_cpu_s"], "train_wall_s": points[-1]["train_wall_s"], "points": points, "losses": losses}
    if a.real:
        result["real"] = evaluate(a, arm_dir / "snapshot", Path(a.real), arm_dir / "real", schema="receipt",
                                  limit=a.real_limit)
    done.write_text(json.dumps(result, indent=2) + "\n")
    return result


# --- output ---------------------------------------------------------------------------------------


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Training loss and each eval metric against training CPU minutes, one line per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (*METRICS, "copy_gain")
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(3.6 * (1 + len(panels)), 3.4), sharex=True)
    for r in results:
        axes[0].plot([p["train_cpu_s"] / 60 for p in r["losses"]], [p["loss"] for p in r["losses"]], label=r["name"])
        xs = [p["train_cpu_s"] / 60 for p in r["points"]]
        for ax, metric in zip(axes[1:], panels):
            ys = [p[metric] if p.get(metric) is not None else float("nan") for p in r["points"]]
            ax.plot(xs, ys, marker="o")
    axes[0].set_title("training loss (answer tokens)")
    axes[0].set_yscale("log")
    for ax, metric in zip(axes[1:], panels):
        ax.set_title("copy gain (value acc, own - other OCR)" if metric == "copy_gain" else metric.replace("_", " "),
                     fontsize=8 if metric == "copy_gain" else None)
        ax.set_ylim(*((-5, 60) if metric == "copy_gain" else (-2, 102)))
    for ax in axes:
        ax.set_xlabel("training CPU minutes")
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def table(results: list[dict[str, Any]]) -> str:
    """The markdown rows of bench/RESULTS.md: each arm at the end of its budget."""
    head = ("| arm | steps | CPU-min | samples/s | loss | parse | schema-valid | exact | fuzzy "
            "| value-token acc, own / other OCR | real fuzzy |")
    rows = [head, "|" + "---|" * 11]

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    for r in results:
        last, real = r["points"][-1], r.get("real", {}).get("fuzzy")
        loss = r["losses"][-1]["loss"] if r["losses"] else None
        copying = (f"{last['value_acc_own']:.1f} / {last['value_acc_other']:.1f}" if "value_acc_own" in last else "-")
        rows.append(f"| {r['name']} | {last['step']} | {last['train_cpu_s'] / 60:.1f} | {r['samples_per_s']} | "
                    f"{'-' if loss is None else f'{loss:.2f}'} | " + " | ".join(fmt(last.get(m)) for m in METRICS)
                    + f" | {copying} | {fmt(real)} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/docfoundry-bench-student", help="work folder (pages, students, arms)")
    ap.add_argument("--doc-types", type=lambda s: s.split(","), default=["receipt"])
    ap.add_argument("--train-pages", type=int, default=400)
    ap.add_argument("--eval-pages", type=int, default=16,
                    help="unseen synthetic pages scored at each evaluation (0: no evaluation, loss curves only)")
    ap.add_argument("--degrade", default="clean=0.4,light=0.3,medium=0.3", help="as `docfoundry run` makes pages")
    ap.add_argument("--task-mixes", type=lambda s: s.split(";"), default=["extract"],
                    help="instruct task families to compare, ';' between arms: 'extract;extract,qa,subset'")
    ap.add_argument("--per-page", type=int, default=1)
    ap.add_argument("--contexts", type=lambda s: s.split(","), default=["none", "text", "layout"],
                    help="OCR contexts to compare: none, text, layout")
    ap.add_argument("--ocr-max-tokens", type=int, default=0, help="the OCR context's cap (0: instruct's default)")
    ap.add_argument("--ocr-cache", default="", help="OCR cache shared by instruct and eval (default OUT/ocr-cache)")
    ap.add_argument("--family", default="idefics3")
    ap.add_argument("--sizes", type=lambda s: s.split(","), default=["micro"], help="tiny sizes to compare")
    ap.add_argument("--vocabs", type=lambda s: [int(v) for v in s.split(",")], default=[0],
                    help="tokenizer vocabulary caps to compare (0: the size's own)")
    ap.add_argument("--pieces", type=lambda s: s.split(","), default=["bytelevel"],
                    help="tokenizer pre-tokenizers to compare: bytelevel (GPT-2's), copy (docfoundry.tiny._cutter)")
    ap.add_argument("--init-ranges", type=floats, default=[0.15],
                    help="std of the random text weights to compare (0.15: as `docfoundry run` builds its student)")
    ap.add_argument("--method", default="full", help="lora, qlora, dora or full (a random-init student: full)")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--lrs", type=floats, default=[5e-3], help="peak learning rates to compare")
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=4096)
    ap.add_argument("--budget-min", type=float, default=10.0, help="training minutes per arm (on --clock)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="cpu: process CPU time (a shared CPU machine); wall: elapsed time (a GPU)")
    ap.add_argument("--max-steps", type=int, default=0, help="fixed steps instead of planning them from the budget")
    ap.add_argument("--calibration-steps", type=int, default=4)
    ap.add_argument("--eval-every", type=int, default=100, help="steps between evaluations (0: only at the end)")
    ap.add_argument("--generate", choices=["all", "last"], default="all",
                    help="answer the eval pages at every evaluation, or only at the last (the copy probe is cheap)")
    ap.add_argument("--probe", action=argparse.BooleanOptionalAction, default=True,
                    help="copy probe at each evaluation: value-token accuracy with the page's own OCR vs another's")
    ap.add_argument("--eval-start", action=argparse.BooleanOptionalAction, default=True, help="score step 0 too")
    ap.add_argument("--max-new-tokens", type=int, default=1024)
    ap.add_argument("--structured", action=argparse.BooleanOptionalAction, default=False,
                    help="answers held to the schema, as the quickstart's eval decodes (needs xgrammar)")
    ap.add_argument("--max-field-chars", type=int, default=0, help="--structured: cap on each string value (0: none)")
    ap.add_argument("--repetition-penalty", type=float, default=1.0, help="eval's repetition penalty (1.0: none)")
    ap.add_argument("--real", default="", help="real receipts (SROIE layout) to score each arm's last student on")
    ap.add_argument("--real-limit", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: spinning OpenMP threads on a busy machine count as CPU time)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--redo", action="store_true", help="run arms again that already finished")
    a = ap.parse_args()

    import os

    os.environ["OMP_NUM_THREADS"] = str(a.threads)  # the user's choice: load_model's thread fit leaves it
    import torch

    torch.set_num_threads(a.threads)
    work = Path(a.out)
    work.mkdir(parents=True, exist_ok=True)
    a.ocr_cache = a.ocr_cache or str(work / "ocr-cache")
    pages, evalpages = make_pages(a, work)
    results = [run_arm(a, Arm(c, s, v, i, lr, t, pc), pages, evalpages, work)
               for s, v, pc, i, lr, t, c in itertools.product(a.sizes, a.vocabs, a.pieces, a.init_ranges, a.lrs,
                                                              a.task_mixes, a.contexts)]
    (work / "results.json").write_text(json.dumps({"args": vars(a), "arms": results}, indent=2) + "\n")
    plot(results, work / "curves.png")
    print(table(results))
    print(f"\ncurves: {work / 'curves.png'}; points: {work / 'results.json'}")


if __name__ == "__main__":
    main()
