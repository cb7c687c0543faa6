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
from docfoundry.chat import placeholder, tokenizer_counter


class HfTeacher(LocalModelTeacher):
    name = "hf"

    @cached_property
    def loaded(self) -> tuple[Any, Any, Any]:
        """(model, processor, family), loaded on the first call (a fully cached run never loads it)."""
        from docfoundry.families import family_of
        from docfoundry.loading import load_model

        model, processor = load_model(self.target, dtype=self.options.dtype,
                                      max_image_tokens=self.options.max_image_tokens)
        return model, processor, family_of(model)

    def _grammar(self, schema: dict[str, Any], sampling: Sampling) -> Any:
        """A compiled JSON-schema grammar for this model's tokenizer (``None`` without xgrammar)."""
        import json

        try:
            import xgrammar as xgr
        except ImportError:
            return None
        model, processor, _ = self.loaded
        text = json.dumps(decoding_schema(schema, sampling.max_field_chars))  # keeps the schema's key order
        cache = self.__dict__.setdefault("_grammars", {})
        if text not in cache:
            vocab = model.get_output_embeddings().weight.shape[0]
            info = xgr.TokenizerInfo.from_huggingface(processor.tokenizer, vocab_size=vocab)
            cache[text] = xgr.GrammarCompiler(info).compile_json_schema(text, any_whitespace=False)
        return cache[text]

    def generate(self, req: Request, sampling: Sampling, min_new_tokens: int = 0) -> Answer:
        """One page: chat template, processor, ``generate``; token log-probs when asked."""
        import torch

        model, processor, _ = self.loaded
        started = time.perf_counter()
        chat = teacher_chat(req, req.image, placeholder, tokenizer_counter(processor.tokenizer), self.options)
        text = processor.apply_chat_template(chat, add_generation_prompt=True)
        inputs = processor(text=[text], images=[req.image], return_tensors="pt").to(model.device)
        processors = []
        grammar = self._grammar(req.schema, sampling) if sampling.structured else None
        if grammar is not None:
            import xgrammar as xgr

            processors.append(xgr.contrib.hf.LogitsProcessor(grammar))
        torch.manual_seed(req.seed)
        sample = sampling.temperature > 0
        with torch.inference_mode():
            out = model.generate(**inputs, max_new_tokens=sampling.max_tokens, min_new_tokens=min_new_tokens,
                                 do_sample=sample, temperature=sampling.temperature if sample else None,
                                 top_p=sampling.top_p if sample else None, top_k=None,
                                 logits_processor=processors or None, return_dict_in_generate=True,
                                 output_scores=sampling.logprobs)
        new = out.sequences[0, inputs["input_ids"].shape[1]:]
        tokenizer = processor.tokenizer
        special = set(tokenizer.all_special_ids)
        tokens = None
        if sampling.logprobs:
            scores = model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)[0]
            tokens = [(tokenizer.decode([int(t)]), float(lp)) for t, lp in zip(new, scores) if int(t) not in special]
        answer = tokenizer.decode(new, skip_special_tokens=True)
        return Answer(answer, tokens=tokens, seconds=time.perf_counter() - started)

    def answer(self, requests: list[Request], sampling: Sampling) -> Iterator[tuple[int, Answer]]:
        for i, req in enumerate(requests):
            yield i, self.generate(req, sampling)

    def close(self) -> None:
        from docfoundry.loading import release

        release(self, "loaded")


TEACHER = HfTeacher
