"""Measure every page of one set: read it, take its image features, OCR it through the shared cache,
and keep a thumbnail of the first few for the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docfoundry.errors import UserError
from eval.gap.features import PageFeatures

THUMBNAILS = 4     # sample pages per set shown in the report
THUMB_SIDE = 300


def pick_pages(source: str, split: str, max_pages: int, flag: str) -> list[Any]:
    """The pages of ``source`` (any layout ``label --in`` reads) in ``split`` ("" = all), the first
    ``max_pages`` of them when set (the pages ``label --limit`` takes, so the two share their OCR)."""
    from distill.pages import list_pages

    pages = list_pages(source)
    if split:
        pages = [p for p in pages if p.split == split]
        if not pages:
            raise UserError(f"{flag} {source}: no pages in split '{split}'")
    return pages[:max_pages] if max_pages else pages


def _measure(args: tuple[bytes, str, bool, bool]) -> tuple[dict[str, float], list[dict[str, Any]] | None, bytes]:
    """One page in a worker: image features, OCR lines (when not cached) and an optional thumbnail."""
    from distill.ocr import read_page
    from docfoundry.images import open_image
    from eval.gap.features import image_features
    from eval.plots import thumbnail

    data, where, need_ocr, thumb = args
    image = open_image(data, where, "page image")
    lines = [line.to_json() for line in read_page(image)] if need_ocr else None
    return image_features(image), lines, thumbnail(image, THUMB_SIDE) if thumb else b""


def measure_set(pages: list[Any], name: str, cache: Any, *, ocr: bool, labels: list[tuple[str, ...]] | None,
                workers: int = 1, progress: bool = True) -> list[PageFeatures]:
    """Features of every page (``distill.pages.Page``); OCR lines are read from and added to ``cache``
    (a ``distill.cache.CallCache``). An unreadable page stops the run naming its file."""
    from distill.cache import digest
    from distill.ocr import OcrLine, ocr_cache_key
    from docfoundry.parallel import ordered_map
    from docfoundry.progress import track
    from eval.gap.features import layout_features, page_tokens, text_features

    jobs, known = [], []
    for i, page in enumerate(pages):
        img = page.read()  # a BadItem names the file: one line, exit 2 (a gap over a set with holes misleads)
        h = digest(img.data)
        need = ocr and ocr_cache_key(h) not in cache
        jobs.append((img.data, page.source, need, i < THUMBNAILS))
        known.append((page, h, img.image.size, need))
    results = ordered_map(_measure, jobs, workers=workers)
    if progress:
        results = track(results, len(jobs), f"gap: {name}")
    out = []
    for (page, h, size, need), (values, lines, thumb) in zip(known, results):
        if ocr:
            key = ocr_cache_key(h)
            if need:
                cache.put(key, lines)
            ocr_lines = [OcrLine.from_json(d) for d in cache.get(key)]
            values = {**values, **text_features(ocr_lines, size, labels), **layout_features(ocr_lines, size)}
            tokens = page_tokens(ocr_lines)
        else:
            tokens = []
        out.append(PageFeatures(page.id, page.source, h, values, tokens, thumb))
    return out


def check_source(path: str, flag: str) -> None:
    """A missing input is one line naming the flag and the path."""
    if not Path(path).exists():
        raise UserError(f"{flag} {path}: not found")
