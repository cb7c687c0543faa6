"""A page as a display list in top-down points: text lines made of runs, rules and boxes.

Drawing records every word's box and every field's box from the font metrics at the moment the
text is placed, so truth is exact by construction; ``to_pdf`` then emits the same list through
ReportLab. Coordinates grow downwards like image pixels; the PDF flip happens once, in ``to_pdf``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

BOLD = {"Helvetica": "Helvetica-Bold", "Times-Roman": "Times-Bold", "Courier": "Courier-Bold"}
MIN_FONT_SIZE = 4.0
_WORD = re.compile(r"\S+")


def _run_edges(runs: list[Run]) -> list[int]:
    """Character offsets where each run's stripped text starts and ends."""
    edges, pos = [], 0
    for r in runs:
        lead = len(r.text) - len(r.text.lstrip())
        edges += [pos, pos + lead, pos + lead + len(r.text.strip())]
        pos += len(r.text)
    return edges


@dataclass
class Run:
    """A piece of a text line; ``path`` marks it as (part of) a schema field."""

    text: str
    path: str | None = None


@dataclass
class Page:
    """The display list of one page, plus the word and field boxes it produced (points)."""

    width: float
    height: float | None = None  # None: grows with content (till rolls)
    paper: str = ""
    ops: list[tuple] = field(default_factory=list)
    words: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    fields: dict[str, list[tuple[str, tuple[float, float, float, float]]]] = field(default_factory=dict)
    bottom: float = 0.0

    @staticmethod
    @lru_cache(maxsize=1 << 16)  # labels, copies and glyphs repeat: reportlab's width is pure Python here
    def width_of(text: str, font: str, size: float) -> float:
        from reportlab.pdfbase.pdfmetrics import stringWidth

        return stringWidth(text, font, size)

    @staticmethod
    def line_height(font: str, size: float) -> tuple[float, float]:
        """(ascent, descent) in points; descent is negative."""
        from reportlab.pdfbase.pdfmetrics import getAscentDescent

        return getAscentDescent(font, size)

    def fit_size(self, text: str, font: str, size: float, max_width: float | None) -> float:
        """Shrink the font until ``text`` fits ``max_width`` (never below MIN_FONT_SIZE)."""
        if max_width is None or not text:
            return size
        w = self.width_of(text, font, size)
        return size if w <= max_width else max(MIN_FONT_SIZE, size * max_width / w * 0.999)

    def text(self, x: float, top: float, runs: list[Run], font: str, size: float, *,
             align: str = "left", max_width: float | None = None,
             color: tuple[float, float, float] = (0, 0, 0)) -> tuple[float, float]:
        """Draw one line of runs with its top at ``top``; returns (width, height) used.

        ``align`` positions the line inside ``[x, x + max_width]``.
        """
        full = "".join(r.text for r in runs)
        size = self.fit_size(full, font, size, max_width)
        ascent, descent = self.line_height(font, size)
        total = self.width_of(full, font, size)
        if align != "left" and max_width is not None:
            x += (max_width - total) * (0.5 if align == "center" else 1.0)
        baseline = top + ascent
        if full.strip():
            self.ops.append(("text", x, baseline, full, font, size, color))
        y0, y1 = top, top + ascent - descent
        # x offset of every word and run start: widths are additive (no kerning in the base fonts)
        cuts = sorted({0, len(full)} | {m.start() for m in _WORD.finditer(full)}
                      | {m.end() for m in _WORD.finditer(full)} | set(_run_edges(runs)))
        offset, xs = 0.0, {}
        for a, b in zip(cuts, cuts[1:]):
            xs[a] = offset
            offset += self.width_of(full[a:b], font, size)
        xs[len(full)] = offset
        for m in _WORD.finditer(full):
            self.words.append((m.group(), x + xs[m.start()], y0, x + xs[m.end()], y1))
        pos = 0
        for r in runs:
            stripped = r.text.strip()
            if r.path is not None and stripped:
                start = pos + (len(r.text) - len(r.text.lstrip()))
                box = (x + xs[start], y0, x + xs[start + len(stripped)], y1)
                self.fields.setdefault(r.path, []).append((stripped, box))
            pos += len(r.text)
        self.bottom = max(self.bottom, y1)
        return total, y1 - y0

    def rect(self, x: float, top: float, w: float, h: float, *, stroke: bool = True,
             fill: tuple[float, float, float] | None = None, line_width: float = 0.6,
             color: tuple[float, float, float] = (0, 0, 0), under: int | None = None) -> None:
        """A box; ``under`` = an op index to insert it at (a background for text already drawn)."""
        op = ("rect", x, top, w, h, stroke, fill, line_width, color)
        self.ops.insert(under, op) if under is not None else self.ops.append(op)
        self.bottom = max(self.bottom, top + h)

    def hline(self, x0: float, x1: float, y: float, *, line_width: float = 0.6,
              color: tuple[float, float, float] = (0, 0, 0), dash: bool = False) -> None:
        self.ops.append(("line", x0, y, x1, y, line_width, color, dash))

    def vline(self, x: float, y0: float, y1: float, *, line_width: float = 0.6,
              color: tuple[float, float, float] = (0, 0, 0)) -> None:
        self.ops.append(("line", x, y0, x, y1, line_width, color, False))

    def ellipse(self, x: float, top: float, w: float, h: float, fill: tuple[float, float, float]) -> None:
        self.ops.append(("ellipse", x, top, w, h, fill))

    def field_boxes(self) -> dict[str, tuple[str, tuple[float, float, float, float]]]:
        """Each field's printed text (lines joined by newlines) and the union of its boxes."""
        out = {}
        for path, parts in self.fields.items():
            text = "\n".join(t for t, _ in parts)
            box = (min(b[0] for _, b in parts), min(b[1] for _, b in parts),
                   max(b[2] for _, b in parts), max(b[3] for _, b in parts))
            out[path] = (text, box)
        return out

    def to_pdf(self, height: float) -> bytes:
        """The page as PDF bytes (invariant: the same list gives the same bytes)."""
        return pages_pdf([self], height)

    def draw_on(self, c: Any, height: float) -> None:
        """Emit the display list on a ReportLab canvas page ``height`` points tall."""
        for op in self.ops:
            _emit(c, height, op)


def _emit(c: Any, height: float, op: tuple) -> None:
    kind = op[0]
    if kind == "text":
        _, x, baseline, text, font, size, color = op
        c.setFillColorRGB(*color)
        c.setFont(font, size)
        c.drawString(x, height - baseline, text)
    elif kind == "rect":
        _, x, top, w, h, stroke, fill, lw, color = op
        c.setDash()  # a dashed rule drawn before must not dash the box
        c.setLineWidth(lw)
        c.setStrokeColorRGB(*color)
        if fill is not None:
            c.setFillColorRGB(*fill)
        c.rect(x, height - top - h, w, h, stroke=int(stroke), fill=int(fill is not None))
    elif kind == "line":
        _, x0, y0, x1, y1, lw, color, dash = op
        c.setLineWidth(lw)
        c.setStrokeColorRGB(*color)
        c.setDash(2, 2) if dash else c.setDash()
        c.line(x0, height - y0, x1, height - y1)
    elif kind == "ellipse":
        _, x, top, w, h, fill = op
        c.setFillColorRGB(*fill)
        c.ellipse(x, height - top - h, x + w, height - top, stroke=0, fill=1)
    elif kind == "draw":  # ("draw", fn, *args): a drawer of another module, fn(canvas, height, *args)
        op[1](c, height, *op[2:])
    elif kind == "moved":  # ("moved", dy, op): an op drawn dy points higher up (a later page's share)
        c.saveState()
        c.translate(0, op[1])
        _emit(c, height, op[2])
        c.restoreState()


def pages_pdf(pages: list[Page], height: float) -> bytes:
    """One PDF with a page per display list, each ``height`` points tall (invariant: the same lists
    give the same bytes; one page gives the bytes ``Page.to_pdf`` always gave)."""
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(pages[0].width, height), invariant=1, pageCompression=0)
    for page in pages:
        page.draw_on(c, height)
        c.showPage()
    c.save()
    return buf.getvalue()
