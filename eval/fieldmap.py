"""Truth field names -> schema fields: an explicit map plus the aliases a schema declares.

    docfoundry label audit --teacher ocr --schema receipt --truth ../shared/datasets/sroie-dev --n 50 --out reports/real
    docfoundry eval --truth my_labels/ --schema receipt --pred preds.jsonl --field-map shop=store_name --out reports/x

Real truth rarely names its fields like a schema does (SROIE's ``company`` is the receipt's
``store_name``). A schema leaf lists the names datasets give it with ``"x-aliases": ["company"]``
(a nested name is a path pattern: ``"menu[].nm"``, ``"total.total_price"``), and ``--field-map
truth=schema`` entries add or override. A truth key that already is a schema field maps to itself;
one that maps to nothing is reported (the audit leaves it unscored; eval scores it under its own
name). ``label audit --truth`` and ``eval`` both map truth through :func:`resolve_field_map`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from docfoundry.doctypes import DocType, path_pattern
from docfoundry.errors import UserError
from docfoundry.records import flatten


@dataclass
class FieldMap:
    """How one truth set lines up with one schema: ``rules`` maps a truth path pattern to a schema
    leaf pattern (identity entries included); ``unmapped`` truth patterns have no schema field."""

    schema: str
    rules: dict[str, str]
    unmapped: list[str] = field(default_factory=list)
    explicit: dict[str, str] = field(default_factory=dict)

    @property
    def covered(self) -> set[str]:
        """The schema leaf patterns the truth has values for: the only ones that can be scored."""
        return set(self.rules.values())

    @property
    def renames(self) -> bool:
        """Whether the map renames any truth field (an identity map is left unapplied)."""
        return any(t != s for t, s in self.rules.items())

    def apply(self, fields: Mapping[str, Any], keep_unmapped: bool = False) -> dict[str, Any]:
        """Nested truth ``fields`` renamed to schema paths; keys that map to nothing are left out,
        or kept where they are with ``keep_unmapped`` (a key may hold a dot: ``"No. of items"``)."""
        out = []
        for parts, value in _leaves(fields):
            target = self.rules.get(path_pattern(".".join(map(str, parts))))
            if target is not None:
                out.append((_target_parts(target, [p for p in parts if isinstance(p, int)]), value))
            elif keep_unmapped:
                out.append((parts, value))
        return _build(out)

    def to_json(self) -> dict[str, Any]:
        """What a report records: truth pattern -> schema field, and the truth fields left unscored."""
        return {"schema": self.schema, "map": dict(sorted(self.rules.items())), "unmapped": self.unmapped,
                "explicit": self.explicit}


def _leaves(obj: Any, parts: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every leaf of nested JSON with its path as parts: list positions are ints, keys are strings
    (``records.flatten`` joins them with dots, which a key may hold too)."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            yield from _leaves(v, (*parts, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, (*parts, i))
    else:
        yield parts, obj


def _target_parts(pattern: str, indices: list[int]) -> tuple[str | int, ...]:
    """``items[].amount`` with indices ``[2]`` -> ``("items", 2, "amount")``; a missing list level is
    item 0 (CORD writes a one-item list as an object)."""
    it = iter(indices)
    out: list[str | int] = []
    for name in pattern.split("."):
        out.append(name.removesuffix("[]"))
        out += [next(it, 0) for _ in range(name.count("[]"))]
    return tuple(out)


def _build(leaves: Iterable[tuple[tuple[str | int, ...], Any]]) -> dict[str, Any]:
    """Nested JSON from (parts, value) leaves; int parts are list positions, kept in order."""
    tree: dict[Any, Any] = {}
    for parts, value in leaves:
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return {k: _as_lists(v) for k, v in tree.items()}


def _as_lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    out = {k: _as_lists(v) for k, v in node.items()}
    if out and all(isinstance(k, int) for k in out):
        return [out[k] for k in sorted(out)]
    return out


def _loose(pattern: str) -> str:
    """A pattern without list levels, case-folded: how names are matched (CORD writes a one-item
    list as an object, a user's labels may say ``Date`` for ``date``)."""
    return pattern.replace("[]", "").casefold()


def schema_aliases(doc: DocType) -> dict[str, str]:
    """Loose alias -> the leaf pattern that declares it; an alias on two leaves is a schema error."""
    out: dict[str, str] = {}
    for leaf in doc.leaves:
        for alias in leaf.aliases:
            if not isinstance(alias, str) or not alias.strip():
                raise UserError(f"{doc.folder / 'schema.json'}: field '{leaf.pattern}' has an x-aliases entry "
                                f"that is not a name ({alias!r})")
            key = _loose(path_pattern(alias.strip()))
            if key in out and out[key] != leaf.pattern:
                raise UserError(f"{doc.folder / 'schema.json'}: x-aliases '{alias}' is declared by both "
                                f"'{out[key]}' and '{leaf.pattern}'")
            out[key] = leaf.pattern
    return out


def some_names(names: list[str], shown: int = 12) -> str:
    """A readable list for a one-line error: the first ``shown`` names and how many more (FUNSD
    truth has a field per printed question)."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return (", ".join(names[:shown]) + more) or "none"


def _depth(pattern: str) -> int:
    return pattern.count("[]")


def resolve_field_map(doc: DocType, truth_patterns: Iterable[str], explicit: Mapping[str, str] | None = None,
                      *, source: str = "the truth", flag: str = "--field-map") -> FieldMap:
    """Line the truth's field patterns up with ``doc``'s leaves: ``explicit`` (truth=schema) first,
    then truth keys named like a schema field, then the schema's ``x-aliases``. Names match without
    case and list levels (``menu.nm`` is ``menu[].nm``).

    A map entry naming a schema field that does not exist, or a truth field the truth does not
    have, is a ``UserError`` naming it. A schema field claimed twice keeps the first claim in that
    order; the other truth key is reported as unmapped.
    """
    groups: dict[str, list[str]] = {}  # loose name -> the truth patterns spelled so
    for p in sorted({path_pattern(p) for p in truth_patterns}):
        groups.setdefault(_loose(p), []).append(p)
    leaves = doc.leaf_map
    rules: dict[str, str] = {}
    taken: dict[str, str] = {}  # schema leaf -> loose truth name mapped onto it
    explicit_rules: dict[str, str] = {}

    def claim(name: str, target: str) -> list[str]:
        fits = [p for p in groups[name] if _depth(p) <= _depth(target)]  # a list never fills a single field
        for p in fits:
            rules[p] = target
        if fits:
            taken[target] = name
        return fits

    for raw_truth, raw_target in (explicit or {}).items():
        name, target = _loose(path_pattern(str(raw_truth).strip())), path_pattern(str(raw_target).strip())
        entry = f"{flag} {raw_truth}={raw_target}"
        if target not in leaves:
            raise UserError(f"{entry}: the {doc.name} schema has no field '{raw_target}' "
                            f"(fields: {', '.join(leaves)})")
        if name not in groups:
            known = some_names([p for ps in groups.values() for p in ps])
            raise UserError(f"{entry}: {source} has no field '{raw_truth}' (truth fields: {known})")
        if target in taken:
            raise UserError(f"{entry}: '{raw_target}' is already mapped from '{taken[target]}'")
        if not claim(name, target):
            raise UserError(f"{entry}: '{raw_truth}' is a list field and '{raw_target}' is not one")
        explicit_rules.update({p: target for p in groups[name]})
    by_name = {_loose(leaf): leaf for leaf in leaves}
    aliases = schema_aliases(doc)
    for lookup in (by_name, aliases):  # truth keys named like a field first, then aliases
        for name in groups:
            target = lookup.get(name)
            if target is not None and target not in taken and not any(p in rules for p in groups[name]):
                claim(name, target)
    unmapped = [p for ps in groups.values() for p in ps if p not in rules]
    return FieldMap(doc.name, rules, unmapped, explicit_rules)


def truth_patterns(records: Iterable[Any]) -> set[str]:
    """Every field pattern in some truth record (``TruthRecord``-like objects with ``fields``)."""
    return {path_pattern(p) for r in records for p in flatten(r.fields)}


def without(fields: Mapping[str, Any] | None, patterns: set[str]) -> dict[str, Any] | None:
    """Nested ``fields`` less the leaves whose pattern is in ``patterns`` (``None`` stays ``None``)."""
    if fields is None:
        return None
    return _build((parts, v) for parts, v in _leaves(fields)
                  if path_pattern(".".join(map(str, parts))) not in patterns)


def unlabeled_fields(doc: DocType, records: Iterable[Any]) -> set[str]:
    """The schema leaves no truth record has a value for: real truth labels a few fields, and a
    prediction of the others cannot be judged (on full synthetic truth this is empty)."""
    return set(doc.leaf_map) - truth_patterns(records)


def map_truth(truth: Any, explicit: Mapping[str, str] | None,
              schema_of: Callable[[str], DocType | None]) -> dict[str, FieldMap]:
    """Rename the fields of every record of ``truth`` (an ``docfoundry.adapters.TruthSet``) in place,
    per document type, to its schema's fields; returns the maps that renamed something, by type.

    Truth fields that map to nothing keep their names (eval scores all truth). Types without a
    schema are left as they are (an explicit map for them is an error: it needs ``--schema``).
    """
    by_type: dict[str, list[Any]] = {}
    for r in truth.records:
        by_type.setdefault(r.doc_type, []).append(r)
    if explicit and len(by_type) > 1:
        raise UserError(f"--field-map: {truth.source} holds several document types ({', '.join(sorted(by_type))}); "
                        "give --schema so one map fits them all")
    maps: dict[str, FieldMap] = {}
    for doc_type, records in by_type.items():
        doc = schema_of(doc_type)
        if doc is None:
            if explicit:
                raise UserError(f"--field-map: the pages of {truth.source} are of type '{doc_type}', which has "
                                "no schema to map onto; give --schema (e.g. --schema receipt)")
            continue
        fm = resolve_field_map(doc, truth_patterns(records), explicit, source=truth.source)
        if fm.renames:
            for r in records:
                r.fields = fm.apply(r.fields, keep_unmapped=True)
            maps[doc_type] = fm
    return maps


def unlabeled_by_type(records: Iterable[Any], schema_of: Callable[[str], DocType | None]) -> dict[str, set[str]]:
    """Per document type with a schema, its leaves that no record of that type labels (none: left out)."""
    by_type: dict[str, list[Any]] = {}
    for r in records:
        by_type.setdefault(r.doc_type, []).append(r)
    out = {}
    for doc_type, recs in by_type.items():
        doc = schema_of(doc_type)
        missing = unlabeled_fields(doc, recs) if doc is not None else set()
        if missing:
            out[doc_type] = missing
    return out
