"""Per-page features of the synthetic-to-real gap: image (``docfoundry.pagestats``), text (from the
page's rapidocr lines) and layout (where the text sits), as one flat name -> number mapping.

OCR is the expensive part (seconds per page): each page's lines are kept in a
``distill.cache.CallCache`` under the key ``label`` uses (``distill.ocr.ocr_cache_key``), so a
``label`` run's cache serves ``gap`` and a second ``gap`` run reads no page twice.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

LAYOUT_GRID = (4, 4)  # (columns, rows) of the text occupancy histogram
IMAGE_FEATURES = ("aspect", "megapixels", "paper_level", "ink_level", "contrast", "ink_coverage", "tint",
                  "blur_sigma", "noise_sigma", "abs_skew", "glyph_height")
TEXT_FEATURES = ("lines_per_page", "words_per_line", "chars_per_line", "char_height", "label_share",
                 "digit_share", "ocr_score")
_TOKEN = re.compile(r"[^\W\d_]{2,}")  # words of two or more letters: the vocabulary compared


@dataclass
class PageFeatures:
    """What ``gap`` knows about one page: its id, content digest, features and OCR tokens."""

    id: str
    source: str
    digest: str
    values: dict[str, float] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    thumbnail: bytes = b""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "digest": self.digest,
                "features": {k: round(v, 5) for k, v in self.values.items()}}


def image_features(image: Any) -> dict[str, float]:
    """The page's image measures, with skew as its size (the sign is the scanner's, not the set's)."""
    from docfoundry.pagestats import page_stats

    stats = page_stats(image)
    stats["abs_skew"] = abs(stats.pop("skew_degrees"))
    return {k: stats[k] for k in IMAGE_FEATURES}


def schema_labels(doc: Any) -> list[tuple[str, ...]]:
    """Per schema leaf that has printed labels, its label variants case-folded without a trailing colon."""
    out = []
    for leaf in doc.leaves:
        variants = tuple(sorted({v.casefold().rstrip(": ").strip() for v in leaf.labels} - {""}))
        if variants:
            out.append(variants)
    return out


def text_features(lines: list[Any], size: tuple[int, int], labels: list[tuple[str, ...]] | None) -> dict[str, float]:
    """Text measures of one page from its OCR lines (``distill.ocr.OcrLine``); ``labels`` from
    ``schema_labels`` (no ``label_share`` without a schema)."""
    texts = [line.text for line in lines]
    words = [len(t.split()) for t in texts]
    chars = "".join(texts)
    heights = [line.box[3] - line.box[1] for line in lines]
    out = {
        "lines_per_page": float(len(lines)),
        "words_per_line": statistics.fmean(words) if words else 0.0,
        "chars_per_line": statistics.fmean(len(t) for t in texts) if texts else 0.0,
        "char_height": float(statistics.median(heights)) if heights else 0.0,
        "digit_share": sum(c.isdigit() for c in chars) / len(chars) if chars else 0.0,
        "ocr_score": statistics.fmean(line.score for line in lines) if lines else 0.0,
    }
    if labels is not None:
        page = " \n".join(texts).casefold()
        out["label_share"] = sum(any(printed(v, page) for v in variants) for variants in labels) / max(1, len(labels))
    return out


def printed(label: str, page: str) -> bool:
    """Whether ``label`` stands in ``page`` as words of its own: "form" is not printed in "information"."""
    return re.search(rf"(?<!\w){re.escape(label)}(?!\w)", page) is not None


def layout_features(lines: list[Any], size: tuple[int, int]) -> dict[str, float]:
    """Share of the page's text area in each cell of a ``LAYOUT_GRID`` over the page."""
    cols, rows = LAYOUT_GRID
    width, height = size
    grid = [[0.0] * cols for _ in range(rows)]
    for line in lines:
        x0, y0, x1, y1 = line.box
        for r in range(rows):
            top, bottom = r * height / rows, (r + 1) * height / rows
            dy = min(y1, bottom) - max(y0, top)
            if dy <= 0:
                continue
            for c in range(cols):
                left, right = c * width / cols, (c + 1) * width / cols
                dx = min(x1, right) - max(x0, left)
                if dx > 0:
                    grid[r][c] += dx * dy
    total = sum(map(sum, grid)) or 1.0
    return {f"layout_r{r}c{c}": grid[r][c] / total for r in range(rows) for c in range(cols)}


def page_tokens(lines: list[Any]) -> list[str]:
    """The page's OCR words of two or more letters, case-folded (its vocabulary)."""
    return [t.casefold() for line in lines for t in _TOKEN.findall(line.text)]


def vocabulary_overlap(synth: list[PageFeatures], real: list[PageFeatures]) -> dict[str, float]:
    """How much of the real pages' OCR vocabulary the synthetic pages use: the share of distinct real
    words seen in synthetic text, the share of real word occurrences they cover, and the Jaccard index."""
    vs = {t for p in synth for t in p.tokens}
    real_tokens = [t for p in real for t in p.tokens]
    vr = set(real_tokens)
    if not vr:
        return {"real_words_in_synthetic": 0.0, "real_occurrences_covered": 0.0, "jaccard": 0.0,
                "synthetic_vocabulary": float(len(vs)), "real_vocabulary": 0.0}
    return {"real_words_in_synthetic": len(vs & vr) / len(vr),
            "real_occurrences_covered": sum(t in vs for t in real_tokens) / len(real_tokens),
            "jaccard": len(vs & vr) / len(vs | vr),
            "synthetic_vocabulary": float(len(vs)), "real_vocabulary": float(len(vr))}
