"""The generic value generator: a whole document type filled from the draw rules in its schema.

Each leaf says how its value is drawn (keys checked by ``templates/doctype.schema.json``):

    "x-faker": {"provider": "company"}            a Faker provider of the page's locale ("lines": 3
                                                  keeps an address to three lines, "join": " " puts
                                                  them on one; a list with "weight"s draws one)
    "x-pattern": "PO-{year}-{#####}"              {###} digits, {AA} letters, {year} the year of the
                                                  document's first date, {field} / {field.year}
    "x-choices": ["Net 30", ...] + "x-weights"    (numbers printed the locale's way); "enum" too
    "x-range": [1.5, 2500], "x-decimals": 2,      numbers (amount / number / percent), "x-distribution":
                                                  "log" for prices, "x-symbol": share printed with currency
    "x-range": ["2020-01-01", "2026-12-31"]       dates, "x-format": medium | short | long | a CLDR pattern
    "x-after": "order_date", "x-days": [0, 60]    a date after another ({"one_of": [...]} for choices)
    "x-optional": 0.3                             share of documents without the field (not "required")
    "x-text": "sentence"                          free text: word | words | sentence | paragraph
    "x-derive": "sum(line_items[].amount)"        the x-checks language; the value is also a check
    "x-locale": "currency"                        currency | tax_id | iban | tax_rate of the locale (the
                                                  tax regime in force on the document's first date)

Arrays draw ``minItems``..``maxItems`` items (``"x-items": [1, 8]`` draws fewer than the schema allows). Draws run in schema order through one seeded RNG
(fields a rule reads are drawn first), so a seed gives the same document in any process.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import cache
from typing import Any

from docfoundry import expressions
from docfoundry.doctypes import DocType, resolve_ref
from docfoundry.errors import UserError
from synth.values import V, ValueContext, lines, log_uniform

GENERIC = "schema"  # the x-values name of this generator
NUMERIC = ("amount", "number", "percent")
DEFAULT_RANGES = {"amount": (1, 1000), "number": (1, 10), "percent": (0, 25)}
DEFAULT_DATES = ("2016-01-01", "2026-12-31")
DEFAULT_DECIMALS = {"amount": 2, "number": 0, "percent": 0}
TEXT_RULES = ("x-faker", "x-pattern", "x-text", "x-choices", "enum", "const", "x-locale", "x-derive")
_TOKEN = re.compile(r"\{([^{}]+)\}")
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _leaf_nodes(node: dict[str, Any], pattern: str = "") -> dict[str, dict[str, Any]]:
    """Leaf pattern -> its schema node, in schema order."""
    t = node.get("type")
    if t == "object":
        out: dict[str, dict[str, Any]] = {}
        for key, child in node.get("properties", {}).items():
            out.update(_leaf_nodes(child, f"{pattern}.{key}" if pattern else key))
        return out
    if t == "array":
        return _leaf_nodes(node["items"], f"{pattern}[]")
    return {pattern: node}


@cache
def _nodes(doc: DocType) -> dict[str, dict[str, Any]]:
    return _leaf_nodes(doc.schema)


@cache
def _first_date(doc: DocType) -> str | None:
    return next((leaf.pattern for leaf in doc.leaves if leaf.kind == "date" and "[]" not in leaf.pattern), None)


def check(doc: DocType) -> None:
    """Refuse, in one line naming the file and field, a leaf the generic generator cannot draw."""
    _check_lists(doc.schema, doc.source, "")
    for pattern, node in _leaf_nodes(doc.schema).items():
        where = f"{doc.source}: field '{pattern}'"
        kind = node.get("x-kind", "text")
        if kind not in NUMERIC + ("date", "time") and not any(k in node for k in TEXT_RULES):
            raise UserError(f"{where} has no draw rule (give x-faker, x-pattern, x-text, x-choices or enum; "
                            "or x-values naming a Python generator)")
        for call in _faker_calls(node):
            if not _has_provider(call["provider"]):
                raise UserError(f"{where}: x-faker provider '{call['provider']}' is not a Faker provider")
        problem = _rule_problem(node, kind)
        if problem:
            raise UserError(f"{where}: {problem}")


def _rule_problem(node: dict[str, Any], kind: str) -> str | None:
    """What makes a leaf's draw rule undrawable for its kind, or None."""
    if "x-range" in node and "x-derive" not in node:
        lo, hi = node["x-range"]
        if kind == "date":
            if not all(isinstance(d, str) and _iso(d) for d in (lo, hi)) or lo > hi:
                return f"x-range {node['x-range']} is not [earliest, latest] ISO dates (YYYY-MM-DD)"
        elif kind in NUMERIC and (not all(isinstance(x, (int, float)) for x in (lo, hi)) or lo > hi):
            return f"x-range {node['x-range']} is not [low, high] numbers"
    choices = node.get("x-choices")
    if choices is not None and kind in NUMERIC and not all(_decimal(c) for c in choices):
        return f"x-choices of a {kind} must be numbers (got {choices[:4]})"
    if choices is not None and kind == "date" and not all(isinstance(c, str) and _iso(c) for c in choices):
        return "x-choices of a date must be ISO dates (YYYY-MM-DD)"
    if "x-weights" in node and not sum(node["x-weights"]) > 0:
        return "x-weights must not all be 0"
    days = node.get("x-days")
    if isinstance(days, list) and days[0] > days[1]:
        return f"x-days {days} is not [fewest, most]"
    if sum(c.get("weight", 1) for c in _faker_calls(node)) == 0 and "x-faker" in node:
        return "x-faker weights must not all be 0"
    return None


def _check_lists(node: Any, source: Any, pattern: str) -> None:
    if not isinstance(node, dict):
        return
    if node.get("type") == "object":
        for key, child in node.get("properties", {}).items():
            _check_lists(child, source, f"{pattern}.{key}" if pattern else key)
    elif node.get("type") == "array":
        lo = node.get("minItems", 1)
        lo, hi = node.get("x-items", (lo, node.get("maxItems", max(lo, 5))))
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
            raise UserError(f"{source}: field '{pattern}': draws between {lo} and {hi} items "
                            "(minItems / maxItems / x-items)")
        _check_lists(node.get("items"), source, f"{pattern}[]")


def _iso(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _decimal(value: Any) -> bool:
    try:
        return Decimal(str(value)).is_finite()
    except ArithmeticError:
        return False


@cache
def _has_provider(name: str) -> bool:
    from synth.locales import _faker

    return any(hasattr(_faker(code), name) for code in ("en_US", "en_GB", "de_DE"))


def _faker_calls(node: dict[str, Any]) -> list[dict[str, Any]]:
    spec = node.get("x-faker")
    if spec is None:
        return []
    if isinstance(spec, str):
        return [{"provider": spec}]
    return spec if isinstance(spec, list) else [spec]


class _Draw:
    """One document's draw: the planned tree, then every leaf on demand (memoized)."""

    def __init__(self, ctx: ValueContext, doc: DocType) -> None:
        self.ctx, self.doc, self.rng, self.loc = ctx, doc, ctx.rng, ctx.loc
        self.nodes = _nodes(doc)
        self.paths: dict[str, str] = {}  # concrete path -> leaf pattern
        self.done: dict[str, V] = {}
        self.typed: dict[str, Any] = {}
        self.busy: set[str] = set()

    # --- structure ---------------------------------------------------------------------------
    def plan(self, node: dict[str, Any], path: str, pattern: str) -> Any:
        """The tree's shape: which optional fields are there, how many items each list has."""
        t = node.get("type")
        if t == "object":
            out = {}
            for key, child in node.get("properties", {}).items():
                if "x-optional" in child and self.rng.random() < child["x-optional"]:
                    continue
                out[key] = self.plan(child, f"{path}.{key}" if path else key,
                                     f"{pattern}.{key}" if pattern else key)
            return out
        if t == "array":
            lo = node.get("minItems", 1)
            lo, hi = node.get("x-items", (lo, node.get("maxItems", max(lo, 5))))
            n = self.rng.randint(lo, hi)
            return [self.plan(node["items"], f"{path}.{i}", f"{pattern}[]") for i in range(n)]
        self.paths[path] = pattern
        return path

    def fill(self, shape: Any) -> Any:
        if isinstance(shape, dict):
            return {k: self.fill(v) for k, v in shape.items()}
        if isinstance(shape, list):
            return [self.fill(v) for v in shape]
        return self.value(shape)

    # --- references ----------------------------------------------------------------------------
    def concrete(self, ref: str, path: str) -> str | None:
        """The concrete path a reference names from ``path`` (sibling in the same item first)."""
        pattern = resolve_ref(ref, self.paths[path], self.nodes)
        if pattern is None:
            return None
        if "[]." in self.paths[path] and pattern.startswith(self.paths[path].rsplit("[].", 1)[0] + "[]."):
            candidate = path.rsplit(".", 1)[0] + "." + pattern.rsplit("[].", 1)[1]
        else:
            candidate = pattern
        return candidate if candidate in self.paths else None

    def typed_of(self, ref: str, path: str) -> Any:
        target = self.concrete(ref, path)
        if target is None:
            return None
        self.value(target)
        return self.typed[target]

    # --- one leaf ------------------------------------------------------------------------------
    def value(self, path: str) -> V:
        if path in self.done:
            return self.done[path]
        if path in self.busy:
            raise UserError(f"{self.doc.source}: field '{self.paths[path]}' depends on itself "
                            "(through x-derive / x-after / x-pattern)")
        self.busy.add(path)
        node = self.nodes[self.paths[path]]
        try:
            text, typed = self.draw(path, node, node.get("x-kind", "text"))
        except UserError:
            raise
        except (ValueError, TypeError, ArithmeticError, LookupError, AttributeError) as e:
            # a rule check() lets through but this draw cannot follow (Faker arguments, say)
            raise UserError(f"{self.doc.source}: field '{self.paths[path]}': cannot draw a value "
                            f"({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
        if isinstance(text, str) and "x-case" in node:
            text = text.upper() if node["x-case"] == "upper" else text.lower()  # eval.case reads the same key
        self.busy.discard(path)
        self.typed[path] = typed
        self.done[path] = V.of(text, None if typed is None or typed == text else typed)
        return self.done[path]

    def draw(self, path: str, node: dict[str, Any], kind: str) -> tuple[str, Any]:
        loc, rng = self.loc, self.rng
        if "x-derive" in node:
            return self.fmt(kind, node, self.derive(path, node["x-derive"]))
        if "x-locale" in node:
            what = node["x-locale"]
            if what == "tax_rate":  # the regime in force on the document's first date
                from synth.locales import tax_regime

                first = _first_date(self.doc)
                when = self.typed_of(first, path) if first and first in self.paths else None
                regime = tax_regime(loc.territory, dt.date.fromisoformat(when) if when else dt.date.max)
                return self.fmt(kind, node, Decimal(rng.choice(regime.rates)))
            return {"currency": lambda: loc.currency, "tax_id": loc.tax_id, "iban": loc.iban}[what](), None
        if "const" in node:
            return str(node["const"]), None
        for key in ("x-choices", "enum"):
            if key in node:
                pick = rng.choices(node[key], node["x-weights"])[0] if "x-weights" in node else rng.choice(node[key])
                if key == "enum" or kind not in NUMERIC + ("date",):
                    return str(pick), None
                return self.fmt(kind, node, dt.date.fromisoformat(pick) if kind == "date" else Decimal(str(pick)))
        if "x-faker" in node:
            return self.faker(node, kind)
        if "x-pattern" in node:
            spec = node["x-pattern"]
            return self.pattern(path, spec if isinstance(spec, str) else rng.choice(spec)), None
        if "x-text" in node:
            fake = loc.fake
            return {"word": fake.word, "words": lambda: " ".join(fake.words(nb=3)), "sentence": fake.sentence,
                    "paragraph": lambda: fake.paragraph(nb_sentences=3)}[node["x-text"]](), None
        if kind == "date":
            return self.fmt(kind, node, self.date(path, node))
        if kind == "time":
            return loc.time(dt.time(rng.randint(7, 22), rng.randint(0, 59))), None
        if kind in NUMERIC:
            return self.fmt(kind, node, self.number(node, kind))
        raise UserError(f"{self.doc.source}: field '{self.paths[path]}' has no draw rule")

    def derive(self, path: str, expr: Any) -> Decimal:
        from docfoundry.checks import apply_op

        op, operands = expressions.parse(expr)
        if op == "sum":
            base, sub = str(operands).split("[].", 1)
            item = re.compile(rf"^{re.escape(base)}\.\d+\.{re.escape(sub)}$")
            refs = [p for p in self.paths if item.match(p)]
            for p in refs:
                self.value(p)
            values = [Decimal(str(self.typed[p] or 0)) for p in refs]
        else:
            values = [Decimal(o) if expressions.is_number(o) else Decimal(str(self.typed_of(o, path) or 0))
                      for o in operands]
        return apply_op(op, values)

    def date(self, path: str, node: dict[str, Any]) -> dt.date:
        rng = self.rng
        if "x-after" in node:
            base = self.typed_of(node["x-after"], path)
            if base is not None:
                days = node.get("x-days", [0, 60])
                delta = rng.choice(days["one_of"]) if isinstance(days, dict) else rng.randint(*days)
                return dt.date.fromisoformat(base) + dt.timedelta(days=delta)
        lo, hi = (dt.date.fromisoformat(str(d)) for d in node.get("x-range", DEFAULT_DATES))
        return lo + dt.timedelta(days=rng.randint(0, max(0, (hi - lo).days)))

    def number(self, node: dict[str, Any], kind: str) -> Decimal:
        lo, hi = (float(x) for x in node.get("x-range", DEFAULT_RANGES[kind]))
        x = log_uniform(self.rng, lo, hi) if node.get("x-distribution") == "log" and lo > 0 else self.rng.uniform(lo, hi)
        places = node.get("x-decimals", DEFAULT_DECIMALS[kind])
        return Decimal(str(round(x, places))).quantize(Decimal(1).scaleb(-places))

    def fmt(self, kind: str, node: dict[str, Any], value: Any) -> tuple[str, Any]:
        """A typed value printed the locale's way: (text, typed)."""
        loc = self.loc
        if kind == "date":
            fmt = node.get("x-format", "medium")
            style = fmt if isinstance(fmt, str) else self.rng.choice(fmt)
            return loc.date(value, style), value.isoformat()
        if kind == "amount":
            symbol = "x-symbol" in node and self.rng.random() < node["x-symbol"]
            return loc.money(value, symbol=symbol), value
        if kind == "percent":
            return loc.percent(value), value
        if kind == "number":
            places = node.get("x-decimals", max(0, -value.normalize().as_tuple().exponent))
            return loc.number(value, places), value
        return str(value), value

    def faker(self, node: dict[str, Any], kind: str) -> tuple[str, Any]:
        calls = _faker_calls(node)
        call = self.rng.choices(calls, [c.get("weight", 1) for c in calls])[0] if len(calls) > 1 else calls[0]
        name, fake = call["provider"], self.loc.fake
        if not hasattr(fake, name):  # this locale lacks it: en_US's, recorded like the built-in fallbacks
            from synth.locales import _faker

            self.loc.fallbacks.append(f"{name}: Faker {self.loc.code} has no {name}; used en_US")
            fake = _faker("en_US")
            fake.seed_instance(self.rng.getrandbits(32))
        out = getattr(fake, name)(**call.get("args", {}))
        if isinstance(out, dt.datetime):
            out = out.date()
        if isinstance(out, dt.date):
            return self.fmt("date", node, out) if kind == "date" else (out.isoformat(), None)
        if isinstance(out, (list, tuple)):
            out = " ".join(map(str, out))
        text = lines(str(out), call["lines"]) if "lines" in call else str(out)
        if "join" in call:  # a multi-line value labeled as one line: "12 Mill Lane, Bristol" style
            text = call["join"].join(part.strip() for part in text.split("\n") if part.strip())
        return text, None

    def pattern(self, path: str, spec: str) -> str:
        def token(m: re.Match) -> str:
            ref = m.group(1)
            if set(ref) == {"#"}:
                return "".join(str(self.rng.randint(0, 9)) for _ in ref)
            if set(ref) == {"A"}:
                return "".join(self.rng.choice(_LETTERS) for _ in ref)
            if set(ref) == {"a"}:
                return "".join(self.rng.choice(_LETTERS.lower()) for _ in ref)
            if ref == "year":
                first = _first_date(self.doc)
                year = self.typed_of(first, path) if first and first in self.paths else None
                return year[:4] if year else str(self.rng.randint(2016, 2026))
            if ref.endswith(".year"):
                typed = self.typed_of(ref[:-5], path)
                return str(typed)[:4] if typed else ""
            target = self.concrete(ref, path)
            return self.value(target).text if target else ""

        return _TOKEN.sub(token, spec)


def make(ctx: ValueContext, doc: DocType) -> dict[str, Any]:
    """The truth tree (nested dicts/lists of ``V``) of one document drawn from ``doc``'s schema."""
    draw = _Draw(ctx, doc)
    shape = draw.plan(doc.schema, "", "")
    return draw.fill(shape)
