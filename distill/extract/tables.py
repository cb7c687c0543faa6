"""Arrays of objects read as tables: with a header row, headerless, and boxed item grids."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from distill.extract.hints import fold
from distill.extract.kinds import _is_amount, as_kind, kind_ok
from distill.extract.labels import _starts_with_other_label, match_label
from distill.extract.page import Found, Page, Seg, _below_in_box, _in_box
from distill.extract.scores import SCORE_TABLE_HEADER, SCORE_TABLE_HEADERLESS
from distill.spans import group_rows
from docfoundry.doctypes import DocType, Leaf


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






def _is_number(text: str) -> bool:
    return _is_amount(text) and not any(c.isalpha() for c in text)


ARTICLE_CODE_DIGITS = 6  # a run of this many digits or more opening an item's text is its article / EAN code


def _fill(item: dict[Leaf, Found], leaf: Leaf, words: list[Seg], trust: float) -> None:
    """``item``'s ``leaf`` read from ``words``; a text leaf without the article code a till prints
    before the description ("6235198834210 WIRE 1.5MM")."""
    if leaf.kind == "text" and len(words) > 1 and words[0].text.isdigit() and len(words[0].text) >= ARTICLE_CODE_DIGITS:
        words = words[1:]
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
