"""PDF -> page image (pypdfium2), image encoding, and the text-layer read-back behind ``--verify``."""

from __future__ import annotations

import io
import re
from typing import Any

_WS = re.compile(r"\s+")


def rasterize(pdf: bytes, dpi: int, page: int = 0) -> Any:
    """Render page ``page`` (0-based) of ``pdf`` at ``dpi`` as an RGB PIL image."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        # rev_byteorder: pdfium writes RGB directly, so PIL wraps it without a BGR->RGB copy
        image = doc[page].render(scale=dpi / 72, rev_byteorder=True, may_draw_forms=False).to_pil()
        return image if image.mode == "RGB" else image.convert("RGB")
    finally:
        doc.close()


def encode(image: Any, fmt: str = "jpg", quality: int = 90) -> bytes:
    """Image bytes: JPEG (quality ``quality``) or PNG."""
    buf = io.BytesIO()
    if fmt == "png":
        image.save(buf, "PNG")
    else:
        image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def squash(text: str) -> str:
    """Whitespace-insensitive form for comparing printed text."""
    return _WS.sub("", text)


def verify_fields(pdf: bytes, page_height: float,
                  fields: dict[str, tuple[str, tuple[float, float, float, float]]], page: int = 0) -> list[str]:
    """Re-read the text layer of PDF page ``page`` (0-based) inside each field box; returns the
    paths whose text is not there.

    Boxes are top-down points (as drawn); the PDF's origin is bottom-left.
    """
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        text_page = doc[page].get_textpage()
        bad = []
        for path, (text, (x0, y0, x1, y1)) in fields.items():
            found = text_page.get_text_bounded(left=x0 - 0.5, bottom=page_height - y1 - 0.5,
                                               right=x1 + 0.5, top=page_height - y0 + 0.5)
            if squash(text) not in squash(found):
                bad.append(path)
        return bad
    finally:
        doc.close()
