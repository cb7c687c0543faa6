"""Key -> value pairs by layout: how the OCR teacher reads a form's questions and answers.

A form prints keys (questions) and fills values (answers) next to them. Nothing here knows any
key's wording; it reads the page's geometry and the look of the text:
  - OCR lines are cut into segments at wide word gaps and after a word ending in a colon or a
    dash/underscore leader ("Name: John" and "Labels ---- Gold" are a key and a value; "FAX:614" is
    cut inside the word); cells that OCR cut in two ("84" "mm") are joined again; a short bracketed
    note under a key, ending before its value, is the key's second line ("(Current Year)"); a
    digit-free bracketed note is never a value ("(check one)" under or beside a key);
  - a key is a segment ending with a colon, or label-like text (short, capitalised, few digits)
    (not a month alone or with its day: a schedule's dates)
    with a value to its right that reads unlike a label or sits right next to it (label-like text
    much taller than the page's lines is a heading, not a key); text laid out like the page's
    other keys is a key too: the same key column and value column, or the same offset to a value
    under it (stacked cards), even when its value reads like a label ("Name" / "John Smith");
    a key may open with a bullet, dash or "#", and a capital OCR cannot tell from its small letter
    by shape ("city") still starts one; in a row of label-like cells each taken as the next one's
    key, key and value alternate from the row's left;
  - a colon key's value is the segment right of it on its line, with the lines under it that go
    on (aligned, close, no key in between; or wrapped back under the key after a line that ran to
    the text's right edge, ended in a comma or was a bracketed note: "(For the client)"), else the
    line under it unless that is a label heading its own row (text beside it); a one-cell value
    takes the cells just after it on its row ("1.0" "(97)"); a label key's value is the run of
    cells right of it on its row, one or two (more is a table row, whose header is no key), up to a
    label read with its own value, and one cell of text takes the lines under it that go on;
  - a row of two or more labels with nothing beside them, each over value-like text, is a boxed
    form's captions: each takes the text under it (not the first of a column of numbers: those
    labels head a table); a row of three or more capitals side by side is a table's column
    headers, not keys and values;
    a value right of a key sits near it (10 line heights) unless the key is in the page's key
    column: far text is the next column's;
  - a label printed one space before its value reads as one segment ("Date Sent 4/19/74"): when no
    key took it and no unpaired text stands left of it, it is cut before the value's first number
    or the date it starts ("Date March 18, 1968"; a short label, no town line "Springfield, IL"), or
    at its widest word gap when that gap alone is wide and sets a label off text unlike it
    ("Project Objective   A pipe tobacco"); the same label again right of a label is a repeated
    column header, not its value;
  - a checkbox group is a key followed on its row by two or more short options with box glyphs;
    the checked option is the ticked one, or else the one whose box OCR did not read (a crossed
    box reads as nothing, an empty one as "☐");
  - a box ticked with an X beside an option no group took ("X YES", "No X", or the mark alone,
    which belongs to the nearer text on its row) pairs the option with its mark, as FUNSD links them.

Which schema arrays are read this way comes from the schema: an array whose items are objects of
two text leaves with ``x-category`` ``question`` and ``answer``; ``"x-checkbox": true`` on the
array makes it the checkbox groups. ``pair_arrays(schema)`` finds them, ``read_pairs`` reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from distill.spans import group_rows, month_number, word_date

# How much a way of finding a pair is trusted (times the OCR score of its lines).
SCORE_COLON_RIGHT = 0.9
SCORE_COLON_BELOW = 0.8
SCORE_LABEL_RIGHT = 0.75
SCORE_LABEL_BELOW = 0.65
SCORE_CHECKBOX = 0.6
SCORE_TICKED = 0.6          # an option and the mark in its box read as one segment ("X YES")
SCORE_LABEL_INSIDE = 0.6    # a label and its value read as one OCR segment, cut before the value's first number

# Geometry, in line heights of the segments involved (page-size free).
GAP_SPLIT = 1.6          # a word gap wider than this starts a new segment
LABEL_GAP = 0.8          # a gap this wide, and GAP_MARGIN wider than the line's others,
GAP_MARGIN = 0.2         # ... may set a label off its value inside one segment
RIGHT_REACH = 30.0       # a value to the right may sit this far from its key (a row's width)
NEAR_REACH = 10.0        # ... unless the page's key column says so, a value sits this near (farther: another column)
NEAR_GAP = 2.0           # a label's value may read like a label when it sits this close (a cell's filled text)
HEADING = 1.4            # label-like text this much taller than the page's usual line is a heading, not a key
ROW_CELLS = 2            # a label key's value is at most this many cells of its row (more: a table row)
BELOW_GAP = 1.6          # the first value line under a key starts within this many line heights
BLOCK_GAP = 0.9          # further lines of a value follow within this
ALIGN = 1.5              # lines of one block start within this of each other (left edges)
WRAP_SLACK = 0.15         # a value line ending this near the text's right edge (of the key-to-edge width) was wrapped
TALLER = 1.15           # a value written this much taller than the label-like text above it (stacked cards)
VOTES = 3                # rows sharing a key column and a value column that make a layout
LABEL_WORDS = 6          # label-like text without a colon has at most this many words
INSIDE_WORDS = 3         # a label read in one segment with its value has at most this many words
INSIDE_VALUE_WORDS = 4   # ... and its value this many (more is a sentence going on)
MARK_LABEL_WORDS = 4     # a ticked option's label has at most this many words
BULLETS = "-–—•*#·."       # marks an item may start with before its first letter ("#Customers")
SAME_SHAPE = "cosuvwxz"     # letters whose capital OCR cannot tell from the small one by shape ("city", "original")
STRAY = ".,:;-_…'\" "       # a segment of only these is a stray mark or a leader's end: no key, no value, no text between
BOXES = "☐□▢❑❒"         # an empty checkbox as OCR reads it
TICKS = "☒☑✓✔⊠■"         # a ticked one


# --- schema: which arrays hold pairs ------------------------------------------------------------

@dataclass(frozen=True)
class PairArray:
    """An array of question/answer items: its pattern (``fields[]``) and the two item keys."""

    head: str
    question: str
    answer: str
    checkbox: bool

    @property
    def question_pattern(self) -> str:
        return f"{self.head}.{self.question}"

    @property
    def answer_pattern(self) -> str:
        return f"{self.head}.{self.answer}"


def pair_arrays(schema: dict[str, Any], prefix: str = "") -> list[PairArray]:
    """Arrays of the schema whose items are ``{question, answer}`` by their leaves' ``x-category``."""
    out: list[PairArray] = []
    for key, node in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if node.get("type") == "object":
            out += pair_arrays(node, path)
        if node.get("type") != "array" or node.get("items", {}).get("type") != "object":
            continue
        props = node["items"].get("properties", {})
        by_cat = {child.get("x-category"): k for k, child in props.items() if child.get("type") == "string"}
        if len(props) == 2 and "question" in by_cat and "answer" in by_cat:
            out.append(PairArray(f"{path}[]", by_cat["question"], by_cat["answer"], bool(node.get("x-checkbox"))))
    return out


# --- segments -----------------------------------------------------------------------------------

@dataclass(eq=False)
class Seg:
    """A run of words of one OCR line: a key, a value, or neither."""

    words: list[tuple[str, list[int]]]
    score: float
    line: int                      # index of the OCR line it came from
    key: bool = False
    lead: bool = False             # ended by a leader ("Labels ----", "Date ____"): a key as a colon makes one
    voted: bool = False            # a key by the page's key and value columns (its right cell is its value)
    column: bool = False           # a key in the page's key column, its value in the value column (a far value is its own)
    used: bool = False
    row: int = -1

    @property
    def text(self) -> str:
        return " ".join(w for w, _ in self.words)

    @property
    def box(self) -> list[int]:
        bs = [b for _, b in self.words]
        return [min(b[0] for b in bs), min(b[1] for b in bs), max(b[2] for b in bs), max(b[3] for b in bs)]

    @property
    def h(self) -> int:
        b = self.box
        return max(1, b[3] - b[1])

    @property
    def cy(self) -> float:
        b = self.box
        return (b[1] + b[3]) / 2


_INNER_COLON = re.compile(r"^(.*[^\W\d_]{2}[.)]?:)(\S.*)$")


def _split_word(text: str, box: list[int]) -> list[tuple[str, list[int]]]:
    """``"FAX:614-5087"`` -> the key part and the value part, the box cut by character share."""
    m = _INNER_COLON.match(text)
    if not m:
        return [(text, box)]
    cut = box[0] + round((box[2] - box[0]) * len(m.group(1)) / len(text))
    return [(m.group(1), [box[0], box[1], cut, box[3]]), (m.group(2), [cut, box[1], box[2], box[3]])]


_LEADER = re.compile(r"^(?:-{2,}|_+|\.{3,}|…+)$")                 # a dash, underscore or dot leader on its own
_LEADER_END = re.compile(r"^(.*[^\W\d_][.)]?)(?:-{2,}|_+|\.{3,}|…+)$")  # ... glued to the key's last word
_LEADER_START = re.compile(r"^(?:_+|-{2,})(\S.*)$")                  # ... glued to the value's first word


def _unlead(words: list[tuple[str, list[int]]]) -> list[tuple[str, list[int], bool]]:
    """Words with leaders taken out: ``(text, box, ends_key)``, ``ends_key`` where a leader followed."""
    out: list[tuple[str, list[int], bool]] = []
    for t, b in words:
        if _LEADER.match(t):
            if out:
                out[-1] = (out[-1][0], out[-1][1], True)
            continue
        if (m := _LEADER_END.match(t)) is not None:
            out.append((m.group(1), b, True))
            continue
        if (m := _LEADER_START.match(t)) is not None and out:
            out[-1] = (out[-1][0], out[-1][1], True)
            t = m.group(1)
        out.append((t, b, False))
    return out


def segments(lines: list[Any]) -> list[Seg]:
    """Cut each OCR line (``text``, ``score``, ``words``) after colons and leaders and at wide word
    gaps. (A label run before a number, "Date Sent 4/19/74", is cut later, by ``_inline_pairs``,
    only where no key took the segment: cut here, the synthetic form audit lost 10 points.)"""
    out: list[Seg] = []
    for i, line in enumerate(lines):
        words = _unlead([p for t, b in (line.words or [(line.text, line.box)]) if str(t).strip()
                         for p in _split_word(str(t), list(b))])
        cur: list[tuple[str, list[int]]] = []
        lead = False
        for t, b, ends_key in words:
            if cur:
                prev = cur[-1]
                h = max(1, prev[1][3] - prev[1][1])
                if lead or prev[0].endswith(":") or b[0] - prev[1][2] > GAP_SPLIT * h:
                    out.append(Seg(cur, float(line.score), i, lead=lead))
                    cur = []
            cur.append((t, b))
            lead = ends_key
        if cur:
            out.append(Seg(cur, float(line.score), i, lead=lead))
    return _join_fragments(out)


def _join_fragments(segs: list[Seg]) -> list[Seg]:
    """Join a segment to the one just left of it on its row when OCR cut one cell in two
    (``"84"`` and ``"mm"``): a gap that would not have cut a line, after no colon, and the right
    part not a key of its own."""
    out: list[Seg] = []
    for s in sorted(segs, key=lambda s: s.box[0]):
        host = None
        for o in out:
            ob = o.box
            gap = s.box[0] - ob[2]
            if -2 <= gap <= GAP_SPLIT * min(o.h, s.h) and abs(o.cy - s.cy) <= 0.3 * min(o.h, s.h) \
                    and not o.text.endswith(":") and not o.lead and not is_colon_key(s.text) \
                    and not is_label_like(s.text):
                host = o
                break
        if host is None:
            out.append(s)
        else:
            host.words = host.words + s.words
            host.score = min(host.score, s.score)
    return sorted(out, key=lambda s: (s.line, s.box[0]))


# --- what a segment looks like ------------------------------------------------------------------

def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def is_colon_key(text: str) -> bool:
    """Ends with a colon and has words before it (``"Date:"``, not ``":"``, ``"10:"`` or the
    ``"samples (Note:"`` inside a sentence: a key starts with a capital unless it is one word)."""
    t = text.rstrip()
    if not t.endswith(":") or _letters(t) < 2:
        return False
    return not (t[0].islower() and len(t.split()) > 1)


def _colon(s: Seg) -> bool:
    """A colon key, or key text ended by a leader (``"Labels ----"``, ``"Date ____"``)."""
    return is_colon_key(s.text) or (s.lead and is_colon_key(s.text + ":"))


_ENUMERATOR = re.compile(r"^(?:\d{1,2}|[a-z])[.)]$")  # "1.", "10)", "a)": an item number before a key ("J." is an initial)


def _numbered(text: str) -> bool:
    """Text after an item number ("3. Prepared by"): a numbered key, as sure as a colon makes one."""
    words = text.split()
    return len(words) > 1 and bool(_ENUMERATOR.match(words[0]))


def is_label_like(text: str) -> bool:
    """Short capitalised text with few digits: how printed keys look (``"Invoice No."``, ``"DATE"``,
    also numbered: ``"3. Prepared by"``)."""
    words = text.split()
    if len(words) > 1 and _ENUMERATOR.match(words[0]):
        words = words[1:]
        text = " ".join(words)
    if words and not any(c.isalnum() for c in words[0]) and len(words) > 1:
        words = words[1:]  # a bullet or dash before the key ("- Speaker", "# Customers")
        text = " ".join(words)
    if not words or len(words) > LABEL_WORDS or _letters(text) < 2:
        return False
    first = words[0].lstrip(BULLETS)[:1]
    return sum(c.isdigit() for c in text) <= 2 and first.isalpha() and (first.isupper() or first in SAME_SHAPE)


def _looks_like_value(key: Seg, s: Seg, below: bool = False) -> bool:
    """A neighbour can be a label-like key's value: it has digits, or is written unlike the key
    (other case, not label-like, or, under it, taller: a card's small caption over its value)."""
    if s.key:
        return False
    t, k = s.text, key.text
    if any(c.isdigit() for c in t) or (below and s.h >= TALLER * key.h):
        return True
    return (t.isupper() != k.isupper()) or not is_label_like(t)


def _month_day(text: str) -> bool:
    """A month alone or with its day ("DEC", "OCT 3", "Jan 23,"): a date in a schedule or a table's
    month column, never a label key."""
    words = text.replace(",", " ").split()
    return 0 < len(words) <= 2 and month_number(words[0].rstrip(".")) is not None \
        and (len(words) == 1 or words[1].isdigit() and 1 <= int(words[1]) <= 31)


def _far(key: Seg, s: Seg) -> bool:
    """``s`` starts more than ``NEAR_REACH`` line heights right of ``key``: across the row, another column's."""
    return s.box[0] - key.box[2] > NEAR_REACH * key.h


def _capitals(s: Seg) -> bool:
    """Label-like text in capitals without a value's digits, comma or slash ("CAPITAL", not "N/A")."""
    return s.text.isupper() and is_label_like(s.text) and not any(c.isdigit() or c in ",/" for c in s.text)


def _near_label(key: Seg, s: Seg, row: list[Seg]) -> bool:
    """Text right next to a label (within ``NEAR_GAP`` line heights) is its value even when it reads
    like a label too (``"Subject"`` ``"Annual Review"``): printed text runs on with one space. Not
    in a ``row`` of three or more capitals ("YEAR" "CAPITAL" "EXPENSE"): a table's column headers.
    """
    if _capitals(key) and _capitals(s) and sum(map(_capitals, row)) >= 3:
        return False
    return not s.key and s.box[0] - key.box[2] <= NEAR_GAP * key.h


# --- pairing ------------------------------------------------------------------------------------

@dataclass
class Pair:
    """A key and its value with their segments and how much the pairing is trusted."""

    question: str
    answer: str
    score: float
    key_segs: list[Seg] = field(default_factory=list)
    value_segs: list[Seg] = field(default_factory=list)
    options: list[str] = field(default_factory=list)   # a checkbox group's printed options
    how: str = ""                                       # colon/label + right/below, or checkbox

    @property
    def lines(self) -> set[int]:
        return {s.line for s in self.key_segs + self.value_segs}


class Layout:
    """The page's segments in rows, with the neighbour queries pairing needs."""

    def __init__(self, segs: list[Seg]) -> None:
        self.segs = segs
        self.rows = group_rows(segs)
        self.right = max((s.box[2] for s in segs), default=0)  # the page's text right edge

    def left_of(self, s: Seg) -> Seg | None:
        before = [o for o in self.rows[s.row] if o.box[2] <= s.box[0] + 2 and o is not s]
        return before[-1] if before else None

    def right_of(self, k: Seg) -> Seg | None:
        """The nearest segment right of ``k`` on its line of text, if close enough to be read with it
        (among segments starting about as near, the one best level with ``k``: OCR boxes of
        neighbouring lines overlap)."""
        kb = k.box
        after = [o for o in self.segs if o is not k and o.box[0] >= kb[2] - 2
                 and abs(o.cy - k.cy) <= 0.5 * max(o.h, k.h) and o.h <= 2 * k.h
                 and o.box[0] - kb[2] <= RIGHT_REACH * k.h]
        if not after:
            return None
        first = min(o.box[0] for o in after)
        return min((o for o in after if o.box[0] <= first + k.h), key=lambda o: abs(o.cy - k.cy))

    def below(self, k: Seg) -> Seg | None:
        """The nearest segment under ``k`` that overlaps its columns (or starts where ``k`` starts)."""
        kb = k.box
        best = None
        for s in self.segs:
            b = s.box
            if s is k or s.cy <= k.cy or b[1] - kb[3] > BELOW_GAP * k.h:
                continue
            if min(b[2], kb[2]) - max(b[0], kb[0]) <= 0 and abs(b[0] - kb[0]) > ALIGN * k.h:
                continue
            if best is None or s.cy < best.cy:
                best = s
        return best

    def number_column(self, s: Seg) -> bool:
        """``s`` has digits and so has the line under it, aligned with it at the left or the right:
        the first cells of a table's column of numbers."""
        d = self.below(s)
        return d is not None and any(c.isdigit() for c in s.text) and any(c.isdigit() for c in d.text) \
            and min(abs(d.box[0] - s.box[0]), abs(d.box[2] - s.box[2])) <= ALIGN * s.h

    def continues(self, prev: Seg, s: Seg, column: float, key_x: float | None = None) -> bool:
        """Is ``s`` the next line of a value whose last line is ``prev`` (value text starts at x
        ``column``)? Close under it, not right of a key, not a key itself (a label-like key starting
        in the value's column is the value going on), and aligned with the value's column or its
        line above, or a sentence going on (a lowercase start) under it, or a sentence wrapped back
        under its key (at ``key_x``)."""
        b, pb = s.box, prev.box
        keyed = s.key and (_colon(s) or s.voted or abs(b[0] - column) > ALIGN * prev.h)
        if s.used or keyed or s.cy <= prev.cy or b[1] - pb[3] > BLOCK_GAP * prev.h:
            return False
        if min(b[2], pb[2]) - max(b[0], pb[0]) <= 0:
            return False
        left = self.left_of(s)
        if left is not None and not left.used:
            return False  # the line has its own text first (a key waiting for its value, another value)
        tol = ALIGN * prev.h
        wrapped = key_x is not None and abs(b[0] - key_x) <= tol \
            and (prev.text.endswith(",") or _note(prev) or pb[2] >= self.right - WRAP_SLACK * (self.right - key_x))
        return abs(b[0] - column) <= tol or abs(b[0] - pb[0]) <= tol or s.text[:1].islower() or wrapped

    def row_run(self, first: Seg, reach: float = RIGHT_REACH) -> list[Seg]:
        """``first`` and the cells after it on its row up to the next key, label-like text or a label
        read with its own value ("Kind 20 mm": the next key) (a table row's values); each cell
        within ``reach`` line heights of the one before."""
        out = [first]
        first.used = True
        while (nxt := self.right_of(out[-1])) is not None and not nxt.key and not nxt.used \
                and nxt.box[0] - out[-1].box[2] <= reach * out[-1].h \
                and not (_inline_cut(nxt) or _opens_with_label(nxt)) \
                and (any(c.isdigit() for c in nxt.text) or not is_label_like(nxt.text)):
            out.append(nxt)
            nxt.used = True
        return out

    def block(self, first: Seg, key: Seg | None = None) -> list[Seg]:
        """``first`` and the lines under it that continue it (each the nearest line under the one
        before: a key or another value in between ends the block); a value right of a colon
        ``key`` may wrap back under the key."""
        out = [first]
        first.used = True
        while True:
            prev = out[-1]
            under = [s for s in self.segs if s.cy > prev.cy + 0.3 * prev.h and s.box[1] >= prev.box[1]
                     and min(s.box[2], prev.box[2]) - max(s.box[0], prev.box[0]) > 0]
            nxt = min(under, key=lambda s: s.box[1], default=None)
            if nxt is None or not self.continues(prev, nxt, first.box[0], key.box[0] if key is not None else None):
                return out
            out.append(nxt)
            nxt.used = True


def _key_goes_on(s: Seg) -> bool:
    """Can ``s`` be a key's second line: a short bracketed note without digits (``"(Current Year)"``)?
    (A lowercase run-on under a key was more often the next key or a value's hyphenated end.)"""
    t = s.text
    return t[:1] == "(" and len(t.split()) <= LABEL_WORDS and not any(c.isdigit() for c in t)


def _note(s: Seg) -> bool:
    """A bracketed note without digits (``"(check one)"``, ``"(From Next Year's Budget)"``): a key's
    own remark, not a value written beside or under another key's label."""
    return s.text[:1] == "(" and not any(c.isdigit() for c in s.text)


def _pair(k: Seg, values: list[Seg], trust: float, how: str, page: Layout | None = None) -> Pair:
    for s in values:
        s.used = True
    k.used = True
    keys = [k]
    if page is not None and (rest := page.below(k)) is not None and not rest.used and not rest.key \
            and _key_goes_on(rest) and rest.box[2] <= (values[0].box[0] if values else rest.box[2]):
        rest.used = True
        keys.append(rest)  # the key's second line
    score = min([k.score, *(s.score for s in values)]) * trust
    return Pair(" ".join(s.text for s in keys), " ".join(s.text for s in values), score, keys, values, how=how)


def _options(k: Seg, row: list[Seg]) -> list[tuple[str, str]]:
    """The printed options right of a checkbox key as (state, label): state ``"box"`` when an
    empty box was read in front of it, ``"mark"`` for a ticked box, ``""`` when none was read.
    An option starts at a box glyph or after a gap wider than a line height."""
    opts: list[list[Any]] = []
    state_next = None
    last_x = None
    for s in row:
        for text, b in s.words:
            t = text.strip()
            glyph = t[:1] if t[:1] in BOXES + TICKS else ""
            rest = t[1:].strip() if glyph else t
            starts = glyph or state_next is not None or last_x is None or b[0] - last_x > k.h
            if glyph and not rest:
                state_next = "mark" if glyph in TICKS else "box"
                last_x = b[2]
                continue
            if starts or not opts:
                state = ("mark" if glyph in TICKS else "box") if glyph else (state_next or "")
                opts.append([state, rest])
            else:
                opts[-1][1] = f"{opts[-1][1]} {rest}"
            state_next = None
            last_x = b[2]
    return [(st, label.strip()) for st, label in opts if label.strip()]


def _checkbox_groups(page: Layout, keys: list[Seg]) -> list[Pair]:
    """Keys followed on their row by two or more short options with boxes in front; the checked
    one is the ticked option, or else the first whose box the OCR did not read (a crossed box
    reads as nothing, an empty one as a box glyph)."""
    groups = []
    for k in keys:
        if k.used:
            continue
        row = sorted((s for s in page.segs if s.box[0] >= k.box[2] - 2 and not is_colon_key(s.text) and not s.used
                      and abs(s.cy - k.cy) <= 0.5 * max(s.h, k.h)), key=lambda s: s.box[0])
        opts = _options(k, row)
        states = [st for st, _ in opts]
        if len(opts) < 2 or "box" not in states and "mark" not in states or any(len(o.split()) > 3 for _, o in opts):
            continue
        checked = [o for st, o in opts if st == "mark"] or [o for st, o in opts if st == ""]
        if not checked:
            continue
        for s in row:
            s.used, s.key = True, False  # an option that read like a label key is an option
        k.used = True
        sure = len(checked) == 1
        groups.append(Pair(k.text, checked[0], k.score * SCORE_CHECKBOX * (1.0 if sure else 0.7), [k], row,
                           [o for _, o in opts], "checkbox"))
    return groups


def _alternate(page: Layout, labelled: list[Seg]) -> None:
    """In a row of label-like cells each taken as the key of the next ("Type" "AMF" "Maker" "X"),
    the row alternates key, value from its left: a key's value is not a key too."""
    ids = {id(s) for s in labelled}
    for s in sorted(labelled, key=lambda s: (s.row, s.box[0])):
        r = page.right_of(s) if s.key else None
        if r is not None and r.key and not r.voted and id(r) in ids:
            r.key = False


def _column_votes(page: Layout, reserved: set[int]) -> None:
    """Label-like text laid out like the page's other keys is a key too: rows whose first cell
    starts where other rows' keys start and whose second cell starts where their values start
    (a form's key column and value column) — even when the value reads like a label ("Name" /
    "John Smith")."""
    cands = []
    for s in page.segs:
        r = page.right_of(s)
        if r is not None and not r.key and (s.key or (is_label_like(s.text) and id(s) not in reserved)):
            cands.append((s, r))
    for s, r in cands:
        tol = ALIGN * s.h
        same = [k for k, v in cands if abs(k.box[0] - s.box[0]) <= tol and abs(v.box[0] - r.box[0]) <= tol]
        if len(same) >= VOTES and 2 * sum(k.key or _numbered(k.text) for k in same) >= len(same):
            s.column = True
            if not s.key:
                s.key = s.voted = True


def _stack_votes(page: Layout, reserved: set[int]) -> None:
    """A key with nothing right of it takes the line under it as its value when the page's other
    keys do the same with the same offset (cards: each caption over its value), even when the value
    reads like a label ("Full name:" over "John Smith")."""
    def lone(s: Seg) -> Seg | None:
        r = page.right_of(s)
        d = page.below(s)
        if (r is not None and not r.key and _looks_like_value(s, r)) or d is None or d.key:
            return None
        return d

    def offset(s: Seg, d: Seg) -> tuple[int, int]:
        return d.box[0] - s.box[0], d.box[1] - s.box[3]

    sure = [offset(s, d) for s in page.segs if s.key and (d := lone(s)) is not None
            and _looks_like_value(s, d, below=True)]
    for s in page.segs:
        if s.voted or (not s.key and (not is_label_like(s.text) or id(s) in reserved)):
            continue
        d = lone(s)
        if d is None:
            continue
        dx, dy = offset(s, d)
        tol = 0.5 * s.h
        if sum(abs(dx - x) <= tol and abs(dy - y) <= tol for x, y in sure) >= VOTES - 1:
            s.key = s.voted = True
            reserved.add(id(d))


def read_page_pairs(lines: list[Any]) -> tuple[list[Pair], list[Pair]]:
    """(key-value pairs, checkbox groups) of a page in reading order, from OCR lines."""
    page = Layout([s for s in segments(lines) if s.text.strip(STRAY)])  # "Date:" "." "May 9": the dot is nothing
    for s in page.segs:
        s.key = _colon(s)
    reserved = set()  # what colon keys will take: the text right of them, else the line under them
    for k in page.segs:
        if k.key:
            r = page.right_of(k)
            if r is not None and _far(k, r):
                r = None  # far across the row: the next column's key or value, not this key's (as pairing reads it)
            d = page.below(k)
            v = r if r is not None and not r.key else d if d is not None and _looks_like_value(k, d, True) else None
            if v is not None and not v.key:
                reserved.add(id(v))
    labelled: list[Seg] = []
    for s in page.segs:  # label-like keys: a value right of them on the row, or under them in their column
        if s.key or id(s) in reserved or not is_label_like(s.text) or _month_day(s.text):
            continue
        r = page.right_of(s)
        s.key = r is not None and (_looks_like_value(s, r) or _near_label(s, r, page.rows[s.row]))
        labelled.append(s)
    _column_votes(page, reserved)
    _stack_votes(page, reserved)
    _alternate(page, labelled)
    keys = [s for row in page.rows for s in row if s.key]
    text_h = sorted(s.h for s in page.segs)[len(page.segs) // 2] if page.segs else 0  # the page's usual line height
    groups = _checkbox_groups(page, keys)
    pairs: list[Pair] = _ticked_options(page)
    for k in keys:  # values to the right first: they are the common case and the surest
        r = None if k.used else page.right_of(k)
        if r is not None and not (_colon(k) or k.voted) and k.h > HEADING * text_h:
            r = None  # a title or section heading beside other text
        if r is not None and not k.column and _far(k, r):
            r = None  # far across the row: the next column's text, not this key's value
        if r is not None and not _colon(k) and _note(r):
            r = None  # a label's bracketed note beside it is part of its wording
        if r is not None and not _colon(k) and r.text.casefold().split() == k.text.casefold().split():
            r = None  # the same label again along the row: a repeated column header, not its value
        if r is not None and not r.used and not r.key and (_colon(k) or k.voted or _looks_like_value(k, r)
                                                           or _near_label(k, r, page.rows[k.row])):
            colon = _colon(k)
            k.used = True
            values = page.block(r, k) if colon else page.row_run(r)
            if colon and len(values) == 1:
                values = page.row_run(r, reach=NEAR_GAP)  # a unit or initials right after it ("100" "unit")
            if not colon and len(values) > ROW_CELLS:
                continue  # a table row's header: FUNSD-style truth links it to each cell, not to the row
            if not colon and len(values) == 1 and not any(c.isdigit() for c in r.text):
                r.used = False
                values = page.block(r)  # one cell of text may go on under itself ("Copies to" two names)
            pairs.append(_pair(k, values, SCORE_COLON_RIGHT if colon else SCORE_LABEL_RIGHT,
                               "colon right" if colon else "label right", page))
    for k in keys:
        d = None if k.used else page.below(k)
        if d is not None and _note(d):
            d = None  # a bracketed note under a key says how to fill it: not what was filled in
        if d is not None and not _colon(k) and d.text.isupper() == k.text.isupper() and d.h < TALLER * k.h:
            d = None  # under a label, text written like it is the label's paragraph or list going on, not its value
        if d is not None and _colon(k) and not k.voted and is_label_like(d.text) \
                and not any(c.isdigit() for c in d.text) and page.right_of(d) is not None:
            d = None  # under a colon key, a label with text beside it heads its own row ("SEX:" over "Male" "Female")
        if d is not None and not d.used and not d.key and (k.voted or _colon(k)
                                                            and _looks_like_value(k, d, below=True)):
            colon = _colon(k)
            k.used = True
            pairs.append(_pair(k, page.block(d), SCORE_COLON_BELOW if colon else SCORE_LABEL_BELOW,
                               "colon below" if colon else "label below"))
    pairs.extend(_caption_rows(page))
    pairs.extend(_inline_pairs(page))
    pairs.sort(key=lambda p: (p.key_segs[0].row, p.key_segs[0].box[0]))
    return pairs, groups


def _is_mark(word: str) -> bool:
    """A check mark written or printed in an option's box: ``X``, ``x``, a tick glyph, boxed or not."""
    t = word.strip("_()[]|")
    return t in ("x", "X") or (len(t) == 1 and t in TICKS)


def _ticked_option(s: Seg) -> int:
    """Where the mark sits in a ticked option read as one segment: 1 for a mark before its label
    ("X YES"), -1 after it ("Yes X"); 0 when ``s`` is no short label with a mark at one end."""
    words = [w for w, _ in s.words]
    for end in (1, -1):
        label = words[1:] if end == 1 else words[:-1]
        if 0 < len(label) <= MARK_LABEL_WORDS and _is_mark(words[0 if end == 1 else -1]) \
                and not any(_is_mark(w) for w in label) and is_label_like(" ".join(label)):
            return end
    return 0


def _unleader_mark(s: Seg) -> Seg:
    """The mark of ``s`` without the box's underline it was read with (``"_X"`` -> ``"X"``)."""
    (t, b), = s.words
    return Seg([(t.strip("_"), b)], s.score, s.line, row=s.row)


def _mark_owner(page: Layout, mark: Seg) -> Seg | None:
    """The option a lone mark ticks: the nearer of the label-like texts just left and right of it
    on its row (a box is printed beside its own option)."""
    def gap(o: Seg) -> float:
        return max(o.box[0] - mark.box[2], mark.box[0] - o.box[2])

    near = [o for o in (page.left_of(mark), page.right_of(mark)) if o is not None and not o.used
            and abs(o.cy - mark.cy) <= 0.5 * max(o.h, mark.h) and gap(o) <= RIGHT_REACH * o.h]
    labels = [o for o in near if is_label_like(o.text)]
    best = min(near, key=gap, default=None)
    return best if best is not None and best in labels else None


def _ticked(page: Layout, s: Seg) -> tuple[Seg, Seg] | None:
    """(option, mark) when ``s`` is a lone mark beside its option or an option read in one segment
    with its mark (``"X YES"``, ``"Yes X"``); None otherwise."""
    if len(s.words) == 1 and _is_mark(s.text):
        opt = _mark_owner(page, s)
        return None if opt is None else (opt, _unleader_mark(s))
    if not (end := _ticked_option(s)):
        return None
    mark, label = (s.words[:1], s.words[1:]) if end == 1 else (s.words[-1:], s.words[:-1])
    return (Seg(label, s.score, s.line, key=True, row=s.row),
            _unleader_mark(Seg(mark, s.score, s.line, row=s.row)))


def _ticked_options(page: Layout) -> list[Pair]:
    """Ticked boxes no checkbox group took: the option is the question and the mark its answer (how
    FUNSD links a ticked box), never a value of the key printed before the options."""
    out = []
    for s in page.segs:
        if s.used or (got := _ticked(page, s)) is None:
            continue
        s.used, s.key = True, False
        out.append(_pair(got[0], [got[1]], SCORE_TICKED, "ticked option"))
    return out


def _opens_with_label(s: Seg) -> bool:
    """``s`` starts with a label and goes on with a number ("Kind 20 mm True plastic rod",
    "Delivery Roller over Tape .844"): the next key of a row, read with its value."""
    words = [w for w, _ in s.words]
    cut = next((i for i, w in enumerate(words) if any(c.isdigit() for c in w)), 0)
    head = " ".join(words[:cut])
    return 0 < cut <= LABEL_WORDS and is_label_like(head) and head[-1] not in ",;-&/" \
        and month_number(words[cut - 1]) is None


def _open_head(head: str) -> bool:
    """Words before a cut that are no whole label: an address's town ("Springfield, IL") or a phrase
    going on ("Smith &", "Sales -")."""
    return "," in head or head[-1] in ";-&/"


def _inline_cut(s: Seg) -> int:
    """Where a printed label ends inside ``s`` ("Date Sent 4/19/74" -> 2): before its first word
    with a digit or the month name a date starts with, when the words before it are a short
    label; 0 for none."""
    words = [w for w, _ in s.words]
    cut = next((i for i, w in enumerate(words) if any(c.isdigit() for c in w)
                or month_number(w) is not None and word_date(" ".join(words[i:]))), 0)
    head = " ".join(w for w, _ in s.words[:cut])
    value = [w for w, _ in s.words[cut:]]
    if not 0 < cut <= INSIDE_WORDS or len(value) > INSIDE_VALUE_WORDS or not is_label_like(head):
        return 0
    if _open_head(head) or month_number(s.words[cut - 1][0]) is not None:
        return 0  # an address's town line ("Springfield, IL 62704") or a date's month ("March 18, 1968")
    if _letters(head) < 4 and head[-1] not in ".#" or value[0][:1] == "(" and value[-1][-1:] == ")":
        return 0  # a code's letters ("KS 1 mg"), a year or count in brackets ("Keywords (1993)")
    return cut


def _caption_rows(page: Layout) -> list[Pair]:
    """A row of two or more labels with no value beside any of them, each over value-like text
    (a boxed form's cells, each caption at the top of its box): each takes the text under it. Over
    a column of numbers a label is the table's column header, which FUNSD links to no cell."""
    out = []
    for row in page.rows:
        caps = []
        for s in row:
            r = page.right_of(s)
            if s.used or _colon(s) or not is_label_like(s.text) or r is not None and not is_label_like(r.text):
                continue
            d = page.below(s)
            if d is not None and not d.used and not d.key and not _note(d) and _looks_like_value(s, d, below=True) \
                    and not page.number_column(d):
                caps.append((s, d))
        if len(caps) >= 2:
            out += [_pair(s, page.block(d), SCORE_LABEL_BELOW, "caption below") for s, d in caps if not d.used]
    return out


def _gap_cut(s: Seg) -> int:
    """Where a printed label ends inside ``s`` when its widest word gap sets it off from its value
    ("Project Objective   A pipe tobacco ..."): at least ``LABEL_GAP`` line heights and ``GAP_MARGIN``
    wider than any other gap, after a label-like head that does not end a sentence or an address
    part, before text that reads unlike the label and is no bracketed note; 0 for none."""
    ws = s.words
    gaps = [(ws[i][1][0] - ws[i - 1][1][2]) / s.h for i in range(1, len(ws))]
    if not gaps:
        return 0
    i = max(range(len(gaps)), key=gaps.__getitem__)
    head, last = " ".join(w for w, _ in ws[:i + 1]), ws[i][0]
    if gaps[i] < LABEL_GAP or gaps[i] - max(gaps[:i] + gaps[i + 1:], default=0.0) < GAP_MARGIN \
            or not is_label_like(head) or _open_head(head) or last.endswith(".") and _letters(last) > 3:
        return 0  # "... our files.  Thank you": a full stop after a word ends a sentence
    value = Seg(ws[i + 1:], s.score, s.line)
    return i + 1 if not _note(value) and _looks_like_value(Seg(ws[:i + 1], s.score, s.line), value) else 0


def _inline_pairs(page: Layout) -> list[Pair]:
    """A label and its value that OCR read as one segment (a key printed with its value one space
    on, "Project No. 1989-29"), taken by no key and with no unpaired text left of it on its row
    (a row's cell): cut where ``_inline_cut`` or else ``_gap_cut`` says."""
    out = []
    for s in page.segs:
        left = page.left_of(s)
        if s.used or s.key or (left is not None and not left.used) or not (cut := _inline_cut(s) or _gap_cut(s)):
            continue
        k = Seg(s.words[:cut], s.score, s.line, key=True, row=s.row)
        v = Seg(s.words[cut:], s.score, s.line, row=s.row)
        s.used = True
        out.append(_pair(k, [v], SCORE_LABEL_INSIDE, "label inside"))
    return out


def read_pairs(lines: list[Any], arrays: list[PairArray]) -> tuple[dict[str, list[dict[str, tuple[str, float]]]], set[int]]:
    """The items of each pair array (``{pattern: (value, score)}``) read from ``lines``, and the
    indices of the lines they were read from. Without a checkbox array, checkbox groups are pairs."""
    pairs, groups = read_page_pairs(lines)
    if not any(a.checkbox for a in arrays):
        pairs = sorted(pairs + groups, key=lambda p: (p.key_segs[0].row, p.key_segs[0].box[0]))
        groups = []
    out: dict[str, list[dict[str, tuple[str, float]]]] = {}
    taken = False
    for a in arrays:
        if a.checkbox:
            got = groups
        elif taken:
            continue  # one key-value array gets the pairs
        else:
            got, taken = pairs, True
        out[a.head] = [{a.question_pattern: (p.question, round(p.score, 4)),
                        a.answer_pattern: (p.answer, round(p.score, 4))} for p in got]
    used = {i for p in pairs + groups for i in p.lines} if out else set()
    return out, used
