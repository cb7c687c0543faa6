"""Benchmark: a one-thread student on CPU with 0 vs 1 data-loader worker, same data, same run.

    nice .venv/bin/python -m bench.loader                     # micro student, 4 alternating runs of 120 steps
    nice .venv/bin/python -m bench.loader --rounds 1 --steps 20   # a quick smoke run

The default of ``docfoundry train --workers -1`` on CPU (``finetune.train.default_loader_workers``): a model
under 20M parameters steps on one thread, so the second core is free to decode and resize the next batch's
page images. Each arm is a ``docfoundry train`` process on the same instruction folder (synthetic pages of
the four types, one whole-document extraction each, as the quickstart trains), arms alternating so a
machine's load falls on both. Prints wall and CPU seconds per step and the wall ratio.
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
    """Synthetic pages of the four types -> extraction tasks; and the micro student."""
    from distill.instruct import InstructConfig
    from distill.instruct import run as instruct
    from docfoundry.tiny import build_tiny, save_tiny
    from synth.generate import SynthConfig
    from synth.generate import run as synth

    data, student = work / "instruct", work / "student"
    if not (data / "conversations.jsonl").is_file():
        synth(SynthConfig(out=str(work / "pages"), n=pages, seed=seed, doc_types=["invoice", "receipt", "w2", "form"],
                          degrade="clean=0.4,light=0.3,medium=0.3"))
        instruct(InstructConfig(input=str(work / "pages"), out=str(data), tasks=["extract"], per_page=1,
                                caption_position="none", seed=seed))
    if not (student / "config.json").is_file():
        model, processor = build_tiny("idefics3", "micro", seed=seed)
        save_tiny(model, processor, student)
    return data, student


def run_arm(data: Path, student: Path, out: Path, workers: int, steps: int) -> dict[str, Any]:
    """One ``docfoundry train`` process: wall and CPU seconds (its own and its loader workers')."""
    args = [sys.executable, "-m", "docfoundry", "train", "--data", str(data), "--student", str(student),
            "--out", str(out), "--method", "full", "--max-steps", str(steps), "--batch", "4", "--grad-accum", "1",
            "--lr", "0.005", "--no-gradient-checkpointing", "--val-share", "0", "--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads((out / "run.json").read_text())["summary"]
    return {"workers": workers, "wall_s": wall, "cpu_s": cpu, "train_s": summary["train_seconds"],
            "steps": summary["steps"], "final_loss": summary["final_loss"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=240)
    p.add_argument("--steps", type=int, default=120)
    p.add_argument("--rounds", type=int, default=2, help="alternating pairs of runs (0 then 1 worker)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", default="/tmp/docfoundry-bench-loader")
    a = p.parse_args()
    work = Path(a.work)
    data, student = make_data(work, a.pages, a.seed)
    runs = [run_arm(data, student, work / f"run-{i}-{w}", w, a.steps) for i in range(a.rounds) for w in (0, 1)]
    print("| workers | steps | train s/step (wall) | process CPU-s/step | final loss |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in runs:
        print(f"| {r['workers']} | {r['steps']} | {r['train_s'] / r['steps']:.3f} | {r['cpu_s'] / r['steps']:.3f} "
              f"| {r['final_loss']:.3f} |")
    mean = {w: sum(r["train_s"] for r in runs if r["workers"] == w) for w in (0, 1)}
    print(f"\nwall ratio, 0 workers / 1 worker: {mean[0] / mean[1]:.2f}x")


if __name__ == "__main__":
    main()
