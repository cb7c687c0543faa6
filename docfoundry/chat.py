"""The chat a model sees for a page: one function and one layout for the teachers, ``eval --model`` and training.

    page_chat([image], [{"role": "user", "content": prompt}], context=ctx)

Images are a list, one per page of the document, and go first in the first user turn. The OCR
context (``--ocr-context text|layout``) is the page's OCR lines as text, put before the first user
turn's own text (the instructions), so the student is trained on exactly the prompt it is asked
with at inference, and a model asked as a teacher sees what it would see in ``eval --model``: ``ocr_context`` builds it and trims it to
``--ocr-max-tokens`` of the model's tokenizer by whole lines from the end, the same way everywhere.
Small VLMs read dense print badly; OCR text next to the image is a known, large gain.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError

OCR_CONTEXTS = ("none", "text", "layout")
DEFAULT_OCR_MAX_TOKENS = 1024
HEADERS = {
    "text": "OCR text of the page (machine-read, may hold errors):",
    "layout": "OCR lines of the page, each with its box [x0,y0,x1,y1] in 0-1000 page space (machine-read, "
              "may hold errors):",
}
SAVED_SETTING = "train_config.json"  # a trained student's settings: its OCR context travels with it

ImagePart = Callable[[Any], dict[str, Any]]
TokenCounter = Callable[[str], int]


def placeholder(image: Any) -> dict[str, Any]:
    """The image part for ``processor.apply_chat_template`` (the processor gets the images itself)."""
    return {"type": "image"}


def pil_part(image: Any) -> dict[str, Any]:
    """The image part of vLLM's ``LLM.chat`` (a PIL image)."""
    return {"type": "image_pil", "image_pil": image}


def url_part(url: str) -> dict[str, Any]:
    """The image part of an OpenAI-compatible server (a ``data:`` or ``http(s):`` URL)."""
    return {"type": "image_url", "image_url": {"url": url}}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def page_chat(images: Sequence[Any], turns: Sequence[dict[str, str]] = (), *,
              context: str = "", image_part: ImagePart = placeholder) -> list[dict[str, Any]]:
    """Chat-template messages for a document's page images and plain-text ``turns``.

    The images (one per page) and the OCR ``context`` go first in the first user turn, before its
    text (the instructions); with no user turn, one holds only the pages and their context.
    """
    parts = [image_part(image) for image in images]
    messages: list[dict[str, Any]] = []
    placed = False
    for m in turns:
        content = [_text(m["content"])]
        if m["role"] == "user" and not placed:
            text = f"{context}\n\n{m['content']}" if context else m["content"]
            content = [*parts, _text(text)]
            placed = True
        messages.append({"role": m["role"], "content": content})
    if not placed:
        messages.append({"role": "user", "content": [*parts, *([_text(context)] if context else [])]})
    return messages


# --- the OCR context ------------------------------------------------------------------------------


def check_ocr_setting(mode: str, max_tokens: int, flag: str = "--ocr-context") -> None:
    """One line for a setting no stage can use (also for configs built in Python)."""
    if mode not in OCR_CONTEXTS:
        raise UserError(f"{flag}: {mode!r} is not one of {', '.join(OCR_CONTEXTS)}")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        raise UserError(f"--ocr-max-tokens: must be a whole number >= 0 (0: no cap; got {max_tokens!r})")


def ocr_key(mode: str, max_tokens: int) -> dict[str, Any]:
    """The OCR setting's part of a cache key or fingerprint: empty without context, so the keys of
    everything made before the option existed still hold."""
    return {} if mode == "none" else {"ocr_context": mode, "ocr_max_tokens": max_tokens}


def _line(line: Any) -> tuple[str, list[float]]:
    """(text, pixel box) of an OCR line: a ``distill.ocr.OcrLine`` or its JSON form."""
    if isinstance(line, dict):
        return str(line["text"]), list(line["box"])
    return str(line.text), list(line.box)


def quantized(box: Sequence[float], size: tuple[int, int]) -> list[int]:
    """A pixel box ``[x0, y0, x1, y1]`` in 0-1000 page space: the space of the grounding tasks'
    answers and of the ``layout`` context."""
    width, height = max(1, size[0]), max(1, size[1])
    x0, y0, x1, y1 = box
    return [round(x0 * 1000 / width), round(y0 * 1000 / height), round(x1 * 1000 / width), round(y1 * 1000 / height)]


def context_lines(pages: Sequence[tuple[Sequence[Any], tuple[int, int]]], mode: str) -> list[str]:
    """The context's lines for ``(ocr lines, (width, height))`` per page, in reading order (the OCR's
    top-to-bottom order); ``layout`` writes each line's quantized box before its text; a document of
    several pages gets a ``Page N:`` line before each page."""
    out: list[str] = []
    for number, (lines, size) in enumerate(pages, 1):
        if len(pages) > 1:
            out.append(f"Page {number}:")
        for line in lines:
            text, box = _line(line)
            text = " ".join(text.split())  # one OCR line is one context line
            if not text:
                continue
            out.append(f"[{','.join(map(str, quantized(box, size)))}] {text}" if mode == "layout" else text)
    return out


def cut_note(dropped: int) -> str:
    """The last context line when lines were trimmed: the model is told the text goes on."""
    return f"[{dropped} more OCR lines cut]"


def ocr_context(pages: Sequence[tuple[Sequence[Any], tuple[int, int]]], mode: str, max_tokens: int,
                count: TokenCounter) -> tuple[str, int]:
    """(the context text, how many OCR lines the cap cut) for a document's pages.

    ``max_tokens`` (0: no cap) caps the whole context block as ``count`` (the model's tokenizer)
    counts it: whole lines are trimmed from the end and a last line says how many. ``none``: no
    context. The same inputs give the same text at training and at inference.
    """
    if mode == "none":
        return "", 0
    lines = context_lines(pages, mode)
    header = HEADERS[mode]

    def block(k: int) -> str:
        kept = [header, *lines[:k]]
        return "\n".join(kept + ([cut_note(len(lines) - k)] if k < len(lines) else []))

    full = block(len(lines))
    if not max_tokens or count(full) <= max_tokens:
        return full, 0
    lo, hi = -1, len(lines) - 1  # the most lines that fit, by bisection (block(lo) fits; lo = -1: none does)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count(block(mid)) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    if lo < 0:  # not even the header fits the cap: no context
        return "", len(lines)
    return block(lo), len(lines) - lo


def tokenizer_counter(tokenizer: Any) -> TokenCounter:
    """Tokens of a text as the model's tokenizer counts them (no special tokens added)."""
    return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"])


def approximate_counter(text: str) -> int:
    """Tokens of a text when the model's tokenizer is not at hand (a remote server): 4 bytes each."""
    return math.ceil(len(text.encode("utf-8")) / 4)


def saved_setting(*folders: str | None) -> tuple[str, int] | None:
    """(ocr_context, ocr_max_tokens) a student was trained with, from the first of ``folders``
    (adapter, then model) that holds ``train_config.json``; None when none does."""
    for folder in folders:
        if not folder:
            continue
        path = Path(folder) / SAVED_SETTING
        if path.is_file():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as e:
                raise UserError(f"{path}: not readable JSON ({e})") from None
            return str(saved.get("ocr_context", "none")), int(saved.get("ocr_max_tokens", DEFAULT_OCR_MAX_TOKENS))
    return None
