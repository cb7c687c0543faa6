"""Benchmark: greedy generation of a tiny student on CPU with 1 torch thread against torch's default.

    .venv/bin/python -m bench.threads                       # micro and tiny, 3 pages, 1024 new tokens
    .venv/bin/python -m bench.threads --sizes micro --pages 2 --max-new-tokens 256

Each arm is a fresh process loading the same random-init model folder through ``load_model`` and
answering the same synthetic pages: ``OMP_NUM_THREADS=1``, ``OMP_NUM_THREADS=<cores>`` (torch's own
default, what docfoundry ran with before ``docfoundry.threads``), and unset (docfoundry's choice). The
table gives wall and CPU seconds per page and each arm's ratio to the 1-thread arm, in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# One arm: load the model, answer each page greedily, print wall and CPU seconds per page
ARM = """
import json, sys, time
from PIL import Image
from docfoundry.chat import page_chat
from docfoundry.engines.hf import HfEngine
model, pages, max_new = sys.argv[1], sys.argv[2:-1], int(sys.argv[-1])
engine = HfEngine(model)
import torch
wall = cpu = 0.0
for page in pages:
    image = Image.open(page).convert("RGB")
    chat = page_chat([image], [{"role": "user", "content": "Extract the document as JSON."}])
    w, c = time.perf_counter(), time.process_time()
    engine.generate(chat, [image], max_new_tokens=max_new)
    wall += time.perf_counter() - w
    cpu += time.process_time() - c
print(json.dumps({"threads": torch.get_num_threads(), "wall_s": wall / len(pages), "cpu_s": cpu / len(pages)}))
"""


def run_arm(model: Path, pages: list[Path], max_new: int, threads: int | None) -> dict:
    """One arm in a fresh process; ``threads`` None leaves ``OMP_NUM_THREADS`` unset (torch's default)."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, "-c", ARM, str(model), *map(str, pages), str(max_new)], env=env,
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="micro,tiny")
    p.add_argument("--pages", type=int, default=3)
    p.add_argument("--max-new-tokens", type=int, default=1024)
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from docfoundry.tiny import build_tiny, save_tiny
    from synth.generate import SynthConfig, run

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        run(SynthConfig(doc_types=["receipt"], n=a.pages, out=f"{tmp}/pages", seed=3, degrade="light"))
        pages = sorted(Path(tmp, "pages", "images").iterdir())[: a.pages]
        print(f"{cores} cores, load {os.getloadavg()[0]:.1f} at the start")
        print("| size | OMP_NUM_THREADS | torch threads | wall s/page | CPU s/page | wall / 1-thread | CPU / 1-thread |")
        print("|---|---|---|---|---|---|---|")
        for size in a.sizes.split(","):
            model = save_tiny(*build_tiny("idefics3", size), Path(tmp, size))
            arms = [(str(n or "unset"), run_arm(model, pages, a.max_new_tokens, n)) for n in (1, cores, None)]
            one = arms[0][1]
            for name, arm in arms:
                print(f"| {size} | {name} | {arm['threads']} | {arm['wall_s']:.2f} | {arm['cpu_s']:.2f} | "
                      f"{arm['wall_s'] / one['wall_s']:.2f} | {arm['cpu_s'] / one['cpu_s']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
