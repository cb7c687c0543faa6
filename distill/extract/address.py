"""The address block under a header name: where it opens, the lines that go on, where it ends."""

from __future__ import annotations

import re

from distill.extract.kinds import _has_digit
from distill.extract.labels import _label_leaf
from distill.extract.page import (
    Page,
    Seg,
    _is_title,
    _merged,
    _next_line,
    _same_line,
    _texty,
    _unit,
)
from distill.spans import ends_with_country, legal_form, line_classes, street_word
from docfoundry.doctypes import Leaf

# "Terminal: 04", "Item(s): 3 Qty(s): 13": short labels, each with one short value, a till's key-value line
_KEY_VALUE = re.compile(r"(?:[^\W\d_][^:#\d,]{0,15}[:#]\s?[\w./-]{1,8}\s*)+")


def _has_address_cue(text: str) -> bool:
    """A comma, a number of its own ("12", "No.128G", "Str.37/67", "A-09-10") or a street word
    ("Jalan Loke Yew", "Paradigm Mall"): how an address line reads; a remark in parentheses is not one."""
    t = text.strip()
    if (t.startswith("(") and t.endswith(")")) or _KEY_VALUE.fullmatch(t):
        return False
    parts = [p for p in re.split(r"[\W_]+", t) if p]
    return "," in t or any(sum(c.isdigit() for c in p) >= 0.5 * len(p) for p in parts) or street_word(t)


def _lines_after(page: Page, s: Seg, other: list[Leaf], not_lines: frozenset[str],
                 banners: list[str], category: str = "", start: list[Seg] | None = None) -> tuple[list[Seg], Seg | None]:
    """The lines of a multi-line value under ``s`` (each line with the segments that continue it
    on its row). Before the value, lines of the ``not_lines`` classes and labelled lines are passed
    over (labels of fields of the same ``category`` only: a "Date:" line ends the search), and so
    are lines without a number, a comma or a street word when such a line follows ("Bistro & Cafe"
    under the name, above "12, Main Road"); after it they end it, like a banner, a gap or a wider
    line spacing.
    ``start``: the value's first line, already found (``s`` is then its merged line).
    Returns the lines and the line that ended them (``None`` at a gap)."""
    out: list[Seg] = list(start or [])
    pending: list[Seg] = []
    cur = _next_line(page, s)
    while cur is not None and not cur.claimed:
        unit = _without_phone_tail(_unit(page, cur))
        line = _merged(unit)
        if _is_title(line, banners):
            if out or pending:
                return out or pending, None
            cur = _next_line(page, line)  # a banner between the name and its address
            continue
        labelled = _label_leaf(line, other)
        classes = line_classes(line.text) | _row_prices(page, unit)
        if legal_form(line.text) and not _has_address_cue(line.text):
            classes |= not_lines  # a company's name line ("Operated by Acme Sdn Bhd"), never an address's
        if out and labelled is None and _BARE_POSTCODE.fullmatch(line.text.strip()) \
                and _aligned(_row_span(page, out[-1]), line):
            out += unit  # "04211" alone under "..., PONTEVEDRA,": the postcode, not a registration number
            cur = _next_line(page, line)
            continue
        # another category's label ends the search, but an id line under the name is the business's
        # registration whatever its label says ("GST: 001662431232" is no tax amount)
        if labelled is not None and category and labelled.category != category and (out or "id" not in classes):
            return out or pending, line
        if classes & not_lines or labelled is not None:
            if out:
                return out, line
        elif not _texty(line):
            return out or pending, line
        elif out and not _aligned(_row_span(page, out[-1]), line):
            return out, None  # the value's block ends where the lines stop sharing its alignment
        elif out and _spacing_breaks(out, line):
            return out, None  # ... or where the line spacing opens up (a slogan under the address)
        elif out or _has_address_cue(line.text):
            if not out and len({x.row for x in pending}) > 1:
                out = pending  # several lines before the first number: they are the value's too
            out += unit
            if ends_with_country(line.text):
                return out, None  # a postal address ends with its country
        else:
            pending += unit
        cur = _next_line(page, line)
    return out or pending, None


# a phone number OCR read on the address's line after it ("..., Johor. Tel No.: 07-387 3322"; "Te1")
_PHONE_TAIL = re.compile(r"\s+(?:te[l1]|fax|phone|hp)\b\.?\s*(?:no\.?)?\s*[:.]?\s*\+?\(?\d[\d\s()+-]{5,}$", re.I)


def _without_phone_tail(unit: list[Seg]) -> list[Seg]:
    """``unit`` with a phone number printed after address text on its last segment cut off (a copy
    of that segment; the page's own stays for the phone reader)."""
    last = unit[-1]
    m = _PHONE_TAIL.search(last.text)
    head = last.text[:m.start()].strip() if m else ""
    if not (head and _has_address_cue(head)):
        return unit
    return unit[:-1] + [Seg(head, list(last.box), last.score, list(last.words), row=last.row)]


SCORE_ELSEWHERE = 0.8   # times the trust of lines under the name: an address block found apart from it


def _may_open_address(page: Page, unit: list[Seg], other: list[Leaf], not_lines: frozenset[str],
                      banners: list[str]) -> bool:
    """Can the line of ``unit`` be an address's first line: a number or a street word in it, and
    nothing that makes it another line (a banner, a label, a ``not_lines`` class, a price beside
    it, a company name)?"""
    line = _merged(unit)
    t = line.text
    return ((_has_digit(t) or street_word(t)) and _texty(line) and not _is_title(line, banners) and _label_leaf(line, other) is None
            and not (line_classes(t) & not_lines) and not _row_prices(page, unit) and not legal_form(t))


def _strong_address_line(text: str) -> bool:
    """A line that reads as an address on its own: a number and a street word or a comma."""
    return _has_digit(text) and (street_word(text) or "," in text)


def _address_block(page: Page, other: list[Leaf], not_lines: frozenset[str], banners: list[str],
                   name: list[Seg]) -> list[Seg]:
    """The first block of address lines on the page, top to bottom, away from the business name
    ``name``: a line that may open one (``_may_open_address``) and the lines under it that go on
    with it (``_lines_after``), where its first printed row reads as an address on its own
    (``_strong_address_line``; a single row needs both a street word and a comma), or its second
    does and the first starts with a house number or names a street ("103 Harbour Fields",
    "Contrada"; not a note such as "Exchange within 7 days"); ``[]`` when there is none."""
    seen: set[int] = set()
    for row in page.rows:
        for s in row:
            if s.claimed or id(s) in seen or s in name:
                continue
            unit = _unit(page, s)
            seen.update(id(u) for u in unit)
            if not _may_open_address(page, unit, other, not_lines, banners):
                continue
            block, _ = _lines_after(page, _merged(unit), other, not_lines, banners, start=unit)
            rows = [_merged(row).text for row in _block_rows(block)]
            first = rows[0]
            opens = first[:1].isdigit() or street_word(first)  # a house number or a street type first
            if (len(rows) == 1 and street_word(first) and "," in first) or (len(rows) >= 2 and (
                    _strong_address_line(first) or (opens and _strong_address_line(rows[1])))):
                return block
    return []


def _block_rows(block: list[Seg]) -> list[list[Seg]]:
    """The segments of ``block`` by printed row, top to bottom."""
    return [[s for s in block if s.row == r] for r in sorted({s.row for s in block})]


def _spacing_breaks(block: list[Seg], line: Seg) -> bool:
    """Is ``line`` set apart from the lines of ``block`` (two printed rows at least) by a gap wider
    than half a line and twice the widest gap between them?"""
    rows = _block_rows(block)
    if len(rows) < 2:
        return False
    gaps = [min(s.box[1] for s in b) - max(s.box[3] for s in a) for a, b in zip(rows, rows[1:])]
    gap = line.box[1] - max(s.box[3] for s in rows[-1])
    return gap > 0.5 * line.height and gap > 2 * max(max(gaps), 0)


_BARE_POSTCODE = re.compile(r"\d{4,6}[.,]?")


def _row_span(page: Page, s: Seg) -> Seg:
    """The printed line of ``s``: every segment of its row on the same line, merged."""
    row = page.rows[s.row] if 0 <= s.row < len(page.rows) else [s]
    return _merged([o for o in row if o is s or _same_line(o, s)])


def _aligned(a: Seg, b: Seg, tolerance: float = 1.5) -> bool:
    """Do two lines of one block share an alignment: left edges, centres or right edges within
    ``tolerance`` line heights (a centred header over left-aligned item lines does not)?"""
    reach = tolerance * max(a.height, b.height)
    return (abs(a.box[0] - b.box[0]) <= reach or abs(a.cx - b.cx) <= reach or abs(a.box[2] - b.box[2]) <= reach)


def _row_prices(page: Page, unit: list[Seg]) -> set[str]:
    """``{"amount"}`` when the printed row of ``unit`` also holds an amount apart from it: an item
    line ("22241 CUT SCISSORS ... 18.00"), which no address or name line is."""
    s = unit[0]
    row = page.rows[s.row] if 0 <= s.row < len(page.rows) else []
    apart = [o for o in row if o not in unit and _same_line(o, s)]
    return {"amount"} if any("amount" in line_classes(o.text) for o in apart) else set()
