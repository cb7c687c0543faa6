"""Schema-guided field extraction from OCR lines: the OCR teacher's reading of a page.

Everything it looks for comes from the document type's schema, never from a field list in code:
  - each leaf's ``x-labels`` (and ``x-read-labels``: real-world variants the layouts do not print)
    are the printed labels it searches for (longest match wins a line); the value is the rest of
    the label's line, the cells to its right, or the line below; ``x-label-excludes`` are words
    that make a line another field's ("Total Qty" is not the total);
  - each leaf's ``x-kind`` (amount, date, id, ...) checks a candidate value and cuts it to the
    value as printed (``distill.spans``: the date of "25/12/2018 8:13 PM", the number of "RM 9.00");
    a date or time printed without its label is the first one on the page;
  - when a label appears more than once, the last one wins that is not below a later field's label
    (a receipt's rounded total, not the one before rounding nor a tax summary's total row);
  - an array of objects is a table: its header row is the row naming most of the item leaves'
    labels, columns come from the header cells, rows run down to the next labelled line; without a
    header, the longest run of rows ending in an amount is read with the item leaves in order (a
    line of text over a line of numbers only, "2 x 3.50   7.00", is one item printed on two lines);
  - unlabelled text leaves are read from position: the lines below the value of the leaf before
    them, the block above the leaf after them, or the page's first line (a document's name); a leaf
    marked ``"x-header": true`` is the page's header name (the business): a top line that is a name,
    one with a company's legal form first; ``x-not-lines`` names the classes of line a field never
    holds (an address has no id, phone, e-mail or date line, nor a row with a price apart from
    it; it ends with its country); multi-line values join with spaces; an amount whose decimal
    mark OCR read as a space gets the page's mark; ``x-case`` ("upper") puts a leaf's value in a
    user's truth convention (``docfoundry.case``);
  - lines naming the schema's ``title`` or one of its ``x-titles`` (a banner such as "INVOICE")
    are headings, never values;
  - a type whose page is a grid of labelled boxes (``"x-boxed": true``, a W-2) reads a value from
    the box its label heads: a box ends at the next label under or beside it, the last box of a
    row reaches the page's edge, a cell under another box's label is that box's; its arrays are
    read after the labelled fields (unless they print a header row). An array printed as one
    labelled box per item names the boxes in ``x-item-labels`` ("12a", "12b", ...) and its
    heading in its ``x-labels`` ("Box 12"); a ``check`` leaf is a mark over or beside its label.

``extract(doc, lines)`` returns the nested fields (every schema key present, "" when not found)
and a score per dotted path (OCR confidence times how the value was found).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from distill.spans import (
    ends_with_country,
    fix_glyphs,
    group_rows,
    legal_form,
    line_classes,
    street_word,
    unglue_address,
    unglue_name,
    value_span,
)
from docfoundry.case import apply_case
from docfoundry.doctypes import DocType, Leaf
from docfoundry.normalize import fold_text

# How much a way of finding a value is trusted (times the OCR score of the value's line).
SCORE_LABEL_EXACT = 0.95
SCORE_TABLE_HEADER = 0.9
SCORE_TABLE_HEADERLESS = 0.7
SCORE_POSITION = 0.6
SCORE_UNLABELLED_KIND = 0.9   # a date or time found by its form alone (97% right on real receipts)
SCORE_WRONG_KIND = 0.4
SCORE_NOT_FOUND = 0.3
SCORE_EMPTY_BOX = 0.8   # times its label's OCR and match score: a field whose label is printed over no value
CHECKED = "X"   # the value of a ticked ``check`` leaf, whatever mark the page prints


# --- value checks per x-kind --------------------------------------------------------------------

def _has_digit(v: str) -> bool:
    return any(c.isdigit() for c in v)


def _is_amount(v: str) -> bool:
    from docfoundry.normalize import as_decimal

    letters = sum(c.isalpha() for c in v)
    if re.search(r"\d\s?[/:]\s?\d", v):
        return False  # a date or a time, not an amount
    if letters and not re.search(r"\d[.,]\d", v):
        return False  # "FT8303" is a code; an amount with a currency glued to it has decimals
    digits = re.sub(r"\D", "", v.split(".")[0].split(",")[0])
    if re.fullmatch(r"0\d{2,}", digits) or len(digits) > 9:
        return False  # "001032994816" is an id
    return _has_digit(v) and letters <= 3 and as_decimal(v) is not None


def _is_date(v: str) -> bool:
    from distill.spans import compact_date, word_date
    from docfoundry.normalize import as_dates

    return _has_digit(v) and (as_dates(v) is not None or word_date(v) or (
        v.strip().isdigit() and len(v.strip()) == 8 and compact_date(v.strip())))


KIND_CHECKS = {
    "amount": lambda v: _is_amount(v) and "%" not in v,
    "number": lambda v: _is_amount(v) and sum(c.isalpha() for c in v) == 0,
    "percent": lambda v: _is_amount(v) and ("%" in v or len(v) <= 6),
    "date": _is_date,
    "time": lambda v: re.search(r"\d{1,2}[:.h]\d{2}", v) is not None,
    "id": lambda v: len(v.strip()) >= 3 and sum(c.isdigit() for c in v) >= 2,
    "code": lambda v: re.fullmatch(r"[A-Z0-9]{1,4}", v.strip()) is not None,
    "check": lambda v: 0 < len("".join(v.split())) <= 2 and not _has_digit(v),  # a mark: "X", "x", a ticked box
    "text": lambda v: any(c.isalpha() for c in v),
}


def kind_ok(kind: str, value: str) -> bool:
    """Does ``value`` look like a value of ``kind``?"""
    return bool(value.strip()) and KIND_CHECKS.get(kind, KIND_CHECKS["text"])(value)


def as_kind(kind: str, value: str) -> str | None:
    """``value`` cut to the ``kind`` value printed in it, or ``None`` when it holds none."""
    span = value_span(kind, value)
    return span if span is not None and kind_ok(kind, span) else None


# --- what the schema says beyond labels and kinds -----------------------------------------------

@dataclass(frozen=True)
class Hints:
    """A leaf's reading hints from its schema node (``x-read-labels``, ``x-label-excludes``,
    ``x-not-lines``, ``x-header``)."""

    labels: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    not_lines: frozenset[str] = frozenset()
    header: bool = False


@cache
def _hints(doc: DocType) -> dict[str, Hints]:
    out: dict[str, Hints] = {}

    def walk(node: dict[str, Any], pattern: str) -> None:
        t = node.get("type")
        if t == "object":
            for k, child in node.get("properties", {}).items():
                walk(child, f"{pattern}.{k}" if pattern else k)
        elif t == "array":
            walk(node.get("items", {}), f"{pattern}[]")
        else:
            out[pattern] = Hints(tuple(node.get("x-labels", [])) + tuple(node.get("x-read-labels", [])),
                                 tuple(fold(w) for w in node.get("x-label-excludes", [])),
                                 frozenset(node.get("x-not-lines", [])), bool(node.get("x-header", False)))

    walk(doc.schema, "")
    return out


def hints(doc: DocType, leaf: Leaf) -> Hints:
    """The reading hints of ``leaf`` (labels: the printed ones first, then the read-only ones)."""
    return _hints(doc).get(leaf.pattern) or Hints(leaf.labels)


def _with_read_labels(doc: DocType, leaf: Leaf) -> Leaf:
    """``leaf`` with its ``x-read-labels`` among its labels (what every reader here matches)."""
    from dataclasses import replace

    labels = hints(doc, leaf).labels
    return leaf if labels == leaf.labels else replace(leaf, labels=labels)


def titles(doc: DocType) -> list[str]:
    """Banner words of the type: its name, its schema title and ``x-titles``."""
    names = {doc.name, str(doc.schema.get("title", "")), *doc.schema.get("x-titles", [])}
    return sorted(fold(t) for t in names if t)


# --- page geometry ------------------------------------------------------------------------------

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


# --- labels -------------------------------------------------------------------------------------

fold = fold_text  # labels are compared case-folded with whitespace runs collapsed


def match_label(text: str, label: str) -> tuple[float, str] | None:
    """If ``text`` starts with ``label``: (match score, the text after it), else ``None``."""
    from rapidfuzz import fuzz

    text = text.lstrip("(*[#•·- ")  # "(GST Reg No: 123)", "*Total", "· Box 12": the label is inside
    t, lab = fold(text), fold(label).rstrip(":")
    if not lab:
        return None
    if t.startswith(lab):
        score, cut = 1.0, len(lab)
    elif len(lab) >= 5 and fuzz.ratio(t[:len(lab)], lab) >= 85:
        score, cut = 0.85, len(lab)
    else:
        return None
    rest = t[cut:]
    if rest and rest[0].isalnum() and lab[-1].isalnum():
        return None  # "Dateline" is not the label "Date"
    # cut the original text at the same place (fold only collapses whitespace and case)
    original = " ".join(text.split())
    return score, original[cut:].lstrip(" :#.\t")


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


def _excluded(rest: str, excludes: tuple[str, ...]) -> bool:
    """Do the words after a label, before any digit, start with one of ``excludes``?"""
    head = re.split(r"\d", rest, maxsplit=1)[0]
    return any(w.startswith(x) for w in re.findall(r"[^\W\d_]+", head.casefold()) for x in excludes)


def _label_matches(page: Page, leaves: list[Leaf], doc: DocType | None = None) -> dict[int, tuple[Leaf, float, str]]:
    """For each unclaimed segment, the leaf whose label matches it best (exact before fuzzy, then
    the longest label: "Tax ID: 12" is the tax id, not the tax)."""
    out: dict[int, tuple[Leaf, float, str]] = {}
    rank: dict[int, tuple[float, int]] = {}
    for leaf in leaves:
        h = hints(doc, leaf) if doc is not None else Hints(leaf.labels)
        for label in leaf.labels:
            for i, s in enumerate(page.segs):
                if s.claimed:
                    continue
                m = match_label(s.text, label)
                if m is not None and (m[0], len(label)) > rank.get(i, (0.0, -1)):
                    rank[i] = (m[0], len(label))
                    out[i] = (leaf, m[0], m[1])
                    if h.excludes and _excluded(m[1], h.excludes):
                        out[i] = (leaf, -1.0, m[1])  # claimed by the label, but not this leaf's value
    found = {i: v for i, v in out.items() if v[1] >= 0}
    if doc is not None and doc.schema.get("x-boxed"):
        _misread_labels(page, leaves, out, found)
    return found


SCORE_MISREAD_LABEL = 0.7   # a box's label known only by its likeness to the schema's label
MISREAD_SIMILARITY = 65     # fuzz.ratio of the text and the label (or the label's printed start) at least this
_BOX_CODE = re.compile(r"^(\d{1,2}[a-z]?|[a-z])\s+(.*)$")  # "1 Wages", "12a Code", "c Employer's name"


def label_likeness(text: str, label: str) -> float:
    """How much ``text`` reads like ``label`` when OCR misread its letters (tiny print): the
    ``fuzz.ratio`` of the two, or of the text and the label's start when the box printed the label
    cut short; box codes ("1", "12a", "c") must agree where both have one."""
    from rapidfuzz import fuzz

    t, lab = fold(text), fold(label).rstrip(":")
    mt, ml = _BOX_CODE.match(t), _BOX_CODE.match(lab)
    if mt and ml:
        if mt.group(1) != ml.group(1):
            return 0.0
        t, lab = mt.group(2), ml.group(2)
    elif ml:
        lab = ml.group(2)  # OCR dropped the code (or read it into the first word)
        if t.split(" ", 1)[0] != t and len(t.split(" ", 1)[0]) <= 2:
            t = t.split(" ", 1)[1]
    if len(t) < 4:
        return 0.0
    if len(t) < len(lab):  # a label cut at the box's edge: its printed start, at least half of it
        return fuzz.ratio(t, lab[:len(t)]) if len(t) >= 0.5 * len(lab) or len(t) >= 12 else fuzz.ratio(t, lab)
    return fuzz.ratio(t, lab)


def _misread_labels(page: Page, leaves: list[Leaf], tried: dict[int, tuple[Leaf, float, str]],
                    found: dict[int, tuple[Leaf, float, str]]) -> None:
    """On a page of labelled boxes every label is printed once: the labels no segment matched are
    given, one to one and likest first, to the label-like segments left (few digits, no value of
    their own) whose text reads like them (``label_likeness``). Adds to ``found``."""
    have = {leaf.pattern for leaf, _, _ in found.values()}
    missing = [leaf for leaf in leaves if leaf.pattern not in have and leaf.labels]
    if not missing:
        return
    free = [i for i, s in enumerate(page.segs) if not s.claimed and i not in tried
            and sum(c.isalpha() for c in s.text) >= 4 and sum(c.isdigit() for c in s.text) <= 3]
    scored = sorted(((label_likeness(page.segs[i].text, label), i, leaf) for i in free for leaf in missing
                     for label in leaf.labels), key=lambda x: (-x[0], x[1]))
    taken: set[int] = set()
    for sim, i, leaf in scored:
        if sim < MISREAD_SIMILARITY:
            break
        if i in taken or leaf.pattern in have:
            continue
        taken.add(i)
        have.add(leaf.pattern)
        found[i] = (leaf, SCORE_MISREAD_LABEL * sim / 100, "")


# --- tables (arrays of objects) -----------------------------------------------------------------

def _array_groups(doc: DocType) -> dict[str, list[Leaf]]:
    """Array pattern (``line_items[]``) -> its item leaves in schema order (one level of nesting)."""
    groups: dict[str, list[Leaf]] = {}
    for leaf in doc.leaves:
        if "[]" in leaf.pattern:
            head = leaf.pattern[:leaf.pattern.index("[]") + 2]
            if "[]" not in leaf.pattern[len(head):]:
                groups.setdefault(head, []).append(leaf)
    return groups


def _word_rows(page: Page) -> list[list[Seg]]:
    """Rows of word segments (each word knows its line, so claiming a word claims the line)."""
    words = [Seg(t, list(b), line.score, parent=line) for line in page.segs if not line.claimed
             for t, b in line.words]
    return group_rows(words)


def _cells(words: list[Seg]) -> list[list[Seg]]:
    """Words of a row grouped into cells: a gap wider than a line height starts a new cell."""
    cells: list[list[Seg]] = []
    for w in words:
        if cells and w.box[0] - cells[-1][-1].box[2] <= w.height:
            cells[-1].append(w)
        else:
            cells.append([w])
    return cells


def _fuzzy_header_cell(row: list[Seg], j: int, labels: list[tuple[str, Leaf]],
                       named: set[Leaf]) -> tuple[Leaf, list[Seg]] | None:
    """The long label (10 letters or more) that words ``j``.. of ``row`` print with an OCR slip
    ("ete." for "etc."), maybe in one word more or fewer ("wages,tips,"): the closest, at least
    90 alike. Only where no label matches exactly ("Units Price" is two columns)."""
    from rapidfuzz import fuzz

    best: tuple[float, int, Leaf, int] | None = None
    for lab, leaf in labels:
        k = len(lab.split())
        if leaf in named or len(lab) < 10:
            continue
        for n in range(max(1, k - 1), k + 2):
            if j + n > len(row):
                break
            r = fuzz.ratio(fold(" ".join(w.text for w in row[j:j + n])).rstrip(":"), lab)
            if r >= 90 and (best is None or (r, -abs(n - k)) > (best[0], best[1])):
                best = (r, -abs(n - k), leaf, n)
    return (best[2], row[j:j + best[3]]) if best else None


def _header_row(rows: list[list[Seg]], items: list[Leaf]) -> tuple[int, list[tuple[Leaf, list[Seg]]]] | None:
    """The word row whose cells name most of the item leaves (at least two), with the header cells.

    A multi-word label ("Unit Price") matches consecutive words; header cells that name no leaf
    go, left to right, to the item leaves that have no labels (e.g. a "Description" column).
    """
    labels = sorted(((fold(lab).rstrip(":"), leaf) for leaf in items for lab in leaf.labels),
                    key=lambda x: -len(x[0]))
    best = None
    for r, row in enumerate(rows):
        named: list[tuple[Leaf, list[Seg]]] = []
        spare: list[list[Seg]] = []
        j = 0
        while j < len(row):
            hit = None
            for lab, leaf in labels:
                n = len(lab.split())
                if leaf not in (x[0] for x in named) and fold(" ".join(w.text for w in row[j:j + n])).rstrip(":") == lab:
                    hit = (leaf, row[j:j + n])
                    break
            if hit is None:  # a long label with an OCR slip, its words split or glued differently
                hit = _fuzzy_header_cell(row, j, labels, {x[0] for x in named})
            if hit:
                named.append(hit)
                j += len(hit[1])
            else:
                if spare and spare[-1][-1] is row[j - 1] and row[j].box[0] - row[j - 1].box[2] <= row[j].height:
                    spare[-1].append(row[j])
                else:
                    spare.append([row[j]])
                j += 1
        if len(named) >= 2 and (best is None or len(named) > len(best[1])):
            unlabeled = [leaf for leaf in items if not leaf.labels and leaf not in (x[0] for x in named)]
            best = (r, named + list(zip(unlabeled, spare)))
    return best


def _starts_with_other_label(s: Seg, other: list[Leaf]) -> bool:
    return _label_leaf(s, other) is not None


def _label_leaf(s: Seg, other: list[Leaf]) -> Leaf | None:
    """The first of ``other`` whose label starts ``s``."""
    return next((leaf for leaf in other for lab in leaf.labels if match_label(s.text, lab)), None)


def _is_number(text: str) -> bool:
    return _is_amount(text) and not any(c.isalpha() for c in text)


def _fill(item: dict[Leaf, Found], leaf: Leaf, words: list[Seg], trust: float) -> None:
    item[leaf] = Found(" ".join(w.text for w in words), min(w.score for w in words) * trust, words)


def _split_leading_number(item: dict[Leaf, Found], cols: list[Leaf], trust: float) -> None:
    """A number column left empty next to a text cell that starts (or ends) with a number took
    it: "6 Beer" printed under a "Qty Description" header."""
    for i, leaf in enumerate(cols):
        if leaf.kind == "text" or leaf in item:
            continue
        for j, take in ((i + 1, 0), (i - 1, -1)):
            if 0 <= j < len(cols) and cols[j].kind == "text" and cols[j] in item:
                words = item[cols[j]].segs
                if len(words) > 1 and _is_number(words[take].text):
                    _fill(item, leaf, [words[take]], trust)
                    rest = words[1:] if take == 0 else words[:-1]
                    _fill(item, cols[j], rest, trust)
                    break


def _read_table_with_header(page: Page, rows: list[list[Seg]], header_row: int,
                            header: list[tuple[Leaf, list[Seg]]], other: list[Leaf],
                            boxed: bool = False) -> list[dict[Leaf, Found]]:
    cols = sorted(header, key=lambda c: c[1][0].box[0])
    order = [leaf for leaf, _ in cols]
    bounds = [(a[-1].box[2] + b[0].box[0]) / 2 for (_, a), (_, b) in zip(cols, cols[1:])]
    for _, words in cols:
        for w in words:
            w.claim()
    numeric = [leaf for leaf in order if leaf.kind != "text"]
    items: list[dict[Leaf, Found]] = []
    span = (cols[0][1][0].box[0] - cols[0][1][0].height, cols[-1][1][-1].box[2] + cols[-1][1][-1].height)
    for row in rows[header_row + 1:]:
        # in a grid of boxes, tables side by side share rows: a table's cells lie under its header
        free = [w for w in row if not w.claimed and (not boxed or span[0] <= w.cx <= span[1])]
        if not free or (boxed and _header_row([free], order) is not None):
            break  # the header printed again heads the next rows (read on their own)
        per_col: dict[Leaf, list[Seg]] = {}
        for w in free:
            # in a grid of boxes, under the header cell it overlaps most (a value aligned to either
            # edge of its box), else by the midpoints between the header cells
            over = max(range(len(cols)), key=lambda c: min(w.box[2], cols[c][1][-1].box[2]) - max(w.box[0], cols[c][1][0].box[0]))
            inside = boxed and min(w.box[2], cols[over][1][-1].box[2]) - max(w.box[0], cols[over][1][0].box[0]) > 0
            per_col.setdefault(order[over] if inside else order[sum(w.cx > b for b in bounds)], []).append(w)
        item: dict[Leaf, Found] = {}
        for leaf, words in per_col.items():
            _fill(item, leaf, words, SCORE_TABLE_HEADER)
        _split_leading_number(item, order, SCORE_TABLE_HEADER)
        numbers = sum(leaf in item and kind_ok(leaf.kind, item[leaf].value) for leaf in numeric)
        if numbers < 2 and free[0].parent is not None and _starts_with_other_label(free[0].parent, other):
            break  # "Subtotal 12.00": the table is over (an item row fills several number columns)
        if not numbers:
            if items and all(leaf.kind == "text" for leaf in item):
                for leaf, f in item.items():  # a wrapped description line
                    prev = items[-1].setdefault(leaf, Found("", f.score))
                    prev.value = f"{prev.value} {f.value}".strip()
                    prev.segs += f.segs
                for w in free:
                    w.claim()
                continue
            break
        for w in free:
            w.claim()
        items.append(item)
    return items


MAX_REPEATED_HEADERS = 8  # header rows of one boxed table read (one over each item row, a copy sheet's)


# A sign printed between a count and a unit price ("2 x 3.50", "2 @ 3.50").
_TIMES_SIGNS = frozenset({"x", "X", "×", "@", "*"})


def _is_times(words: list[Seg], i: int) -> bool:
    """Word ``i`` is a times sign between two numbers."""
    return (0 < i < len(words) - 1 and words[i].text in _TIMES_SIGNS
            and _is_number(words[i - 1].text) and _is_number(words[i + 1].text))


def _item_cells(words: list[Seg]) -> list[list[Seg]]:
    """``_cells`` of one printed row, where a times sign between two numbers also ends a cell
    (and is dropped): "2 x 3.50" is a count cell and a unit price cell."""
    cells: list[list[Seg]] = []
    for i, w in enumerate(words):
        if _is_times(words, i):
            cells.append([])
            continue
        if cells and cells[-1] and w.box[0] - cells[-1][-1].box[2] <= w.height:
            cells[-1].append(w)
        else:
            cells.append([w])
    return [c for c in cells if c]


_GLUED_TIMES = re.compile(r"^(\d+(?:[.,]\d+)?)?([xX×@*])(\d[\d.,]*)?$")


def _unglue_times(words: list[Seg]) -> list[Seg]:
    """Words with a count and a times sign and/or a unit price read as one word ("2x3,50",
    "×3,50") split into the count, the sign and the price, each with its share of the word's
    box; the row as it was unless that makes it a numbers line (a description's "4x4" stays)."""
    out: list[Seg] = []
    for w in words:
        m = _GLUED_TIMES.match(w.text)
        if not m or not (m[1] or m[3]) or (m[3] and not _is_number(m[3])):
            out.append(w)
            continue
        x0, y0, x1, y1 = w.box
        per = (x1 - x0) / max(1, len(w.text))
        for g in (1, 2, 3):
            if m[g]:
                i, j = m.span(g)
                out.append(Seg(m[g], [round(x0 + i * per), y0, round(x0 + j * per), y1], w.score, parent=w.parent))
    return out if out != words and _numbers_line(out) else words


def _key_value_row(words: list[Seg]) -> bool:
    """A row of "label: number" pairs ("Items: 5", "Table: 12") is a summary line, not an item."""
    return any(a.text.endswith(":") and _is_number(b.text) for a, b in zip(words, words[1:]))


def _numbers_line(words: list[Seg]) -> bool:
    """The second printed line of a two-line item: numbers (count, times sign, unit price, the
    line amount), at most one other word, a code with a digit in it, and no description."""
    if not words or not _is_number(words[-1].text):
        return False
    rest = [w for i, w in enumerate(words) if not _is_number(w.text) and not _is_times(words, i)]
    return len(rest) == 0 or (len(rest) == 1 and any(c.isdigit() for c in rest[0].text))


def _item_rows(rows: list[list[Seg]], starts_other: Callable[[list[Seg]], bool],
               n_numbers: int) -> list[list[list[Seg]]]:
    """The page's rows as item rows, each the printed rows it joins: a line of text followed by a
    line of numbers only (``_numbers_line``) is one item printed on two lines (its description,
    then its code, count x unit price and amount), when the text line ends in no number or the
    two lines hold no more numbers than the item has number leaves (``n_numbers``: on a skewed
    page the amount beside the count line can sit in the description's row)."""
    def count(words: list[Seg]) -> int:
        return sum(_is_number(w.text) for w in words)

    free = [_unglue_times([w for w in row if not w.claimed]) for row in rows]
    out: list[list[list[Seg]]] = []
    r = 0
    while r < len(free):
        text, nxt = free[r], free[r + 1] if r + 1 < len(free) else []
        if (text and nxt and any(c.isalpha() for w in text for c in w.text)
                and (not _is_number(text[-1].text) or count(text) + count(nxt) <= n_numbers)
                and not starts_other(text) and not _key_value_row(text) and not _numbers_line(text)
                and _numbers_line(nxt)):
            out.append([text, nxt])
            r += 2
        else:
            out.append([free[r]])
            r += 1
    return out


def _read_table_headerless(page: Page, rows: list[list[Seg]], items_leaves: list[Leaf],
                           other: list[Leaf], headings: tuple[str, ...] = ()) -> list[dict[Leaf, Found]]:
    """The longest run of item rows that hold text and end with an amount, read by cells: a code
    or id cell fills the leaf of its kind, the other text cells the text leaves, number cells fill
    the number leaves from the right. An item row is one printed row or, for an item printed on
    two lines, its description line and the numbers line under it (``_item_rows``). A row that
    starts with another field's label or one of the table's ``headings`` ("Box 12") is not one of
    its rows."""
    def starts_other(free: list[Seg]) -> bool:
        first = free[0].parent if free else None
        return first is not None and (_starts_with_other_label(first, other)
                                      or any(match_label(first.text, h) for h in headings))

    def fits(item_row: list[list[Seg]]) -> bool:
        free = [w for row in item_row for w in row]
        # text before the last number: a description, maybe after its count ("2 Beer 3.00 6.00":
        # then a price and an amount end the row, not a house number's "77 Mill Road Apt. 4")
        return (len(free) >= 2 and _is_number(free[-1].text) and not starts_other(item_row[0])
                and (not _is_number(free[0].text) or len(item_row) > 1 or _is_number(free[-2].text))
                and not _key_value_row(free)
                and any(c.isalpha() for w in free[:-1] if w.text not in _TIMES_SIGNS for c in w.text))

    text_leaves = [leaf for leaf in items_leaves if leaf.kind == "text"]
    coded = [leaf for leaf in items_leaves if leaf.kind not in ("text", "amount", "number", "percent")]
    num_leaves = [leaf for leaf in items_leaves if leaf.kind != "text" and leaf not in coded]
    item_rows = _item_rows(rows, starts_other, len(num_leaves))
    best, start = (0, 0), None
    for r in range(len(item_rows) + 1):
        ok = r < len(item_rows) and fits(item_rows[r])
        if ok and start is None:
            start = r
        if not ok and start is not None:
            if r - start > best[1] - best[0]:
                best = (start, r)
            start = None
    out = []
    for item_row in item_rows[best[0]:best[1]]:
        cells = _item_cells(item_row[0])
        for row in item_row[1:]:  # on a numbers line every word is a value (a code, the count, the price)
            cells += [[w] for i, w in enumerate(row) if not _is_times(row, i)]
        nums = [c for c in cells if len(c) == 1 and _is_number(c[0].text)]
        texts = [c for c in cells if c not in nums]
        nums.sort(key=lambda c: c[0].box[0])  # the two lines' numbers in column order
        item: dict[Leaf, Found] = {}
        for leaf in coded:  # a code column ("D", "DD") is text by its letters, not a description
            cell = next((c for c in texts if as_kind(leaf.kind, " ".join(w.text for w in c).strip(".,:;"))), None)
            if cell is not None:
                _fill(item, leaf, cell, SCORE_TABLE_HEADERLESS)
                item[leaf].value = " ".join(w.text for w in cell).strip(".,:;")
                texts.remove(cell)
        for leaf, cell in zip(text_leaves, texts):
            _fill(item, leaf, cell, SCORE_TABLE_HEADERLESS)
        for leaf, cell in zip(num_leaves[-len(nums):] if nums else [], nums[-len(num_leaves):]):
            _fill(item, leaf, cell, SCORE_TABLE_HEADERLESS)
        _split_leading_number(item, [*[leaf for leaf in num_leaves if leaf not in item], *text_leaves],
                              SCORE_TABLE_HEADERLESS)
        for row in item_row:
            for w in row:
                w.claim()
        out.append(item)
    return out


def _array_node(doc: DocType, head: str) -> dict[str, Any]:
    """The schema node of the array pattern ``head`` (``box12[]``, ``order.items[]``)."""
    node: dict[str, Any] = doc.schema
    for part in head[:-2].split("."):
        node = node.get("properties", {}).get(part, {})
    return node


def _boxed_arrays(doc: DocType, groups: dict[str, list[Leaf]]) -> dict[str, dict[str, Any]]:
    """Arrays printed as labelled boxes, one per item (``x-item-labels``: "12a", "12b", ...), or
    under a heading of their own (the array's ``x-labels``: "Box 12"), and every array of a type
    whose page is a grid of labelled boxes (``"x-boxed": true``): pattern -> schema node."""
    out = {}
    for head in groups:
        node = _array_node(doc, head)
        if node.get("x-item-labels") or node.get("x-labels") or doc.schema.get("x-boxed"):
            out[head] = node
    return out


def _array_label_segs(page: Page, boxed: dict[str, dict[str, Any]],
                      leaves: dict[str, list[Leaf]]) -> tuple[dict[str, list[tuple[int, Seg]]], set[int]]:
    """The segments that start with an item label (per array: (item index, segment)) and the ids
    of every item-label, heading and column-label segment (they bound the other fields' boxes)."""
    items: dict[str, list[tuple[int, Seg]]] = {}
    ids: set[int] = set()
    for head, node in boxed.items():
        for k, label in enumerate(node.get("x-item-labels", [])):
            for s in page.segs:
                if match_label(s.text, label) is not None:
                    items.setdefault(head, []).append((k, s))
                    ids.add(id(s))
        for label in node.get("x-labels", []):
            ids.update(id(s) for s in page.segs if match_label(s.text, label) is not None)
        for leaf in leaves.get(head, []):  # a column's label ("19 Local income tax") bounds boxes too
            for label in leaf.labels:
                ids.update(id(s) for s in page.segs if match_label(s.text, label) is not None)
    return items, ids


def _read_item_boxes(page: Page, found: list[tuple[int, Seg]], leaves: list[Leaf],
                     labels: set[int]) -> list[dict[Leaf, Found]]:
    """An array printed as one labelled box per item: each box's values (right of its label up
    to the next label, else the row under it) fill the item leaves by kind, in schema order."""
    by_index: dict[int, dict[Leaf, Found]] = {}
    for k, s in sorted(found, key=lambda x: x[0]):
        if k in by_index:
            continue
        left, right = _in_box(page, s, labels)
        segs = [o for o in page.rows[s.row] if o is not s and not o.claimed and id(o) not in labels
                and s.box[2] - 2 <= o.box[0] and o.box[2] <= right + 0.5 * s.height]
        down = _below_in_box(page, s, labels, left, right, 1.2)
        if not segs and down is not None:
            segs = [o for o in page.rows[down.row] if not o.claimed and id(o) not in labels
                    and o.box[0] >= min(left, down.box[0]) and o.box[2] <= right + 0.5 * s.height]
            if right == float("inf"):  # an open box: its row up to the next label
                stop = [o.box[0] for o in page.rows[down.row] if id(o) in labels and o.box[0] > down.box[0]]
                segs = [o for o in segs if not stop or o.box[2] <= min(stop)]
        item: dict[Leaf, Found] = {}
        tokens = [(t.strip(".,:;"), o) for o in segs for t in o.text.split()]
        for leaf in leaves:
            hit = next(((v, o) for t, o in tokens if (v := as_kind(leaf.kind, t)) is not None
                        and not any(o is f.segs[0] and v == f.value for f in item.values())), None)
            if hit is not None:
                item[leaf] = Found(hit[0], hit[1].score * SCORE_TABLE_HEADER, [hit[1]])
        if item:
            for f in item.values():
                f.segs[0].claimed = True
            by_index[k] = item
    return [by_index[k] for k in sorted(by_index)]


# --- labelled key-value fields ------------------------------------------------------------------

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


def _box_owner(page: Page, o: Seg, headers: set[int], reach: float = 8.0) -> Seg | None:
    """The box heading label whose box holds ``o``: the nearest one above it overlapping its
    columns (within ``reach`` line heights), ``None`` when no heading is over it."""
    best = None
    for h in page.segs:
        if id(h) not in headers or h.cy >= o.cy - 0.5 * min(h.height, o.height) or _x_overlap(h, o) <= 0 \
                or o.box[1] - h.box[3] > reach * h.height:
            continue
        if best is None or h.cy > best.cy:
            best = h
    return best


def _right_cells(page: Page, s: Seg, row: list[Seg], kind: str, labels: set[int],
                 headers: set[int] | None) -> list[Seg]:
    """The cells of ``row`` right of the label ``s`` that may hold its value: up to the next box,
    the next label, or (text) one cell; in a box one value of the kind."""
    right: list[Seg] = []
    for o in row:
        if (o.box[0] < s.box[2] - 2 and o.cx <= s.box[2]) or o.claimed:
            continue  # a cell whose box OCR let overlap the label's end is still right of it
        if headers and id(o) not in labels and (owner := _box_owner(page, o, headers)) is not None and owner is not s:
            break  # the next box's value ("d Control number" beside a card's last address line)
        if (right and (kind == "text" or id(o) in labels)) or (headers is not None and id(o) in labels):
            break  # on a page of boxes, a label beside this one starts the next box
        if headers is not None and kind != "text" and right and as_kind(kind, right[-1].text) is not None:
            break  # a box holds one value: the next cell is the next box's, whose label OCR missed
        right.append(o)
        if id(o) in labels:
            break  # another field's label: a value only if nothing better ("Tender | Cash")
    return right


def _candidates(page: Page, s: Seg, rest: str, kind: str, labels: set[int],
                multiline: bool = True, headers: set[int] | None = None) -> list[tuple[str, list[Seg], float]]:
    """Where the value of a label segment may be: after the label, to its right (for numbers and
    dates every cell up to the next label: "Total | RM | 9.00"), or below it in its box (text: the
    lines of the box, joined with spaces, unless ``multiline`` is off; another field's label is
    not in it). ``headers``: on a page of labelled boxes, the labels printed alone at the head of
    a box; a cell to the right that is in another one's box is not this label's value."""
    out = []
    if rest:
        out.append((rest, [s], 1.0))
    row = page.rows[s.row] if 0 <= s.row < len(page.rows) else []
    right = _right_cells(page, s, row, kind, labels, headers)
    if headers is not None and kind != "text" and not any(as_kind(kind, o.text) for o in right):
        # in a box, an amount printed lower right of its label may share no OCR row with it
        near = sorted(set(row) | {o for o in page.segs if o.box[1] < s.box[3] and o.box[3] > s.box[1]
                                  and o.cy >= s.box[1]}, key=lambda o: o.box[0])
        right = _right_cells(page, s, near, kind, labels, headers)
    if right and kind == "text" and multiline and headers is not None:
        # a boxed table row's value of several lines ("Name, address" | three lines): the lines
        # under it, down to one on the row of another label
        more = right[0]
        while len(right) < 6 and (more := _below_in_box(page, more, labels, more.box[0], more.box[2], 0.8)) is not None:
            if any(id(o) in labels and o is not s and o.box[1] <= more.cy <= o.box[3] for o in page.segs):
                break
            right.append(more)
    if right:
        out.append((" ".join(o.text for o in right), right, 0.95))
    if kind == "check":  # a tick box is printed over its label or beside it
        up = page.above(s, 1.5)
        if up is not None and not up.claimed and id(up) not in labels:
            out.append((up.text, [up], 0.9))
    left, right_edge = _in_box(page, s, labels)
    if headers is not None and not right and kind != "text" and right_edge == float("inf") and page.segs:
        right_edge = max(o.box[2] for o in page.segs)  # the last box of its row reaches the page's edge
    down = _below_in_box(page, s, labels, left, right_edge, 1.2)
    if down is not None:
        lines = [down]
        while kind == "text" and multiline and len(lines) < 6:
            more = _below_in_box(page, lines[-1], labels, left, right_edge, 0.8)
            if more is None or (right_edge == float("inf") and _x_overlap(more, s) <= 0):
                break
            lines.append(more)
        out.append((" ".join(o.text for o in lines), lines, 0.9))
        if headers is not None and (_x_overlap(down, s) > 0 or (right and _gap(down, s) < _gap(right[0], s))):
            # a value right under a box's label is its, and so is a nearer one in its box: the cell
            # beside the label is the next box's
            out = [(t, v, w * 0.8 if v is right else w) for t, v, w in out]
    return out


def _later_label_bottom(leaf: Leaf, leaves: list[Leaf], by_leaf: dict[str, list[tuple[Seg, float, str]]]) -> float:
    """The lowest label of a field after ``leaf`` in schema order (inf when none is printed)."""
    later = leaves[leaves.index(leaf) + 1:]
    ys = [s.box[3] for other in later for s, _, _ in by_leaf.get(other.pattern, [])]
    return max(ys) if ys else float("inf")


def _multiline(leaves: list[Leaf], everything: list[Leaf]) -> dict[str, bool]:
    """May a labelled text leaf take several lines under its label? Not when the leaf after it in
    the schema is unlabelled text: those lines are its ("Bill To" name, then the address)."""
    order = [leaf.pattern for leaf in everything]
    out = {}
    for leaf in leaves:
        i = order.index(leaf.pattern) if leaf.pattern in order else -1
        nxt = everything[i + 1] if 0 <= i < len(everything) - 1 else None
        out[leaf.pattern] = not (nxt is not None and not nxt.labels and nxt.kind == "text"
                                 and _parent(nxt.pattern) == _parent(leaf.pattern))
    return out


def _read_labelled(page: Page, leaves: list[Leaf], matches: dict[int, tuple[Leaf, float, str]],
                   everything: list[Leaf] | None = None, more_labels: frozenset[int] = frozenset(),
                   boxed: bool = False) -> set[int]:
    """Read each labelled leaf from its label's box; ``more_labels``: ids of other printed labels
    (an array's item boxes) that bound the boxes too. Returns the ids of every label segment."""
    by_leaf: dict[str, list[tuple[Seg, float, str]]] = {}
    for i, (leaf, score, rest) in matches.items():
        by_leaf.setdefault(leaf.pattern, []).append((page.segs[i], score, rest))
    label_segs = {id(page.segs[i]) for i in matches} | set(more_labels)
    # a page of labelled boxes (schema "x-boxed"): a label printed alone heads a box
    headers = {id(page.segs[i]) for i, (_, _, rest) in matches.items() if not rest} if boxed else None
    multiline = _multiline(leaves, everything or leaves)
    for leaf in leaves:
        per_label = []
        for s, label_score, rest in by_leaf.get(leaf.pattern, []):
            if s.claimed:
                continue  # taken as another field's value
            options = []
            for text, segs, where in _candidates(page, s, rest, leaf.kind, label_segs, multiline[leaf.pattern],
                                                 headers):
                if any(id(v) in label_segs for v in segs if v is not s):
                    where *= 0.5  # the neighbour is also a label: a value only if nothing better
                value = as_kind(leaf.kind, text)
                if value is not None and leaf.kind == "check":
                    value = CHECKED  # any mark ("x", a boxed X read as one glyph) means checked
                good = value is not None
                score = label_score * where * min(v.score for v in segs) * (SCORE_LABEL_EXACT if good else SCORE_WRONG_KIND)
                options.append((good, score, value if good else " ".join(text.split()), segs, s))
            if options:
                per_label.append(max(options, key=lambda o: (o[0], o[1])))
        good_ones = [o for o in per_label if o[0]] or (per_label if leaf.kind == "text" else [])
        if not good_ones:
            # the label is printed with no value of its kind: the box is empty, as sure as its label is read
            printed = [s.score * label_score for s, label_score, _ in by_leaf.get(leaf.pattern, []) if not s.claimed]
            if printed:
                page.empty[leaf.pattern] = max(printed) * SCORE_EMPTY_BOX
            continue
        if leaf.kind in ("amount", "number") and len({o[4].row for o in good_ones}) > 1:
            # printed in schema order: the last one above the later fields' labels (a rounded
            # total after the unrounded one; a tax summary's "Total" row after the change is not it)
            limit = _later_label_bottom(leaf, leaves, by_leaf)
            above = [o for o in good_ones if o[4].box[1] < limit] or good_ones
            # a row of several amounts is a table's ("Total: 10.94 0.66" under a tax summary)
            above = [o for o in above if len(re.findall(r"\d[.,]\d\d\b", " ".join(v.text for v in o[3]))) <= 1] or above
            good, score, value, segs, s = max(above, key=lambda o: (o[4].row, o[4].box[0]))
        else:
            good, score, value, segs, s = max(good_ones, key=lambda o: o[1])
        page.found[leaf.pattern] = Found(value, score, segs)
        page.label_of[leaf.pattern] = s
        s.claimed = True
        for v in segs:
            v.claimed = True
    return label_segs


def _read_unlabelled_kinds(page: Page, leaves: list[Leaf]) -> None:
    """Dates and times printed without their label: the first one on the page (top to bottom)."""
    for leaf in leaves:
        if leaf.kind not in ("date", "time"):
            continue
        current = page.found.get(leaf.pattern)
        if current is not None and as_kind(leaf.kind, current.value) is not None:
            continue
        for row in page.rows:  # claimed lines too: "Receipt #: 123 Date: 02/02/2018"
            hit = next(((s, v) for s in row if (v := as_kind(leaf.kind, s.text))), None)
            if hit is not None:
                s, value = hit
                page.found[leaf.pattern] = Found(value, s.score * SCORE_UNLABELLED_KIND, [s])
                break


# --- unlabelled text fields (by position) -------------------------------------------------------

def _is_title(s: Seg, titles: list[str]) -> bool:
    """A banner line: at most three words, one of them a title word ("-INVOICE-", "TAX INVOICE",
    "TAXINVOICE" with the space lost)."""
    from distill.spans import strip_accents

    words = re.findall(r"[^\W\d_]+", strip_accents(fold(s.text)))
    singles = [t for t in titles if " " not in t]
    hit = any(w == t or (w.endswith(t) and len(w) <= len(t) + 4) for w in words for t in singles)
    return not _has_digit(s.text) and 0 < len(words) <= 3 and (hit or fold(" ".join(words)) in titles)


def _texty(s: Seg) -> bool:
    return sum(c.isalpha() for c in s.text) >= 2


def _lines_below(page: Page, s: Seg, other: list[Leaf]) -> tuple[list[Seg], Seg | None]:
    """The text lines right under ``s`` (a multi-line value), and the line that ended them."""
    out = []
    cur = page.below(s)
    while cur is not None and _texty(cur) and not _starts_with_other_label(cur, other):
        out.append(cur)
        cur = page.below(cur)
    return out, cur


def _block_above(page: Page, s: Seg) -> list[Seg]:
    """The block of lines right above ``s``: in its column, or else the nearest lines above it
    (a centred letterhead over a left-aligned "Tax ID" line)."""
    out = []
    cur = page.above(s)
    if cur is None:
        near = [o for o in page.segs if not o.claimed and o.cy < s.cy and s.box[1] - o.box[3] <= 0.8 * s.height]
        cur = max(near, key=lambda o: o.cy) if near else None
    while cur is not None:
        out.insert(0, cur)
        cur = page.above(cur)
    return out


def _parent(pattern: str) -> str:
    return pattern.rsplit(".", 1)[0] if "." in pattern else ""


def _assign_run(page: Page, run: list[Leaf], lines: list[Seg], trust: float = SCORE_POSITION) -> None:
    """The first leaves of a run get one line each, the last one every remaining line (joined
    with single spaces)."""
    lines = [s for s in lines if not s.claimed]
    for i, leaf in enumerate(run):
        take = lines[i:i + 1] if i < len(run) - 1 else lines[i:]
        if not take:
            break
        _set_found(page, leaf, take, trust)


def _page_top(page: Page) -> Seg | None:
    return next((s for row in page.rows for s in row if not s.claimed), None)


# classes of line that are never a name, unless the schema says otherwise (x-not-lines)
NOT_NAME = frozenset({"id", "phone", "email", "url", "date", "time", "amount"})
SCORE_HEADER_LEGAL = 0.85   # the header line that ends in a legal form ("... Ltd")
SCORE_HEADER_FIRST = 0.55   # else the first line that reads like a name: how sure it heads the page
SCORE_FIRST_NAME = 0.8      # ... and that name's value (since the name repairs 82% exact on half 1/2 of the
                            # real receipts, 88% on 2/2); the lines under it keep the trust of its place
TALLER_THAN_PRINT = 3.0     # times the page's median line height: not printed text
SCORE_UNDER_HEADER = 0.7    # times the name's trust: the lines under it (an address; several lines to
                            # read exactly: 54% exact on real receipts; 0.7 chosen on one half of them,
                            # calibration error 0.087 -> 0.077 on the other)


def _name_like(s: Seg, not_lines: frozenset[str] = NOT_NAME) -> bool:
    """Reads like a business name: four letters or more, capitalised, mostly letters, and none of
    the ``not_lines`` classes (an id, phone, e-mail, web address, date, time or amount line)."""
    text = s.text.strip()
    letters = sum(c.isalpha() for c in text)
    chars = sum(not c.isspace() for c in text)
    if _has_digit(text) and "," in text:
        return False  # "3rd Floor, Main Road": an address line
    return (letters >= 4 and any(c.isupper() for c in text) and letters >= 0.5 * chars
            and not (line_classes(text) & not_lines))


_TRAILING_GROUP = re.compile(r"\(([^()]*)\)?\s*$")  # a parenthesised remark ending the line


def _strip_trailing_id(text: str) -> str:
    """A name without the registration number printed after it ("Acme Sdn Bhd (123456-X)",
    "Acme S/B 123456-X (AB)")."""
    from distill.spans import _id_token

    m = _TRAILING_GROUP.search(text)
    if m and sum(c.isdigit() for c in m.group(1)) >= 4 and sum(c.isalpha() for c in text[:m.start()]) >= 4:
        return " ".join(text[:m.start()].split()).rstrip(" -:")  # "(Co. No: 20154-T)", label and all
    tokens = text.replace("(", " (").split()
    for i, token in enumerate(tokens):
        if i > 0 and _id_token(token) and len(tokens) - i <= 3 and sum(c.isalpha() for c in " ".join(tokens[:i])) >= 4:
            return " ".join(tokens[:i]).rstrip(" -:")
    return " ".join(text.split())


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


def _is_bare_legal_form(text: str) -> bool:
    from distill.spans import LEGAL_FORMS

    return fold(re.sub(r"[^\w./& ]", " ", text)).strip(" .") in {f.strip(".") for f in LEGAL_FORMS}


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


def _clean_name(text: str) -> str:
    """A name as printed, without a registration number after it or a "Label:" before it
    ("Operated by: Acme Ltd (12345-X)" -> "Acme Ltd")."""
    text = _strip_trailing_id(text)
    head, colon, rest = text.partition(":")
    if colon and rest.strip() and len(head.split()) <= 3 and legal_form(rest):
        text = rest.strip()
    return text


def _header_name(page: Page, doc: DocType, other: list[Leaf],
                 not_lines: frozenset[str] = NOT_NAME) -> tuple[list[Seg], float]:
    """The business name at the head of the page: among the top lines (above the first banner
    after them, in the page's top half), the first with a company's legal form, else the first
    that reads like a name. It goes on to the next line after a trailing "&" or when that line is a
    bare legal form ("SDN BHD"), and back to the line above when it starts with one ("CO. LTD")."""
    if not page.segs:
        return [], 0.0
    top, bottom = min(s.box[1] for s in page.segs), max(s.box[3] for s in page.segs)
    banners = titles(doc)
    names: list[list[Seg]] = []
    for row in page.rows:
        if row and row[0].cy > top + 0.5 * (bottom - top):
            break
        units: list[list[Seg]] = []
        for s in row:
            if not s.claimed and not any(s in u for u in units):
                units.append(_unit(page, s))
        if names and any(_is_title(_merged(u), banners) for u in units):
            break
        for u in units:
            line = _merged(u)
            if (not _is_title(line, banners) and _name_like(Seg(_clean_name(line.text), line.box, line.score), not_lines)
                    and not _starts_with_other_label(line, other)):
                names.append(u)
    if not names:
        return [], 0.0
    names.sort(key=lambda u: (_merged(u).box[1], _merged(u).box[0]))  # rows chain across close lines
    usual = sorted(s.height for s in page.segs)[len(page.segs) // 2]
    printed = [u for u in names if _merged(u).height <= TALLER_THAN_PRINT * usual]
    names = printed or names  # a line far taller than the print is a hand-written note or a stamp

    def continued(u: list[Seg]) -> list[Seg]:
        out: list[Seg] = []
        last = _merged(u)
        while (nxt := _next_line(page, last)) is not None and not nxt.claimed and nxt not in u + out \
                and (_goes_on(last.text) or _is_bare_legal_form(nxt.text)
                     or (_name_part(nxt.text) and _name_like(nxt, not_lines))):
            out += _unit(page, nxt)
            last = _merged([x for x in out if x.row == out[-1].row])
        return out

    legal = [u for u in names if legal_form(" ".join(s.text for s in u + continued(u)))]
    first = legal[0] if legal else names[0]
    out = first + continued(first)
    while (prev := _prev_line(page, _merged([x for x in out if x.row == out[0].row]))) is not None \
            and not prev.claimed and prev not in out and _name_like(prev, not_lines) \
            and (_name_part(_merged(out).text) or _goes_on(prev.text)):
        out = _unit(page, prev) + out  # "... ENTERPRISE (CITY" over "CENTRE) SDN BHD"
    return out, SCORE_HEADER_LEGAL if legal else SCORE_HEADER_FIRST


def _goes_on(text: str) -> bool:
    """Does a name's line go on to the next: it ends in "&", "and", "-" or "," or leaves a "(" open?"""
    return bool(re.search(r"(&|\band|-|,)\s*$", text, re.I)) or text.count("(") > text.count(")")


def _name_part(text: str) -> bool:
    """Is ``text`` the rest of a name begun on the line above: it starts with a legal form ("Co. (M)
    Sdn Bhd", "ENTERPRISE (CITY"), with a parenthesised part before one ("(CITY) SDN BHD"), or
    names only a kind of business before it ("STATIONERY SDN BHD": the name itself is above)?"""
    from distill.spans import _LEGAL, BUSINESS_WORDS

    if _legal_lead(text) or (text.lstrip().startswith("(") and legal_form(text)):
        return True
    m = _LEGAL.search(text)
    head = [w.casefold() for w in re.findall(r"[^\W\d_]+", text[:m.start()])] if m and legal_form(text) else []
    head = [w for w in head if w != "sdn"]  # "SDN.BHD" read as one legal form
    return bool(head) and all(w in BUSINESS_WORDS for w in head)


def _legal_lead(text: str) -> bool:
    """Does ``text`` start with a legal form ("Co. (M) Sdn Bhd": the name is on the line above)?"""
    from distill.spans import _LEGAL

    m = _LEGAL.match(text.strip())
    return m is not None


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


def _set_found(page: Page, leaf: Leaf, segs: list[Seg], trust: float) -> None:
    """A value of one or more segments: every one must be read right, so their OCR scores multiply."""
    ocr = 1.0
    for seg in segs:
        ocr *= seg.score
    page.found[leaf.pattern] = Found(" ".join(" ".join(s.text.split()) for s in segs), ocr * trust, segs)
    for s in segs:
        s.claimed = True


def _read_header(page: Page, doc: DocType, top_leaves: list[Leaf], other: list[Leaf]) -> None:
    """An ``x-header`` leaf is the page's header name; the unlabelled text leaves after it (an
    address) are the lines under it. Read before tables and labels, which could take those lines."""
    for k, leaf in enumerate(top_leaves):
        h = hints(doc, leaf)
        if not h.header or leaf.pattern in page.found:
            continue
        name, trust = _header_name(page, doc, other, h.not_lines or NOT_NAME)
        if not name:
            continue
        _set_found(page, leaf, name, SCORE_FIRST_NAME if trust < SCORE_HEADER_LEGAL else trust)
        page.found[leaf.pattern].value = unglue_name(_clean_name(page.found[leaf.pattern].value))
        run = []
        for nxt in top_leaves[k + 1:]:
            if nxt.labels or nxt.kind != "text" or _parent(nxt.pattern) != _parent(leaf.pattern):
                break
            run.append(nxt)
        if run:
            last_line = _merged([x for x in name if x.row == name[-1].row])
            not_lines = hints(doc, run[-1]).not_lines
            below, stop = _lines_after(page, last_line, other, not_lines, titles(doc), run[-1].category)
            if not any(_has_address_cue(x.text) for x in below):
                # nothing under the name reads like an address: the store's block printed elsewhere
                # (a till roll's foot), else the lines under the name as they are
                elsewhere = _address_block(page, other, not_lines, titles(doc), name)
                if elsewhere:
                    below, stop, trust = elsewhere, None, trust * SCORE_ELSEWHERE
            _assign_run(page, run, below, trust * SCORE_UNDER_HEADER)
            for leaf in run:  # the address lines: the spaces OCR lost between their parts put back
                if leaf.pattern in page.found:
                    page.found[leaf.pattern].value = unglue_address(page.found[leaf.pattern].value)
            after = top_leaves[k + 1 + len(run)] if k + 1 + len(run) < len(top_leaves) else None
            if below and stop is not None and after is not None and after.kind != "text" \
                    and after.pattern not in page.found and as_kind(after.kind, stop.text) is not None \
                    and not _starts_with_other_label(stop, other):
                _assign_run(page, [after], [stop])  # printed without its label, right after the run


def _read_positional(page: Page, doc: DocType, top_leaves: list[Leaf], other: list[Leaf],
                     unprinted: frozenset[str] = frozenset()) -> None:
    """Unlabelled text leaves, and labelled ones whose label the page does not print
    (``unprinted``: a card of name and address lines under its party's id), from position."""
    banners = titles(doc)
    title_field = doc.schema.get("x-title-field")  # a type whose printed title is a field (forms) reads the banner
    for s in page.segs:
        if not s.claimed and _is_title(s, banners):
            s.claimed = True
            if title_field and title_field not in page.found:
                page.found[title_field] = Found(s.text, s.score * SCORE_POSITION, [s])
    parents: dict[str, list[Leaf]] = {}
    for leaf in top_leaves:
        parents.setdefault(_parent(leaf.pattern), []).append(leaf)
    for parent, leaves in parents.items():
        i = 0
        def unlabelled(leaf: Leaf) -> bool:
            return not leaf.labels or (leaf.pattern in unprinted and leaf.pattern not in page.found)

        while i < len(leaves):
            if not unlabelled(leaves[i]) or leaves[i].kind != "text" or leaves[i].pattern in page.found:
                i += 1
                continue
            j = i
            while j < len(leaves) and unlabelled(leaves[j]) and leaves[j].kind == "text":
                j += 1
            run = leaves[i:j]
            before = page.found.get(leaves[i - 1].pattern) if i > 0 else None
            if run[0].pattern in unprinted and run[0].category:
                # its label is not printed: it follows its party's last field found (the party's
                # id line over the name and address), not the previous box of another party
                same = [leaf for leaf in leaves[:i] if leaf.category == run[0].category and leaf.pattern in page.found]
                before = page.found[same[-1].pattern] if same else None
            after = next((page.label_of[leaf.pattern] for leaf in leaves[j:] if leaf.pattern in page.label_of), None)
            lines: list[Seg] = []
            stop = None
            under_header = i > 0 and hints(doc, leaves[i - 1]).header
            if under_header:
                pass  # the lines under a header name were read with it: only the block above a label is left
            elif before is not None and before.segs:
                lines, stop = _lines_below(page, before.segs[-1], other)
            elif parent == "" and (first := _page_top(page)) is not None:
                _assign_run(page, run[:1], [first])  # a document's first field is its name: the top line
                run = run[1:]
                lines, stop = _lines_below(page, first, other)
            if not lines and after is not None:
                lines, stop = _block_above(page, after), None
            not_lines = hints(doc, run[-1]).not_lines if run else frozenset()
            lines = [x for x in lines if not (line_classes(x.text) & not_lines)]
            _assign_run(page, run, lines)
            nxt = leaves[j] if j < len(leaves) else None
            if stop is not None and not stop.claimed and nxt is not None and nxt.pattern not in page.found \
                    and nxt.kind != "text" and kind_ok(nxt.kind, stop.text):
                _assign_run(page, [nxt], [stop])  # printed without its label, right after the run
            i = j


# --- amounts from the schema's arithmetic (x-checks) --------------------------------------------

SCORE_FROM_CHECK = 0.6


def _printed_amounts(page: Page) -> list[tuple[Any, str, Seg]]:
    from docfoundry.normalize import as_decimal

    out = []
    for s in page.segs:
        for token in s.text.split():
            if _is_amount(token) and "%" not in token and (d := as_decimal(token)) is not None:
                out.append((d, token, s))
    return out


def _amount_checks(doc: DocType, value: Callable[[str], Any]) -> list[tuple[str, list[str], str]]:
    """The schema's add / subtract relations between single amounts as ``(op, terms, target)``, an
    ``optional`` term left out where ``value`` says the page does not print it (no rounding line)."""
    out = []
    for check in doc.checks:
        op = "add" if check.get("add") else "subtract" if check.get("subtract") else ""
        target = check.get("equals")
        if not op or not isinstance(target, str) or "[]" in target or any("[]" in t for t in check[op]):
            continue
        optional = set(check.get("optional", ()))
        out.append((op, [t for t in check[op] if t not in optional or value(t)], target))
    return out


def _found_text(page: Page) -> Callable[[str], Any]:
    """A pattern's value as read on the page (``None`` when it was not found)."""
    return lambda t: page.found[t].value if t in page.found else None


def _read_from_checks(page: Page, doc: DocType) -> None:
    """An amount printed without a label the schema knows, found by its x-checks: with
    ``change = tendered - total`` the total is tendered minus change, with ``total = subtotal + tax``
    and no tax printed it is the subtotal; the value is taken only as printed on the page."""
    from docfoundry.normalize import as_decimal

    def value(pattern: str) -> Any:
        f = page.found.get(pattern)
        return as_decimal(f.value) if f is not None and f.value else None

    printed = None
    for op, terms, target in _amount_checks(doc, value):
        known = {t: value(t) for t in [*terms, target]}
        missing = [t for t, v in known.items() if v is None]
        if len(missing) != 1 and not (op == "add" and target in missing):
            continue
        if op == "add":
            want = missing[0] if len(missing) == 1 else target
            if want == target:
                found_terms = [known[t] for t in terms if known[t] is not None]
                if not found_terms:
                    continue
                # the sum, else one term alone (a tax read from a registration line is no tax)
                options = [sum(found_terms), *sorted(found_terms, reverse=True)]
                printed = printed if printed is not None else _printed_amounts(page)
                result = next((r for r in options if any(d == r for d, _, _ in printed)), None)
            else:
                result = known[target] - sum(v for t, v in known.items() if t not in (target, want))
        else:
            a, b = terms
            want = missing[0]
            result = {target: known[a] - known[b] if known[a] is not None and known[b] is not None else None,
                      a: known[target] + known[b] if known[target] is not None and known[b] is not None else None,
                      b: known[a] - known[target] if known[a] is not None and known[target] is not None else None}[want]
        if result is None or result <= 0:
            continue
        printed = printed if printed is not None else _printed_amounts(page)
        hits = [(token, s) for d, token, s in printed if d == result]
        if hits:
            token, s = hits[-1]
            page.found[want] = Found(token, s.score * SCORE_FROM_CHECK, [s])


def _repair_from_checks(page: Page, doc: DocType) -> None:
    """An amount OCR or the label reading got wrong, put right by the schema's arithmetic: when
    relations between the amounts read break, the one change of one amount to another amount printed
    on the page that makes the most of them hold (none newly broken) is made ("Total 112.46" where
    subtotal + tax + rounding and cash - change both give the 112.45 printed as the cash)."""
    from docfoundry.normalize import as_decimal

    checks = _amount_checks(doc, _found_text(page))
    if not checks:
        return

    def values(override: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for _, terms, target in checks:
            for t in [*terms, target]:
                f = page.found.get(t)
                out[t] = override.get(t, as_decimal(f.value) if f is not None and f.value else None)
        return out

    def holding(vals: dict[str, Any]) -> tuple[int, set[int]]:
        held, broken = 0, set()
        for i, (op, terms, target) in enumerate(checks):
            operands = [vals.get(t) for t in terms]
            if vals.get(target) is None or any(v is None for v in operands):
                continue
            result = sum(operands) if op == "add" else operands[0] - sum(operands[1:])
            if result == vals[target]:
                held += 1
            else:
                broken.add(i)
        return held, broken

    base = values({})
    held, broken = holding(base)
    if not broken:
        return
    printed = _printed_amounts(page)
    options: dict[tuple[str, Any], int] = {}
    for i in broken:
        op, terms, target = checks[i]
        for want in [*terms, target]:
            rest = {t: base[t] for t in [*terms, target] if t != want}
            if any(v is None for v in rest.values()):
                continue
            if want == target:
                v = sum(rest[t] for t in terms) if op == "add" else rest[terms[0]] - sum(rest[t] for t in terms[1:])
            elif op == "add":
                v = rest[target] - sum(rest[t] for t in terms if t != want)
            else:
                v = rest[target] + sum(rest[t] for t in terms[1:] if t != want) if want == terms[0] \
                    else rest[terms[0]] - rest[target] - sum(rest[t] for t in terms[1:] if t not in (want,))
            if v is None or v <= 0 or v == base[want] or not any(d == v for d, _, _ in printed):
                continue
            now_held, now_broken = holding(values({want: v}))
            if now_held > held and now_broken <= broken:
                options[(want, v)] = now_held
    if not options:
        return
    best = max(options.values())
    winners = [k for k, n in options.items() if n == best]
    if len(winners) != 1:
        return  # two repairs explain the page as well: keep what was read
    want, v = winners[0]
    token, seg = [(tok, s) for d, tok, s in printed if d == v][-1]
    page.found[want] = Found(token, seg.score * SCORE_FROM_CHECK, [seg])


def _checked_confidence(page: Page, doc: DocType) -> None:
    """The schema's arithmetic as evidence: amounts that satisfy an x-check together (total =
    subtotal + tax, change = tendered - total) are surer, amounts that break one less sure."""
    from docfoundry.normalize import as_decimal

    for op, terms, target in _amount_checks(doc, _found_text(page)):
        found = [page.found.get(t) for t in [*terms, target]]
        if any(f is None or not f.value for f in found):
            continue
        values = [as_decimal(f.value) for f in found]  # type: ignore[union-attr]
        if any(v is None for v in values):
            continue
        *operands, result = values
        expected = sum(operands) if op == "add" else operands[0] - sum(operands[1:])
        holds = expected == result
        for f in found:
            f.score = f.score + (1 - f.score) * 0.5 if holds else f.score * 0.85  # type: ignore[union-attr]


# --- the whole page -----------------------------------------------------------------------------

def _leaf_patterns(node: dict[str, Any], pattern: str) -> list[str]:
    """The leaf patterns under a schema node (``pattern`` names the node)."""
    if node.get("type") == "object":
        return [p for k, child in node.get("properties", {}).items() for p in _leaf_patterns(child, f"{pattern}.{k}")]
    return [] if node.get("type") == "array" else [pattern]


def _build(node: dict[str, Any], path: str, pattern: str, page: Page, scores: dict[str, float]) -> Any:
    t = node.get("type")
    if t == "object":
        return {k: _build(child, f"{path}.{k}" if path else k, f"{pattern}.{k}" if pattern else k, page, scores)
                for k, child in node.get("properties", {}).items()}
    if t == "array":
        rows = page.tables.get(f"{pattern}[]", [])
        n = max(len(rows), int(node.get("minItems", 0)))
        if "maxItems" in node:
            n = min(n, int(node["maxItems"]))
        out = []
        for i in range(n):
            item_page = Page(page.segs, page.rows, found=rows[i] if i < len(rows) else {})
            if i < len(rows) and rows[i]:  # a row that was read: a cell it left empty is as sure as the row
                item_page.empty = dict.fromkeys(_leaf_patterns(node.get("items", {}), f"{pattern}[]"),
                                                SCORE_EMPTY_BOX * max(f.score for f in rows[i].values()))
            out.append(_build(node.get("items", {}), f"{path}.{i}", f"{pattern}[]", item_page, scores))
        return out
    f = page.found.get(pattern)
    scores[path] = round(f.score, 4) if f else round(page.empty.get(pattern, SCORE_NOT_FOUND), 4)
    if not f:
        return ""
    kind = node.get("x-kind")
    value = _restore_point(page, f.value) if kind == "amount" else fix_glyphs(f.value) if kind == "text" else f.value
    # "x-case": "upper" is a user's truth convention (docfoundry.case), opted into in their schema
    return apply_case(value, node.get("x-case"))


_LOST_POINT = re.compile(r"(-?\d{1,4}) (\d{2})")


def _restore_point(page: Page, value: str) -> str:
    """An amount whose decimal mark OCR read as a space ("10 00") with the mark the page's other
    amounts print ("10.00"; "10,00" on a page of comma decimals)."""
    m = _LOST_POINT.fullmatch(value.strip())
    if not m:
        return value
    marks = [t[-3] for s in page.segs for t in re.findall(r"\d[.,]\d{2}(?!\d)", s.text)]
    mark = "," if marks.count(",") > marks.count(".") else "."
    return f"{m.group(1)}{mark}{m.group(2)}"


def extract(doc: DocType, lines: list[Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """Read ``doc``'s fields from OCR ``lines`` (``distill.ocr.OcrLine``): (nested fields, score per path)."""
    from distill.skew import level

    lines = level(lines)  # a page scanned askew: rows level again before they are grouped
    segs = [Seg(line.text, list(line.box), float(line.score), words=list(line.words))
            for line in lines if line.text.strip()]
    page = Page(segs, group_rows(segs))
    groups = _array_groups(doc)
    in_table = {leaf.pattern for items in groups.values() for leaf in items}
    top = [leaf for leaf in doc.leaves if leaf.pattern not in in_table and "[]" not in leaf.pattern]
    top = [_with_read_labels(doc, leaf) for leaf in top]
    groups = {head: [_with_read_labels(doc, leaf) for leaf in items] for head, items in groups.items()}
    labelled = [leaf for leaf in top if leaf.labels]
    _read_header(page, doc, top, labelled)
    from distill.pairs import pair_arrays, read_pairs

    qa = pair_arrays(doc.schema)  # question/answer arrays are key-value pairs by layout, not tables
    boxed = _boxed_arrays(doc, groups)
    item_labels, array_label_ids = _array_label_segs(page, boxed, groups)

    def read_table(head: str, items: list[Leaf], headerless: bool = True) -> None:
        rows = _word_rows(page)
        header = _header_row(rows, items)
        if header is None and not headerless:
            return
        is_boxed = bool(doc.schema.get("x-boxed"))
        found = (_read_table_with_header(page, rows, header[0], header[1], top, is_boxed) if header
                 else _read_table_headerless(page, rows, items, top, tuple(boxed.get(head, {}).get("x-labels", []))))
        if header and is_boxed:  # a grid of boxes may print the header over every row: each heads its rows
            tops = [(header[1][0][1][0].box[1], found)]
            while tops[-1][1] and len(tops) < MAX_REPEATED_HEADERS:
                rows = _word_rows(page)
                again = _header_row(rows, items)
                if again is None:
                    break
                tops.append((again[1][0][1][0].box[1], _read_table_with_header(page, rows, again[0], again[1], top, True)))
            found = [item for _, part in sorted(tops, key=lambda t: t[0]) for item in part]
        page.tables[head] = [{leaf.pattern: f for leaf, f in row.items()} for row in found]

    for head, items in groups.items():
        if head not in {a.head for a in qa}:
            # an array printed in labelled boxes or under its heading is read after the labelled
            # fields (before, its headerless reading takes their name and address lines), unless
            # it prints a header row
            read_table(head, items, headerless=head not in boxed)
    for s in segs:  # rows were numbered on words; renumber the lines
        s.row = -1
    page.rows = group_rows(segs)
    matches = _label_matches(page, labelled, doc)
    printed = {leaf.pattern for leaf, _, _ in matches.values()}
    unprinted = frozenset(leaf.pattern for leaf in labelled if leaf.kind == "text" and leaf.pattern not in printed)
    label_ids = _read_labelled(page, labelled, matches, top, frozenset(array_label_ids),
                               bool(doc.schema.get("x-boxed")))
    for head in boxed:
        if head in page.tables:
            continue
        if item_labels.get(head):
            page.tables[head] = [{leaf.pattern: f for leaf, f in row.items()}
                                 for row in _read_item_boxes(page, item_labels[head], groups[head], label_ids)]
        if not page.tables.get(head):
            for s in segs:
                s.row = -1
            read_table(head, groups[head])
            for s in segs:
                s.row = -1
            page.rows = group_rows(segs)
    if qa:  # before the unlabelled readers, which would take a form's answers for their own kinds
        free = [s for s in segs if not s.claimed]
        tables, used = read_pairs(free, qa)
        for i in used:
            free[i].claimed = True
        for head, items in tables.items():
            page.tables[head] = [{p: Found(v, sc) for p, (v, sc) in item.items()} for item in items]
    _read_unlabelled_kinds(page, labelled)
    _read_from_checks(page, doc)
    _repair_from_checks(page, doc)
    _checked_confidence(page, doc)
    _read_positional(page, doc, top, labelled, unprinted)
    scores: dict[str, float] = {}
    fields = _build(doc.schema, "", "", page, scores)
    return fields, scores
