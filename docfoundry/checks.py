"""Arithmetic relations a document type promises, declared in its schema as ``x-checks``.

    {"name": "total", "add": ["subtotal", "tax_amount"], "equals": "total"}
    {"name": "subtotal", "sum": "line_items[].amount", "equals": "subtotal"}
    {"name": "line amount", "each": "line_items", "product": ["quantity", "unit_price"], "equals": "amount"}
    {"name": "tax", "percent": ["subtotal", "tax_rate"], "equals": "tax_amount"}
    {"name": "ss tax", "rate": ["social_security_wages", "0.062"], "equals": "social_security_tax"}
    {"name": "change", "subtract": ["tendered", "total"], "equals": "change"}
    {"name": "total", "add": ["subtotal", "tax", "rounding"], "optional": ["rounding"], "equals": "total"}

A term listed in ``optional`` may be left empty (a receipt without a rounding line): the relation
is then evaluated without it; any other empty operand skips the check. They are evaluated on typed
values (Decimal, cents rounded half-up) for instruction tasks ("does the subtotal plus tax equal the
total?") and for checking labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from docfoundry.doctypes import DocType
from docfoundry.expressions import OPS
from docfoundry.records import flatten, list_length


@dataclass
class CheckResult:
    """One evaluated relation: the operand paths and values, the computed and the stated result."""

    name: str
    op: str
    operands: list[tuple[str, Decimal]]
    computed: Decimal
    target: str
    stated: Decimal

    @property
    def holds(self) -> bool:
        return self.computed == self.stated


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _num(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def apply_op(op: str, values: list[Decimal]) -> Decimal:
    """The result of one operation on typed operands (products and percentages rounded to cents)."""
    if op in ("add", "sum"):
        return sum(values, Decimal(0))
    if op == "subtract":
        return values[0] - sum(values[1:], Decimal(0))
    if op == "product":
        return _cents(values[0] * values[1])
    if op == "percent":
        return _cents(values[0] * values[1] / 100)
    return _cents(values[0] * values[1])  # rate


def evaluate_checks(doc: DocType, typed: dict[str, Any]) -> list[CheckResult]:
    """Every declared relation that can be evaluated on ``typed`` (missing numbers skip a check)."""
    flat = flatten(typed)
    out = []
    for check in doc.checks:  # x-checks plus the x-derive relations
        op = next(k for k in OPS if k in check)
        rows = [f"{check['each']}.{i}." for i in range(list_length(flat, check["each"]))] if "each" in check else [""]
        for prefix in rows:
            if op == "sum":
                base, sub = check["sum"].split("[].")
                paths = [f"{base}.{i}.{sub}" for i in range(list_length(flat, base))]
            else:
                paths = [f"{prefix}{p}" for p in check[op]]
            operands = [(p, _num(flat.get(p, p if _num(p) is not None else None))) for p in paths]
            optional = {f"{prefix}{p}" for p in check.get("optional", ())}
            operands = [(p, v) for p, v in operands if not (v is None and p in optional and not flat.get(p))]
            target = f"{prefix}{check['equals']}"
            stated = _num(flat.get(target))
            if stated is None or any(v is None for _, v in operands) or not operands:
                continue
            values = [v for _, v in operands]
            name = f"{check['name']} in row {int(prefix.split('.')[-2]) + 1}" if prefix else check["name"]
            out.append(CheckResult(name, op, operands, apply_op(op, values), target, stated))
    return out
