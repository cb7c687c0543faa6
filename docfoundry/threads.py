"""How many CPU threads torch gives a model: one for a small model, whose ops are too small to split.

A micro or tiny student's matmuls take microseconds; split over two OpenMP threads, each op waits at a
barrier for the other thread, and on a shared machine that thread is often descheduled: measured in
``bench/threads.py`` (greedy answers of a micro student at load 8-12 on 2 cores: 2 threads took 4.8x
the wall time and 5.6x the CPU time of 1). ``OMP_NUM_THREADS``, when set, is the user's choice and wins.
"""

from __future__ import annotations

import os
from typing import Any

# Below this many parameters a model runs on one CPU thread (docfoundry's micro/tiny sizes: 0.3-6M;
# the `small` size, 200M, and every real VLM keep torch's default)
SMALL_MODEL_PARAMETERS = 20_000_000

_torch_default: int | None = None


def cpu_threads_for(parameters: int, on_cpu: bool) -> int | None:
    """The thread count docfoundry sets for a model of ``parameters`` (``None``: torch's default)."""
    if not on_cpu or os.environ.get("OMP_NUM_THREADS"):
        return None
    return 1 if parameters < SMALL_MODEL_PARAMETERS else None


def fit_cpu_threads(model: Any) -> int:
    """Set torch's intra-op threads for ``model`` (``cpu_threads_for``) and return the count in use;
    a later, larger model in the same process gets torch's default back."""
    import torch

    global _torch_default
    if _torch_default is None:
        _torch_default = torch.get_num_threads()
    first = next(model.parameters(), None)
    on_cpu = first is None or first.device.type == "cpu"
    wanted = cpu_threads_for(sum(p.numel() for p in model.parameters()), on_cpu)
    if not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(wanted or _torch_default)
    return torch.get_num_threads()
