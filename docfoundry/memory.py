"""Peak memory of this run, measured one way for training and evaluation."""

from __future__ import annotations


def peak_memory(device: str) -> tuple[int, str]:
    """(bytes, what was measured): CUDA memory torch allocated on a GPU device (or, when this process
    allocated none because the model runs in another one, the device memory in use), else this
    process's peak resident set."""
    import resource

    if device.startswith("cuda"):
        import torch

        allocated = torch.cuda.max_memory_allocated()
        if allocated:
            return allocated, "CUDA memory allocated by torch"
        free, total = torch.cuda.mem_get_info()  # the model runs in another process (vLLM's engine core)
        return total - free, "GPU memory in use at the end (includes vLLM's reserved KV cache)"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "process resident set (CPU)"
