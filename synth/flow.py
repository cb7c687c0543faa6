"""Layout blocks for running text: prose with fields inline, headings, numbered clauses, signatures.

    - {type: paragraph, text: "This Agreement is made on {effective_date} between {parties.0.name} ..."}
    - {type: heading, text: "1. Services", level: 1}
    - {type: clause, heading: Payment, text: "The Client pays {fee} within {payment_days} days ..."}
    - {type: signatures, fields: [parties.0.signatory, parties.1.signatory], label: Signed}

A paragraph's text (or ``{one_of: [...]}`` of texts) is wrapped to the block's width; each
``{path}`` prints that field's value with its own box, kept on one line where it fits (a value
longer than a line breaks between words, its box then spans those lines). ``{parties[0].name}`` is
the same as ``{parties.0.name}``. A clause numbers itself (1., 2., ... in page order, ``number:
"§ {n}"`` or ``"Article {n}"`` for other styles). ``synth.layout`` registers these drawers in its
``BLOCKS``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from synth.render import Run

if TYPE_CHECKING:
    from synth.layout import DrawCtx

LEADING = 1.3  # prose is set a little looser than the table lines
_FIELD = re.compile(r"\{([A-Za-z_][\w.\[\]]*)\}")


def _dotted(ref: str) -> str:
    """``parties[0].name`` -> ``parties.0.name``."""
    return re.sub(r"\[(\d+)\]", r".\1", ref)


def template_paths(block: dict[str, Any]) -> list[str]:
    """The field paths a running-text block prints inline (for the layout's schema check)."""
    if block.get("type") == "signatures":
        return [p for group in block.get("groups", []) for p in (group if isinstance(group, list) else [group])]
    text = block.get("text") if block.get("type") in ("paragraph", "clause") else None
    texts = text["one_of"] if isinstance(text, dict) and "one_of" in text else [text] if isinstance(text, str) else []
    return [_dotted(m) for t in texts for m in _FIELD.findall(t)]


def _tokens(ctx: DrawCtx, template: str) -> list[tuple[str, str | None, bool]]:
    """(word, field path or None, space before) for every word of the filled template."""
    out: list[tuple[str, str | None, bool]] = []
    pos, gap = 0, False
    for m in [*_FIELD.finditer(template), None]:
        literal = template[pos:m.start() if m else len(template)]
        for word in re.split(r"(\s+)", literal):
            if not word:
                continue
            if word.isspace():
                gap = True
                continue
            out.append((word, None, gap))
            gap = False
        if m is None:
            break
        path = _dotted(m.group(1))
        value = " ".join(ctx.value(path).split())  # an address prints as one run of words in prose
        if value:
            out.append((value, path, gap))
        gap = False
        pos = m.end()
    return out


def _fit(ctx: DrawCtx, tokens: list[tuple[str, str | None, bool]], width: float, font: str,
         size: float) -> list[list[tuple[str, str | None, bool]]]:
    """Greedy lines; a field that fits a line stays whole, a longer one breaks between its words."""
    measure = ctx.page.width_of
    lines: list[list[tuple[str, str | None, bool]]] = [[]]
    used = 0.0
    queue = list(tokens)
    while queue:
        word, path, gap = queue.pop(0)
        extra = (measure(" ", font, size) if gap and lines[-1] else 0.0) + measure(word, font, size)
        if used + extra <= width or not lines[-1]:
            if not lines[-1] and measure(word, font, size) > width and " " in word:
                first, rest = word.split(" ", 1)
                queue[:0] = [(first, path, gap), (rest, path, True)]
                continue
            lines[-1].append((word, path, gap))
            used += extra
            continue
        if path is not None and " " in word and measure(word, font, size) > width:
            first, rest = word.split(" ", 1)  # too long for any line: fill this one word by word
            queue[:0] = [(first, path, gap), (rest, path, True)]
            continue
        # punctuation glued to the word before it ("2024." after a field) goes down with that word
        moved = [lines[-1].pop()] if not gap and len(lines[-1]) > 1 else []
        lines.append([])
        used = 0.0
        queue[:0] = [*moved, (word, path, gap)]
    return [line for line in lines if line]


def wrap_text(ctx: DrawCtx, text: str, width: float, font: str, size: float) -> list[str]:
    """Plain text broken between its words into lines no wider than ``width`` points (a word wider than
    a line has a line of its own): a form's typed notes, a till's printed terms."""
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if line and ctx.page.width_of(trial, font, size) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


def _runs(line: list[tuple[str, str | None, bool]]) -> list[Run]:
    runs: list[Run] = []
    for i, (word, path, gap) in enumerate(line):
        space = " " if gap and i else ""
        if runs and runs[-1].path == path:
            runs[-1].text += space + word
        else:
            if space:
                if runs and runs[-1].path is None:
                    runs[-1].text += space
                else:
                    runs.append(Run(space))
            runs.append(Run(word, path))
    return runs


def draw_prose(ctx: DrawCtx, x: float, top: float, width: float, template: str, *, font: str | None = None,
               size: float | None = None, indent: float = 0.0) -> float:
    """Wrap a template with inline fields into lines at (x, top); returns the height used."""
    font, size = font or ctx.font, size or ctx.size
    y = top
    for line in _fit(ctx, _tokens(ctx, template), width - indent, font, size):
        _, h = ctx.page.text(x + indent, y, _runs(line), font, size)
        y += h * LEADING
    return y - top


def paragraph(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Prose with fields inline."""
    h = draw_prose(ctx, x, top, width, ctx.pick(b.get("text"), ""), size=ctx.size * b.get("scale", 1.0),
                   indent=ctx.size * b.get("indent", 0.0))
    return h + ctx.size * b.get("space_after", 0.6)


def heading(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """A bold heading line (level 1 larger than level 2), with space above it."""
    size = ctx.size * (1.35 if b.get("level", 1) == 1 else 1.12)
    gap = ctx.size * 0.5
    _, h = ctx.page.text(x, top + gap, [Run(ctx.pick(b.get("text"), ""))], ctx.bold, size,
                         align=ctx.pick(b.get("align"), "left"), max_width=width)
    return gap + h + ctx.size * 0.45


def clause(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """A numbered clause: '3. Heading' in bold, then its prose indented under it."""
    count = ctx.__dict__.setdefault("_clause_number", [0])  # numbered in page order, per drawing try
    count[0] += 1
    number = ctx.pick(b.get("number"), "{n}.").replace("{n}", str(count[0]))
    title = ctx.pick(b.get("heading"), "")
    _, h = ctx.page.text(x, top, [Run(f"{number} {title}".strip())], ctx.bold, ctx.size, max_width=width)
    y = top + h * LEADING
    y += draw_prose(ctx, x, y, width, ctx.pick(b.get("text"), ""), indent=ctx.size * b.get("indent", 1.5))
    return y - top + ctx.size * 0.7


def signatures(ctx: DrawCtx, b: dict, x: float, top: float, width: float) -> float:
    """Side by side signature lines, each with its field(s) printed under the line."""
    groups = [f if isinstance(f, list) else [f] for f in b.get("groups", [[p] for p in _fields(b)])]
    gap = ctx.size * 2
    col = (width - gap * (len(groups) - 1)) / max(1, len(groups))
    label = ctx.pick(b.get("label"), "Signature")
    bottom = top
    for i, group in enumerate(groups):
        cx = x + i * (col + gap)
        line_y = top + ctx.size * 3.2
        ctx.page.hline(cx, cx + col * 0.9, line_y, line_width=0.6)
        _, h = ctx.page.text(cx, line_y + 2, [Run(label)], ctx.font, ctx.size * 0.7, color=(0.35, 0.35, 0.35))
        y = line_y + 2 + h * LEADING
        for path in group:
            if ctx.value(path):
                text = " ".join(ctx.value(path).split())
                _, h = ctx.page.text(cx, y, [Run(text, path)], ctx.font, ctx.size, max_width=col)
                y += h * LEADING
        bottom = max(bottom, y)
    return bottom - top + ctx.size * 0.8


def _fields(b: dict) -> list[str]:
    return [f["field"] if isinstance(f, dict) else f for f in b.get("fields", [])]


BLOCKS = {"paragraph": paragraph, "heading": heading, "clause": clause, "signatures": signatures}
