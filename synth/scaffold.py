"""A document type from a few labeled examples (``types new``), and a look at one (``types check``).

    docfoundry types new delivery_note --from my_notes/labels.jsonl --out templates/delivery_note
    docfoundry types check templates/delivery_note --out check/delivery_note

``types new`` reads ``labels.jsonl`` rows (``{"id", "image", "fields": {...}}``, the layout ``eval``
reads) and writes ``schema.json`` (field names and nesting from the rows, kinds inferred from the
values, draw rules fitted to them: patterns for ids, ranges for numbers and dates, Faker providers
for names and addresses, derived totals where the examples add up), printed labels from the field
names, and two starter layouts. ``types check`` validates a type folder and renders one page per
layout to PNG, with every field's box checked against the PDF text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from docfoundry.commands import Command
from docfoundry.config import opt
from docfoundry.errors import UserError

# Field-name words that say which Faker provider draws a text value (first match wins).
NAME_PROVIDERS = (
    (("email", "mail"), "email"), (("phone", "tel", "fax", "mobile"), "phone_number"),
    (("address", "addr", "street"), "address"), (("city", "town"), "city"), (("country",), "country"),
    (("url", "website", "web"), "url"), (("zip", "postcode", "postal"), "postcode"),
)
COMPANY_WORDS = ("company", "vendor", "supplier", "merchant", "store", "shop", "seller", "carrier",
                 "employer", "bank", "insurer", "firm", "business")
PERSON_WORDS = ("person", "employee", "contact", "signatory", "driver", "recipient", "patient", "attn")
LEGAL_FORM = re.compile(r"\b(inc|ltd|llc|gmbh|plc|sa|sas|srl|bv|ag|corp|co|company|limited)\.?$", re.I)
ABBREVIATIONS = {"po", "id", "vat", "sku", "iban", "bic", "ein", "ssn", "url", "uk", "us"}
SHORT_WORDS = {"no": "No.", "nr": "Nr.", "qty": "Qty", "num": "No."}
_MONEY = re.compile(r"^(?P<sym>[^\d\s.,-]{0,3})\s?(?P<num>-?\d{1,3}(?:[,.\s']?\d{3})*(?:[.,]\d{2}))\s?[^\d\s.,-]{0,3}$")
_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
MOST = 0.9  # share of the examples a kind must fit
DATE_FORMATS = (("%Y-%m-%d", "yyyy-MM-dd"), ("%d/%m/%Y", "dd/MM/yyyy"), ("%m/%d/%Y", "MM/dd/yyyy"),
                ("%d.%m.%Y", "dd.MM.yyyy"), ("%d-%m-%Y", "dd-MM-yyyy"), ("%b %d, %Y", "MMM d, yyyy"),
                ("%d %B %Y", "d MMMM yyyy"), ("%B %d, %Y", "MMMM d, yyyy"), ("%d %b %Y", "d MMM yyyy"),
                ("%d-%b-%Y", "dd-MMM-yyyy"), ("%d/%m/%y", "dd/MM/yy"), ("%d-%m-%y", "dd-MM-yy"),
                ("%d.%m.%y", "dd.MM.yy"), ("%m/%d/%y", "MM/dd/yy"))


@dataclass
class TypesNewConfig:
    name: str = opt(help="name of the new type (a folder name: letters, digits, _)", positional=True)
    examples: str = opt(help="labels.jsonl with rows {id, image, fields: {...}}, or a folder in any truth "
                        "layout eval reads (dataset folder, SROIE, CORD, FUNSD)", flag="--from")
    out: str = opt("", "folder to write (default templates/NAME); must not exist yet")


@dataclass
class TypesCheckConfig:
    type: str = opt(help="a type name (in $DOCFOUNDRY_TEMPLATES or built in) or a type folder", positional=True)
    out: str = opt("", "folder for one PNG per layout (default types-check/NAME)")
    seed: int = opt(0, "seed of the pages drawn")
    locale: str = opt("en_US", "locale of the pages drawn")


# --- reading the examples ----------------------------------------------------------------------

def read_examples(path: str) -> list[dict[str, Any]]:
    """The ``fields`` of every row of a labels.jsonl (errors name the file and line), or of the
    pages of any other truth layout ``eval`` reads (a dataset folder, SROIE, CORD, FUNSD)."""
    p = Path(path)
    if p.is_dir() and not (p / "labels.jsonl").is_file():
        from docfoundry.adapters import load_truth

        rows = [r.fields for r in load_truth(p).records if r.fields]
        if not rows:
            raise UserError(f"--from: {p} holds no labeled pages")
        return rows
    if p.is_dir():
        p = p / "labels.jsonl"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"--from: {p} not found (a labels.jsonl with rows {{id, image, fields}})") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"--from: cannot read {p} ({e})") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{p}: line {n} is not JSON ({e.msg})") from None
        fields = row.get("fields") if isinstance(row, dict) else None
        if not isinstance(fields, dict) or not fields:
            raise UserError(f"{p}: line {n} has no 'fields' object")
        rows.append(fields)
    if not rows:
        raise UserError(f"{p}: no labeled rows")
    return rows


# --- inferring the schema ----------------------------------------------------------------------

def _label(key: str) -> str:
    """``po_number`` -> ``PO Number``."""
    words = [w for w in re.split(r"[_\W]+", key) if w]
    return " ".join(SHORT_WORDS.get(w.lower()) or (w.upper() if w.lower() in ABBREVIATIONS else w.capitalize())
                    for w in words) or key


def _money(text: str) -> tuple[Decimal, bool] | None:
    m = _MONEY.match(text.strip())
    if not m:
        return None
    digits = re.sub(r"[^\d-]", "", m.group("num"))
    return Decimal(digits) / 100, bool(m.group("sym"))


def _date(text: str) -> tuple[dt.date, str] | None:
    for fmt, cldr in DATE_FORMATS:
        try:
            day = dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
        if 1900 <= day.year <= 2100:  # %Y takes "18" as the year 18: that is the %y format's
            return day, cldr
    return None


def _number(text: str) -> Decimal | None:
    if not _NUMBER.match(text.strip()):
        return None
    try:
        return Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        return None


def _shape_pattern(values: list[str]) -> list[str]:
    """x-pattern strings that draw ids shaped like ``values``: digits {#}, letters {A}/{a}; a
    character every example shares at a position stays as printed."""
    by_shape: dict[str, list[str]] = {}
    for v in values:
        shape = re.sub(r"\d", "#", re.sub(r"[A-Z]", "A", re.sub(r"[a-z]", "a", v)))
        by_shape.setdefault(shape, []).append(v)
    patterns = []
    for shape, group in sorted(by_shape.items(), key=lambda kv: -len(kv[1]))[:5]:
        # a letter every example shares there (or the only example's) stays as printed: 'PO-'
        chars = [group[0][i] if c in "Aa" and len({g[i] for g in group}) == 1 else c for i, c in enumerate(shape)]
        patterns.append(re.sub(r"#+|A+|a+", lambda m: "{" + m.group() + "}", "".join(chars)))
    return patterns


def _text_rule(key: str, parent: str, values: list[str]) -> dict[str, Any]:
    """How a text leaf is drawn: a Faker provider by its name and values, choices, or free text."""
    words = set(re.split(r"[_\W]+", f"{parent} {key}".lower()))
    lines = max(v.count("\n") + 1 for v in values)
    for names, provider in NAME_PROVIDERS:
        if words & set(names):
            if provider == "address" and lines == 1:  # printed on several lines, labeled as one
                return {"x-faker": {"provider": provider, "join": " "}}
            return {"x-faker": {"provider": provider, "lines": lines} if lines > 1 else provider}
    if lines > 1:
        return {"x-faker": {"provider": "address", "lines": lines}}
    if "name" in words or words & set(COMPANY_WORDS) or words & set(PERSON_WORDS):
        companies = sum(bool(LEGAL_FORM.search(v)) for v in values)
        person = bool(words & set(PERSON_WORDS)) and not words & set(COMPANY_WORDS)
        return {"x-faker": "name" if person or (not companies and not words & set(COMPANY_WORDS)) else "company"}
    distinct = sorted(set(values))
    if len(values) >= 3 and len(distinct) <= max(1, len(values) // 2):
        return {"x-choices": distinct}
    mean = sum(len(v) for v in values) / len(values)
    return {"x-text": "paragraph" if mean > 160 else "sentence" if mean > 30 else "words"}


def _most(matching: list[Any], values: list[str]) -> bool:
    """At least MOST of the examples have the kind (real labels hold the odd stray value)."""
    return len(matching) >= max(1, math.ceil(MOST * len(values)))


def infer_leaf(key: str, parent: str, values: list[str]) -> dict[str, Any]:
    """A leaf's schema node from its example values: kind, draw rule, category and label."""
    values = [str(v) for v in values if v not in (None, "")] or [""]
    node: dict[str, Any] = {"type": "string", "x-category": parent, "x-labels": [_label(key)]}
    dates = [d for d in map(_date, values) if d]
    money = [m for m in map(_money, values) if m]
    numbers = [n for n in map(_number, values) if n is not None]
    percents = [n for v in values if v.endswith("%") and (n := _number(v[:-1].strip())) is not None]
    if _most(dates, values):
        days = sorted(d for d, _ in dates)
        node |= {"x-kind": "date", "x-range": [f"{days[0].year}-01-01", f"{days[-1].year}-12-31"],
                 "x-format": sorted({f for _, f in dates})}
    elif _most(percents, values):
        node |= {"x-kind": "percent", "x-choices": sorted({float(n) for n in percents})}
    elif _most([v for v in values if _TIME.match(v.strip())], values):
        node |= {"x-kind": "time"}
    elif _most(money, values):
        amounts = [m[0] for m in money]
        lo, hi = float(min(amounts)), float(max(amounts))
        node |= {"x-kind": "amount", "x-range": [round(max(0.01, lo / 2), 2), round(max(hi * 2, 1.0), 2)]}
        if hi > 20 * max(lo, 0.01):
            node["x-distribution"] = "log"
        symbols = sum(m[1] for m in money) / len(money)
        if symbols:
            node["x-symbol"] = round(symbols, 2)
    elif _most(numbers, values):
        places = max(max(0, -n.normalize().as_tuple().exponent) for n in numbers)
        node |= {"x-kind": "number", "x-range": [float(min(numbers)), float(max(max(numbers), min(numbers) + 1))],
                 "x-decimals": int(places)}
    elif all(re.fullmatch(r"[\w./#-]*\d[\w./#-]*", v) for v in values):
        node |= {"x-kind": "id", "x-pattern": _shape_pattern(values)}
    else:
        node |= {"x-kind": "text", **_text_rule(key, parent, values)}
    node["x-category"] = parent or ("totals" if node["x-kind"] == "amount" else "document")
    if "x-pattern" in node and len(node["x-pattern"]) == 1:
        node["x-pattern"] = node["x-pattern"][0]
    return node


def infer_schema(rows: list[Any], key: str = "", parent: str = "") -> dict[str, Any]:
    """The schema of the values at one place in the examples (``rows``: that place in each row)."""
    present = [r for r in rows if r not in (None, "", [], {})]
    if not present:
        raise UserError(f"field '{key}' is empty in every example (give at least one value)")
    if all(isinstance(r, dict) for r in present):
        keys = list(dict.fromkeys(k for r in present for k in r))
        props, required = {}, []
        for k in keys:
            seen = [r.get(k) for r in present]
            nested = any(isinstance(v, (dict, list)) for v in seen)
            child = infer_schema(seen, k, parent or (k if nested else ""))  # a group names its leaves' category
            missing = sum(v in (None, "", [], {}) for v in seen)
            if missing:
                child["x-optional"] = round(missing / len(seen), 2)
            else:
                required.append(k)
            props[k] = child
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    if all(isinstance(r, list) for r in present):
        items = [i for r in present for i in r]
        if not all(isinstance(i, dict) for i in items):
            raise UserError(f"field '{key}' is a list of plain values; types new takes lists of objects "
                            "(give each item its field names)")
        return {"type": "array", "minItems": min(len(r) for r in present), "maxItems": max(len(r) for r in present),
                "items": infer_schema(items, key, key)}
    if any(isinstance(r, (dict, list)) for r in present):
        raise UserError(f"field '{key}' is an object in some examples and a value in others")
    return infer_leaf(key, parent, present)


def _typed(node: dict[str, Any], text: Any) -> Decimal | None:
    if node.get("x-kind") == "amount":
        m = _money(str(text))
        return m[0] if m else None
    if node.get("x-kind") == "number":
        return _number(str(text))
    return None


def add_derivations(schema: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Where every example agrees: item amount = quantity x price, a total = the sum of a list column,
    a total = the sum of two other totals. The examples stay the judge: one miss and no rule."""
    props = schema["properties"]
    for lname, lnode in props.items():
        if lnode.get("type") != "array":
            continue
        item = lnode["items"]["properties"]
        nums = [k for k, v in item.items() if v.get("x-kind") in ("amount", "number")]
        amounts = [k for k in nums if item[k].get("x-kind") == "amount"]
        for target in amounts:
            for a in nums:
                for b in nums:
                    if len({a, b, target}) < 3 or a > b or "x-derive" in item[target]:
                        continue
                    ok = all(_typed(item[a], i.get(a)) is not None and _typed(item[b], i.get(b)) is not None
                             and _typed(item[target], i.get(target)) ==
                             (_typed(item[a], i[a]) * _typed(item[b], i[b])).quantize(Decimal("0.01"))
                             for r in rows for i in r.get(lname, []))
                    if ok and any(r.get(lname) for r in rows):
                        item[target] = _drawn_by(item[target], f"product({a}, {b})")
        for col in amounts:
            for tname, tnode in props.items():
                if tnode.get("x-kind") != "amount" or "x-derive" in tnode:
                    continue
                if all(_typed(tnode, r.get(tname)) == sum((_typed(item[col], i.get(col)) or Decimal(0)
                                                            for i in r.get(lname, [])), Decimal(0))
                       for r in rows):
                    props[tname] = _drawn_by(tnode, f"sum({lname}[].{col})")
    top = [k for k, v in props.items() if v.get("x-kind") == "amount"]
    for target in top:
        for a in top:
            for b in top:
                if len({a, b, target}) < 3 or a > b or "x-derive" in props[target]:
                    continue
                if all(_typed(props[target], r.get(target)) is not None and _typed(props[target], r.get(target)) ==
                       (_typed(props[a], r.get(a)) or Decimal("NaN")) + (_typed(props[b], r.get(b)) or Decimal("NaN"))
                       for r in rows):
                    props[target] = _drawn_by(props[target], f"add({a}, {b})")


def _drawn_by(node: dict[str, Any], expr: str) -> dict[str, Any]:
    keep = {k: v for k, v in node.items() if k not in ("x-range", "x-distribution")}
    return {**keep, "x-derive": expr}


# --- starter layouts ---------------------------------------------------------------------------

def _leaf_paths(node: dict[str, Any], prefix: str) -> list[str]:
    """Dotted paths of the leaves under an object, lists left out (they become tables)."""
    out = []
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if child.get("type") == "object":
            out += _leaf_paths(child, path)
        elif child.get("type") != "array":
            out.append(path)
    return out


def _tables(node: dict[str, Any], prefix: str, style: str) -> list[dict[str, Any]]:
    out = []
    for key, child in node.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if child.get("type") == "array":
            out.append({"type": "table", "list": path, "style": style, "columns": _leaf_paths(child["items"], "")})
        elif child.get("type") == "object":
            out += _tables(child, path, style)
    return out


def starter_layouts(name: str, schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Two layouts that print every field once: a labelled list, and a two-column page."""
    props = schema["properties"]
    scalars = [k for k, v in props.items() if v.get("type") not in ("object", "array")]
    totals = [k for k in scalars if props[k].get("x-kind") == "amount"]
    facts = [k for k in scalars if k not in totals]
    groups = [k for k, v in props.items() if v.get("type") == "object"]
    title = name.replace("_", " ").upper()
    listed: list[dict[str, Any]] = [{"type": "title", "text": title}]
    if facts:
        listed.append({"type": "kv", "style": "lines", "fields": facts})
    for g in groups:
        listed.append({"type": "kv", "style": "inline", "fields": _leaf_paths(props[g], g)})
    listed += _tables(schema, "", "lines")
    if totals:
        listed.append({"type": "kv", "style": "lines", "value_align": "right", "fields": totals})
    two: list[dict[str, Any]] = [{"type": "title", "text": title, "banner": True}]
    half = (len(facts) + 1) // 2
    if facts:
        two.append({"type": "row", "blocks": [{"type": "kv", "style": "grid", "fields": facts[:half]},
                                              {"type": "kv", "style": "grid", "fields": facts[half:]}]
                    if facts[half:] else [{"type": "kv", "style": "grid", "fields": facts}]})
    for i in range(0, len(groups), 2):
        pair = groups[i:i + 2]
        two.append({"type": "row", "blocks": [{"type": "party", "heading": _label(g),
                                               "fields": [{"field": p, "label": True} for p in _leaf_paths(props[g], g)]}
                                              for g in pair]})
    two += _tables(schema, "", "striped")
    if totals:
        two.append({"type": "row", "widths": [1, 1], "blocks": [
            {"type": "spacer"}, {"type": "kv", "style": "grid", "value_align": "right", "fields": totals}]})
    return {"list": {"page": "letter", "fonts": ["Helvetica"], "blocks": listed},
            "two_column": {"page": {"one_of": ["a4", "letter"]}, "fonts": ["Helvetica", "Times-Roman"],
                           "blocks": two}}


# --- the commands ------------------------------------------------------------------------------

def run_new(cfg: TypesNewConfig) -> dict[str, Any]:
    """Write a type folder inferred from ``cfg.examples``; returns what was written."""
    import yaml

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", cfg.name):
        raise UserError(f"types new: '{cfg.name}' is not a type name (lower-case letters, digits, _)")
    out = Path(cfg.out or Path("templates") / cfg.name)
    if out.exists():
        raise UserError(f"--out: {out} already exists (types new never overwrites a type)")
    rows = read_examples(cfg.examples)
    inferred = infer_schema(rows)
    add_derivations(inferred, rows)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": cfg.name,
              "description": f"{_label(cfg.name)} (scaffolded from {len(rows)} examples by docfoundry types new)",
              **inferred}
    (out / "layouts").mkdir(parents=True)
    (out / "schema.json").write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for layout, body in starter_layouts(cfg.name, schema).items():
        (out / "layouts" / f"{layout}.yaml").write_text(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
    check = run_check(TypesCheckConfig(type=str(out), out=str(out / "check")))
    return {"type": cfg.name, "out": str(out), "examples": len(rows), "fields": check["fields"],
            "layouts": check["layouts"], "pngs": check["pngs"],
            "next": f"add {out.parent.resolve()} to $DOCFOUNDRY_TEMPLATES, then "
                    f"docfoundry synth --doc-types {cfg.name} --n 100 --out data/{cfg.name} --verify"}


def run_check(cfg: TypesCheckConfig) -> dict[str, Any]:
    """Validate a type folder and render one page per layout to PNG (fields checked in the PDF)."""
    from docfoundry.doctypes import load_doc_type
    from synth.generate import SynthConfig, render_sample
    from synth.layout import load_layouts
    from synth.locales import check_locales
    from synth.values import generator_for

    check_locales([cfg.locale])
    doc = load_doc_type(cfg.type)
    layouts = load_layouts(doc)
    if generator_for(doc) == "schema":
        from synth.values.schema import check

        check(doc)
    out = Path(cfg.out or Path("types-check") / doc.name)
    out.mkdir(parents=True, exist_ok=True)
    synth_cfg = SynthConfig(out=str(out), doc_types=[cfg.type], locales=[cfg.locale], seed=cfg.seed)
    pngs, bad, fields = [], [], 0
    for i, layout in enumerate(layouts):
        try:
            r = render_sample(synth_cfg, i, layout_name=layout.name)
        except (RuntimeError, ValueError) as e:
            raise UserError(f"{layout.file}: {' '.join(str(e).split())}") from None
        bad += [f"{layout.name}:{p}" for p in r.unverified()]
        fields += len(r.fields_pt)
        for k, image in enumerate(r.images):  # a layout whose text flows onto more pages: one PNG each
            png = out / (f"{layout.name}.png" if k == 0 else f"{layout.name}_p{k + 1}.png")
            image.save(png)
            pngs.append(str(png))
    summary: dict[str, Any] = {"type": doc.name, "schema": str(doc.source), "generator": generator_for(doc),
                               "layouts": len(layouts), "fields": len(doc.leaves), "pngs": pngs,
                               "verified": f"{fields - len(bad)} of {fields} field boxes"}
    if bad:
        summary |= {"not_verified": bad[:20], "exit_code": 1}
    return summary


COMMANDS = [
    Command("types new", "scaffold a document type (schema with draw rules, two layouts) from labeled examples",
            TypesNewConfig, run_new, usage=__doc__.split("\n\n")[1]),
    Command("types check", "validate a document type folder and render one page per layout to PNG",
            TypesCheckConfig, run_check, usage=__doc__.split("\n\n")[1]),
]
