"""Layout blocks of a paper form filled in by typewriter or by hand (the FUNSD look).

    - {type: sheet, list: fields, style: line|cells|tab, answers: typed|hand|mixed, per_row: 1|2|3}
    - {type: checks, list: choices, mark: box|blank|paren, answers: typed|hand}
    - {type: letterhead}, {type: fax_header}, {type: stamp}, {type: signature}, {type: page_marks}
    - {type: footer}: the document number, a code and a copy list at the foot of the page (last in
      the list: a page whose blocks reach into it is drawn again smaller)
    - {type: fill, with: [notes, figures, rules], reserve: LINES}: running notes, a table of figures
      and empty ruled lines, down to the footer, leaving ``reserve`` lines for the blocks after it

Keys are printed in the form's font; answers are typed in Courier a little off the line, or
written by hand (``synth.handwriting``) in a pen colour. Unanswered keys, section headings, the
letterhead, fax line, stamp and file number come from ``ctx.extras`` (``synth.values.form``);
they are words on the page but no field. A block gets the layout's ``DrawCtx`` and draws on its
``page`` directly; ``synth.layout`` registers these drawers in its ``BLOCKS``.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from synth.flow import wrap_text
from synth.handwriting import HandStyle, hand_style, hand_text
from synth.marks import punch_holes, scrawl, stamp, turned_text
from synth.render import BOLD as BOLD_FONTS
from synth.render import Run

if TYPE_CHECKING:
    from synth.layout import DrawCtx

TYPEWRITER = "Courier"
LEAD = 1.25  # line pitch, in font sizes


def _typed(ctx: DrawCtx, x: float, top: float, text: str, path: str | None, width: float, size: float) -> float:
    """One typewritten line a little off where it was aimed (a typewriter's carriage and platen)."""
    dx, dy = ctx.rng.uniform(0, size * 1.2), ctx.rng.uniform(-size * 0.12, size * 0.12)
    _, h = ctx.page.text(x + dx, top + dy, [Run(text, path)], TYPEWRITER, size, max_width=max(1.0, width - dx))
    return h + dy


def _answer_line(ctx: DrawCtx, x: float, top: float, text: str, path: str, width: float,
                 hand: HandStyle | None) -> float:
    """One line of an answer, typed or written; returns the height it used."""
    if hand is None:
        return _typed(ctx, x, top, text, path, width, ctx.size)
    _, h = hand_text(ctx.page, x + ctx.rng.uniform(0, ctx.size), top - ctx.size * 0.35,
                     [Run(text, path)], ctx.size * ctx.rng.uniform(1.05, 1.3), hand, ctx.rng, max_width=width - ctx.size)
    return h - ctx.size * 0.35


def _label(ctx: DrawCtx, x: float, top: float, text: str, path: str | None, width: float,
           font: str | None = None, size: float | None = None) -> tuple[float, float]:
    """A printed key; returns (width, height) it used."""
    return ctx.page.text(x, top, [Run(text, path)], font or ctx.font, size or ctx.size, max_width=width)


def _hand(ctx: DrawCtx) -> HandStyle:
    """The one person who fills this page in by hand."""
    if "hand" not in ctx.cache:
        ctx.cache["hand"] = hand_style(ctx.rng)
    return ctx.cache["hand"]


def _writer(ctx: DrawCtx, answers: str) -> HandStyle | None:
    """The hand that fills this answer (None: the typewriter)."""
    if answers == "hand" or (answers == "mixed" and ctx.rng.random() < 0.5):
        return _hand(ctx)
    return None


def _items(ctx: DrawCtx, lst: str) -> list[tuple[str, object]]:
    """The block's rows in print order: pairs, unanswered keys and section headings mixed in."""
    items: list[tuple[str, object]] = [("pair", i) for i in range(ctx.count(lst))]
    for blank in ctx.extras.get("blanks", []):
        items.insert(ctx.rng.randint(0, len(items)), ("blank", blank))
    for heading in ctx.extras.get("sections", []):  # between rows, never last: a heading heads something
        items.insert(ctx.rng.randint(1, max(1, len(items) - 1)), ("heading", heading))
    return items


def _pair_line(ctx: DrawCtx, x: float, top: float, width: float, q: str | None, question: str,
               a: str | None, answer: str, answers: str, tab: float | None) -> float:
    """Key, then the answer on an underline to the right (``tab``: at a fixed column, no line);
    further answer lines go under it on lines of their own."""
    lw, h = _label(ctx, x, top, question, q, width * 0.6)
    ax = x + (tab if tab is not None else lw + ctx.size * 0.6)
    ax = max(ax, x + lw + ctx.size * 0.4)
    rule_y = top + ctx.size * 1.15
    hand = _writer(ctx, answers) if answer else None
    if tab is None:
        ctx.page.hline(ax, x + width, rule_y, line_width=0.5)
    lines = answer.split("\n") if answer else []
    if lines and len(lines) > 1 and ctx.page.width_of(lines[0], TYPEWRITER, ctx.size) > x + width - ax:
        lines.insert(0, "")  # a long first line starts under the key, not squeezed after it
    if lines and lines[0]:
        h = max(h, _answer_line(ctx, ax, top, lines[0], a, x + width - ax, hand))
    y = top + max(h, ctx.size * LEAD)
    for line in lines[1:]:
        y += ctx.size * 0.3
        if tab is None:
            ctx.page.hline(x, x + width, y + ctx.size * 1.15, line_width=0.5)
        y += max(ctx.size * LEAD, _answer_line(ctx, x if tab is None else ax, y, line, a,
                                               width if tab is None else x + width - ax, hand))
    return y - top


def _pair_cell(ctx: DrawCtx, x: float, top: float, width: float, q: str | None, question: str,
               a: str | None, answer: str, answers: str) -> float:
    """A boxed cell: the key small in its top-left corner, the answer inside under it."""
    pad = ctx.size * 0.3
    _, h = _label(ctx, x + pad, top + pad, question, q, width - 2 * pad, size=ctx.size * 0.68)
    y = top + pad + h + pad * 0.5
    hand = _writer(ctx, answers) if answer else None
    for line in (answer.split("\n") if answer else [""]):
        if line:
            y += max(ctx.size * LEAD, _answer_line(ctx, x + pad, y, line, a, width - 2 * pad, hand))
        else:
            y += ctx.size * LEAD
    return y + pad - top


def sheet(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Question/answer pairs the FUNSD way: keys with typed or handwritten answers on lines, in
    boxed cells, or at a tab stop; unanswered keys and section headings among them."""
    lst = b["list"]
    style = ctx.pick(b.get("style"), "line")
    answers = ctx.pick(b.get("answers"), "typed")
    per_row = ctx.pick(b.get("per_row"), 1)
    spread = ctx.rng.uniform(*b["spread"]) if "spread" in b else 0.55  # row gap in lines: typed forms double-space
    gap = ctx.size * 1.6
    items = _items(ctx, lst)
    tab = None
    if style == "tab":  # one answer column for the block, after its longest key
        keys = [ctx.value(f"{lst}.{i}.question") for k, i in items if k == "pair"]
        keys += [t for k, t in items if k == "blank"]
        tab = min(width * 0.45, max((ctx.page.width_of(k, ctx.font, ctx.size) for k in keys), default=0) + ctx.size)
    y, row, row_h = top, [], 0.0  # row: (x, width) of the cells on the current row
    cw = (width - gap * (per_row - 1)) / per_row

    def flush() -> None:
        nonlocal y, row, row_h
        if row:
            if style == "cells":  # one height for the row's boxes
                for cx, span in row:
                    ctx.page.rect(cx, y, span, row_h)
            y += row_h + ctx.size * (0.0 if style == "cells" else spread)
        row, row_h = [], 0.0

    for kind, item in items:
        if kind == "heading":
            flush()
            y += ctx.size * 0.4
            w, h = _label(ctx, x, y, str(item), None, width, font=ctx.bold, size=ctx.size * 1.05)
            if ctx.rng.random() < 0.5:
                ctx.page.hline(x, x + w, y + h + 0.5, line_width=0.6)
            y += h + ctx.size * 0.5
            continue
        if kind == "pair":
            q, a = f"{lst}.{item}.question", f"{lst}.{item}.answer"
            question, answer = ctx.value(q), ctx.value(a)
        else:
            q = a = None
            question, answer = str(item), ""
        wide = "\n" in answer or ctx.page.width_of(question + answer, TYPEWRITER, ctx.size) > cw * 0.9
        if wide or len(row) == per_row:
            flush()
        span = width if wide else cw
        cx = x + len(row) * (cw + gap)
        if style == "cells":
            h = _pair_cell(ctx, cx, y, span, q, question, a, answer, answers)
        else:
            h = _pair_line(ctx, cx, y, span, q, question, a, answer, answers, tab)
        row.append((cx, span))
        row_h = max(row_h, h)
        if wide:
            flush()
    flush()
    return y - top + ctx.size * 0.4


def checks(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Checkbox groups: a key, then its options each after a box, a blank or parentheses; the
    chosen one crossed, ticked or marked X by typewriter or hand. Options go along the key's line,
    or one per line under it."""
    lst = b["list"]
    options = ctx.extras.get("options", [])
    mark = ctx.pick(b.get("mark"), "box")
    by_hand = ctx.pick(b.get("answers"), "typed") == "hand"
    vertical = ctx.pick(b.get("vertical"), False)
    size, box = ctx.size, ctx.size * 0.85
    y = top
    for i in range(ctx.count(lst)):
        q, a = f"{lst}.{i}.question", f"{lst}.{i}.answer"
        lw, h = _label(ctx, x, y, ctx.value(q), q, width * 0.4)
        cx = x + width * 0.05 if vertical else x + lw + size * 1.2
        if vertical:
            y += h + size * 0.35
        for opt in options[i]:
            chosen = opt == ctx.value(a)
            ow = ctx.page.width_of(opt, ctx.font, size) + box * 3
            if not vertical and cx + ow > x + width:
                cx, y = x + width * 0.05, y + size * LEAD
            _mark(ctx, cx, y, box, mark, chosen, by_hand)
            _label(ctx, cx + box * 1.5, y, opt, a if chosen else None, ow)
            if vertical:
                y += size * LEAD
            else:
                cx += ow + size
        y += 0 if vertical else size * LEAD
        y += size * 0.5
    return y - top + size * 0.3


def _mark(ctx: DrawCtx, x: float, top: float, box: float, mark: str, chosen: bool, by_hand: bool) -> None:
    """The box, blank or parentheses in front of an option, crossed when chosen."""
    page = ctx.page
    if mark == "box":
        page.rect(x, top + 1, box, box)
    elif mark == "blank":
        page.hline(x - box * 0.3, x + box * 1.2, top + box + 1, line_width=0.5)
    else:
        page.text(x - box * 0.2, top, [Run("(")], ctx.font, ctx.size)
        page.text(x + box * 0.9, top, [Run(")")], ctx.font, ctx.size)
    if not chosen:
        return
    if by_hand:  # a tick in pen, reaching out of the box as ticks do
        ink = _hand(ctx).ink
        pen = 0.9
        page.ops.append(("line", x + box * 0.1, top + box * 0.55, x + box * 0.4, top + box * 1.0, pen, ink, False))
        page.ops.append(("line", x + box * 0.4, top + box * 1.0, x + box * 1.1, top - box * 0.2, pen, ink, False))
    elif mark == "box":
        for y0, y1 in ((top + 2.5, top + box - 0.5), (top + box - 0.5, top + 2.5)):
            page.ops.append(("line", x + 1.5, y0, x + box - 1.5, y1, 1.2, (0, 0, 0), False))
    else:
        page.text(x + box * 0.05, top, [Run("X")], TYPEWRITER, ctx.size)


def letterhead(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """The issuing company's name (and an address line) over the form, centred or left."""
    name, address = (ctx.extras.get("letterhead") or ["", ""])[:2]
    align = ctx.pick(b.get("align"), "center")
    y = top
    for text, font, scale in ((name, ctx.bold, 1.35), (address if ctx.rng.random() < 0.6 else "", ctx.font, 0.85)):
        if text:
            _, h = ctx.page.text(x, y, [Run(text)], font, ctx.size * scale, align=align, max_width=width)
            y += h * 1.1
    return y - top + ctx.size * 0.4


def fax_header(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """The line a fax machine prints across the top: date, time, number, sender, page."""
    parts = [p for p in ctx.extras.get("fax", []) if p]
    if not parts or ctx.rng.random() < ctx.pick(b.get("skip"), 0.0):
        return 0.0
    size = ctx.size * ctx.rng.uniform(0.75, 0.95)
    font = ctx.rng.choice((TYPEWRITER, "Helvetica", ctx.font))
    natural = sum(ctx.page.width_of(p, font, size) for p in parts)
    step = max(size, (width - natural) / max(1, len(parts) - 1)) if ctx.rng.random() < 0.5 else size * 1.5
    cx = x
    for p in parts:
        w, _ = ctx.page.text(cx, top, [Run(p)], font, size, max_width=max(size, x + width - cx))
        cx += w + step
        if cx >= x + width:
            break
    return size * 1.6


def stamp_block(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """A rubber stamp in its own strip of the page, left, centre or right."""
    lines = ctx.extras.get("stamp") or []
    if not lines or ctx.rng.random() < ctx.pick(b.get("skip"), 0.0):
        return 0.0
    where = ctx.rng.uniform(0.0, 0.6) if b.get("anywhere", True) else 0.6
    return stamp(ctx.page, x + width * where, top, lines, ctx.size, ctx.rng, width * 0.4) + ctx.size * 0.4


def signature(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """A printed signature key over a line with a pen scrawl on it (no text, no field)."""
    text = ctx.pick(b.get("text"), "Signature")
    lw, _ = _label(ctx, x, top + ctx.size * 1.5, text, None, width * 0.4)
    x0, x1 = x + lw + ctx.size, x + min(width, lw + ctx.size * 22)
    ctx.page.hline(x0, x1, top + ctx.size * 2.7, line_width=0.5)
    hand = _hand(ctx)
    scrawl(ctx.page, x0 + ctx.size, top, (x1 - x0) * 0.7, ctx.size * 2.6, ctx.rng, hand.ink, hand.pen + 0.4)
    return ctx.size * 3.4


def page_marks(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Marks outside the text column: the file number printed up the right margin, binder holes
    down the left one, each only sometimes; uses no height."""
    page = ctx.page
    height = page.height or page.bottom
    number = ctx.extras.get("file_number")
    right = page.width - (x + width)  # the right margin
    printed = (ctx.cache.get("footer") or {}).get("number")  # the footer (planned by fill) prints it
    if number and not printed and ctx.rng.random() < ctx.pick(b.get("file_number"), 0.6) and right > ctx.size * 2:
        size = min(ctx.size * 1.1, right * 0.45)
        cy = height * ctx.rng.uniform(0.55, 0.8)
        turned_text(page, x + width + right * 0.5, cy, number, ctx.rng.choice(("Helvetica", "Times-Roman")), size,
                    math.pi / 2)
    if ctx.rng.random() < ctx.pick(b.get("holes"), 0.25) and x > 24:
        punch_holes(page, x * 0.4, height, ctx.rng)
    return 0.0


# --- the rest of the page: footer, notes, figures, ruled lines -------------------------------

def _footer_plan(ctx: DrawCtx, x: float, width: float) -> dict:
    """Where the foot of the page goes, drawn once per page (``fill`` asks first to know where to
    stop, ``footer`` draws it): the document number large and bold at the right, a small code at the
    left, sometimes the copy list over them, each only sometimes; ``floor`` is where the text above
    must end."""
    if "footer" in ctx.cache:
        return ctx.cache["footer"]
    page, size = ctx.page, ctx.size
    rng = random.Random(ctx.rng.getrandbits(32))  # its own draws: who asks first does not change them
    info = ctx.extras.get("footer") or {}
    low = (page.height or 0.0) - x * rng.uniform(0.55, 0.85)  # the lowest text's bottom; layouts allow 0.5
    plan: dict = {"number": None, "code": None, "cc": None}
    floor = low
    if ctx.extras.get("file_number") and rng.random() < 0.7:
        big = size * rng.uniform(1.2, 1.7)
        font = rng.choice((BOLD_FONTS[ctx.font], "Times-Bold", "Helvetica-Bold"))
        h = sum(abs(v) for v in page.line_height(font, big))
        plan["number"] = (font, big, low - h)
        floor = low - h
    if info.get("code") and rng.random() < 0.5:
        small = size * rng.uniform(0.75, 0.95)
        h = sum(abs(v) for v in page.line_height(ctx.font, small))
        plan["code"] = (small, low - h - rng.uniform(0, size * 1.5))
        floor = min(floor, low - h - size * 1.5)
    if info.get("cc") and rng.random() < 0.3:
        floor -= size * 2.6
        plan["cc"] = floor
    plan["floor"] = floor - size * 0.8
    ctx.cache["footer"] = plan
    return plan


def footer(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """The foot of the page (``_footer_plan``), drawn at the bottom margin by the last block of a
    layout; uses no height. When the blocks above reached into it, nothing is drawn and the page is
    marked full, so the layout shrinks its type and draws the page again, as for any overflow."""
    page = ctx.page
    if page.height is None:
        return 0.0
    plan = _footer_plan(ctx, x, width)
    if page.bottom > plan["floor"] + ctx.size * 0.8:
        page.bottom = max(page.bottom, page.height)
        return 0.0
    info = ctx.extras.get("footer") or {}
    if plan["number"]:
        font, big, y = plan["number"]
        page.text(x, y, [Run(ctx.extras["file_number"])], font, big, align="right", max_width=width)
    if plan["code"]:
        small, y = plan["code"]
        page.text(x, y, [Run(info["code"])], ctx.font, small, max_width=width * 0.4)
    if plan["cc"] is not None:
        _label(ctx, x, plan["cc"], info["cc"], None, width * 0.6)
    return 0.0


def _floor(ctx: DrawCtx, x: float, width: float) -> float:
    """Where the blocks that flow down the page must end: over the footer."""
    return _footer_plan(ctx, x, width)["floor"]


def notes(ctx: DrawCtx, x: float, top: float, width: float, limit: float) -> float:
    """Running text: a heading and typed sentences wrapped to the column, as many as fit above ``limit``."""
    size, y = ctx.size, top
    font = TYPEWRITER if ctx.rng.random() < 0.6 else ctx.font
    step = size * ctx.rng.choice((1.2, 1.25, 1.5, 2.0))  # single to double spacing
    indent = width * ctx.rng.choice((0.0, 0.0, 0.2, 0.25))
    width *= ctx.rng.uniform(0.7, 1.0)  # typed text seldom runs to the right margin
    for head, sentences in ctx.extras.get("notes", []):
        if y + size * 3 > limit:
            break
        style = ctx.rng.random()
        if style < 0.5:  # the heading on its own line
            _label(ctx, x, y, head.upper() if style < 0.25 else head + ":", None, width, font=ctx.bold)
            y += size * 1.6
            left = x + indent
        else:  # the heading as a key, the text at a tab stop after it
            _label(ctx, x, y, head + ":", None, width * 0.3)
            left = x + max(indent, ctx.page.width_of(head + ": ", ctx.font, size) + size)
        for line in wrap_text(ctx, " ".join(sentences), x + width - left, font, size):
            if y + size * 1.2 > limit:
                break
            ctx.page.text(left, y, [Run(line)], font, size, max_width=x + width - left)
            y += step
        y += size * 0.8
    return y - top


def figures(ctx: DrawCtx, x: float, top: float, width: float, limit: float) -> float:
    """A table of figures: underlined column headings, the first column left, the others right-aligned;
    rows while they fit above ``limit``."""
    table = ctx.extras.get("figures") or []
    if len(table) < 2 or top + ctx.size * 4 > limit:
        return 0.0
    size, rng = ctx.size, ctx.rng
    font = TYPEWRITER if rng.random() < 0.5 else ctx.font
    cols = len(table[0])
    span = width * rng.uniform(0.6, 1.0)
    first = span * 0.34
    cw = (span - first) / max(1, cols - 1)
    step = size * rng.choice((1.25, 1.5, 1.8))
    y = top + size * 0.3
    ruled = rng.random() < 0.5
    for r, row in enumerate(table):
        if y + size * 1.3 > limit:
            break
        for c, cell in enumerate(row):
            cx, w = (x, first) if c == 0 else (x + first + (c - 1) * cw, cw - size * 0.5)
            hf = ctx.bold if r == 0 and rng.random() < 0.5 else font
            tw, h = ctx.page.text(cx, y, [Run(cell)], hf, size, align="left" if c == 0 else "right", max_width=w)
            if r == 0 and not ruled:  # headings underlined one by one, as typed
                x0 = cx if c == 0 else cx + w - tw
                ctx.page.hline(x0, x0 + tw, y + h + 0.8, line_width=0.5)
        y += step
        if ruled and r == 0:
            ctx.page.hline(x, x + span, y - step * 0.2, line_width=0.6)
    return y - top + size * 0.5


def rules(ctx: DrawCtx, x: float, top: float, width: float, limit: float) -> float:
    """Empty ruled lines left for comments, under a key, down to ``limit`` (at most a dozen)."""
    size = ctx.size
    if top + size * 4 > limit:
        return 0.0
    blanks = ctx.extras.get("blanks") or ["Comments:"]
    _label(ctx, x, top, ctx.rng.choice(blanks), None, width * 0.5)
    y, step = top + size * 2.2, size * ctx.rng.uniform(1.8, 2.4)
    for _ in range(ctx.rng.randint(2, 12)):
        if y + size > limit:
            break
        ctx.page.hline(x, x + width * 0.95, y, line_width=0.5)
        y += step
    return y - top


FILLERS = {"notes": notes, "figures": figures, "rules": rules}


def fill(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """The page below the keys, down to the footer: the ``with`` fillers in turn (in a drawn order
    when ``shuffle``), each stopping at the line that would cross the floor; ``reserve`` lines are
    left for the blocks after this one."""
    kinds = list(ctx.pick(b.get("with"), ["notes", "figures", "rules"]))
    if b.get("shuffle", True):
        ctx.rng.shuffle(kinds)
    limit = _floor(ctx, x, width) - ctx.size * b.get("reserve", 4.0)
    y = top + ctx.size * ctx.rng.uniform(0.5, 2.0)
    for kind in kinds:
        if y + ctx.size * 3 > limit:
            break
        y += FILLERS[kind](ctx, x, y, width, limit) + ctx.size * ctx.rng.uniform(0.5, 1.5)
    return min(y, max(top, limit)) - top


BLOCKS = {"sheet": sheet, "checks": checks, "letterhead": letterhead, "fax_header": fax_header,
          "stamp": stamp_block, "signature": signature, "page_marks": page_marks, "footer": footer, "fill": fill}
