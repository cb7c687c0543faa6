"""What a document type's schema says beyond labels and kinds: read labels, titles, line classes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from docfoundry.doctypes import DocType, Leaf
from docfoundry.normalize import fold_text


@dataclass(frozen=True)
class Hints:
    """A leaf's reading hints from its schema node (``x-read-labels``, ``x-label-excludes``,
    ``x-not-lines``, ``x-header``, and a text leaf's ``x-choices``: the words its value is one of)."""

    labels: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    not_lines: frozenset[str] = frozenset()
    header: bool = False
    choices: tuple[str, ...] = ()


@cache
def _hints(doc: DocType) -> dict[str, Hints]:
    out: dict[str, Hints] = {}

    def walk(node: dict[str, Any], pattern: str) -> None:
        t = node.get("type")
        if t == "object":
            for k, child in node.get("properties", {}).items():
                walk(child, f"{pattern}.{k}" if pattern else k)
        elif t == "array":
            walk(node.get("items", {}), f"{pattern}[]")
        else:
            out[pattern] = Hints(tuple(node.get("x-labels", [])) + tuple(node.get("x-read-labels", [])),
                                 tuple(fold(w) for w in node.get("x-label-excludes", [])),
                                 frozenset(node.get("x-not-lines", [])), bool(node.get("x-header", False)),
                                 tuple(dict.fromkeys(c for c in node.get("x-choices", []) if isinstance(c, str))))

    walk(doc.schema, "")
    return out


def hints(doc: DocType, leaf: Leaf) -> Hints:
    """The reading hints of ``leaf`` (labels: the printed ones first, then the read-only ones)."""
    return _hints(doc).get(leaf.pattern) or Hints(leaf.labels)


def _with_read_labels(doc: DocType, leaf: Leaf) -> Leaf:
    """``leaf`` with its ``x-read-labels`` among its labels (what every reader here matches)."""
    from dataclasses import replace

    labels = hints(doc, leaf).labels
    return leaf if labels == leaf.labels else replace(leaf, labels=labels)


def titles(doc: DocType) -> list[str]:
    """Banner words of the type: its name, its schema title and ``x-titles``."""
    names = {doc.name, str(doc.schema.get("title", "")), *doc.schema.get("x-titles", [])}
    return sorted(fold(t) for t in names if t)


fold = fold_text  # labels are compared case-folded with whitespace runs collapsed
