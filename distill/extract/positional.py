"""Unlabelled text fields read by position: the header name and the lines under it, a run of lines."""

from __future__ import annotations

from distill.extract.address import SCORE_ELSEWHERE, _address_block, _has_address_cue, _lines_after
from distill.extract.header import (
    NOT_NAME,
    SCORE_FIRST_NAME,
    SCORE_HEADER_LEGAL,
    SCORE_UNDER_HEADER,
    _clean_name,
    _header_name,
    _page_top,
)
from distill.extract.hints import hints, titles
from distill.extract.kinds import as_kind, kind_ok
from distill.extract.labels import _starts_with_other_label
from distill.extract.page import Found, Page, Seg, _is_title, _merged, _parent, _texty
from distill.extract.scores import SCORE_POSITION
from distill.spans import line_classes, unglue_address, unglue_name
from docfoundry.doctypes import DocType, Leaf


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




def _assign_run(page: Page, run: list[Leaf], lines: list[Seg], trust: float = SCORE_POSITION) -> None:
    """The first leaves of a run get one line each, the last one every remaining line (joined
    with single spaces)."""
    lines = [s for s in lines if not s.claimed]
    for i, leaf in enumerate(run):
        take = lines[i:i + 1] if i < len(run) - 1 else lines[i:]
        if not take:
            break
        _set_found(page, leaf, take, trust)


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
            if hints(doc, leaf).choices:  # read by its label or its choices (labelled.py), not by where it sits
                return False
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
