"""Layouts are YAML files in ``templates/<type>/layouts/``: a page setup plus a list of blocks.

A block names the fields it prints by their schema paths; its drawer (one small function per
block type, registered in ``BLOCKS``) places labels and values on a ``Page``. Labels come from the
schema's ``x-labels``; choices written ``{one_of: [...]}`` are drawn per sample.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from docfoundry.doctypes import NUMERIC_KINDS, DocType, path_pattern
from docfoundry.errors import UserError
from docfoundry.records import list_length
from synth import form_blocks, paginate
from synth.render import BOLD, Page, Run

PAGE_SIZES: dict[str, tuple[float, float | None]] = {
    "letter": (612.0, 792.0), "a4": (595.28, 841.89), "legal": (612.0, 1008.0), "till": (226.77, None),
    "till58": (164.41, None),  # 58 mm thermal roll
}
ACCENTS = ((0.12, 0.29, 0.53), (0.55, 0.1, 0.1), (0.1, 0.4, 0.25), (0.3, 0.3, 0.3), (0.4, 0.2, 0.5),
           (0.0, 0.0, 0.0), (0.75, 0.4, 0.05))
LEADING = 1.22
OVERFLOW = ("shrink", "pages")  # what a layout does with content longer than its page
# Roll widths (points) a till layout prints on when a page size is asked of it (``synth --like``): a
# narrower or wider request is the paper itself (58 to 110 mm rolls); past the top it is a sheet the
# roll was scanned or photographed on, and the layout's own roll sits centred on it.
ROLL_WIDTHS = (130.0, 312.0)
ROLL_EDGE = 10.0  # points of paper between a roll's text and its edge (the layouts' margins are 8 to 16)
SHEET_SHARE = 0.75  # a sheet layout takes a requested width down to this share of its paper's


@dataclass(frozen=True)
class PageRequest:
    """A page size asked of a layout (``synth --like``: drawn per page from the scans'), in points."""

    width: float
    height: float
    box: tuple[float, float, float, float] | None = None  # where the print lies on it (the scan's ink), if known
    spacing: float = 1.0  # the scan's line pitch over the layouts' own: every line advance is this much longer

    @property
    def print_width(self) -> float:
        """How wide the print is asked to be: its box's, else the page's."""
        return self.width if self.box is None else self.box[2] - self.box[0]


@dataclass
class Layout:
    """A validated layout file."""

    name: str
    file: Path
    pages: list[str]  # paper sizes drawn from per sample
    fonts: list[str]
    size: list[float]
    margin: list[float]
    blocks: list[dict[str, Any]]
    overflow: str = "shrink"  # shrink: the type shrinks until one page holds it; pages: text flows onto more pages
    max_pages: int = 4  # with overflow: pages, the type shrinks only when more pages than this would be needed
    footer: Any = None  # with overflow: pages, a line on every page such as "Page {n} of {count}"
    drop_labels: tuple[float, float] = (0.0, 0.0)  # share of ``label: optional`` labels left out, drawn per page

    @property
    def is_roll(self) -> bool:
        """A till roll: every paper it draws has no fixed height (the roll ends where the print does)."""
        return all(PAGE_SIZES[p][1] is None for p in self.pages)

    def honours(self, request: PageRequest) -> bool:
        """Whether a page of ``request``'s size can be drawn with this layout without squeezing it:
        a roll a print no wider than a roll's (``ROLL_WIDTHS``), on any page; a sheet layout a page
        from ``SHEET_SHARE`` of its narrowest paper's width up."""
        if self.is_roll:
            return request.print_width <= ROLL_WIDTHS[1] * 1.1
        return request.width >= SHEET_SHARE * min(PAGE_SIZES[p][0] for p in self.pages)


@dataclass
class DrawCtx:
    """Everything a block drawer needs for one sample."""

    page: Page
    doc: DocType
    values: dict[str, str]
    rng: random.Random
    font: str
    size: float
    accent: tuple[float, float, float]
    extras: dict[str, Any] = field(default_factory=dict)
    _labels: dict[str, str] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)  # state blocks share on one page (the writer's hand)
    drop_labels: float = 0.0  # chance that this page leaves out a ``label: optional`` label
    _shown: dict[str, bool] = field(default_factory=dict)
    spacing: float = 1.0  # ``PageRequest.spacing``: the page's line advances over the layout's own

    def advance(self, height: float) -> float:
        """How far the next line starts below one ``height`` tall (the leading, at this page's spacing)."""
        return height * LEADING * self.spacing

    def gap(self, share: float) -> float:
        """A vertical gap of ``share`` of the type size, at this page's spacing."""
        return self.size * share * self.spacing

    @property
    def bold(self) -> str:
        return BOLD[self.font]

    def value(self, path: str) -> str:
        return self.values.get(path, "")

    def count(self, list_path: str) -> int:
        """Items in a list field (``line_items`` -> how many rows)."""
        return list_length(self.values, list_path)

    def label(self, path: str) -> str:
        """One printed label per field for the whole page, drawn from the schema's x-labels."""
        pattern = path_pattern(path)
        if pattern not in self._labels:
            leaf = self.doc.leaf(path)
            options = leaf.labels if leaf and leaf.labels else (pattern.split(".")[-1].replace("_", " ").capitalize(),)
            # the value maker may prefer labels naming a word (the local tax: GST, VAT), first match wins
            for word in self.extras.get("label_words", {}).get(pattern, ()):
                named = tuple(o for o in options if word.lower() in o.lower())
                if named:
                    options = named
                    break
            self._labels[pattern] = self.rng.choice(options)
        return self._labels[pattern]

    def shows_label(self, part: dict[str, Any]) -> bool:
        """Whether a field entry's label is printed: ``label: true`` always, ``label: optional`` unless
        this page leaves that field's label out (drawn once per field, like its wording)."""
        wanted = part.get("label")
        if wanted != "optional":
            return bool(wanted)
        pattern = path_pattern(part["field"])
        if pattern not in self._shown:
            self._shown[pattern] = self.rng.random() >= self.drop_labels
        return self._shown[pattern]

    def pick(self, value: Any, default: Any = None) -> Any:
        if isinstance(value, dict) and "one_of" in value:
            return self.rng.choice(value["one_of"])
        return default if value is None else value

    def is_numeric(self, path: str) -> bool:
        leaf = self.doc.leaf(path)
        return bool(leaf and leaf.kind in NUMERIC_KINDS)


# --- drawing helpers ------------------------------------------------------------------------

def draw_value(ctx: DrawCtx, x: float, top: float, path: str | None, width: float, *,
               text: str | None = None, prefix: str = "", font: str | None = None,
               size: float | None = None, align: str = "left",
               color: tuple[float, float, float] = (0, 0, 0)) -> float:
    """Draw a (possibly multi-line) field value, optionally after a label prefix; returns height."""
    text = ctx.value(path) if text is None and path else (ctx.pick(text) or "")
    font, size = font or ctx.font, size or ctx.size
    y = top
    for i, line in enumerate(text.split("\n") if text else [""]):
        runs = ([Run(prefix)] if prefix and i == 0 else []) + [Run(line, path)]
        _, h = ctx.page.text(x, y, runs, font, size, align=align, max_width=width, color=color)
        y += ctx.advance(h)
    return y - top


def _field_list(block: dict[str, Any]) -> list[dict[str, Any]]:
    return [f if isinstance(f, dict) else {"field": f} for f in block.get("fields", [])]


# --- blocks -----------------------------------------------------------------------------------

def block_title(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    size = ctx.size * b.get("scale", 2.0)
    align = ctx.pick(b.get("align"), "left")
    if ctx.pick(b.get("banner"), False):
        h = size * 1.7
        ctx.page.rect(x, top, width, h, stroke=False, fill=ctx.accent)
        draw_value(ctx, x + size * 0.3, top + size * 0.35, b.get("field"), width - size * 0.6,
                   text=b.get("text"), font=ctx.bold, size=size, align=align, color=(1, 1, 1))
        return h + ctx.size * 0.6
    color = ctx.accent if b.get("accent", True) else (0, 0, 0)
    return draw_value(ctx, x, top, b.get("field"), width, text=b.get("text"), font=ctx.bold,
                      size=size, align=align, color=color) + ctx.size * 0.4


def block_text(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    font = ctx.bold if b.get("bold") else ctx.font
    return draw_value(ctx, x, top, b.get("field"), width, text=b.get("text"), font=font,
                      size=ctx.size * b.get("scale", 1.0), align=ctx.pick(b.get("align"), "left"))


def block_logo(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    s = ctx.size * b.get("scale", 3.5)
    shape = ctx.pick(b.get("shape"), "circle")
    if shape == "circle":
        ctx.page.ellipse(x, top, s, s, ctx.accent)
    elif shape == "square":
        ctx.page.rect(x, top, s, s, stroke=False, fill=ctx.accent)
    else:  # bars
        for i in range(3):
            ctx.page.rect(x + i * s / 3, top + i * s / 6, s / 4, s - i * s / 6, stroke=False, fill=ctx.accent)
    h = s
    if b.get("field"):
        h = max(h, draw_value(ctx, x + s * 1.3, top + s * 0.2, b["field"], width - s * 1.3,
                              font=ctx.bold, size=ctx.size * b.get("text_scale", 1.5)))
    return h + ctx.size * 0.5


def block_party(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    y = top
    heading = b.get("heading")
    if heading or b.get("heading_from"):
        text = heading or ctx.label(b["heading_from"])
        y += draw_value(ctx, x, y, None, width, text=text, font=ctx.bold, size=ctx.size * 1.05,
                        color=ctx.accent)
    align = ctx.pick(b.get("align"), "left")
    for i, f in enumerate(_field_list(b)):
        if f["field"] not in ctx.values:
            continue  # an optional field this document left out: no label either
        prefix = ctx.label(f["field"]) + ": " if ctx.shows_label(f) else ""
        font = ctx.bold if (i == 0 and b.get("bold_first")) else ctx.font
        y += draw_value(ctx, x, y, f["field"], width, prefix=prefix, font=font, align=align)
    return y - top + ctx.gap(0.5)


def block_kv(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    style = ctx.pick(b.get("style"), "lines")
    split = width * b.get("label_width", 0.45)
    value_align = ctx.pick(b.get("value_align"), "left")
    pad = ctx.gap(0.35)
    y = top
    for f in _field_list(b):
        if f["field"] not in ctx.values:
            continue  # an optional field this document left out: no label either
        path, label = f["field"], f.get("text") or ctx.label(f["field"])
        if f.get("label") == "optional" and not ctx.shows_label(f):
            label = ""  # this page prints the value alone (``CASH 50.00`` under the total, no "Payment")
        font = ctx.bold if f.get("bold") else ctx.font
        if style == "inline":
            y += draw_value(ctx, x, y, path, width, prefix=f"{label}: " if label else "", font=font)
        elif style == "stacked":
            if label:
                y += draw_value(ctx, x, y, None, width, text=label, size=ctx.size * 0.75, color=(0.35, 0.35, 0.35))
            y += draw_value(ctx, x, y, path, width, font=font) + pad
        else:  # lines / grid: label column and value column
            mark = len(ctx.page.ops)
            label_h = draw_value(ctx, x + pad, y + pad / 2, None, split - 2 * pad, text=label,
                                 font=ctx.bold if style == "grid" else ctx.font) if label else 0.0
            value_h = draw_value(ctx, x + split + pad, y + pad / 2, path, width - split - 2 * pad,
                                 font=font, align=value_align)
            h = max(label_h, value_h) + pad
            if style == "grid":
                ctx.page.rect(x, y, split, h, fill=(0.93, 0.93, 0.93), under=mark)
                ctx.page.rect(x + split, y, width - split, h, under=mark)
            y += h
    return y - top + ctx.gap(0.5)


def block_table(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    lst = b["list"]
    cols = [c if isinstance(c, dict) else {"field": c} for c in ctx.pick(b["columns"])]
    weights = [c.get("width", 1.0) for c in cols]
    widths = [width * w / sum(weights) for w in weights]
    style = ctx.pick(b.get("style"), "grid")
    pad, row_h = ctx.gap(0.35), ctx.gap(1.25) + ctx.gap(0.7)
    y = top
    aligns = ["right" if ctx.is_numeric(f"{lst}.0.{c['field']}") else "left" for c in cols]
    if ctx.pick(b.get("header"), True):
        fill = ctx.accent if style in ("grid", "striped") else None
        if fill:
            ctx.page.rect(x, y, width, row_h, stroke=False, fill=fill)
        cx = x
        for c, w, al in zip(cols, widths, aligns):
            draw_value(ctx, cx + pad, y + pad, None, w - 2 * pad, text=c.get("text") or ctx.label(f"{lst}.0.{c['field']}"),
                       font=ctx.bold, align=al, color=(1, 1, 1) if fill else (0, 0, 0))
            cx += w
        y += row_h
        if style in ("lines", "plain"):
            ctx.page.hline(x, x + width, y, line_width=0.8)
        elif style == "dashed":
            ctx.page.hline(x, x + width, y, dash=True)
    for i in range(ctx.count(lst)):
        if style == "striped" and i % 2:
            ctx.page.rect(x, y, width, row_h, stroke=False, fill=(0.93, 0.93, 0.95))
        cx = x
        for c, w, al in zip(cols, widths, aligns):
            draw_value(ctx, cx + pad, y + pad, f"{lst}.{i}.{c['field']}", w - 2 * pad, align=al)
            if style == "grid":
                ctx.page.rect(cx, y, w, row_h)
            cx += w
        y += row_h
        if style == "lines":
            ctx.page.hline(x, x + width, y, line_width=0.3, color=(0.6, 0.6, 0.6))
    if style == "dashed":
        ctx.page.hline(x, x + width, y + 1, dash=True)
    return y - top + ctx.gap(0.8)


def block_row(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    blocks = b["blocks"]
    if ctx.pick(b.get("swap"), False):
        blocks = list(reversed(blocks))
    weights = b.get("widths", [1.0] * len(blocks))
    gap = ctx.size * 1.5
    usable = width - gap * (len(blocks) - 1)
    h, cx = 0.0, x
    for sub, w in zip(blocks, weights):
        cw = usable * w / sum(weights)
        h = max(h, draw_block(ctx, sub, cx, top, cw))
        cx += cw + gap
    return h


def block_rule(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    ctx.page.hline(x, x + width, top + ctx.size * 0.3, line_width=b.get("weight", 0.8),
                   color=ctx.accent if b.get("accent") else (0, 0, 0), dash=b.get("dash", False))
    return ctx.gap(0.8)


def block_spacer(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    return ctx.gap(b.get("lines", 1.0))


def _grid_cell(ctx: DrawCtx, cell: dict, x: float, top: float, w: float, h: float) -> None:
    pad = ctx.size * 0.25
    ctx.page.rect(x, top, w, h, fill=(0.9, 0.9, 0.9) if cell.get("shade") else None)
    fields = [cell["field"]] if "field" in cell else cell.get("fields", [])
    label = cell.get("text") or (ctx.label(fields[0]) if fields else "")
    y = top + pad
    if label:
        y += draw_value(ctx, x + pad, y, None, w - 2 * pad, text=label, size=ctx.size * 0.62)
    if cell.get("checks"):
        cw = (w - 2 * pad) / len(cell["checks"])
        for i, path in enumerate(cell["checks"]):
            cx = x + pad + i * cw
            ctx.page.rect(cx, y + 2, ctx.size, ctx.size)
            draw_value(ctx, cx + ctx.size * 0.15, y + 2.5, path, ctx.size, font=ctx.bold, size=ctx.size * 0.9)
            draw_value(ctx, cx, y + ctx.size + 4, None, cw - 2, text=ctx.label(path), size=ctx.size * 0.55)
        return
    fw = (w - 2 * pad) / max(1, len(fields))
    for i, path in enumerate(fields):
        align = "right" if ctx.is_numeric(path) and cell.get("align", "right") == "right" else "left"
        draw_value(ctx, x + pad + i * fw, y + pad * 0.5, path, fw - pad, align=align)


def block_grid(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    cols, row_h = b.get("cols", 12), ctx.size * b.get("row_height", 3.0)
    unit = width / cols
    bottom = 0.0
    for cell in b["cells"]:
        c, r, w, h = cell["at"]
        _grid_cell(ctx, cell, x + c * unit, top + r * row_h, w * unit, h * row_h)
        bottom = max(bottom, (r + h) * row_h)
    return bottom + ctx.size


def block_qa(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    lst, style = b["list"], ctx.pick(b.get("style"), "colon")
    ncols = ctx.pick(b.get("per_row"), 1)
    gap = ctx.size * 2
    cw = (width - gap * (ncols - 1)) / ncols
    split = cw * b.get("label_width", 0.42)
    pad = ctx.size * 0.4
    y_cols = [top] * ncols
    for i in range(ctx.count(lst)):
        col = i % ncols
        cx, y = x + col * (cw + gap), y_cols[col]
        q, a = f"{lst}.{i}.question", f"{lst}.{i}.answer"
        qf = ctx.bold if b.get("bold_questions") else ctx.font
        if style == "stacked":
            h = draw_value(ctx, cx, y, q, cw, font=qf, size=ctx.size * 0.85)
            h += draw_value(ctx, cx + pad, y + h, a, cw - pad)
            ctx.page.hline(cx, cx + cw, y + h + 1, line_width=0.4)
        else:
            mark = len(ctx.page.ops)
            hq = draw_value(ctx, cx + pad, y + pad, q, split - 2 * pad, font=qf)
            ha = draw_value(ctx, cx + split + pad, y + pad, a, cw - split - 2 * pad)
            h = max(hq, ha) + pad
            if style == "underline":
                ctx.page.hline(cx + split, cx + cw, y + h, line_width=0.4)
            elif style == "boxed":
                ctx.page.rect(cx, y, split, h + pad, fill=(0.94, 0.94, 0.94), under=mark)
                ctx.page.rect(cx + split, y, cw - split, h + pad, under=mark)
        y_cols[col] = y + h + pad * 1.5
    return max(y_cols) - top + ctx.size * 0.5


def block_choices(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    lst = b["list"]
    options = ctx.extras.get("options", [])
    y, box = top, ctx.size * 0.9
    for i in range(ctx.count(lst)):
        q, a = f"{lst}.{i}.question", f"{lst}.{i}.answer"
        h = draw_value(ctx, x, y, q, width * 0.35, font=ctx.bold if b.get("bold_questions") else ctx.font)
        cx = x + width * 0.37
        for opt in options[i]:
            ow = ctx.page.width_of(opt, ctx.font, ctx.size) + box * 2.4
            ctx.page.rect(cx, y + 1, box, box)
            if opt == ctx.value(a):
                ctx.page.ops.append(("line", cx + 1.5, y + 2.5, cx + box - 1.5, y + box - 0.5, 1.2, (0, 0, 0), False))
                ctx.page.ops.append(("line", cx + 1.5, y + box - 0.5, cx + box - 1.5, y + 2.5, 1.2, (0, 0, 0), False))
                draw_value(ctx, cx + box * 1.4, y, a, ow)
            else:
                draw_value(ctx, cx + box * 1.4, y, None, ow, text=opt)
            cx += ow
        y += h + ctx.size * 0.6
    return y - top + ctx.size * 0.4


# --- till-roll blocks: render-only text the value maker put in ctx.extras, items on two lines ------

def _extra_rows(ctx: DrawCtx, key: str) -> list[list[str]]:
    value = ctx.extras.get(key)
    if not value:
        return []
    rows = [value] if isinstance(value, str) else value
    return [[r] if isinstance(r, str) else [str(c) for c in r] for r in rows if r]


def block_extra(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Text the value maker drew for this page (``extras[key]``): a string, lines, or rows of cells
    (first cell left, the others right-aligned columns). Nothing, and no height, when it has none.
    With ``wrap`` a line wider than the block breaks between its words (a till's notes) instead of
    printing in smaller type."""
    rows = _extra_rows(ctx, b["key"])
    if not rows:
        return 0.0
    font = ctx.bold if b.get("bold") else ctx.font
    size = ctx.size * b.get("scale", 1.0)
    align = ctx.pick(b.get("align"), "left")
    y = top
    for row in rows:
        if len(row) == 1:
            lines = flow.wrap_text(ctx, row[0], width, font, size) if b.get("wrap") else [row[0]]
            for line in lines:
                y += draw_value(ctx, x, y, None, width, text=line, font=font, size=size, align=align)
            continue
        first = width * b.get("first_width", 0.4)
        rest = (width - first) / (len(row) - 1)
        h = draw_value(ctx, x, y, None, first - ctx.size * 0.3, text=row[0], font=font, size=size)
        for j, cell in enumerate(row[1:]):
            h = max(h, draw_value(ctx, x + first + j * rest, y, None, rest, text=cell, font=font, size=size,
                                  align="right"))
        y += h
    return y - top + ctx.gap(b.get("after", 0.2))


def _line_runs(ctx: DrawCtx, parts: list[dict], gap: str) -> list[Run]:
    runs: list[Run] = []
    for part in parts:
        if "field" in part:
            value = ctx.value(part["field"])
            if not value:
                continue
            label = ctx.label(part["field"]) + part.get("sep", ": ") if ctx.shows_label(part) else ""
            runs += ([Run(label)] if label else []) + [Run(value, part["field"]), Run(gap)]
        elif ctx.extras.get(part.get("extra", "")):
            value = ctx.extras[part["extra"]]
            runs += [Run(value if isinstance(value, str) else "  ".join(map(str, value))), Run(gap)]
    return runs[:-1]


def block_line(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Several single-line fields on one printed line (``Date: 25/12/2018 20:13``), each after its
    label when ``label`` is set, after the extra text ``lead`` and before ``tail`` (extras keys)
    when the page has them. The last ``right`` fields are set flush right on the same line."""
    fields = _field_list(b)
    cut = len(fields) - b.get("right", 0)
    parts = [{"extra": b.get("lead", "")}, *fields[:cut], {"extra": b.get("tail", "")}, *fields[cut:]]
    cut += 2
    gap = ctx.pick(b.get("gap"), " ")
    left, right = _line_runs(ctx, parts[:cut], gap), _line_runs(ctx, parts[cut:], gap)
    font = ctx.bold if b.get("bold") else ctx.font
    size = ctx.size * b.get("scale", 1.0)
    right_w = min(ctx.page.width_of("".join(r.text for r in right), font, size), width * 0.6) if right else 0.0
    h = 0.0
    if left:
        h = ctx.page.text(x, top, left, font, size, align=ctx.pick(b.get("align"), "left"),
                          max_width=width - right_w - (ctx.size if right else 0.0))[1]
    if right:
        h = max(h, ctx.page.text(x + width - right_w, top, right, font, size, align="right", max_width=right_w)[1])
    return ctx.advance(h)


def block_charrule(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """A rule typed with a repeated character (``-``, ``=``, ``*``), the way till printers draw lines."""
    char = ctx.pick(b.get("char"), "-")
    count = max(1, int(width / ctx.page.width_of(char, ctx.font, ctx.size)))
    return draw_value(ctx, x, top, None, width, text=char * count)


def block_item_lines(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """A list printed two lines per item: its text column, then ``count x unit price`` with the line
    amount flush right. When the page has item codes (``extras[codes]``) each stands before the count
    or, with ``code_line: text``, before the item's text (one long line, as many tills print it).
    ``columns`` names the list's text, count, unit price and amount fields in that order."""
    lst = b["list"]
    text_f, count_f, unit_f, amount_f = b["columns"]
    codes = ctx.extras.get(b.get("codes", "item_codes")) or []
    times = ctx.pick(b.get("times"), " x ")
    on_text = ctx.pick(b.get("code_line"), "count") == "text"
    indent = ctx.size * b.get("indent", 1.5)
    y = top
    for i in range(ctx.count(lst)):
        p = f"{lst}.{i}."
        code = codes[i] + "  " if i < len(codes) and codes[i] else ""
        y += draw_value(ctx, x, y, p + text_f, width, prefix=code if on_text else "")
        amount = ctx.value(p + amount_f)
        amount_w = ctx.page.width_of(amount, ctx.font, ctx.size)
        lead = [Run(code)] if code and not on_text else []
        runs = lead + [Run(ctx.value(p + count_f), p + count_f), Run(times), Run(ctx.value(p + unit_f), p + unit_f)]
        _, h = ctx.page.text(x + indent, y, runs, ctx.font, ctx.size, max_width=width - indent - amount_w - ctx.size)
        ctx.page.text(x + width - amount_w, y, [Run(amount, p + amount_f)], ctx.font, ctx.size)
        y += ctx.advance(h)
    return y - top + ctx.gap(0.4)


# Module patterns (seven modules per digit) of EAN's left-hand set: bars that look like a code.
_EAN_BITS = ("0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011",
             "0110111", "0001011")


def block_barcode(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Bars drawn from the digits in ``extras[key]`` (the look of a printed code, not a scannable
    one), centred, with the digits under them when ``digits`` is set; nothing when there are none."""
    code = "".join(c for c in str(ctx.extras.get(b.get("key", "barcode")) or "") if c.isdigit())
    if not code:
        return 0.0
    bits = "101" + "".join(_EAN_BITS[int(c)] for c in code) + "101"
    module = min(width * 0.85 / len(bits), ctx.size * 0.18)
    height = ctx.size * b.get("height", 3.0)
    x0 = x + (width - module * len(bits)) / 2
    run_start = None
    for i, bit in enumerate(bits + "0"):
        if bit == "1" and run_start is None:
            run_start = i
        elif bit == "0" and run_start is not None:
            ctx.page.rect(x0 + run_start * module, top, (i - run_start) * module, height, stroke=False,
                          fill=(0, 0, 0))
            run_start = None
    h = height + ctx.size * 0.3
    if b.get("digits"):
        h += draw_value(ctx, x, top + h, None, width, text=code, align="center", size=ctx.size * 0.85)
    return h + ctx.size * 0.4


def block_copies(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Several copies of another layout of the type (``of``) on one page, ``per_row`` side by side
    (W-2 2-up and 4-up sheets), type scaled to the copy's width; only the first copy's text is the
    fields' (each field is printed once as truth), the others are words alike."""
    blocks = next((lay.blocks for lay in load_layouts(ctx.doc) if lay.name == b["of"]), None)
    if blocks is None or any(sub["type"] == "copies" for sub in blocks):
        raise UserError(f"copies: '{b['of']}' is not a {ctx.doc.name} layout without copies of its own")
    n = ctx.pick(b.get("copies"), 2)
    per_row = ctx.pick(b.get("per_row"), 2 if n >= 4 else 1)
    captions = b.get("captions", [])
    gap = ctx.size * 2.2
    cw = (width - gap * (per_row - 1)) / per_row
    sub = replace(ctx, size=ctx.size * (cw / width) ** 0.85)
    y, row_h = top, 0.0
    for k in range(n):
        col = k % per_row
        if col == 0 and k:
            y += row_h + gap
            ctx.page.hline(x, x + width, y - gap / 2, line_width=0.4, dash=True)  # the perforation
            row_h = 0.0
        cx = x + col * (cw + gap)
        kept = {p: len(v) for p, v in ctx.page.fields.items()}
        h = _stacked(sub, blocks, cx, y, cw)
        if captions:
            h += draw_value(sub, cx, y + h, None, cw, text=captions[k % len(captions)], font=sub.bold,
                            size=sub.size * 0.9)
        if k:  # a later copy: its text stays words, the fields keep the first copy's boxes
            for p in [p for p in ctx.page.fields if p not in kept]:
                del ctx.page.fields[p]
            for p, count in kept.items():
                del ctx.page.fields[p][count:]
        row_h = max(row_h, h)
    return y + row_h - top + ctx.size


def _stacked(ctx: DrawCtx, blocks: list[dict], x: float, top: float, width: float) -> float:
    y = top
    for b in blocks:
        y += draw_block(ctx, b, x, y, width)
    return y - top


BLOCKS: dict[str, Callable[[DrawCtx, dict, float, float, float], float]] = {
    "title": block_title, "text": block_text, "logo": block_logo, "party": block_party,
    "kv": block_kv, "table": block_table, "row": block_row, "rule": block_rule,
    "spacer": block_spacer, "grid": block_grid, "qa": block_qa, "choices": block_choices,
    "extra": block_extra, "line": block_line, "charrule": block_charrule, "item_lines": block_item_lines,
    "barcode": block_barcode,
    "copies": block_copies, **form_blocks.BLOCKS,
}

from synth import flow  # noqa: E402 (running-text blocks; flow needs nothing of this module to load)

BLOCKS.update(flow.BLOCKS)  # paragraph, heading, clause, signatures


def draw_block(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Draw one block at (x, top) within ``width``; returns the height it used."""
    return BLOCKS[b["type"]](ctx, b, x, top, width)


# --- loading and validation ------------------------------------------------------------------

def _paths(block: dict) -> list[str]:
    """Every schema path a block refers to (list items as ``list.0.sub``)."""
    out: list[str] = []
    if "field" in block:
        out.append(block["field"])
    for f in block.get("fields", []):
        out.append(f["field"] if isinstance(f, dict) else f)
    out += block.get("checks", [])
    if "heading_from" in block:
        out.append(block["heading_from"])
    out += flow.template_paths(block)  # fields inline in a paragraph's text
    if "list" in block:
        cols = block.get("columns", ["question", "answer"])  # qa / choices print question and answer
        if isinstance(cols, dict):  # {one_of: [[...], [...]]}: check every option
            cols = [c for option in cols["one_of"] for c in option]
        out += [f"{block['list']}.0.{c['field'] if isinstance(c, dict) else c}" for c in cols]
    for sub in block.get("blocks", []) + block.get("cells", []):
        out += _paths(sub)
    return out


def _check_block(b: Any, doc: DocType, where: str) -> None:
    if not isinstance(b, dict) or b.get("type") not in BLOCKS:
        kind = b.get("type") if isinstance(b, dict) else type(b).__name__
        raise UserError(f"{where}: unknown block type '{kind}' (known: {', '.join(BLOCKS)})")
    for sub in b.get("blocks", []):
        _check_block(sub, doc, where)


def _drop_labels(data: dict[str, Any], file: Path) -> tuple[float, float]:
    """A layout's ``drop_labels: [lo, hi]`` (shares in [0, 1]; a single number is both)."""
    value = data.get("drop_labels", 0.0)
    pair = value if isinstance(value, list) else [value, value]
    if (len(pair) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)
            or not 0 <= pair[0] <= pair[1] <= 1):
        raise UserError(f"{file}: drop_labels must be a share in [0, 1] or a [lo, hi] range of them (got {value!r})")
    return float(pair[0]), float(pair[1])


@cache
def load_layouts(doc: DocType) -> list[Layout]:
    """All layouts of a document type, validated against its schema (errors name the file)."""
    import yaml

    layouts = []
    for file in doc.layout_files():
        try:
            data = yaml.safe_load(file.read_text())
        except yaml.YAMLError as e:
            raise UserError(f"{file}: not valid YAML ({str(e).splitlines()[0]})") from None
        if not isinstance(data, dict) or not isinstance(data.get("blocks"), list) or not data["blocks"]:
            raise UserError(f"{file}: a layout needs a non-empty 'blocks' list")
        page = data.get("page", "letter")
        pages = page["one_of"] if isinstance(page, dict) and "one_of" in page else [page]
        bad_pages = [p for p in pages if p not in PAGE_SIZES]
        if bad_pages:
            raise UserError(f"{file}: unknown page '{bad_pages[0]}' (known: {', '.join(PAGE_SIZES)})")
        fonts = data.get("fonts", ["Helvetica"])
        bad_fonts = [f for f in fonts if f not in BOLD]
        if bad_fonts:
            raise UserError(f"{file}: unknown font '{bad_fonts[0]}' (known: {', '.join(BOLD)})")
        for i, b in enumerate(data["blocks"]):
            _check_block(b, doc, f"{file}: block {i + 1}")
            for p in _paths(b):
                if doc.leaf(p) is None:
                    raise UserError(f"{file}: block {i + 1} ({b['type']}): '{path_pattern(p)}' "
                                    f"is not a field of the {doc.name} schema")
        overflow, max_pages = data.get("overflow", "shrink"), data.get("max_pages", 4)
        if overflow not in OVERFLOW:
            raise UserError(f"{file}: overflow '{overflow}' is not one of {', '.join(OVERFLOW)}")
        if overflow == "pages" and None in (PAGE_SIZES[p][1] for p in pages):
            raise UserError(f"{file}: overflow: pages needs a paper with a height (not a till roll)")
        if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1:
            raise UserError(f"{file}: max_pages must be a whole number >= 1 (got {max_pages!r})")
        layouts.append(Layout(name=file.stem, file=file, pages=pages, fonts=fonts,
                              size=list(data.get("size", [9, 10.5])), margin=list(data.get("margin", [40, 60])),
                              blocks=data["blocks"], overflow=overflow, max_pages=max_pages,
                              footer=data.get("footer"), drop_labels=_drop_labels(data, file)))
    if not layouts:
        raise UserError(f"{doc.folder}/layouts: no layout files (*.yaml)")
    return layouts


def render_page(layout: Layout, doc: DocType, values: dict[str, str], rng: random.Random,
                extras: dict[str, Any], request: PageRequest | None = None) -> tuple[Page, float]:
    """Lay out one sample on one page (``render_pages``' first page; a one-page layout has no other)."""
    pages, height = render_pages(layout, doc, values, rng, extras, request)
    return pages[0], height


def _placement(width: float, height: float | None, request: PageRequest | None
               ) -> tuple[float, float | None, float, float, float]:
    """``(page width, page height, print width, x offset, y offset)`` of a paper ``width`` x ``height``
    (``None``: a roll) asked to be ``request``'s size: a sheet becomes the requested size; a roll
    prints as wide as the request's print box (or page) when that is a roll's width
    (``ROLL_WIDTHS``), else on its own paper, and sits where the box is (or centred) on the page."""
    if request is None:
        return width, height, width, 0.0, 0.0
    if height is not None:
        return request.width, request.height, request.width, 0.0, 0.0
    lo, hi = ROLL_WIDTHS
    if request.box is None and request.width <= hi:
        roll = max(lo, request.width)
        return roll, None, roll, 0.0, 0.0
    if request.box is None:
        side = (request.width - width) / 2  # the sheet's paper around the roll, above it a little too
        return request.width, None, width, side, side * 0.25
    x0, y0, x1, _ = request.box
    roll = max(lo, min(hi, x1 - x0 + 2 * ROLL_EDGE))  # the paper's edges around its text
    left = min(max(0.0, (x0 + x1) / 2 - roll / 2), max(0.0, request.width - roll))
    return max(request.width, roll), None, roll, left, max(0.0, y0 - ROLL_EDGE)


def render_pages(layout: Layout, doc: DocType, values: dict[str, str], rng: random.Random,
                 extras: dict[str, Any], request: PageRequest | None = None) -> tuple[list[Page], float]:
    """Lay out one sample; returns its pages and their height in points (till rolls end where the
    content ends, or at ``request``'s height when the print is shorter).

    A one-page layout shrinks the type size until the content fits its page. A layout with
    ``overflow: pages`` lets the content flow onto further pages (``synth.paginate``) and shrinks
    the type only when a part that must stay whole is taller than a page or more than
    ``max_pages`` pages would be needed. ``request`` (a page size, ``synth --like``) sets the paper:
    see ``_placement``; the type keeps its size, so a wider roll prints longer lines.
    """
    paper = rng.choice(layout.pages)
    page_width, fixed_height, width, x0, y0 = _placement(*PAGE_SIZES[paper], request)
    font = rng.choice(layout.fonts)
    size = rng.uniform(*layout.size)
    margin = rng.uniform(*layout.margin)
    accent = rng.choice(ACCENTS)
    draw_seed = rng.getrandbits(32)
    # drawn only where a layout leaves labels out, so every other layout's pages stay as they were
    drop = rng.uniform(*layout.drop_labels) if any(layout.drop_labels) else 0.0
    flowing = layout.overflow == "pages"
    for _ in range(6):
        page = Page(page_width, None if flowing else fixed_height, paper=paper)
        # the same per-sample choices on every try; only the size changes
        ctx = DrawCtx(page, doc, values, random.Random(draw_seed), font, size, accent, extras, drop_labels=drop,
                      spacing=request.spacing if request else 1.0)
        y, spans = y0 + margin, []
        for b in layout.blocks:
            mark = len(page.ops)
            h = draw_block(ctx, b, x0 + margin, y, width - 2 * margin)
            spans.append(paginate.Span(b["type"], y, y + h, mark))
            y += h
        if flowing:
            pages, fits = paginate.paginate(page, spans, fixed_height, margin, size, layout.max_pages)
            if fits:
                break
        elif fixed_height is None or page.bottom <= fixed_height - margin * 0.5:
            break
        size *= 0.88
    if not flowing:
        if fixed_height is not None:
            return [page], fixed_height
        return [page], max(page.bottom + margin, request.height if request else 0.0)
    if layout.footer is not None and len(pages) > 1:
        paginate.number_pages(pages, ctx.pick(layout.footer), font, size * 0.8, margin, fixed_height)
    return pages, fixed_height
