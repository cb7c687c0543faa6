"""The letter-case convention of a truth set, and values put into it.

Some datasets write every text value in upper case whatever the page prints (SROIE's truth says
"NO: 28, JALAN ..." where the receipt prints "No: 28, Jalan ..."). A teacher that returns values
as printed then loses a case-sensitive score on every mixed-case page without misreading a
letter. :func:`truth_case` learns the convention of each field from its truth values (a field is
"upper" only when every truth value with a letter has no lower-case letter, on enough pages), and
:func:`apply_case` puts a value into it. It is an explicit opt-in of the scorer or of a schema
(``"x-case": "upper"`` on a leaf): reports give the score as printed next to the converted one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CASES = ("upper", "lower")
MIN_VALUES = 5  # fewer truth values with letters say nothing about a convention


def value_case(value: Any) -> str | None:
    """``"upper"`` / ``"lower"`` when the letters of ``value`` are all of one case, else ``None``."""
    text = "" if value is None else str(value)
    if not any(c.isalpha() for c in text):
        return None
    if text == text.upper():
        return "upper"
    if text == text.lower():
        return "lower"
    return None


def truth_case(values: Iterable[Any], min_values: int = MIN_VALUES) -> str | None:
    """The case every value with letters is written in (``"upper"`` / ``"lower"``), or ``None``
    when the values mix cases or fewer than ``min_values`` of them have letters."""
    cases = [value_case(v) for v in values if any(c.isalpha() for c in str(v or ""))]
    if len(cases) < min_values or len(set(cases)) != 1 or cases[0] is None:
        return None
    return cases[0]


def truth_cases(rows: Iterable[Mapping[str, Any]], min_values: int = MIN_VALUES) -> dict[str, str]:
    """Per field (flat key) the case convention of its truth over ``rows``; fields without one are left out."""
    values: dict[str, list[Any]] = {}
    for row in rows:
        for key, value in row.items():
            values.setdefault(key, []).append(value)
    found = {key: truth_case(vals, min_values) for key, vals in values.items()}
    return {key: case for key, case in sorted(found.items()) if case is not None}


def apply_case(value: Any, case: str | None) -> Any:
    """``value`` in ``case`` (``"upper"`` / ``"lower"``); anything else, and non-strings, unchanged."""
    if not isinstance(value, str) or case not in CASES:
        return value
    return value.upper() if case == "upper" else value.lower()


def schema_cases(schema: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Per leaf pattern (``items[].name``) the ``x-case`` a schema declares; leaves without one left out."""
    out: dict[str, str] = {}
    for key, node in schema.get("properties", {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if node.get("type") == "array" and isinstance(node.get("items"), Mapping):
            node, path = node["items"], f"{path}[]"
        if node.get("type") == "object":
            out.update(schema_cases(node, path))
        elif node.get("x-case") in CASES:
            out[path] = node["x-case"]
    return out


def case_conventions(schema: Mapping[str, Any], rows: Iterable[Mapping[str, Any]],
                     fields: Iterable[str]) -> dict[str, dict[str, str | None]]:
    """For each scored field pattern: the case its truth is written in (``truth``, learned by
    :func:`truth_cases` from flat truth ``rows``) and the one the schema puts the teacher's value in
    (``schema``, its ``x-case``; ``None``: as printed). Where they differ a case-sensitive score
    counts the convention, not the reading."""
    from docfoundry.doctypes import path_pattern

    learned: dict[str, str] = {}
    for key, case in truth_cases(rows).items():
        learned.setdefault(path_pattern(key), case)
    declared = schema_cases(schema)
    return {f: {"truth": learned.get(f), "schema": declared.get(f)} for f in sorted(fields)}
