"""The page as extraction sees it: OCR segments, their geometry, rows, and what was found."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from distill.extract.hints import fold
from distill.extract.kinds import _has_digit


@dataclass(eq=False)
class Seg:
    """An OCR text segment on the page."""

    text: str
    box: list[int]
    score: float
    words: list[tuple[str, list[int]]] = field(default_factory=list)
    parent: Seg | None = None   # a word's line
    row: int = -1
    claimed: bool = False

    def claim(self) -> None:
        """Mark as used (a word claims its whole line for the other readers)."""
        self.claimed = True
        if self.parent is not None:
            self.parent.claimed = True

    @property
    def cx(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def height(self) -> int:
        return max(1, self.box[3] - self.box[1])


def _x_overlap(a: Seg, b: Seg) -> int:
    return min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])


def _gap(a: Seg, b: Seg) -> float:
    """The distance between two boxes (0 when they touch or overlap)."""
    dx = max(0, a.box[0] - b.box[2], b.box[0] - a.box[2])
    dy = max(0, a.box[1] - b.box[3], b.box[1] - a.box[3])
    return (dx * dx + dy * dy) ** 0.5


@dataclass
class Found:
    value: str
    score: float
    segs: list[Seg] = field(default_factory=list)


@dataclass
class Page:
    """The segments and rows of a page and what extraction has found so far."""

    segs: list[Seg]
    rows: list[list[Seg]]
    found: dict[str, Found] = field(default_factory=dict)       # dotted path -> value
    label_of: dict[str, Seg] = field(default_factory=dict)      # pattern -> its label segment
    tables: dict[str, list[dict[str, Found]]] = field(default_factory=dict)
    empty: dict[str, float] = field(default_factory=dict)       # pattern -> trust: its label printed, no value

    def right_of(self, s: Seg) -> Seg | None:
        row = self.rows[s.row]
        after = [o for o in row if o.box[0] >= s.box[2] - 2 and not o.claimed]
        return after[0] if after else None

    def below(self, s: Seg, max_gap: float = 1.2) -> Seg | None:
        """The unclaimed segment right under ``s`` (overlapping columns, within ``max_gap`` lines)."""
        best = None
        for o in self.segs:
            gap = o.box[1] - s.box[3]
            if o is s or o.claimed or o.cy <= s.cy or gap > max_gap * s.height or _x_overlap(o, s) <= 0:
                continue
            if best is None or o.cy < best.cy:
                best = o
        return best

    def above(self, s: Seg, max_gap: float = 1.2) -> Seg | None:
        best = None
        for o in self.segs:
            gap = s.box[1] - o.box[3]
            if o is s or o.cy >= s.cy or gap > max_gap * s.height or _x_overlap(o, s) <= 0:
                continue
            if best is None or o.cy > best.cy:
                best = o
        return best


def _parent(pattern: str) -> str:
    return pattern.rsplit(".", 1)[0] if "." in pattern else ""


def _in_box(page: Page, s: Seg, labels: set[int]) -> tuple[float, float]:
    """The columns of a label's box: from its left edge to the next label on its row (a form's
    boxes), or ``(inf, inf)``-free bounds when nothing is printed to its right."""
    row = page.rows[s.row] if 0 <= s.row < len(page.rows) else []
    nxt = [o.box[0] for o in row if o is not s and o.box[0] >= s.box[2] - 2 and id(o) in labels]
    return s.box[0] - s.height, (min(nxt) if nxt else float("inf"))


def _below_in_box(page: Page, s: Seg, labels: set[int], left: float, right: float, max_gap: float) -> Seg | None:
    """The nearest unclaimed non-label segment under ``s``: overlapping its columns, or inside its
    box when the row bounds one ("1 Wages" over an amount printed at the box's right edge).
    ``None`` when another field's label is nearer: that label starts the next box (a stacked
    "e Employee's name" / "Jane Doe" / "f Employee's address" card: the name ends at "f")."""
    best = None
    for o in page.segs:
        gap = o.box[1] - s.box[3]
        if o is s or o.claimed or o.cy <= s.cy + 0.5 * min(s.height, o.height) or gap > max_gap * s.height:
            continue
        inside = right != float("inf") and o.box[0] >= left and o.box[2] <= right + 0.5 * s.height
        if _x_overlap(o, s) <= 0 and not inside:
            continue
        if best is None or (o.cy, abs(o.box[0] - s.box[0])) < (best.cy, abs(best.box[0] - s.box[0])):
            best = o
    return None if best is not None and id(best) in labels else best


def _texty(s: Seg) -> bool:
    return sum(c.isalpha() for c in s.text) >= 2


def _is_title(s: Seg, titles: list[str]) -> bool:
    """A banner line: at most three words, one of them a title word ("-INVOICE-", "TAX INVOICE",
    "TAXINVOICE" with the space lost)."""
    from distill.spans import strip_accents

    words = re.findall(r"[^\W\d_]+", strip_accents(fold(s.text)))
    singles = [t for t in titles if " " not in t]
    hit = any(w == t or (w.endswith(t) and len(w) <= len(t) + 4) for w in words for t in singles)
    return not _has_digit(s.text) and 0 < len(words) <= 3 and (hit or fold(" ".join(words)) in titles)


def _next_line(page: Page, s: Seg, max_gap: float = 1.0) -> Seg | None:
    """The line right under ``s`` (claimed or not), overlapping its columns, within ``max_gap`` lines."""
    best = None
    for o in page.segs:
        gap = o.box[1] - s.box[3]
        if o is s or o.cy <= s.cy + 0.5 * min(s.height, o.height) or gap > max_gap * s.height or _x_overlap(o, s) <= 0:
            continue
        if best is None or o.cy < best.cy:
            best = o
    return best


def _prev_line(page: Page, s: Seg, max_gap: float = 1.0) -> Seg | None:
    """The line right above ``s`` (claimed or not), overlapping its columns, within ``max_gap`` lines."""
    best = None
    for o in page.segs:
        gap = s.box[1] - o.box[3]
        if o is s or o.cy >= s.cy - 0.5 * min(s.height, o.height) or gap > max_gap * s.height or _x_overlap(o, s) <= 0:
            continue
        if best is None or o.cy > best.cy:
            best = o
    return best


def _same_line(a: Seg, b: Seg) -> bool:
    """Do ``a`` and ``b`` share a printed line (they overlap by half the smaller height)?"""
    return min(a.box[3], b.box[3]) - max(a.box[1], b.box[1]) >= 0.5 * min(a.height, b.height)


def _unit(page: Page, s: Seg) -> list[Seg]:
    """``s`` with the unclaimed segments of its line that continue it (a gap under 1.5 line
    heights): "SUBANG HEALTHCARE SDN" and "BHD" read as two segments are one line."""
    row = page.rows[s.row] if 0 <= s.row < len(page.rows) and s in page.rows[s.row] else [s]
    i = row.index(s)
    out = [s]
    for o in row[i + 1:]:
        if o.claimed or not _same_line(o, s) or o.box[0] - out[-1].box[2] > 1.5 * max(o.height, out[-1].height) \
                or o.box[0] < out[-1].box[2] - 1.0 * o.height:
            break
        out.append(o)
    for o in reversed(row[:i]):
        if o.claimed or not _same_line(o, s) or out[0].box[0] - o.box[2] > 1.5 * max(o.height, out[0].height) \
                or o.box[2] > out[0].box[0] + 0.5 * o.height:
            break
        out.insert(0, o)
    return out


def _merged(segs: list[Seg]) -> Seg:
    """One segment standing for a line of ``segs`` (its text and the box around them)."""
    if len(segs) == 1:
        return segs[0]
    box = [min(s.box[0] for s in segs), min(s.box[1] for s in segs),
           max(s.box[2] for s in segs), max(s.box[3] for s in segs)]
    return Seg(" ".join(s.text for s in segs), box, min(s.score for s in segs))
