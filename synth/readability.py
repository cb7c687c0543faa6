"""Readability of a page's fields: rapidocr reads each field's text lines, scored by CER.

Recognition runs on crops of the field's text lines (found from its word boxes), not on the whole
page: that skips text detection, which is most of rapidocr's ~4 s per page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from docfoundry.records import FieldBox, WordBox


@lru_cache(maxsize=1)
def ocr_engine():
    """The process's rapidocr engine (bundled PP-OCR models, one thread, quiet)."""
    from rapidocr import RapidOCR

    return RapidOCR(params={
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": 1,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })


def normalize(text: str) -> str:
    """Whitespace collapsed to single spaces: OCR line breaks are not errors."""
    return re.sub(r"\s+", " ", text).strip()


def char_errors(predicted: str, truth: str) -> int:
    """Levenshtein distance between the normalized strings."""
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(normalize(predicted), normalize(truth))


def _inside(word: WordBox, box: list[int]) -> bool:
    cx, cy = (word.box[0] + word.box[2]) / 2, (word.box[1] + word.box[3]) / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def field_lines(fb: FieldBox, words: list[WordBox]) -> list[list[int]]:
    """Boxes of the text lines of a field: its words grouped by vertical overlap, top to bottom."""
    mine = sorted((w for w in words if _inside(w, fb.box)), key=lambda w: (w.box[1] + w.box[3]) / 2)
    lines: list[list[int]] = []
    for w in mine:
        cy = (w.box[1] + w.box[3]) / 2
        last = lines[-1] if lines else None
        if last is not None and last[1] <= cy <= last[3]:
            last[:] = [min(last[0], w.box[0]), min(last[1], w.box[1]),
                       max(last[2], w.box[2]), max(last[3], w.box[3])]
        else:
            lines.append(list(w.box))
    return lines or [list(fb.box)]


def _crop(page: np.ndarray, box: list[int]) -> np.ndarray:
    h, w = page.shape[:2]
    pad = max(2, (box[3] - box[1]) // 4)
    crop = page[max(0, box[1] - pad):min(h, box[3] + pad), max(0, box[0] - pad):min(w, box[2] + pad)]
    return np.ascontiguousarray(crop if crop.ndim == 3 else np.repeat(crop[:, :, None], 3, axis=2))


@dataclass
class Readability:
    """Character error rate over field text, with the counts it came from."""

    cer: float
    errors: int
    chars: int
    fields: int


def field_cer(page: np.ndarray, words: list[WordBox], fields: list[FieldBox]) -> Readability:
    """OCR every field's lines on ``page`` (uint8 RGB or gray) and score them against the field text."""
    jobs = []  # (field index, crop) in reading order per field
    for i, fb in enumerate(fields):
        if not normalize(fb.text) or fb.box[2] <= fb.box[0] or fb.box[3] <= fb.box[1]:
            continue
        for line in field_lines(fb, words):
            if line[2] > line[0] and line[3] > line[1]:
                jobs.append((i, _crop(page, line)))
    read: dict[int, list[str]] = {}
    if jobs:
        result = ocr_engine().recognize_txt([crop for _, crop in jobs])
        for (i, _), text in zip(jobs, result.txts, strict=True):
            read.setdefault(i, []).append(text)
    scored = [i for i, fb in enumerate(fields) if normalize(fb.text)]
    errors = sum(char_errors(" ".join(read.get(i, [])), fields[i].text) for i in scored)
    chars = sum(len(normalize(fields[i].text)) for i in scored)
    return Readability(errors / max(chars, 1), errors, chars, len(scored))
