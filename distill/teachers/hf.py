"""The ``hf`` teacher: plain transformers ``generate``, one page at a time (small teachers, and the
baseline the vLLM teacher is measured against). Answers are constrained to the schema with
xgrammar's logits processor when xgrammar is installed (it comes with vLLM)."""

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
    decoding_schema,
    teacher_chat,
)
from docfoundry.chat import placeholder


class HfTeacher(LocalModelTeacher):
    name = "hf"

    @cached_property
    def engine(self) -> Any:
        """The ``docfoundry.engines.hf`` engine, loaded on the first call (a fully cached run never loads it)."""
        from docfoundry.engines.hf import HfEngine

        return HfEngine(self.target, dtype=self.options.dtype, max_image_tokens=self.options.max_image_tokens)

    def chat(self, req: Request) -> list[dict[str, Any]]:
        """The chat one request is asked with: the teacher chat, its OCR context cut by this model's tokenizer."""
        return teacher_chat(req, req.images, placeholder, self.engine.count_tokens, self.options)

    def generate(self, req: Request, sampling: Sampling, min_new_tokens: int = 0) -> Answer:
        """One page: the teacher chat with its OCR context, ``generate``; token log-probs when asked."""
        engine = self.engine
        started = time.perf_counter()
        chat = self.chat(req)
        schema = decoding_schema(req.schema, sampling.max_field_chars) if sampling.structured else None
        out = engine.generate(chat, req.images, max_new_tokens=sampling.max_tokens, temperature=sampling.temperature,
                              top_p=sampling.top_p, seed=req.seed, min_new_tokens=min_new_tokens,
                              logits_processors=engine.schema_processors(schema), logprobs=sampling.logprobs)
        return Answer(out.text, tokens=out.tokens, seconds=time.perf_counter() - started)

    def answer(self, requests: list[Request], sampling: Sampling) -> Iterator[tuple[int, Answer]]:
        for i, req in enumerate(requests):
            yield i, self.generate(req, sampling)

    def close(self) -> None:
        from docfoundry.loading import release

        release(self, "engine")


TEACHER = HfTeacher
