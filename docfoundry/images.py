"""Opening page images and rendering PDF pages, with one cap on their size.

Every stage reads pages through here, so a corrupt file, a decompression bomb (a small file that
decodes to billions of pixels) or a PDF page too large to render is one ``BadItem`` naming the
file: the stage records that page and goes on with the others.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

from docfoundry.errors import BadItem

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp")  # the page images folders are read for


def max_pixels() -> int:
    """The largest page accepted, in pixels: Pillow's ``Image.MAX_IMAGE_PIXELS`` (a library user may
    change it there), about 89 million by default (a letter page at 600 DPI is 34 million)."""
    from PIL import Image

    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def _too_large(width: int, height: int, where: str) -> BadItem:
    return BadItem(f"{where}: the page is {width}x{height} pixels, over the limit of {max_pixels():,} "
                   "(a decompression bomb or a huge scan; downscale it)")


def _open(source: Path | bytes, where: str, load: bool, what: str = "image") -> Any:
    from PIL import Image

    image = None
    try:
        with warnings.catch_warnings():
            # between 1x and 2x the limit Pillow only warns and decodes anyway: refuse it too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            width, height = image.size
            if width * height > max_pixels():
                image.close()
                raise _too_large(width, height, where)
            if load:
                image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise BadItem(f"{where}: the {what} is too large to decode ({e})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:  # Pillow's ways of saying "broken file"
        if image is not None:
            image.close()
        detail = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or e.__class__.__name__
        raise BadItem(f"{where}: cannot read the {what} ({detail})") from None
    return image


def decode_image(source: Path | bytes, where: str, what: str = "image") -> tuple[Any, str | None]:
    """The image in ``source`` (a file or encoded bytes) as a loaded RGB ``PIL.Image``, and the
    file's format (``"JPEG"``, ``"PNG"`` ...); a broken or oversized image is a ``BadItem``
    (``"WHERE: cannot read the WHAT (why)"``)."""
    image = _open(source, where, True, what)
    fmt = image.format
    try:
        return image.convert("RGB"), fmt
    except (OSError, ValueError) as e:
        raise BadItem(f"{where}: cannot read the {what} ({e})") from None


def open_image(source: Path | bytes, where: str, what: str = "image") -> Any:
    """The image in ``source`` as a loaded RGB ``PIL.Image`` (see ``decode_image``)."""
    return decode_image(source, where, what)[0]


def image_size(source: Path | bytes, where: str, what: str = "image") -> tuple[int, int]:
    """(width, height) from the image's header, without decoding it; a broken or oversized image
    is a ``BadItem``."""
    image = _open(source, where, False, what)
    try:
        return image.size
    finally:
        image.close()


def render_pdf_page(page: Any, dpi: float, where: str) -> Any:
    """A ``pypdfium2`` page rendered at ``dpi`` as an RGB ``PIL.Image``; a page whose rendering would
    exceed ``max_pixels()`` (a 200-inch page at 150 DPI is 900 million) is refused before rendering."""
    width_pt, height_pt = page.get_size()
    width, height = math.ceil(width_pt * dpi / 72), math.ceil(height_pt * dpi / 72)
    if width * height > max_pixels():
        raise BadItem(f"{where}: the page is {width_pt / 72:.0f}x{height_pt / 72:.0f} inches, "
                      f"{width}x{height} pixels at {dpi:g} DPI, over the limit of {max_pixels():,}")
    return page.render(scale=dpi / 72).to_pil().convert("RGB")
