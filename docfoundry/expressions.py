"""The arithmetic language shared by ``x-checks`` (relations a type promises) and ``x-derive`` (how a
value is computed): one operation over field paths or numbers.

    {"sum": "line_items[].amount"}            or  "sum(line_items[].amount)"
    {"product": ["quantity", "unit_price"]}   or  "product(quantity, unit_price)"
    {"percent": ["subtotal", "tax_rate"]}     add, subtract, rate (a x b, a literal such as 0.062)

A derived leaf is also a check: ``DocType.checks`` turns every ``x-derive`` into the relation it
states, so instruction tasks and the OCR teacher use it like a hand-written ``x-checks`` entry.
"""

from __future__ import annotations

import re
from typing import Any

OPS = ("add", "subtract", "sum", "product", "percent", "rate")
_CALL = re.compile(r"^\s*([a-z]+)\s*\((.*)\)\s*$")


def parse(expr: Any) -> tuple[str, list[str] | str]:
    """``"sum(a[].b)"`` or ``{"sum": "a[].b"}`` -> (op, operands); raises ``ValueError`` saying why."""
    if isinstance(expr, str):
        m = _CALL.match(expr)
        if not m:
            raise ValueError(f"'{expr}' is not op(operand, ...) with op one of {', '.join(OPS)}")
        op, args = m.group(1), [a.strip() for a in m.group(2).split(",") if a.strip()]
        expr = {op: args[0] if op == "sum" and len(args) == 1 else args}
    if not isinstance(expr, dict):
        raise ValueError(f"{expr!r} is neither 'op(...)' nor {{op: operands}}")
    ops = [k for k in expr if k in OPS]
    if len(ops) != 1:
        raise ValueError(f"needs exactly one of {', '.join(OPS)} (got {', '.join(map(str, expr)) or 'none'})")
    op = ops[0]
    operands = expr[op]
    if op == "sum":
        if not isinstance(operands, str) or "[]." not in operands:
            raise ValueError(f"sum takes one list path such as 'line_items[].amount' (got {operands!r})")
        return op, operands
    if not isinstance(operands, list) or len(operands) < 2 or not all(isinstance(o, str) for o in operands):
        raise ValueError(f"{op} takes a list of at least two field paths or numbers (got {operands!r})")
    if op in ("product", "percent", "rate") and len(operands) != 2:
        raise ValueError(f"{op} takes exactly two operands (got {len(operands)})")
    return op, list(operands)


def is_number(text: str) -> bool:
    """A literal operand (``0.062``) rather than a field path."""
    return re.fullmatch(r"-?\d+(\.\d+)?", text.strip()) is not None


def field_refs(op: str, operands: list[str] | str) -> list[str]:
    """The field paths an expression reads (literals left out)."""
    if op == "sum":
        return [operands if isinstance(operands, str) else operands[0]]
    return [o for o in operands if not is_number(o)]
