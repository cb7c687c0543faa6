"""Page OCR with rapidocr (PP-OCR models bundled in its wheel, so it runs offline): text lines and
word boxes in pixels of the page image.

The OCR teacher reads fields from these lines, and every other teacher's answer is grounded
against them. One engine per process, one thread (workers scale out with processes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# Engine settings: part of the cache key of an OCR result, so a change re-reads pages.
ENGINE_PARAMS = {
    "Global.log_level": "error",
    "Global.use_cls": False,            # pages are upright; the angle classifier only costs time
    "Global.return_word_box": True,     # word boxes for the output rows' ``words``
    "EngineConfig.onnxruntime.intra_op_num_threads": 1,
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
}
# Small print: a page whose median text line is under SMALL_LINE pixels in the detector's input is
# read again with the detector's shorter side at SMALL_PRINT_SIDE (rapidocr's default 736 merges and
# misses ~19 px lines of 100-dpi forms; larger print is read once, as before).
SMALL_LINE = 24
SMALL_PRINT_SIDE = 1280
MAX_SIDE, DET_SIDE = 2000, 736  # rapidocr's defaults: Global.max_side_len, Det.limit_side_len


@dataclass
class OcrLine:
    """One text segment as rapidocr found it, with its word boxes ``(text, [x0, y0, x1, y1])``."""

    text: str
    box: list[int]
    score: float
    words: list[tuple[str, list[int]]]

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "box": self.box, "score": round(self.score, 4),
                "words": [[t, b] for t, b in self.words]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OcrLine:
        return cls(d["text"], list(d["box"]), float(d["score"]), [(t, list(b)) for t, b in d["words"]])


def engine_version() -> str:
    """The installed rapidocr version (part of an OCR result's cache key)."""
    from importlib.metadata import version

    return version("rapidocr")


def ocr_identity() -> dict[str, Any]:
    """What defines an OCR result besides the image: engine, version and settings."""
    return {"engine": "rapidocr", "version": engine_version(), "params": ENGINE_PARAMS,
            "small_print": [SMALL_LINE, SMALL_PRINT_SIDE]}


def ocr_cache_key(image_hash: str) -> str:
    """The key of a page's OCR lines in a ``distill.cache.CallCache`` (``image_hash``: the SHA-256 of
    the page's encoded bytes, ``distill.pages.PageImage.data``); ``label`` and ``gap`` share it."""
    from distill.cache import call_key

    return call_key(call="ocr", image=image_hash, ocr=ocr_identity())


@lru_cache(maxsize=2)
def ocr_engine(det_side: int = 0) -> Any:
    """The process's rapidocr engine (built once: loading the models takes about a second);
    ``det_side``: the detector's shorter side when not rapidocr's default."""
    from rapidocr import RapidOCR

    params = dict(ENGINE_PARAMS)
    if det_side:
        params.update({"Det.limit_side_len": det_side, "Det.limit_type": "min"})
    return RapidOCR(params=params)


def warm_engines() -> None:
    """Load both engines ``read_page`` may use, so that a benchmark does not time a model load."""
    ocr_engine()
    ocr_engine(SMALL_PRINT_SIDE)


def _box(points: Any) -> list[int]:
    xs = [float(p[0]) for p in points]
    ys = [float(p[1]) for p in points]
    return [int(min(xs)), int(min(ys)), int(round(max(xs))), int(round(max(ys)))]


def _shrink(width: int, height: int) -> float:
    """The scale rapidocr first brings a ``width`` x ``height`` page to (its longest side's cap)."""
    return min(1.0, MAX_SIDE / max(width, height))


def detector_line_height(lines: list[OcrLine], width: int, height: int) -> float:
    """The median line height of ``lines`` (a ``width`` x ``height`` page) as rapidocr's detector saw
    it: the page is first shrunk to its longest side's cap, then grown to its shorter side's floor."""
    import statistics

    if not lines:
        return float("inf")
    shrink = _shrink(width, height)
    grow = max(1.0, DET_SIDE / (min(width, height) * shrink))
    return statistics.median(line.box[3] - line.box[1] for line in lines) * shrink * grow


def _read(image: Any, det_side: int = 0) -> list[OcrLine]:
    import numpy as np

    result = ocr_engine(det_side)(np.asarray(image))
    if result.txts is None:
        return []
    words_per_line = result.word_results or [()] * len(result.txts)
    lines = []
    for points, text, score, words in zip(result.boxes, result.txts, result.scores, words_per_line):
        word_boxes = [(w[0], _box(w[2])) for w in words if w and str(w[0]).strip()]
        lines.append(OcrLine(str(text), _box(points), float(score), word_boxes or [(str(text), _box(points))]))
    return lines


def read_page(image: Any) -> list[OcrLine]:
    """OCR one page (``PIL.Image``); lines come in rapidocr's reading order (top to bottom). Small
    print (see ``SMALL_LINE``) is read a second time by a detector that sees the page larger."""
    page = image.convert("RGB")
    lines = _read(page)
    shorter = min(page.size) * _shrink(*page.size)
    if detector_line_height(lines, *page.size) < SMALL_LINE and shorter < SMALL_PRINT_SIDE:
        return _read(page, SMALL_PRINT_SIDE)
    return lines


def page_text(lines: list[OcrLine]) -> str:
    """The page's OCR text, one segment per line."""
    return "\n".join(line.text for line in lines)


def cached_lines(cache: Any, data: bytes, image: Any) -> list[OcrLine]:
    """A page's OCR lines through a ``distill.cache.CallCache`` under the key ``label`` and ``gap``
    use: read from the cache, else OCR ``image`` (the page decoded from ``data``) and add them."""
    from distill.cache import digest

    key = ocr_cache_key(digest(data))
    found = cache.get(key)
    if found is None:
        found = [line.to_json() for line in read_page(image)]
        cache.put(key, found)
    return [OcrLine.from_json(d) for d in found]
