"""A small model runs on one CPU thread unless OMP_NUM_THREADS says otherwise (docfoundry.threads).

Regression: the quickstart's evals ran 10x slower inside a loaded machine's `docfoundry run` because
the micro student's tiny ops were split over two OpenMP threads (bench/threads.py).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from docfoundry.threads import SMALL_MODEL_PARAMETERS, cpu_threads_for

ROOT = Path(__file__).resolve().parents[1]

# Load a model folder the way every docfoundry stage does, then a large model in the same process
PROBE = """
import json, sys, torch
from docfoundry.loading import load_model
from docfoundry.threads import fit_cpu_threads
before = torch.get_num_threads()
load_model(sys.argv[1])
small = torch.get_num_threads()
large = fit_cpu_threads(torch.nn.Linear(5000, 4001))  # 20M parameters: torch's default again
print(json.dumps({"before": before, "small": small, "large": large}))
"""


def probe(model: Path, omp: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if omp:
        env["OMP_NUM_THREADS"] = omp
    out = subprocess.run([sys.executable, "-c", PROBE, str(model)], env=env, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_a_tiny_model_loads_onto_one_thread_and_a_large_one_gets_the_default_back(tiny_model):
    seen = probe(tiny_model("idefics3"), None)
    assert seen["small"] == 1
    assert seen["large"] == seen["before"]


def test_omp_num_threads_is_the_users_choice(tiny_model):
    seen = probe(tiny_model("idefics3"), "2")
    assert seen == {"before": 2, "small": 2, "large": 2}


def test_the_rule_one_thread_below_the_size_on_cpu_only(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert cpu_threads_for(500_000, on_cpu=True) == 1
    assert cpu_threads_for(SMALL_MODEL_PARAMETERS, on_cpu=True) is None
    assert cpu_threads_for(500_000, on_cpu=False) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_threads_for(500_000, on_cpu=True) is None
