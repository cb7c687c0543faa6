"""Document types are folders in ``templates/``: ``schema.json`` plus ``layouts/*.yaml``.

The JSON Schema is the single source of truth for a type's fields. Every leaf is a string (the
text as printed) annotated with:
  ``x-category``  group used by eval (vendor, totals, employee, ...)
  ``x-kind``      text | amount | number | percent | date | time | id | code | check
                  (how eval normalizes it, how the OCR teacher finds it, how a typed value is made)
  ``x-labels``    label variants printed next to the value (layouts and the OCR teacher use them)
  ``x-aliases``   names other datasets give the field (SROIE ``company``, CORD ``menu[].nm``): truth
                  named so is scored against this field (``eval.fieldmap``)
  ``description`` what the field means (prompts use it)

and, for the generic value generator (``synth.values.schema``), how its value is drawn: ``x-faker``,
``x-pattern``, ``x-choices`` (+ ``x-weights``), ``x-range``, ``x-after``, ``x-optional``, ``x-text``,
``x-derive`` ... Every node's ``x-`` keys are checked against ``templates/doctype.schema.json`` (the
meta-schema); a mistake is one line naming the file, the field and the key.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from docfoundry import expressions
from docfoundry.errors import UserError
from docfoundry.store import read_json_file


def templates_root() -> Path:
    """The installed ``templates`` package folder."""
    return Path(str(resources.files("templates")))


@cache
def meta_schema() -> dict[str, Any]:
    """``templates/doctype.schema.json``: the extension keys a type's schema may use, and their values."""
    return json.loads((templates_root() / "doctype.schema.json").read_text(encoding="utf-8"))


KINDS = tuple(meta_schema()["properties"]["x-kind"]["enum"])  # the meta-schema lists the kinds; this reads it
NUMERIC_KINDS = ("amount", "number", "percent")  # kinds whose values are numbers (compared and aligned as such)


def template_roots() -> list[Path]:
    """Folders searched for document types: ``$DOCFOUNDRY_TEMPLATES`` (os.pathsep list) first, then built-ins."""
    extra = [Path(p) for p in os.environ.get("DOCFOUNDRY_TEMPLATES", "").split(os.pathsep) if p]
    return [*extra, templates_root()]


def available() -> list[str]:
    """Names of the document types (template folders with a ``schema.json``)."""
    return sorted({p.parent.name for root in template_roots() for p in root.glob("*/schema.json")})


@dataclass(frozen=True)
class Leaf:
    """One leaf of the schema: ``pattern`` uses ``[]`` for list positions (``line_items[].amount``)."""

    pattern: str
    category: str
    kind: str
    description: str
    labels: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    derive: tuple[str, tuple[str, ...]] | None = None  # (op, operands) of an x-derive


def path_pattern(path: str) -> str:
    """``line_items.3.amount`` -> ``line_items[].amount`` (the schema leaf a value belongs to)."""
    return re.sub(r"\.(\d+)(?=\.|$)", "[]", path)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def _strings(node: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = node.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where} has {key} {_short(value)}; expected a list of strings")
    return tuple(value)


@cache
def _meta() -> tuple[Any, tuple[str, ...]]:
    """The meta-schema's validator and the extension keys it knows."""
    import jsonschema

    meta = meta_schema()
    return jsonschema.Draft202012Validator(meta), tuple(meta["properties"])


def _check_extensions(node: dict[str, Any], where: str) -> None:
    """One node's ``x-`` keys against the meta-schema; a near miss of a known key is a typo."""
    import jsonschema

    validator, known = _meta()
    ext = {k: v for k, v in node.items() if isinstance(k, str) and k.startswith("x-")}
    for key in ext:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.85) if key not in known else []
        if close:  # other x- keys pass: a tool of the user's may annotate the schema too
            raise UserError(f"{where}: unknown key '{key}' (did you mean '{close[0]}'? a key of docfoundry's "
                            "own is listed in templates/doctype.schema.json)")
    err = jsonschema.exceptions.best_match(validator.iter_errors(ext))
    if err is not None:
        key = err.absolute_path[0] if err.absolute_path else "?"
        raise UserError(_meta_message(where, key, ext.get(key), err))


def _meta_message(where: str, key: Any, value: Any, err: Any) -> str:
    """A meta-schema error in the user's words: the known values of an enum, or what the key
    expects as its meta-schema entry describes it, else jsonschema's own message."""
    if err.validator == "enum" and len(err.absolute_path) == 1:  # the key itself, not a value inside it
        return f"{where} has unknown {key} {_short(value)} (known: {', '.join(map(str, err.validator_value))})"
    validator, _ = _meta()
    entry = validator.schema["properties"].get(key, {})
    if "$ref" in entry:
        entry = validator.schema["$defs"][entry["$ref"].rsplit("/", 1)[-1]]
    if "description" in entry:
        return f"{where} has {key} {_short(value)}; expected {entry['description']}"
    return f"{where}: {key} {_short(value)}: {' '.join(err.message.split())[:160]}"


def _derive_of(node: dict[str, Any], where: str) -> tuple[str, tuple[str, ...]] | None:
    if "x-derive" not in node:
        return None
    try:
        op, operands = expressions.parse(node["x-derive"])
    except ValueError as e:
        raise UserError(f"{where}: x-derive: {e}") from None
    return op, (operands,) if isinstance(operands, str) else tuple(operands)


def _walk(node: Any, prefix: str, file: Path, out: list[Leaf], required: bool = True) -> None:
    where = f"{file}: field '{prefix or '(root)'}'"
    if not isinstance(node, dict):  # JSON Schema allows true/false here; a field needs its annotations
        raise UserError(f"{where} is {_short(node)}; each field is a schema object with a type")
    _check_extensions(node, where)
    if "x-optional" in node and required:
        raise UserError(f"{where}: x-optional on a field its parent lists in 'required'")
    t = node.get("type")
    if t == "object":
        needed = node.get("required", [])
        for key, child in node.get("properties", {}).items():
            _walk(child, f"{prefix}.{key}" if prefix else key, file, out, key in needed)
    elif t == "array":
        if "items" not in node:
            raise UserError(f"{where} is an array without an 'items' schema")
        lo, hi = node.get("x-items", (0, 0))
        if lo > hi:
            raise UserError(f"{where}: x-items [{lo}, {hi}] draws fewer items at most than at least")
        _walk(node["items"], f"{prefix}[]", file, out)  # an item is there when its list is
    else:
        kind = node.get("x-kind", "text")
        if not isinstance(kind, str) or kind not in KINDS:
            raise UserError(f"{where} has unknown x-kind {_short(kind)} (known: {', '.join(KINDS)})")
        category = node.get("x-category")
        if not isinstance(category, str) or not category.strip():
            raise UserError(f"{where} has no x-category" if category is None else
                            f"{where} has x-category {_short(category)}; expected a name")
        out.append(Leaf(prefix, category, kind, node.get("description", ""),
                        _strings(node, "x-labels", where), _strings(node, "x-aliases", where),
                        _derive_of(node, where)))


_PATTERN_REF = re.compile(r"\{([^{}]+)\}")


def resolve_ref(ref: str, pattern: str, patterns: set[str] | dict[str, Any]) -> str | None:
    """The leaf pattern a reference names from leaf ``pattern``: a sibling in the same list item
    first (``quantity`` from ``line_items[].amount``), then a path from the root."""
    if "[]." in pattern:
        sibling = pattern.rsplit("[].", 1)[0] + "[]." + ref
        if sibling in patterns:
            return sibling
    return ref if ref in patterns else None


def _check_references(schema: dict[str, Any], leaves: list[Leaf], file: Path) -> None:
    """Fields named by x-derive, x-after and x-pattern exist (and x-after names a date)."""
    by_pattern = {leaf.pattern: leaf for leaf in leaves}
    nodes: dict[str, dict[str, Any]] = {}

    def collect(node: Any, prefix: str) -> None:
        if not isinstance(node, dict):
            return
        if node.get("type") == "object":
            for key, child in node.get("properties", {}).items():
                collect(child, f"{prefix}.{key}" if prefix else key)
        elif node.get("type") == "array":
            collect(node.get("items"), f"{prefix}[]")
        else:
            nodes[prefix] = node

    collect(schema, "")
    for pattern, node in nodes.items():
        where = f"{file}: field '{pattern}'"
        leaf = by_pattern[pattern]
        if leaf.derive:
            op, operands = leaf.derive
            for ref in expressions.field_refs(op, list(operands)):
                if resolve_ref(ref, pattern, by_pattern) is None:
                    raise UserError(f"{where}: x-derive names '{ref}', which is not a field of the schema")
        if "x-after" in node:
            target = resolve_ref(node["x-after"], pattern, by_pattern)
            if target is None or by_pattern[target].kind != "date":
                raise UserError(f"{where}: x-after '{node['x-after']}' is not a date field of the schema")
        patterns = node.get("x-pattern", [])
        for text in [patterns] if isinstance(patterns, str) else patterns:
            for ref in _PATTERN_REF.findall(text):
                name = ref[:-5] if ref.endswith(".year") else ref
                if re.fullmatch(r"#+|A+|a+|year", ref) is None and resolve_ref(name, pattern, by_pattern) is None:
                    raise UserError(f"{where}: x-pattern '{text}' names '{{{ref}}}', which is neither a field "
                                    "nor {###} digits, {AA} letters or {year}")
        choices = node.get("x-choices", node.get("enum"))
        if "x-weights" in node and (choices is None or len(node["x-weights"]) != len(choices)):
            raise UserError(f"{where}: x-weights needs one weight per x-choices / enum entry")


@dataclass(eq=False)  # identity hash: loaded once per process (load_doc_type is cached)
class DocType:
    """A loaded document type: its schema, leaves and layout files."""

    name: str
    folder: Path
    schema: dict[str, Any]
    leaves: list[Leaf] = field(default_factory=list)
    schema_file: Path | None = None  # the file read (a custom --schema path, else folder/schema.json)

    @property
    def source(self) -> Path:
        """The schema file this type was read from (errors name it)."""
        return self.schema_file or self.folder / "schema.json"

    @property
    def values_module(self) -> str:
        """The value generator (``synth.values.<name>``); a schema may reuse another type's with ``x-values``."""
        return self.schema.get("x-values", self.name)

    @property
    def leaf_map(self) -> dict[str, Leaf]:
        return {leaf.pattern: leaf for leaf in self.leaves}

    def leaf(self, path: str) -> Leaf | None:
        """The schema leaf of a dotted value path (``None`` when the path is not in the schema)."""
        return self.leaf_map.get(path_pattern(path))

    @property
    def checks(self) -> list[dict[str, Any]]:
        """The relations the type promises: its ``x-checks`` plus one per ``x-derive`` (a derived
        value is also a check) whose target no ``x-checks`` entry already states."""
        explicit = list(self.schema.get("x-checks", []))
        stated = {f"{c['each']}[].{c['equals']}" if "each" in c else c["equals"] for c in explicit}
        derived = []
        for leaf in self.leaves:
            if leaf.derive is None or leaf.pattern in stated:
                continue
            op, operands = leaf.derive
            args: Any = operands[0] if op == "sum" else list(operands)
            name = leaf.pattern.rsplit(".", 1)[-1].replace("[]", "").replace("_", " ")
            if "[]." in leaf.pattern:
                each, target = leaf.pattern.rsplit("[].", 1)
                if "[]" in each or any(resolve_ref(o, leaf.pattern, self.leaf_map) != f"{each}[].{o}"
                                       for o in expressions.field_refs(op, list(operands))):
                    continue  # a check runs over one list's own items
                derived.append({"name": name, "each": each, op: args, "equals": target})
            else:
                derived.append({"name": name, op: args, "equals": leaf.pattern})
        return explicit + derived

    def layout_files(self) -> list[Path]:
        return sorted((self.folder / "layouts").glob("*.yaml"))

    def validate(self, gt_parse: dict[str, Any], where: str = "") -> None:
        """Raise ``ValueError`` naming the first schema violation."""
        import jsonschema
        from referencing.exceptions import Unresolvable

        try:
            err = jsonschema.exceptions.best_match(_validator(self).iter_errors(gt_parse))
        except RecursionError:
            raise ValueError(f"{where}{self.name}: nested too deeply to check") from None
        except Unresolvable as e:  # the schema, not the value, is broken: a $ref to nowhere
            raise UserError(f"{self.source}: cannot check values against this schema ({e})") from None
        if err is not None:
            loc = ".".join(map(str, err.absolute_path)) or "(root)"
            raise ValueError(f"{where}{self.name}: {loc}: {err.message}")


@cache
def _validator(doc: DocType) -> Any:
    """The validator of the schema the type was loaded from (never a file read again)."""
    import jsonschema

    return jsonschema.Draft202012Validator(doc.schema)


def load_schema_file(path: Path) -> dict[str, Any]:
    """Read and check a JSON Schema file; errors name the file."""
    import jsonschema

    schema = read_json_file(path, "schema")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise UserError(f"{path}: not a valid JSON Schema ({' '.join(e.message.split())})") from None
    except RecursionError:
        raise UserError(f"{path}: the schema is nested too deeply") from None
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise UserError(f"{path}: the top level must be an object schema")
    return schema


@cache
def load_doc_type(name_or_path: str) -> DocType:
    """A document type by name (``invoice``) or by the path of a template folder / schema file."""
    p = Path(name_or_path)
    if p.suffix == ".json":  # a schema file: that file is read and validated (the folder holds its layouts)
        folder = p.parent
    elif p.is_dir() and (p / "schema.json").is_file():
        folder = p
    else:
        folder = next((r / name_or_path for r in template_roots() if (r / name_or_path / "schema.json").is_file()),
                      templates_root() / name_or_path)
        if not (folder / "schema.json").is_file():
            raise UserError(f"unknown document type '{name_or_path}' (known: {', '.join(available())}; "
                            "or give a template folder with schema.json)")
    schema_file = folder / "schema.json" if p.suffix != ".json" else p
    schema = load_schema_file(schema_file)
    leaves: list[Leaf] = []
    try:
        _walk(schema, "", schema_file, leaves)
        _check_references(schema, leaves, schema_file)
    except RecursionError:
        raise UserError(f"{schema_file}: the schema is nested too deeply") from None
    return DocType(name=schema.get("title", folder.name) if p.suffix == ".json" else folder.name,
                   folder=folder, schema=schema, leaves=leaves, schema_file=schema_file)
