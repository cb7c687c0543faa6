"""The whole page: ``extract``, the readers in order, and the nested fields built from what they found."""

from __future__ import annotations

import re
from typing import Any

from distill.extract.checks import _checked_confidence, _read_from_checks, _repair_from_checks
from distill.extract.hints import _with_read_labels
from distill.extract.labelled import (
    _read_labelled,
    _read_unlabelled_choices,
    _read_unlabelled_kinds,
)
from distill.extract.labels import _label_matches
from distill.extract.page import Found, Page, Seg
from distill.extract.positional import _read_header, _read_positional
from distill.extract.scores import SCORE_EMPTY_BOX, SCORE_NOT_FOUND
from distill.extract.tables import (
    MAX_REPEATED_HEADERS,
    _array_groups,
    _array_label_segs,
    _boxed_arrays,
    _header_row,
    _read_item_boxes,
    _read_table_headerless,
    _read_table_with_header,
    _word_rows,
)
from distill.spans import fix_glyphs, group_rows
from docfoundry.case import apply_case
from docfoundry.doctypes import DocType, Leaf


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
    _read_unlabelled_choices(page, doc, labelled)
    _read_from_checks(page, doc)
    _repair_from_checks(page, doc)
    _checked_confidence(page, doc)
    _read_positional(page, doc, top, labelled, unprinted)
    scores: dict[str, float] = {}
    fields = _build(doc.schema, "", "", page, scores)
    return fields, scores
