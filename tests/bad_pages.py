"""Hostile page files built cheaply: a decompression-bomb PNG and a PDF with a 200-inch page."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, side: int = 14_000) -> Path:
    """A valid 1-bit PNG of ``side`` x ``side`` white pixels: a few kB on disk, ``side``² pixels decoded
    (196 million by default, over twice Pillow's limit)."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)  # filter byte + packed pixels
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1 bit, grayscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b""))
    return path


def huge_page_pdf(path: Path, inches: float = 200) -> Path:
    """A one-page PDF whose page is ``inches`` square (900 million pixels at 150 DPI)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(inches * 72, inches * 72))
    c.drawString(72, 72, "a very large page")
    c.showPage()
    c.save()
    return path
