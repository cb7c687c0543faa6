"""Schema-guided field extraction from OCR lines: the OCR teacher's reading of a page.

Everything it looks for comes from the document type's schema, never from a field list in code:
  - each leaf's ``x-labels`` are the printed labels it searches for (longest match wins a line);
    the value is the rest of the label's line, the cell to its right, or the line below;
  - each leaf's ``x-kind`` (amount, date, id, ...) checks a candidate value, and when a label
    appears more than once, amounts take the biggest (the total next to a "Total" label);
  - an array of objects is a table: its header row is the row naming most of the item leaves'
    labels, columns come from the header cells, rows run down to the next labelled line; without a
    header, the longest run of rows ending in an amount is read with the item leaves in order;
  - unlabelled text leaves are read from position: the lines below the value of the leaf before
    them, the block above the leaf after them, or the page's first line (a document's name);
  - lines naming the schema's ``title`` (a banner such as "INVOICE") are headings, never values.

``extract(doc, lines)`` returns the nested fields (every schema key present, "" when not found)
and a score per dotted path (OCR confidence times how the value was found).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from docfoundry.doctypes import DocType, Leaf

# How much a way of finding a value is trusted (times the OCR score of the value's line).
SCORE_LABEL_EXACT = 0.95
SCORE_TABLE_HEADER = 0.9
SCORE_TABLE_HEADERLESS = 0.7
SCORE_POSITION = 0.6
SCORE_WRONG_KIND = 0.4
SCORE_NOT_FOUND = 0.3


# --- value checks per x-kind --------------------------------------------------------------------

def _has_digit(v: str) -> bool:
    return any(c.isdigit() for c in v)


def _is_amount(v: str) -> bool:
    from eval.normalize import as_decimal

    letters = sum(c.isalpha() for c in v)
    return _has_digit(v) and letters <= 3 and as_decimal(v) is not None


def _is_date(v: str) -> bool:
    from eval.normalize import as_dates

    return _has_digit(v) and as_dates(v) is not None


KIND_CHECKS = {
    "amount": _is_amount,
    "number": lambda v: _is_amount(v) and sum(c.isalpha() for c in v) == 0,
    "percent": lambda v: _is_amount(v) and ("%" in v or len(v) <= 6),
    "date": _is_date,
    "time": lambda v: re.search(r"\d{1,2}[:.h]\d{2}", v) is not None,
    "id": lambda v: len(v.strip()) >= 3 and _has_digit(v),
    "code": lambda v: re.fullmatch(r"[A-Z0-9]{1,4}", v.strip()) is not None,
    "check": lambda v: bool(v.strip()),
    "text": lambda v: any(c.isalpha() for c in v),
}


def kind_ok(kind: str, value: str) -> bool:
    """Does ``value`` look like a value of ``kind``?"""
    return bool(value.strip()) and KIND_CHECKS.get(kind, KIND_CHECKS["text"])(value)


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


def group_rows(segs: list[Seg]) -> list[list[Seg]]:
    """Segments grouped into rows by vertical overlap, top to bottom, each row left to right."""
    rows: list[list[Seg]] = []
    for s in sorted(segs, key=lambda s: s.cy):
        row = rows[-1] if rows else None
        if row and abs(s.cy - sum(r.cy for r in row) / len(row)) <= 0.5 * min(s.height, row[0].height):
            row.append(s)
        else:
            rows.append([s])
    for i, row in enumerate(rows):
        row.sort(key=lambda s: s.box[0])
        for s in row:
            s.row = i
    return rows


# --- labels -------------------------------------------------------------------------------------

def fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def match_label(text: str, label: str) -> tuple[float, str] | None:
    """If ``text`` starts with ``label``: (match score, the text after it), else ``None``."""
    from rapidfuzz import fuzz

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


def _label_matches(page: Page, leaves: list[Leaf]) -> dict[int, tuple[Leaf, float, str]]:
    """For each unclaimed segment, the leaf whose label matches it best (exact before fuzzy, then
    the longest label: "Tax ID: 12" is the tax id, not the tax)."""
    out: dict[int, tuple[Leaf, float, str]] = {}
    rank: dict[int, tuple[float, int]] = {}
    for leaf in leaves:
        for label in leaf.labels:
            for i, s in enumerate(page.segs):
                if s.claimed:
                    continue
                m = match_label(s.text, label)
                if m is not None and (m[0], len(label)) > rank.get(i, (0.0, -1)):
                    rank[i] = (m[0], len(label))
                    out[i] = (leaf, m[0], m[1])
    return out


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
    return any(match_label(s.text, lab) for leaf in other for lab in leaf.labels)


def _is_number(text: str) -> bool:
    return kind_ok("amount", text) and not any(c.isalpha() for c in text)


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
                            header: list[tuple[Leaf, list[Seg]]], other: list[Leaf]) -> list[dict[Leaf, Found]]:
    cols = sorted(header, key=lambda c: c[1][0].box[0])
    order = [leaf for leaf, _ in cols]
    bounds = [(a[-1].box[2] + b[0].box[0]) / 2 for (_, a), (_, b) in zip(cols, cols[1:])]
    for _, words in cols:
        for w in words:
            w.claim()
    numeric = [leaf for leaf in order if leaf.kind != "text"]
    items: list[dict[Leaf, Found]] = []
    for row in rows[header_row + 1:]:
        free = [w for w in row if not w.claimed]
        if not free:
            break
        per_col: dict[Leaf, list[Seg]] = {}
        for w in free:
            per_col.setdefault(order[sum(w.cx > b for b in bounds)], []).append(w)
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


def _read_table_headerless(page: Page, rows: list[list[Seg]], items_leaves: list[Leaf],
                           other: list[Leaf]) -> list[dict[Leaf, Found]]:
    """The longest run of rows that start with text and end with an amount, read by cells:
    text cells fill the text leaves, number cells fill the number leaves from the right."""
    def fits(row: list[Seg]) -> bool:
        free = [w for w in row if not w.claimed]
        return (len(free) >= 2 and not _is_number(free[0].text) and _is_number(free[-1].text)
                and not (free[0].parent is not None and _starts_with_other_label(free[0].parent, other)))

    best, start = (0, 0), None
    for r in range(len(rows) + 1):
        ok = r < len(rows) and fits(rows[r])
        if ok and start is None:
            start = r
        if not ok and start is not None:
            if r - start > best[1] - best[0]:
                best = (start, r)
            start = None
    text_leaves = [leaf for leaf in items_leaves if leaf.kind == "text"]
    num_leaves = [leaf for leaf in items_leaves if leaf.kind != "text"]
    out = []
    for row in rows[best[0]:best[1]]:
        cells = _cells([w for w in row if not w.claimed])
        nums = [c for c in cells if len(c) == 1 and _is_number(c[0].text)]
        texts = [c for c in cells if c not in nums]
        item: dict[Leaf, Found] = {}
        for leaf, cell in zip(text_leaves, texts):
            _fill(item, leaf, cell, SCORE_TABLE_HEADERLESS)
        for leaf, cell in zip(num_leaves[-len(nums):] if nums else [], nums[-len(num_leaves):]):
            _fill(item, leaf, cell, SCORE_TABLE_HEADERLESS)
        _split_leading_number(item, [*[leaf for leaf in num_leaves if leaf not in item], *text_leaves],
                              SCORE_TABLE_HEADERLESS)
        for w in row:
            w.claim()
        out.append(item)
    return out


# --- labelled key-value fields ------------------------------------------------------------------

def _candidates(page: Page, s: Seg, rest: str) -> list[tuple[str, list[Seg], float]]:
    """Where the value of a label segment may be: after the label, to its right, or below it."""
    out = []
    if rest:
        out.append((rest, [s], 1.0))
    right = page.right_of(s)
    if right is not None:
        out.append((right.text, [right], 0.95))
    down = page.below(s)
    if down is not None:
        out.append((down.text, [down], 0.9))
    return out


def _read_labelled(page: Page, leaves: list[Leaf], matches: dict[int, tuple[Leaf, float, str]]) -> None:
    by_leaf: dict[str, list[tuple[Seg, float, str]]] = {}
    for i, (leaf, score, rest) in matches.items():
        by_leaf.setdefault(leaf.pattern, []).append((page.segs[i], score, rest))
    label_segs = {id(page.segs[i]) for i in matches}
    for leaf in leaves:
        options = []
        for s, label_score, rest in by_leaf.get(leaf.pattern, []):
            if s.claimed:
                continue  # taken as another field's value
            for value, segs, where in _candidates(page, s, rest):
                if any(id(v) in label_segs for v in segs if v is not s):
                    where *= 0.5  # the neighbour is also a label: a value only if nothing better
                good = kind_ok(leaf.kind, value)
                score = label_score * where * min(v.score for v in segs) * (SCORE_LABEL_EXACT if good else SCORE_WRONG_KIND)
                options.append((good, score, value, segs, s))
        if not options:
            continue
        good_ones = [o for o in options if o[0]] or options
        if leaf.kind == "amount" and len({o[4].row for o in good_ones}) > 1:
            from eval.normalize import as_decimal

            good, score, value, segs, s = max(good_ones, key=lambda o: (as_decimal(o[2]) or Decimal(0), o[1]))
        else:
            good, score, value, segs, s = max(good_ones, key=lambda o: o[1])
        page.found[leaf.pattern] = Found(value, score, segs)
        page.label_of[leaf.pattern] = s
        s.claimed = True
        for v in segs:
            v.claimed = True


# --- unlabelled text fields (by position) -------------------------------------------------------

def _is_title(s: Seg, titles: list[str]) -> bool:
    words = set(re.findall(r"[^\W\d_]+", fold(s.text)))
    return not _has_digit(s.text) and any(t in words for t in titles) and len(words) <= 3


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


def _assign_run(page: Page, run: list[Leaf], lines: list[Seg]) -> None:
    """The first leaves of a run get one line each, the last one every remaining line."""
    lines = [s for s in lines if not s.claimed]
    for i, leaf in enumerate(run):
        take = lines[i:i + 1] if i < len(run) - 1 else lines[i:]
        if not take:
            break
        page.found[leaf.pattern] = Found("\n".join(s.text for s in take),
                                         min(s.score for s in take) * SCORE_POSITION, take)
        for s in take:
            s.claimed = True


def _page_top(page: Page) -> Seg | None:
    return next((s for row in page.rows for s in row if not s.claimed), None)


def _read_positional(page: Page, doc: DocType, top_leaves: list[Leaf], other: list[Leaf]) -> None:
    titles = [fold(t) for t in {doc.name, str(doc.schema.get("title", ""))} if t]
    for s in page.segs:
        if not s.claimed and _is_title(s, titles):
            s.claimed = True
    parents: dict[str, list[Leaf]] = {}
    for leaf in top_leaves:
        parents.setdefault(_parent(leaf.pattern), []).append(leaf)
    for parent, leaves in parents.items():
        i = 0
        while i < len(leaves):
            if leaves[i].labels or leaves[i].kind != "text" or leaves[i].pattern in page.found:
                i += 1
                continue
            j = i
            while j < len(leaves) and not leaves[j].labels and leaves[j].kind == "text":
                j += 1
            run = leaves[i:j]
            before = page.found.get(leaves[i - 1].pattern) if i > 0 else None
            after = next((page.label_of[leaf.pattern] for leaf in leaves[j:] if leaf.pattern in page.label_of), None)
            lines: list[Seg] = []
            stop = None
            if before is not None and before.segs:
                lines, stop = _lines_below(page, before.segs[-1], other)
            elif parent == "" and (first := _page_top(page)) is not None:
                _assign_run(page, run[:1], [first])  # a document's first field is its name: the top line
                run = run[1:]
                lines, stop = _lines_below(page, first, other)
            if not lines and after is not None:
                lines, stop = _block_above(page, after), None
            _assign_run(page, run, lines)
            nxt = leaves[j] if j < len(leaves) else None
            if stop is not None and not stop.claimed and nxt is not None and nxt.pattern not in page.found \
                    and nxt.kind != "text" and kind_ok(nxt.kind, stop.text):
                _assign_run(page, [nxt], [stop])  # printed without its label, right after the run
            i = j


# --- the whole page -----------------------------------------------------------------------------

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
            out.append(_build(node.get("items", {}), f"{path}.{i}", f"{pattern}[]", item_page, scores))
        return out
    f = page.found.get(pattern)
    scores[path] = round(f.score, 4) if f else SCORE_NOT_FOUND
    return f.value if f else ""


def extract(doc: DocType, lines: list[Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """Read ``doc``'s fields from OCR ``lines`` (``distill.ocr.OcrLine``): (nested fields, score per path)."""
    segs = [Seg(line.text, list(line.box), float(line.score), words=list(line.words))
            for line in lines if line.text.strip()]
    page = Page(segs, group_rows(segs))
    groups = _array_groups(doc)
    in_table = {leaf.pattern for items in groups.values() for leaf in items}
    top = [leaf for leaf in doc.leaves if leaf.pattern not in in_table and "[]" not in leaf.pattern]
    for head, items in groups.items():
        rows = _word_rows(page)
        header = _header_row(rows, items)
        found = (_read_table_with_header(page, rows, header[0], header[1], top) if header
                 else _read_table_headerless(page, rows, items, top))
        page.tables[head] = [{leaf.pattern: f for leaf, f in row.items()} for row in found]
    for s in segs:  # rows were numbered on words; renumber the lines
        s.row = -1
    page.rows = group_rows(segs)
    labelled = [leaf for leaf in top if leaf.labels]
    _read_labelled(page, labelled, _label_matches(page, labelled))
    _read_positional(page, doc, top, labelled)
    scores: dict[str, float] = {}
    fields = _build(doc.schema, "", "", page, scores)
    return fields, scores
