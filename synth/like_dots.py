"""``synth --like``: were the scans printed by a print head? Judged by how surely OCR reads them.

Vector glyphs read too surely: on sroie-dev's till rolls rapidocr's mean line score is 0.984, on
``--like`` pages 0.995 whatever their blur, noise or JPEG (the gap's most separating feature). A
thermal or dot-matrix head prints each glyph as dots, and rapidocr reads dots as unsurely as it reads
the rolls. So the fit reads a few scans and the calibration pages degraded with the fitted preset,
with and without the head's dots (``print_dots`` at the head's pitch), and keeps the dots when the
dotted pages read closer to the scans' sureness. Every number is OCR's own; nothing comes from the files.
"""

from __future__ import annotations

import copy
import statistics
from pathlib import Path
from typing import Any

HEAD_DPI = 203     # the common thermal head: 8 dots a millimetre
SCANS = 4          # scans read (evenly spaced over the folder)
FILL = 1.4         # a dot's width in pitches: neighbouring dots run into each other (a solid stroke stays solid)
JITTER = 0.35      # spread of a dot's darkness (uneven heat)
MIN_PITCH = 1.2    # dots closer than this many pixels do not show at the page's resolution: none are tried


def head_pitch(dpi: float) -> float:
    """The head's dot pitch in pixels of a page rendered at ``dpi``."""
    return round(dpi / HEAD_DPI, 3)


def with_dots(data: dict[str, Any], pitch: float) -> dict[str, Any]:
    """Preset data whose ink is first printed through the head's dots (before any fading acts on it)."""
    out = copy.deepcopy(data)
    out["ink"] = [{"effect": "print_dots", "pitch": pitch, "fill": FILL, "jitter": JITTER},
                  *[s for s in out["ink"] if s.get("effect") != "print_dots"]]
    return out


def sureness(images: list[Any]) -> float:
    """The median over ``images`` of their mean OCR line score (0 for a page OCR finds no line on)."""
    import numpy as np

    from synth.readability import ocr_engine

    scores = []
    for image in images:
        got = ocr_engine()(np.asarray(image.convert("RGB"))).scores
        scores.append(statistics.fmean(float(s) for s in got) if got else 0.0)
    return statistics.median(scores)


def scans_sureness(files: list[Path]) -> float:
    """``sureness`` of the scans ``files`` (an unreadable one stops naming its file)."""
    from docfoundry.images import open_image

    return sureness([open_image(f, str(f), "scan") for f in files])


def choose(scans: float, plain: float, dotted: float) -> bool:
    """Print in dots when dotted pages read closer to the scans' sureness than plain ones."""
    return abs(dotted - scans) < abs(plain - scans)
