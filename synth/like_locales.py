"""``synth --like``'s locale fit: the supported locales whose pages read like the text of the scans.

A few scans are read with rapidocr; each candidate locale draws a few clean pages of the requested
types, and a classifier trained on their printed text (scikit-learn: tf-idf character n-grams and
logistic regression, the standard way to tell languages apart, which also tells apart countries
that share one by their names, street words, towns and company forms) says per scan which locale
printed it. The pages are then drawn in the winning locales, each as often as it won. The text
comes from the same generators the pages are drawn with, so no word list sits in code. Letters
only: amounts and dates say little about a country.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synth.generate import Rendered

SCANS = 8             # scans read (evenly spaced over the folder)
PAGES_PER_LOCALE = 8  # clean pages drawn per candidate locale
OCR_SIDE = 2000       # longest side a scan is read at (detection cost grows with the pixels)
NGRAMS = (2, 4)       # character n-gram lengths compared, inside words
C = 10.0              # inverse regularisation of the locale classifier (few pages, many n-grams: weak)
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def letters_of(text: str) -> str:
    """``text`` case-folded with every run of non-letters (digits, punctuation, space) one space."""
    return " ".join(_NOT_LETTERS.sub(" ", text.casefold()).split())


def read_scan_text(path: Path, side: int = OCR_SIDE) -> str:
    """The letters rapidocr reads on one scan (downscaled to ``side``); an unreadable file names itself."""
    import numpy as np

    from docfoundry.images import open_image
    from synth.readability import ocr_engine

    image = open_image(path, str(path), "scan").convert("RGB")
    scale = side / max(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
    return letters_of(" ".join(ocr_engine()(np.asarray(image)).txts or ()))


def locale_pages(render: Callable[[str, int], Rendered], locale: str, pages: int) -> list[str]:
    """The letters printed on each of ``pages`` clean pages drawn in ``locale``."""
    return [letters_of(" ".join(w.text for w in render(locale, i).sample.words)) for i in range(pages)]


def locale_probabilities(scan_texts: list[str], pages: dict[str, list[str]]) -> list[dict[str, float]]:
    """Per scan, the probability of each locale by a classifier trained on the locales' pages:
    logistic regression on tf-idf character n-grams (scikit-learn), so n-grams every locale prints
    (labels, catalogue items) weigh little and the ones a country prints (its names, streets, towns,
    company forms) decide."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = [t for texts in pages.values() for t in texts]
    labels = [loc for loc, texts in pages.items() for _ in texts]
    model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True),
                          LogisticRegression(C=C, max_iter=1000))
    model.fit(texts, labels)
    classes = list(model.classes_)
    return [{loc: float(row[classes.index(loc)]) for loc in pages} for row in model.predict_proba(scan_texts)]


@dataclass
class LocaleFit:
    """The locales the pages are drawn in (a winner once per share of the votes) and why."""

    locales: list[str]
    votes: dict[str, int]
    probability: dict[str, float]  # per candidate: the mean probability a scan was printed in it
    scans: int

    def to_json(self) -> dict[str, Any]:
        """What ``run.json`` keeps of the fit."""
        return {"locales": self.locales, "votes": self.votes, "probability": self.probability, "scans": self.scans}


def drawn_locales(votes: dict[str, int]) -> list[str]:
    """Each voted locale repeated in proportion to its votes, in lowest terms (8:0 is one entry, 6:2 is 3:1)."""
    unit = math.gcd(*votes.values())
    return [loc for loc, n in votes.items() for _ in range(n // unit)]


def fit_locales(files: list[Path], render: Callable[[str, int], Rendered], candidates: list[str], *,
                scans: int = SCANS, pages: int = PAGES_PER_LOCALE, progress: bool = False) -> LocaleFit:
    """Vote the ``candidates`` on up to ``scans`` of ``files`` (evenly spaced); ``render(locale, i)``
    draws clean page ``i`` in one locale. Scans OCR reads no letter on keep out of the vote; with no
    vote at all (or one candidate), the candidates stay as they are."""
    import statistics

    from synth.like import evenly_spaced

    if len(candidates) < 2:  # nothing to choose: no scan is read
        return LocaleFit(locales=list(candidates), votes={}, probability=dict.fromkeys(candidates, 1.0), scans=0)
    files = evenly_spaced(files, scans)
    read = (read_scan_text(f) for f in files)
    if progress:
        from docfoundry.progress import track

        read = track(read, len(files), "like: locales", unit="scans")
    texts = [t for t in read if t]
    rows = locale_probabilities(texts, {loc: locale_pages(render, loc, pages) for loc in candidates}) if texts else []
    votes = Counter(max(candidates, key=lambda loc: row[loc]) for row in rows)  # ties: the first candidate
    ordered = {loc: votes[loc] for loc in candidates if votes[loc]}
    return LocaleFit(locales=drawn_locales(ordered) if ordered else list(candidates), votes=ordered,
                     probability={loc: round(statistics.fmean(r[loc] for r in rows), 4) if rows else 0.0
                                  for loc in candidates}, scans=len(texts))
