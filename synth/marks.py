"""Marks a scanned form carries besides its fields: turned text (stamps, a file number printed up
the margin), stamp frames, punch holes and signature scrawls.

Every word drawn here goes into the page's words with the axis-aligned box of its turned outline,
so the word list still names all printed text; none of it is a schema field.
"""

from __future__ import annotations

import math
import random

from synth.render import Page

STAMP_INKS = ((0.7, 0.1, 0.12), (0.15, 0.2, 0.6), (0.4, 0.1, 0.45), (0.1, 0.1, 0.1))


def _turned_box(cx: float, cy: float, w: float, h: float, angle: float) -> tuple[float, float, float, float]:
    """Top-down box around a ``w`` x ``h`` rectangle centred at (cx, cy), turned by ``angle``
    radians counter-clockwise as seen on the page."""
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    hw, hh = (w * cos + h * sin) / 2, (w * sin + h * cos) / 2
    return cx - hw, cy - hh, cx + hw, cy + hh


def turned_text(page: Page, cx: float, cy: float, text: str, font: str, size: float, angle: float,
                color: tuple[float, float, float] = (0, 0, 0)) -> tuple[float, float, float, float]:
    """One line centred at (cx, cy) turned by ``angle`` radians; records each word's box and
    returns the line's box."""
    ascent, descent = page.line_height(font, size)
    total = page.width_of(text, font, size)
    h = ascent - descent
    cos, sin = math.cos(angle), math.sin(angle)
    # word centres along the turned baseline direction (page y grows downwards)
    offset = 0.0
    for word in text.split(" "):
        if word:
            ww = page.width_of(word, font, size)
            along = offset + ww / 2 - total / 2
            page.words.append((word, *_turned_box(cx + along * cos, cy - along * sin, ww, h, angle)))
        offset += page.width_of(word + " ", font, size)
    page.ops.append(("draw", _draw_turned, cx, cy, text, font, size, angle, color, total, ascent, descent))
    box = _turned_box(cx, cy, total, h, angle)
    page.bottom = max(page.bottom, box[3])
    return box


def _draw_turned(c, height: float, cx: float, cy: float, text: str, font: str, size: float, angle: float,
                 color: tuple[float, float, float], total: float, ascent: float, descent: float) -> None:
    c.saveState()
    c.translate(cx, height - cy)
    c.rotate(math.degrees(angle))
    c.setFillColorRGB(*color)
    c.setFont(font, size)
    c.drawString(-total / 2, -(ascent + descent) / 2, text)
    c.restoreState()


def stamp(page: Page, x: float, top: float, lines: list[str], size: float, rng: random.Random,
          max_width: float) -> float:
    """A rubber stamp: a frame around one to three lines of capitals, turned a little and inked in
    one colour, with its left edge near ``x``; returns the height it takes."""
    font = rng.choice(("Helvetica-Bold", "Courier-Bold", "Times-Bold"))
    ink = rng.choice(STAMP_INKS)
    angle = math.radians(rng.uniform(-14, 14))
    sizes = [size * (1.25 if i == 0 else 0.85) for i in range(len(lines))]
    widths = [page.width_of(t, font, s) for t, s in zip(lines, sizes)]
    scale = min(1.0, max_width * 0.8 / max(widths))
    sizes, widths = [s * scale for s in sizes], [w * scale for w in widths]
    gap = sizes[0] * 0.35
    w = max(widths) + 4 * gap
    h = sum(s * 1.15 for s in sizes) + 2 * gap
    hw, hh = (w * abs(math.cos(angle)) + h * abs(math.sin(angle))) / 2, (w * abs(math.sin(angle)) + h * abs(math.cos(angle))) / 2
    cx, cy = x + hw, top + hh
    page.ops.append(("draw", _draw_frame, cx, cy, w, h, angle, ink, max(0.8, size * 0.12)))
    y = cy - h / 2 + gap
    cos, sin = math.cos(angle), math.sin(angle)
    for text, s in zip(lines, sizes):
        dy = y + s * 0.575 - cy  # this line's centre below the stamp's centre, before turning
        turned_text(page, cx + dy * sin, cy + dy * cos, text, font, s, angle, ink)
        y += s * 1.15
    page.bottom = max(page.bottom, cy + hh)
    return 2 * hh


def _draw_frame(c, height: float, cx: float, cy: float, w: float, h: float, angle: float,
                ink: tuple[float, float, float], line_width: float) -> None:
    c.saveState()
    c.setDash()  # strokes of a dashed rule drawn before must not carry over
    c.translate(cx, height - cy)
    c.rotate(math.degrees(angle))
    c.setStrokeColorRGB(*ink)
    c.setLineWidth(line_width)
    c.roundRect(-w / 2, -h / 2, w, h, min(w, h) * 0.12, stroke=1, fill=0)
    c.restoreState()


def scrawl(page: Page, x: float, top: float, w: float, h: float, rng: random.Random,
           ink: tuple[float, float, float], pen: float) -> None:
    """A signature: a few looping Bezier strokes inside (x, top, w, h); no text."""
    strokes = []
    px, py = x, top + h * rng.uniform(0.4, 0.8)
    for _ in range(rng.randint(3, 7)):
        nx, ny = min(x + w, px + w * rng.uniform(0.12, 0.3)), top + h * rng.uniform(0.1, 0.95)
        c1 = (px + w * rng.uniform(-0.05, 0.2), top + h * rng.uniform(-0.0, 1.0))
        c2 = (nx - w * rng.uniform(-0.05, 0.2), top + h * rng.uniform(0.0, 1.0))
        strokes.append((px, py, *c1, *c2, nx, ny))
        px, py = nx, ny
    page.ops.append(("draw", _draw_scrawl, strokes, ink, pen))
    page.bottom = max(page.bottom, top + h)


def _draw_scrawl(c, height: float, strokes: list, ink: tuple[float, float, float], pen: float) -> None:
    c.saveState()
    c.setDash()  # strokes of a dashed rule drawn before must not carry over
    c.setStrokeColorRGB(*ink)
    c.setLineWidth(pen)
    c.setLineCap(1)
    path = c.beginPath()
    x0, y0 = strokes[0][0], strokes[0][1]
    path.moveTo(x0, height - y0)
    for _, _, ax, ay, bx, by, ex, ey in strokes:
        path.curveTo(ax, height - ay, bx, height - by, ex, height - ey)
    c.drawPath(path, stroke=1, fill=0)
    c.restoreState()


def punch_holes(page: Page, x: float, page_height: float, rng: random.Random) -> None:
    """Two or three binder holes as black discs centred on ``x`` (a copier shows them black)."""
    r = rng.uniform(5.0, 8.0)
    count = rng.choice((2, 3))
    for i in range(count):
        cy = page_height * ((i + 1) / (count + 1)) + rng.uniform(-10, 10)
        page.ellipse(x - r, cy - r, 2 * r, 2 * r, (0.05, 0.05, 0.05))
