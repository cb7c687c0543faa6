"""Handwriting-like text with exact boxes: each glyph of a base font drawn on its own, slanted,
turned, resized and lifted off the baseline, with a pen width, the way a hand fills a form.

No handwriting font ships with ReportLab and none is needed: the jitter is what makes a hand
(FUNSD's answers are neat block capitals as often as cursive), and drawing glyph by glyph keeps
every glyph's outline known, so word and field boxes are the union of the glyphs' transformed
font boxes (ascent to descent, widened by half the pen) and still hold all of their ink.
A page draws one ``HandStyle`` per hand; glyphs are drawn in one PDF text object per line, so the
text layer reads back in order (``--verify`` works unchanged).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from synth.render import MIN_FONT_SIZE, Page, Run

HAND_FONTS = ("Helvetica", "Times-Roman", "Courier")  # upright: the lean is the shear, so glyphs stay in their font box
PEN_INKS = ((0.05, 0.1, 0.45), (0.08, 0.08, 0.1), (0.1, 0.15, 0.6), (0.25, 0.25, 0.3))


@dataclass(frozen=True)
class HandStyle:
    """One writer: a base font and how far their glyphs stray from it."""

    font: str
    slant: float        # shear of every glyph, tan of the lean (positive leans right)
    narrow: float       # horizontal scale of the glyphs (a hand is narrower or wider than type)
    turn: float         # largest extra rotation of one glyph, radians
    grow: float         # largest relative change of one glyph's size
    wobble: float       # baseline wave amplitude, in font sizes
    jump: float         # largest random lift of one glyph off the wave, in font sizes
    period: float       # baseline wave length, in font sizes
    spacing: float      # advance factor
    pen: float          # stroke width in points (text render mode fill+stroke)
    ink: tuple[float, float, float]


def hand_style(rng: random.Random) -> HandStyle:
    """A writer drawn from ``rng``: a neat upright hand to a sloppy slanted scrawl."""
    return HandStyle(
        font=rng.choice(HAND_FONTS), slant=rng.uniform(-0.08, 0.4), narrow=rng.uniform(0.72, 1.1),
        turn=rng.uniform(0.03, 0.16), grow=rng.uniform(0.06, 0.22), wobble=rng.uniform(0.03, 0.12),
        jump=rng.uniform(0.02, 0.08), period=rng.uniform(3.0, 9.0), spacing=rng.uniform(0.95, 1.3),
        pen=rng.uniform(0.2, 0.8), ink=rng.choice(PEN_INKS))


def _glyph_box(gx: float, base: float, adv: float, ascent: float, descent: float,
               m: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Top-down box of the glyph's font box (u in [0, adv], v in [descent, ascent]) under ``m``."""
    a, b, c, d = m
    xs, ys = [], []
    for u in (0.0, adv):
        for v in (descent, ascent):
            xs.append(gx + a * u + c * v)
            ys.append(base - (b * u + d * v))
    return min(xs), min(ys), max(xs), max(ys)


def _union(boxes: list[tuple[float, float, float, float]], pad: float) -> tuple[float, float, float, float]:
    return (min(b[0] for b in boxes) - pad, min(b[1] for b in boxes) - pad,
            max(b[2] for b in boxes) + pad, max(b[3] for b in boxes) + pad)


def hand_text(page: Page, x: float, top: float, runs: list[Run], size: float, hand: HandStyle,
              rng: random.Random, *, max_width: float | None = None) -> tuple[float, float]:
    """Write one line of runs by hand with its top near ``top``; records word and field boxes
    like ``Page.text`` and returns (width, height) used."""
    full = "".join(r.text for r in runs)
    stretch = hand.narrow * hand.spacing
    nominal = page.width_of(full, hand.font, size) * stretch * (1 + hand.grow) * 1.08 if full else 0.0
    if max_width is not None and nominal > max_width:
        size = max(MIN_FONT_SIZE, size * max_width / nominal * 0.97)
    ascent, descent = page.line_height(hand.font, size)
    lift, jump = hand.wobble * size, hand.jump * size
    base0 = top + ascent * (1 + hand.grow) + lift + jump
    phase = rng.uniform(0, 2 * math.pi)
    glyphs, boxes = [], []
    gx = x
    drift = 0.0
    unit_ascent, unit_descent = page.line_height(hand.font, 1.0)
    for ch in full:
        drift = 0.6 * drift + 0.4 * rng.uniform(-1, 1)  # a hand's size drifts, it does not flicker
        s = size * (1 + hand.grow * drift)
        width = page.width_of(ch, hand.font, 1.0) * s  # widths scale with size: one cached lookup per glyph
        step = width * stretch * rng.uniform(0.92, 1.08)
        if ch.isspace():
            boxes.append(None)
            gx += step
            continue
        base = (base0 + lift * math.sin(2 * math.pi * (gx - x) / (hand.period * size) + phase)
                + rng.uniform(-jump, jump))
        r = rng.uniform(-hand.turn, hand.turn)
        cos, sin = math.cos(r), math.sin(r)
        # glyph space (u, v) -> narrow u, shear by the slant, turn by r
        m = (hand.narrow * cos, hand.narrow * sin, hand.slant * cos - sin, hand.slant * sin + cos)
        glyph_ascent, glyph_descent = unit_ascent * s, unit_descent * s
        glyphs.append((gx, base, ch, s, m))
        boxes.append(_glyph_box(gx, base, width, glyph_ascent, glyph_descent, m))
        gx += step
    pad = hand.pen / 2 + size * 0.03  # half the pen, and side bearings a glyph may overhang
    if glyphs:
        page.ops.append(("draw", draw_glyphs, glyphs, hand.font, hand.ink, hand.pen))
    i = 0
    for word in full.split():  # word spans in order; boxes[i] is None for whitespace
        while full[i].isspace():
            i += 1
        page.words.append((word, *_union([b for b in boxes[i:i + len(word)] if b], pad)))
        i += len(word)
    pos = 0
    for run in runs:
        stripped = run.text.strip()
        if run.path is not None and stripped:
            start = pos + len(run.text) - len(run.text.lstrip())
            span = [b for b in boxes[start:start + len(stripped)] if b]
            page.fields.setdefault(run.path, []).append((stripped, _union(span, pad)))
        pos += len(run.text)
    line_box = _union([b for b in boxes if b], pad) if glyphs else (x, top, x, top + ascent - descent)
    page.bottom = max(page.bottom, line_box[3])
    return gx - x, max(line_box[3], top + ascent - descent) - top


def draw_glyphs(c, height: float, glyphs: list, font: str, ink: tuple[float, float, float], pen: float) -> None:
    """ReportLab side of ``hand_text``: one text object, one text matrix per glyph."""
    c.saveState()
    c.setDash()  # strokes of a dashed rule drawn before must not carry over
    c.setFillColorRGB(*ink)
    c.setStrokeColorRGB(*ink)
    c.setLineWidth(pen)
    c.setLineJoin(1)  # round joins: a pen, not a chisel
    t = c.beginText()
    t.setTextRenderMode(2 if pen > 0 else 0)
    for gx, base, ch, s, (a, b, cc, d) in glyphs:
        t.setTextTransform(a, b, cc, d, gx, height - base)
        t.setFont(font, s)
        t.textOut(ch)
    c.drawText(t)
    c.restoreState()
