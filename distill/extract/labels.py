"""Printed labels: matching a segment against the schema's ``x-labels``, misread box labels."""

from __future__ import annotations

import re

from distill.extract.hints import Hints, fold, hints
from distill.extract.page import Page, Seg
from docfoundry.doctypes import DocType, Leaf


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


def _starts_with_other_label(s: Seg, other: list[Leaf]) -> bool:
    return _label_leaf(s, other) is not None


def _label_leaf(s: Seg, other: list[Leaf]) -> Leaf | None:
    """The first of ``other`` whose label starts ``s``."""
    return next((leaf for leaf in other for lab in leaf.labels if match_label(s.text, lab)), None)
