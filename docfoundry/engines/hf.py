"""transformers ``generate`` for any model docfoundry runs: the ``hf`` teacher and ``eval --engine hf``.

One page at a time: the chat (``docfoundry.chat.page_chat``) through the processor's chat template,
``generate`` with the given sampling, the new tokens decoded; token log-probabilities when asked; an
answer constrained to a JSON Schema with xgrammar's logits processor (``schema_processors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Generated:
    """One answer: its text and, when asked, (token text, log-prob) per generated token."""

    text: str
    tokens: list[tuple[str, float]] | None = None


class HfEngine:
    """A model folder, hub id or adapter loaded with ``docfoundry.loading.load_model``, in eval mode."""

    def __init__(self, model: str, *, adapter: str | None = None, dtype: Any = "auto", quantization: str | None = None,
                 device_map: Any = None, max_image_tokens: int | None = None) -> None:
        from docfoundry.chat import tokenizer_counter
        from docfoundry.families import family_of
        from docfoundry.loading import load_model

        self.model, self.processor = load_model(model, dtype=dtype, quantization=quantization, device_map=device_map,
                                                max_image_tokens=max_image_tokens, adapter=adapter)
        self.family = family_of(self.model)
        self.tokenizer = self.processor.tokenizer
        self.count_tokens = tokenizer_counter(self.tokenizer)
        self._grammars: dict[str, Any] = {}  # decoding schema (JSON text) -> compiled grammar

    def schema_processors(self, schema: dict[str, Any] | None) -> list[Any]:
        """Logits processors that hold one answer to ``schema`` (a decoding schema, no ``x-`` keys), in
        the schema's key order and without free whitespace; none without a schema or without xgrammar
        (it comes with vLLM). A processor keeps its state: make new ones for every answer."""
        import json

        if schema is None:
            return []
        try:
            import xgrammar as xgr
        except ImportError:
            return []
        text = json.dumps(schema)
        if text not in self._grammars:
            vocab = self.model.get_output_embeddings().weight.shape[0]
            info = xgr.TokenizerInfo.from_huggingface(self.tokenizer, vocab_size=vocab)
            self._grammars[text] = xgr.GrammarCompiler(info).compile_json_schema(text, any_whitespace=False)
        return [xgr.contrib.hf.LogitsProcessor(self._grammars[text])]

    def inputs(self, chat: list[dict[str, Any]], images: list[Any]) -> Any:
        """The model inputs of one chat and its page images (the processor expands the image parts)."""
        text = self.processor.apply_chat_template(chat, add_generation_prompt=True)
        return self.processor(text=[text], images=images, return_tensors="pt").to(self.model.device)

    def generate(self, chat: list[dict[str, Any]], images: list[Any], *, max_new_tokens: int,
                 temperature: float = 0.0, top_p: float = 1.0, seed: int | None = None, min_new_tokens: int = 0,
                 logits_processors: list[Any] | None = None, logprobs: bool = False,
                 repetition_penalty: float = 1.0) -> Generated:
        """One answer (greedy at temperature 0); special tokens are left out of the text and tokens;
        ``repetition_penalty`` > 1 divides the scores of tokens the prompt or answer already holds."""
        import torch

        inputs = self.inputs(chat, images)
        if seed is not None:
            torch.manual_seed(seed)
        sample = temperature > 0
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens,
                                      do_sample=sample, temperature=temperature if sample else None,
                                      top_p=top_p if sample else None, top_k=None,
                                      repetition_penalty=repetition_penalty if repetition_penalty != 1.0 else None,
                                      logits_processor=logits_processors or None, return_dict_in_generate=True,
                                      output_scores=logprobs)
        new = out.sequences[0, inputs["input_ids"].shape[1]:]
        tokens = None
        if logprobs:
            special = set(self.tokenizer.all_special_ids)
            scores = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)[0]
            tokens = [(self.tokenizer.decode([int(t)]), float(lp)) for t, lp in zip(new, scores)
                      if int(t) not in special]
        return Generated(self.tokenizer.decode(new, skip_special_tokens=True), tokens)
