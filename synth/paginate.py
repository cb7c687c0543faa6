"""Cut one tall drawn page into fixed-size pages: text that flows onto a second and further page.

A layout with ``overflow: pages`` is drawn once on a page without a bottom; the display list is
then cut between lines. Everything drawn has a vertical extent (a text line, a rule, a box), and
so do the parts that must stay whole: every field (a value broken over two lines stays on one
page), every block that is not running text (a table, the signatures), a heading with the first
lines after it, and the first two lines of a paragraph or clause. The extents are merged into
bands; pages take whole bands, as many as fit above the bottom margin, and each later page starts
its first band at the top margin. Words, field boxes and ops move with their band, so the truth
stays exact on every page.
"""

from __future__ import annotations

from dataclasses import dataclass

from synth.render import Page, Run

FLOWING = ("paragraph", "clause")  # block types whose lines may go to the next page
KEEP_LINES = 2.6  # a flowing block's first lines (in type sizes) stay together: no lone line at a page's foot


@dataclass
class Span:
    """A top-level block as drawn: its type, vertical extent and first op in the display list."""

    type: str
    top: float
    bottom: float
    first_op: int


def _extent(op: tuple) -> tuple[float, float] | None:
    kind = op[0]
    if kind == "text":
        _, _, baseline, _, font, size, _ = op
        ascent, descent = Page.line_height(font, size)
        return baseline - ascent, baseline - descent
    if kind in ("rect", "ellipse"):
        return op[2], op[2] + op[4]
    if kind == "line":
        return min(op[2], op[4]), max(op[2], op[4])
    return None  # a drawer of another module: it goes with its block


def _bands(page: Page, spans: list[Span], size: float) -> list[tuple[float, float]]:
    """Merged vertical extents that no cut may pass through, top to bottom."""
    keep: list[tuple[float, float]] = [(y0, y1) for _, _, y0, _, y1 in page.words]
    keep += [e for e in map(_extent, page.ops) if e is not None]
    keep += [box[1::2] for _, box in page.field_boxes().values()]
    for i, span in enumerate(spans):
        if span.type not in FLOWING:
            bottom = span.bottom
            if span.type == "heading" and i + 1 < len(spans):  # a heading goes with what follows it
                bottom = max(bottom, min(spans[i + 1].bottom, spans[i + 1].top + size * KEEP_LINES))
            keep.append((span.top, bottom))
        else:
            keep.append((span.top, min(span.bottom, span.top + size * KEEP_LINES)))
    keep.sort()
    bands: list[tuple[float, float]] = []
    for a, b in keep:
        if bands and a < bands[-1][1]:
            bands[-1] = (bands[-1][0], max(bands[-1][1], b))
        else:
            bands.append((a, b))
    return bands


def _moved(op: tuple, dy: float) -> tuple:
    kind = op[0]
    if kind == "text" or kind in ("rect", "ellipse"):
        return (*op[:2], op[2] - dy, *op[3:])
    if kind == "line":
        return (op[0], op[1], op[2] - dy, op[3], op[4] - dy, *op[5:])
    return ("moved", dy, op)


def paginate(page: Page, spans: list[Span], height: float, margin: float, size: float,
             max_pages: int) -> tuple[list[Page], bool]:
    """Cut ``page`` (drawn from ``margin`` down, no bottom) into pages ``height`` points tall.

    Returns the pages and whether everything fit: no band taller than a page, at most
    ``max_pages`` pages. A band taller than a page gets a page of its own (and overflows it).
    """
    limit = height - margin * 0.5  # the same foot room a one-page layout is allowed
    starts, offsets = [float("-inf")], [0.0]  # where each page's share begins (drawn y), and its shift up
    fits, bands = True, _bands(page, spans, size)
    for i, (top, bottom) in enumerate(bands):
        if i and bottom - offsets[-1] > limit:  # this band does not fit under the last: a new page
            starts.append(top)
            offsets.append(top - margin)
        fits = fits and bottom - offsets[-1] <= limit
    fits = fits and len(starts) <= max_pages
    op_page = _op_pages(page, spans, starts)
    out: list[Page] = []
    for k, (start, dy) in enumerate(zip(starts, offsets)):
        end = starts[k + 1] if k + 1 < len(starts) else float("inf")
        p = Page(page.width, height, paper=page.paper)
        p.ops = [_moved(op, dy) if dy else op for op, at in zip(page.ops, op_page) if at == k]
        p.words = [(t, x0, y0 - dy, x1, y1 - dy) for t, x0, y0, x1, y1 in page.words if start <= y0 < end]
        for path, parts in page.fields.items():
            if start <= min(b[1] for _, b in parts) < end:
                p.fields[path] = [(t, (b[0], b[1] - dy, b[2], b[3] - dy)) for t, b in parts]
        p.bottom = max((y1 for *_, y1 in p.words), default=margin)
        out.append(p)
    return out, fits


def _op_pages(page: Page, spans: list[Span], starts: list[float]) -> list[int]:
    """The page of each op: by its top, or (a drawer's op) by its block's top."""
    def page_of(y: float) -> int:
        k = 0
        while k + 1 < len(starts) and y >= starts[k + 1]:
            k += 1
        return k

    block_top = [0.0] * len(page.ops)
    for i, span in enumerate(spans):
        end = spans[i + 1].first_op if i + 1 < len(spans) else len(page.ops)
        for j in range(span.first_op, end):
            block_top[j] = span.top
    out = []
    for op, top in zip(page.ops, block_top):
        extent = _extent(op)
        out.append(page_of(extent[0] if extent is not None else top))
    return out


def number_pages(pages: list[Page], template: str, font: str, size: float, margin: float,
                 height: float) -> None:
    """A footer line on every page (``Page {n} of {count}``), centred in the bottom margin; its
    words are words of the page, not fields."""
    for n, p in enumerate(pages, 1):
        text = template.replace("{n}", str(n)).replace("{count}", str(len(pages)))
        top = height - margin * 0.42  # below the content's foot room, above the paper's edge
        p.text(margin, top, [Run(text)], font, size, align="center", max_width=p.width - 2 * margin,
               color=(0.3, 0.3, 0.3))
