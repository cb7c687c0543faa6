"""Field values per document type: ``synth.values.<type>.make(ctx)`` returns the truth tree.

Leaves are ``V(text, typed)``: ``text`` exactly as it will be printed, ``typed`` the number or ISO
date behind it (eval and instruction tasks use it). A type's values come from its schema's draw
rules (``synth.values.schema``, the generic generator) unless a Python generator
``synth.values.<name>`` exists for it or its schema names one with ``"x-values"``.
"""

from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from docfoundry.errors import UserError
from synth.locales import Locale, printable


@dataclass(frozen=True)
class V:
    """A printed leaf value and its typed counterpart (``None``: same as the text)."""

    text: str
    typed: Any = None

    @staticmethod
    def of(text: str, typed: Any = None) -> V:
        if isinstance(typed, Decimal):
            typed = float(typed)
        return V(printable(text), typed)


@dataclass
class ValueContext:
    """What a value maker draws from: a seeded Faker/locale, a seeded RNG, and render-only extras."""

    loc: Locale
    rng: random.Random
    extras: dict[str, Any] = field(default_factory=dict)
    # lengths the page asks for, by list field (``{"items": 14}``: a requested roll length); makers may ignore it
    want: dict[str, int] = field(default_factory=dict)


def make_values(module_name: str, ctx: ValueContext) -> dict[str, Any]:
    """The truth tree (nested dicts/lists of ``V``) from value generator ``synth.values.<module_name>``."""
    try:
        module = importlib.import_module(f"synth.values.{module_name}")
    except ModuleNotFoundError:
        raise UserError(f"no value generator '{module_name}' (add synth/values/{module_name}.py with "
                        "make(ctx), or set \"x-values\" in the schema to an existing one)") from None
    return module.make(ctx)


def generator_for(doc: Any) -> str:
    """The value generator of a document type: ``x-values`` if the schema names one, else the
    built-in ``synth.values.<type>`` where there is one, else ``schema`` (the generic generator)."""
    import importlib.util

    name = doc.schema.get("x-values")
    if name is not None:
        if name != "schema" and importlib.util.find_spec(f"synth.values.{name}") is None:
            raise UserError(f"{doc.source}: x-values '{name}' is no value generator (use 'schema' for the "
                            "draw rules in the schema, or one of invoice, receipt, w2, form)")
        return name
    return doc.name if importlib.util.find_spec(f"synth.values.{doc.name}") else "schema"


def values_for(doc: Any, ctx: ValueContext) -> dict[str, Any]:
    """One document's truth tree (``V`` leaves) from the type's generator (``generator_for``)."""
    name = generator_for(doc)
    if name == "schema":
        from synth.values.schema import make

        return make(ctx, doc)
    return make_values(name, ctx)


def split_truth(tree: Any) -> tuple[Any, Any]:
    """``V`` tree -> (printed ``gt_parse``, typed ``gt_typed``)."""
    if isinstance(tree, dict):
        pairs = {k: split_truth(v) for k, v in tree.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    if isinstance(tree, list):
        pairs = [split_truth(v) for v in tree]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    return tree.text, tree.text if tree.typed is None else tree.typed


def line_item(loc: Locale, description: str, qty: Decimal, unit: Decimal) -> dict[str, V]:
    """An item line: amount = quantity x unit price, rounded to cents, printed the locale's way."""
    from synth.locales import money_round

    amount = money_round(qty * unit)
    return {
        "description": V.of(description),
        "quantity": V.of(loc.number(qty, 1 if qty % 1 else 0), qty),
        "unit_price": V.of(loc.money(unit), unit),
        "amount": V.of(loc.money(amount), amount),
    }


def taxed_totals(loc: Locale, items: list[dict[str, V]], rng: random.Random) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(subtotal, tax rate %, tax, total): subtotal = sum of amounts, tax = subtotal x a local rate."""
    from synth.locales import TAX_RATES, money_round

    subtotal = sum((Decimal(str(i["amount"].typed)) for i in items), Decimal(0))
    rate = Decimal(rng.choice(TAX_RATES[loc.territory]))
    tax = money_round(subtotal * rate / 100)
    return subtotal, rate, tax, subtotal + tax


def lines(text: str, max_lines: int = 3) -> str:
    """A Faker address as at most ``max_lines`` printed lines."""
    parts = [p.strip() for p in text.split("\n") if p.strip()]
    return "\n".join(parts[:max_lines])


def log_uniform(rng: random.Random, lo: float, hi: float) -> float:
    """Amounts spread over orders of magnitude like real prices."""
    import math

    return math.exp(rng.uniform(math.log(lo), math.log(hi)))
