"""The pages a teacher labels: a folder of images and/or PDFs (each PDF page a page), or any layout
``docfoundry.adapters`` reads (a docfoundry dataset folder, ``labels.jsonl``, CORD, SROIE, FUNSD).
A dataset folder's document of several pages is one item: its first page with the others in
``PageImage.more``; the labeler reads each page's OCR and ``stacked`` joins them into one reading.

Listing is cheap; a page's image is read (or its PDF page rendered) only when it is labeled, so a
corrupt file fails that page alone, with the reason, and the run goes on.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docfoundry.errors import BadItem, UserError
from docfoundry.images import IMAGE_SUFFIXES

KEPT_FORMATS = {"JPEG": "jpg", "PNG": "png"}  # other formats are re-encoded as PNG
PDF_DPI = 150


# A page that cannot be read (corrupt or oversized image, broken PDF page, path leading out of its
# folder); the run records it and goes on. The core's image and path helpers raise it.
PageError = BadItem


@dataclass
class PageImage:
    """A page ready for a teacher: encoded bytes (what is hashed and stored), extension and image;
    ``more`` holds the later pages of a document of several pages (this is its first)."""

    data: bytes
    ext: str
    image: object  # PIL.Image in RGB
    more: list[PageImage] = field(default_factory=list)

    @property
    def pages(self) -> list[PageImage]:
        """Every page of the document, this one first."""
        return [self, *self.more]

    def document_hash(self) -> str:
        """What a teacher call's cache key hashes: the page's bytes, or every page's for a document."""
        from distill.cache import digest

        if not self.more:
            return digest(self.data)
        return digest("\n".join(digest(p.data) for p in self.pages).encode())


def stacked(pages: list[list[Any]], heights: list[int]) -> list[Any]:
    """The OCR lines (``distill.ocr.OcrLine``) of a document's pages, read one by one, as one reading:
    page k's lines moved down by the heights of the pages above it, so a teacher that reads lines by
    their place (the ocr teacher) reads page 2 after page 1. ``unstacked`` undoes it."""
    from distill.ocr import OcrLine

    out, top = [], 0
    for lines, height in zip(pages, heights):
        def down(b: list[int], dy: int = top) -> list[int]:
            return [b[0], b[1] + dy, b[2], b[3] + dy]

        out += [OcrLine(ln.text, down(ln.box), ln.score, [(t, down(b)) for t, b in ln.words]) for ln in lines]
        top += height
    return out


def unstacked(box: list[int], heights: list[int]) -> tuple[int, list[int]]:
    """(page, box in that page's pixels) of a box in ``stacked`` coordinates."""
    top = 0
    for page, height in enumerate(heights):
        if box[1] < top + height or page == len(heights) - 1:
            return page, [box[0], box[1] - top, box[2], box[3] - top]
        top += height
    raise ValueError("no pages")


@dataclass
class Page:
    """One page to label; ``read()`` loads its image or raises ``PageError``."""

    id: str
    source: str
    split: str
    read: Callable[[], PageImage]
    page_count: int = 1  # a document's pages, known from the listing before any image is read


def decode_image(data: bytes, where: str) -> PageImage:
    """Check and open encoded image bytes (``docfoundry.images``: broken or oversized is a
    ``PageError``); JPEG and PNG are kept as they are."""
    from docfoundry.images import decode_image as decode

    image, fmt = decode(data, where)
    if fmt in KEPT_FORMATS:
        return PageImage(data, KEPT_FORMATS[fmt], image)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return PageImage(buf.getvalue(), "png", image)


def _read_file(path: Path) -> Callable[[], PageImage]:
    def read() -> PageImage:
        try:
            data = path.read_bytes()
        except OSError as e:
            raise PageError(f"{path}: cannot read ({e.strerror})") from None
        return decode_image(data, str(path))
    return read


def _read_embedded(load: Callable[[], bytes], where: str) -> Callable[[], PageImage]:
    def read() -> PageImage:
        try:
            data = load()
        except (OSError, ValueError) as e:
            raise PageError(f"{where}: cannot read the embedded image ({e})") from None
        return decode_image(data, where)
    return read


def _read_pdf_page(path: Path, index: int) -> Callable[[], PageImage]:
    def read() -> PageImage:
        import pypdfium2 as pdfium

        from docfoundry.images import render_pdf_page

        where = f"{path} page {index + 1}"
        try:
            pdf = pdfium.PdfDocument(str(path))
            try:
                image = render_pdf_page(pdf[index], PDF_DPI, where)  # a huge page is refused unrendered
            finally:
                pdf.close()
        except (pdfium.PdfiumError, OSError, IndexError) as e:
            raise PageError(f"{where}: cannot render ({e})") from None
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=90)
        return PageImage(buf.getvalue(), "jpg", image)
    return read


def _unreadable(message: str) -> Callable[[], PageImage]:
    def read() -> PageImage:
        raise PageError(message)
    return read


def page_id(rel: Path) -> str:
    """A file's id: its path under the source folder, without suffix, as safe characters."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "__".join(rel.with_suffix("").parts))


def _pdf_pages(path: Path, base: str) -> list[Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
        count = len(pdf)
        pdf.close()
    except (pdfium.PdfiumError, OSError) as e:
        return [Page(base, str(path), "train", _unreadable(f"{path}: not a readable PDF ({e})"))]
    return [Page(f"{base}_p{i + 1:03d}", f"{path}#page={i + 1}", "train", _read_pdf_page(path, i))
            for i in range(count)]


def folder_pages(folder: Path) -> list[Page]:
    """Every image and PDF page under ``folder`` (recursive, sorted by path); a file that is a
    symbolic link leading out of ``folder`` is a failed page, not read."""
    from docfoundry.paths import inside

    pages: list[Page] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        base = page_id(path.relative_to(folder))
        if suffix not in (".pdf", *IMAGE_SUFFIXES):
            continue
        try:
            inside(folder, path.relative_to(folder), "file")
        except BadItem as e:
            pages.append(Page(base, str(path), "train", _unreadable(str(e))))
            continue
        if suffix == ".pdf":
            pages += _pdf_pages(path, base)
        elif suffix in IMAGE_SUFFIXES:
            pages.append(Page(base, str(path), "train", _read_file(path)))
    return pages


def _read_document(paths: list[str]) -> Callable[[], PageImage]:
    """A document of several page files: its first page, the others in ``more``."""
    def read() -> PageImage:
        first, *rest = [_read_file(Path(p))() for p in paths]
        first.more = rest
        return first
    return read


def adapter_pages(folder: Path) -> list[Page] | None:
    """Pages of a layout that ``docfoundry.adapters`` knows (``None`` when none fits the folder)."""
    from docfoundry.adapters import ADAPTERS, load_truth

    if not any(a.detect(folder) for a in ADAPTERS.values()):
        return None
    truth = load_truth(folder)
    pages = []
    for r in truth.records:
        count = 1
        if r.image_bytes is not None or r.image_problem:
            read = _read_embedded(r.read_image_bytes, f"{truth.source} {r.id}")  # a refused path fails here
        elif len(r.pages) > 1:  # a document of several pages is labeled as one, every page read
            read, count = _read_document(r.pages), len(r.pages)
        elif r.image:
            read = _read_file(Path(r.image))
        else:
            read = _unreadable(f"{truth.source} {r.id}: the record names no image")
        pages.append(Page(r.id, r.image or f"{truth.source}#{r.id}", r.split, read, count))
    return pages


def list_pages(source: str | Path, limit: int = 0) -> list[Page]:
    """The pages of ``source`` in a fixed order; ``limit`` keeps the first N (0 = all)."""
    folder = Path(source)
    if folder.is_file():
        suffix = folder.suffix.lower()
        if suffix == ".pdf":
            pages = _pdf_pages(folder, page_id(Path(folder.name)))
        elif suffix in IMAGE_SUFFIXES:
            pages = [Page(page_id(Path(folder.name)), str(folder), "train", _read_file(folder))]
        else:
            raise UserError(f"{folder}: not an image, a PDF or a folder of them")
    elif folder.is_dir():
        pages = adapter_pages(folder)
        if pages is None:
            pages = folder_pages(folder)
    else:
        raise UserError(f"{folder}: input not found")
    if not pages:
        raise UserError(f"{folder}: no images or PDFs found (looked for {', '.join(IMAGE_SUFFIXES)}, .pdf)")
    seen: set[str] = set()
    for p in pages:
        if p.id in seen:
            raise UserError(f"{folder}: two pages get the id '{p.id}' (rename one of the files)")
        seen.add(p.id)
    return pages[:limit] if limit else pages
