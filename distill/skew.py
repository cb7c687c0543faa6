"""A page's skew from its OCR word boxes, and the lines sheared level.

OCR boxes are axis-aligned, so on a page scanned a degree askew a label and the amount at the far
end of its row no longer share a row (the amount sits half a line up or down). The words of one
line lie on a straight line: the median slope of the page's long lines is its skew, and shifting
every word by ``slope * x`` sets the rows level again before any reader groups them.
"""

from __future__ import annotations

import statistics
from typing import Any

MIN_WORDS = 3        # a line measures the slope with at least this many words
MIN_LINES = 3        # ... and the page with at least this many lines
MIN_SLOPE = 0.004    # less than this (a quarter degree) is left as it is


def _centre(box: list[int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def line_slope(words: list[tuple[str, list[int]]]) -> float | None:
    """The least-squares slope (dy/dx) of a line's word centres, ``None`` for a short line."""
    if len(words) < MIN_WORDS:
        return None
    pts = [_centre(b) for _, b in words]
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    height = statistics.median(b[3] - b[1] for _, b in words)
    if sxx <= 0 or pts[-1][0] - pts[0][0] < 5 * max(1, height):
        return None
    return sum((x - mx) * (y - my) for x, y in pts) / sxx


def page_skew(lines: list[Any]) -> float:
    """The page's skew as a slope (dy/dx), 0.0 when too few lines measure it or it is negligible."""
    slopes = [s for line in lines if (s := line_slope(list(line.words or []))) is not None]
    if len(slopes) < MIN_LINES:
        return 0.0
    slope = statistics.median(slopes)
    return slope if abs(slope) >= MIN_SLOPE else 0.0


def level(lines: list[Any]) -> list[Any]:
    """``lines`` with every word shifted up or down by the page's skew at its x (each line's box the
    union of its words); the lines themselves when the page is level. Texts and scores are kept."""
    slope = page_skew(lines)
    if not slope:
        return lines
    out = []
    for line in lines:
        words = [(t, _sheared(b, slope)) for t, b in (line.words or [(line.text, line.box)])]
        boxes = [b for _, b in words]
        box = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
        out.append(type(line)(line.text, box, line.score, words))
    return out


def _sheared(box: list[int], slope: float) -> list[int]:
    dy = round(slope * (box[0] + box[2]) / 2)
    return [box[0], box[1] - dy, box[2], box[3] - dy]
