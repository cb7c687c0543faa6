"""Labelled key-value fields: the value right of, inside or under its label's box."""

from __future__ import annotations

import re

from distill.extract.hints import fold, hints
from distill.extract.kinds import as_kind
from distill.extract.page import Found, Page, Seg, _below_in_box, _gap, _in_box, _parent, _x_overlap
from distill.extract.scores import (
    CHECKED,
    SCORE_CHOICE,
    SCORE_EMPTY_BOX,
    SCORE_LABEL_EXACT,
    SCORE_UNLABELLED_KIND,
    SCORE_WRONG_KIND,
)
from docfoundry.doctypes import DocType, Leaf


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


def _as_choice(text: str, choices: tuple[str, ...]) -> str | None:
    """The part of ``text`` that is one of ``choices``: the whole line, or its start when no
    letter follows ("VISA ****1234", "CASH 50.00"; not "Cashier: Ann")."""
    folded = fold(text)
    for c in sorted(choices, key=len, reverse=True):
        fc = fold(c)
        if folded == fc or (folded.startswith(fc) and not re.search(r"[^\W\d_]", folded[len(fc):])
                            and not folded[len(fc)].isalnum()):
            return " ".join(text.split())[:len(fc)].strip()
    return None


def _read_unlabelled_choices(page: Page, doc: DocType, leaves: list[Leaf]) -> None:
    """A text leaf with ``x-choices`` whose label is not printed ("Mastercard" alone under the
    total): the first free line, top to bottom, that reads as one of its choices."""
    for leaf in leaves:
        choices = hints(doc, leaf).choices
        if not choices or leaf.kind != "text" or leaf.pattern in page.found:
            continue
        for s in sorted((s for s in page.segs if not s.claimed), key=lambda s: (s.cy, s.box[0])):
            value = _as_choice(s.text, choices)
            if value:
                page.found[leaf.pattern] = Found(value, s.score * SCORE_CHOICE, [s])
                s.claimed = True
                break
