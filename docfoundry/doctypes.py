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
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError

KINDS = ("text", "amount", "number", "percent", "date", "time", "id", "code", "check")


def templates_root() -> Path:
    """The installed ``templates`` package folder."""
    return Path(str(resources.files("templates")))


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


def _walk(node: Any, prefix: str, file: Path, out: list[Leaf]) -> None:
    where = f"{file}: field '{prefix or '(root)'}'"
    if not isinstance(node, dict):  # JSON Schema allows true/false here; a field needs its annotations
        raise UserError(f"{where} is {_short(node)}; each field is a schema object with a type")
    t = node.get("type")
    if t == "object":
        for key, child in node.get("properties", {}).items():
            _walk(child, f"{prefix}.{key}" if prefix else key, file, out)
    elif t == "array":
        if "items" not in node:
            raise UserError(f"{where} is an array without an 'items' schema")
        _walk(node["items"], f"{prefix}[]", file, out)
    else:
        kind = node.get("x-kind", "text")
        if not isinstance(kind, str) or kind not in KINDS:
            raise UserError(f"{where} has unknown x-kind {_short(kind)} (known: {', '.join(KINDS)})")
        category = node.get("x-category")
        if not isinstance(category, str) or not category.strip():
            raise UserError(f"{where} has no x-category" if category is None else
                            f"{where} has x-category {_short(category)}; expected a name")
        out.append(Leaf(prefix, category, kind, node.get("description", ""),
                        _strings(node, "x-labels", where), _strings(node, "x-aliases", where)))


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

    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: schema file not found") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read the schema ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
    except (ValueError, RecursionError) as e:  # a 5000-digit number, nesting past the parser's depth
        raise UserError(f"{path}: not valid JSON ({str(e).splitlines()[0]})") from None
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
    except RecursionError:
        raise UserError(f"{schema_file}: the schema is nested too deeply") from None
    return DocType(name=schema.get("title", folder.name) if p.suffix == ".json" else folder.name,
                   folder=folder, schema=schema, leaves=leaves, schema_file=schema_file)
