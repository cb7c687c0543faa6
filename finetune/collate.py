"""Answer-only encoding: conversations to token ids and labels that learn the assistant answers only.

A conversation is rendered with the model's own chat template and cut into segments: the context
(system and user turns, the image, the generation prompt) and each assistant answer up to and
including its end-of-turn token. Segments are tokenized separately, exactly as at inference time,
where the prompt is tokenized and the model writes the answer. Labels are -100 on every context
token, every media token of the family and on padding.

Images are never truncated: ``prepare`` knows each sample's exact length (the image's token cost
comes from the processor at the budget set on it) and drops samples over ``max_length``, counted.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docfoundry.errors import BadItem, UserError

log = logging.getLogger("docfoundry.train")

IGNORE = -100  # the label value torch's cross-entropy skips


@dataclass
class Example:
    """One encoded conversation: the context text that carries the image, then token-id segments."""

    id: str
    image: Path
    prompt: str                            # first context segment (with the image placeholder)
    rest: list[tuple[list[int], bool]]     # later segments: (token ids, learned)
    length: int                            # tokens with the image expanded
    source: str
    ocr_lines_cut: int = 0                 # OCR context lines the cap trimmed (``--ocr-max-tokens``)
    more: list[Path] = field(default_factory=list)  # a document's later page images

    @property
    def images(self) -> list[Path]:
        return [self.image, *self.more]


def chat_messages(messages: list[dict[str, str]], context: str = "", images: int = 1) -> list[dict[str, Any]]:
    """Plain-text turns as chat-template messages (``docfoundry.chat.page_chat``, the layout eval asks
    with): the images and the OCR ``context`` go first in the first user turn."""
    from docfoundry.chat import page_chat

    return page_chat([None] * images, messages, context=context)


def answer_only_labels(segments: list[tuple[list[int], bool]], media_ids: set[int]) -> list[int]:
    """Labels for concatenated segments: a learned segment's ids, -100 elsewhere and on media tokens."""
    labels: list[int] = []
    for ids, learned in segments:
        labels += [t if learned and t not in media_ids else IGNORE for t in ids]
    return labels


class ChatEncoder:
    """Renders and tokenizes conversations for one processor (its chat template and image budget)."""

    def __init__(self, processor: Any, family: Any, ocr_context: str = "none", ocr_max_tokens: int = 0):
        from docfoundry.chat import check_ocr_setting

        check_ocr_setting(ocr_context, ocr_max_tokens)
        self.ocr_context, self.ocr_max_tokens = ocr_context, ocr_max_tokens
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.family = family
        self.end_of_turn = family.end_of_turn or self.tokenizer.eos_token or ""
        self.media_ids = set(family.media_token_ids(processor))
        self._image_cost: dict[tuple[int, int], int] = {}
        self.chat_template = getattr(processor, "chat_template", None) or self.tokenizer.chat_template
        if not self.chat_template:
            raise UserError("the student's processor has no chat template; use an instruct checkpoint or "
                            "save one with the processor")

    def render(self, messages: list[dict[str, Any]], generation_prompt: bool) -> str:
        # the processor's template, rendered by the tokenizer: text only, no processor-side extras
        return self.tokenizer.apply_chat_template(messages, chat_template=self.chat_template, tokenize=False,
                                                  add_generation_prompt=generation_prompt)

    def context(self, ocr: list[dict[str, Any]] | None) -> tuple[str, int]:
        """(OCR context, lines cut) of a conversation's pages: the function and cap inference uses."""
        from docfoundry.chat import ocr_context, tokenizer_counter

        if self.ocr_context == "none" or not ocr:
            return "", 0
        pages = [(page["lines"], tuple(page["size"])) for page in ocr]
        return ocr_context(pages, self.ocr_context, self.ocr_max_tokens, tokenizer_counter(self.tokenizer))

    def segments(self, messages: list[dict[str, str]], context: str = "", images: int = 1) -> list[tuple[str, bool]]:
        """(text, learned) pieces of the rendered conversation; answers end with the end-of-turn token.
        The OCR ``context`` is prompt, in the first piece: never learned. ``images``: one per page."""
        chat = chat_messages(messages, context, images)
        full = self.render(chat, False)
        pieces: list[tuple[str, bool]] = []
        pos = 0
        for k, m in enumerate(chat):
            if m["role"] != "assistant":
                continue
            start = len(self.render(chat[:k], True))
            upto = self.render(chat[:k + 1], False)
            if not full.startswith(upto) or start > len(upto):
                raise UserError("the chat template does not render a conversation turn by turn, so the "
                                "answers cannot be located; use the model's own template")
            end = upto.find(self.end_of_turn, start) if self.end_of_turn else -1
            end = end + len(self.end_of_turn) if end >= 0 else len(upto.rstrip())
            pieces += [(full[pos:start], False), (full[start:end], True)]
            pos = end
        return pieces  # what follows the last answer (a newline) is never learned: dropped

    def tokenize(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def image_cost(self, size: tuple[int, int]) -> int:
        """Extra tokens the processor adds when it expands the image placeholder of an image this size."""
        if size not in self._image_cost:
            from PIL import Image

            text = self.render(chat_messages([{"role": "user", "content": ""}]), True)
            expanded = self.processor(text=[text], images=[[Image.new("RGB", size, "white")]],
                                      add_special_tokens=False)["input_ids"][0]
            self._image_cost[size] = len(expanded) - len(self.tokenize(text))
        return self._image_cost[size]

    def encode(self, conv: Any, size: tuple[int, int] | list[tuple[int, int]]) -> Example:
        """``size``: the image's, or one per page of a document's conversation."""
        sizes = size if isinstance(size, list) else [size]
        context, cut = self.context(getattr(conv, "ocr", None))
        pieces = self.segments(conv.messages, context, len(sizes))
        rest = [(self.tokenize(text), learned) for text, learned in pieces[1:]]
        # the context is in the first piece, so the exact length counts its tokens; each page its image's
        length = (len(self.tokenize(pieces[0][0])) + sum(map(self.image_cost, sizes))
                  + sum(len(ids) for ids, _ in rest))
        return Example(conv.id, conv.image, pieces[0][0], rest, length, conv.source, cut,
                       list(getattr(conv, "more", [])))


def image_size(path: Path) -> tuple[int, int] | None:
    """The image's size from its header, or None when it is not a readable image (or is oversized)."""
    from docfoundry.images import image_size as header_size

    try:
        return header_size(path, str(path))
    except BadItem:
        return None


def prepare(convs: list[Any], encoder: ChatEncoder, max_length: int) -> tuple[list[Example], Counter[str]]:
    """Encode conversations; count (and warn about) broken images and samples over ``max_length``."""
    examples: list[Example] = []
    dropped: Counter[str] = Counter()
    for conv in convs:
        paths = [conv.image, *getattr(conv, "more", [])]  # a document: one image per page
        sizes = [image_size(p) for p in paths]
        if None in sizes:
            dropped["image failed to load"] += 1
            log.warning("%s: cannot read the image; sample %s skipped", paths[sizes.index(None)], conv.id)
            continue
        ex = encoder.encode(conv, sizes if len(sizes) > 1 else sizes[0])
        if max_length and ex.length > max_length:
            dropped["over max length"] += 1
            continue
        examples.append(ex)
    if dropped["over max length"]:
        log.warning("%d samples are longer than max_length=%d tokens and were dropped (images are never "
                    "truncated: lower --max-image-tokens or raise --max-length)",
                    dropped["over max length"], max_length)
    return examples, dropped


def length_grouped_order(lengths: list[int], batch: int, seed: int, group: int = 64) -> list[int]:
    """A shuffled order in which each run of ``batch`` indices has similar lengths (little padding).

    Indices are shuffled, cut into groups of ``group`` batches, sorted by length inside each group
    and cut into batches; the batch order is shuffled again, so long batches do not all come first.
    """
    import random

    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    span = batch * group
    batches = []
    for start in range(0, len(order), span):
        chunk = sorted(order[start:start + span], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch] for i in range(0, len(chunk), batch)]
    rng.shuffle(batches)
    return [i for b in batches for i in b]


class Collator:
    """Batches ``Example``s: runs the processor on the image and context, appends the answer segments,
    pads on the right. Keys the processor returns per token (``mm_token_type_ids``) are extended too."""

    def __init__(self, encoder: ChatEncoder):
        self.encoder = encoder
        self.pad_id = encoder.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = encoder.tokenizer.eos_token_id
        # shared memory: data-loader worker processes load the batches, the run reports the count
        self._failed = multiprocessing.Value("i", 0)

    @property
    def failed_images(self) -> int:
        """Images that failed to load while batching, in this process and its loader workers."""
        return self._failed.value

    def _load(self, ex: Example) -> list[Any] | None:
        """The example's images (one per page), or None when one fails to load."""
        from docfoundry.images import open_image

        try:
            return [open_image(path, str(path)) for path in ex.images]
        except BadItem:
            with self._failed.get_lock():
                self._failed.value += 1
            log.warning("%s: cannot read the image; sample %s skipped", ex.image, ex.id)
            return None

    def __call__(self, batch: list[Example]) -> dict[str, Any]:
        import torch

        loaded = [(ex, im) for ex in batch if (im := self._load(ex)) is not None]
        if not loaded:
            raise UserError("every image of a batch failed to load: " + ", ".join(str(ex.image) for ex in batch))
        out = self.encoder.processor(text=[ex.prompt for ex, _ in loaded], images=[ims for _, ims in loaded],
                                     add_special_tokens=False, padding=True, return_tensors="pt")
        mask = out.pop("attention_mask").bool()
        input_ids = out.pop("input_ids")
        per_token = {k: out.pop(k) for k in list(out) if torch.is_tensor(out[k]) and out[k].shape == mask.shape}
        rows, labels, extras = [], [], {k: [] for k in per_token}
        for i, (ex, _) in enumerate(loaded):
            prompt_ids = input_ids[i][mask[i]].tolist()
            segments = [(prompt_ids, False), *ex.rest]
            rows.append([t for ids, _ in segments for t in ids])
            labels.append(answer_only_labels(segments, self.encoder.media_ids))
            for k, v in per_token.items():
                extras[k].append(v[i][mask[i]].tolist() + [0] * (len(rows[-1]) - len(prompt_ids)))
        width = max(map(len, rows))

        def pad(seqs: list[list[int]], value: int) -> Any:
            return torch.tensor([s + [value] * (width - len(s)) for s in seqs], dtype=torch.long)

        return {"input_ids": pad(rows, self.pad_id), "attention_mask": pad([[1] * len(r) for r in rows], 0),
                "labels": pad(labels, IGNORE), **{k: pad(v, 0) for k, v in extras.items()}, **out}
