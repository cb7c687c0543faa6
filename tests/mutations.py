"""Hypothesis strategies for property tests of loaders: random values, and real files mutated.

A mutation starts from a real shipped file (parsed tree or raw text) and changes it a little,
so most examples stay close enough to valid to reach the loader's deeper checks.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

# values that often break loaders: wrong types, empty, huge, non-finite, control characters
_ODD = st.sampled_from([None, True, False, 0, -1, 1, 10**30, 10**400, 1e308, float("inf"), float("nan"),
                        "", " ", "\x00", "\ud800", "a" * 300, "../x", [], {}, [[]], {"": {}}, [1, 2, 3],
                        [2, 1], [0.5, "x"], ["a", "b"]])

leaves = st.one_of(_ODD, st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))

values = st.recursive(leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=10)


def tree_paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every position in a nested dict/list tree (the root is ``()``)."""
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from tree_paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from tree_paths(child, (*prefix, i))


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_tree(draw: Any, originals: list[Any], keys: list[str], key_values: list[Any]) -> Any:
    """A copy of one of ``originals`` with 1-3 edits: a value replaced, a key or item removed, a
    key from ``keys`` added, or a subtree duplicated elsewhere (values from ``key_values`` or random)."""
    tree = copy.deepcopy(draw(st.sampled_from(originals)))
    # a copy each time: an edit later in the example may write into the value it inserted
    new_value = (st.one_of(st.sampled_from(key_values), values) if key_values else values).map(copy.deepcopy)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(tree_paths(tree))))
        op = draw(st.sampled_from(["replace", "delete", "add", "copy"]))
        if not path or op == "add":
            target = _get(tree, path)
            if isinstance(target, dict):
                target[draw(st.sampled_from(keys))] = draw(new_value)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(new_value))
            elif path:
                _get(tree, path[:-1])[path[-1]] = draw(new_value)
            continue
        parent = _get(tree, path[:-1])
        if op == "delete":
            del parent[path[-1]]
        elif op == "copy":
            parent[path[-1]] = copy.deepcopy(_get(tree, draw(st.sampled_from(list(tree_paths(tree))))))
        else:
            parent[path[-1]] = draw(new_value)
    return tree


@st.composite
def mutated_bytes(draw: Any, originals: list[bytes]) -> bytes:
    """One of ``originals`` cut, spliced with random bytes or text, or with a slice removed."""
    data = draw(st.sampled_from(originals))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(data)))
        j = draw(st.integers(i, min(len(data), i + 40)))
        op = draw(st.sampled_from(["cut", "insert", "delete", "replace"]))
        if op == "cut":
            data = data[:i]
        elif op == "delete":
            data = data[:i] + data[j:]
        else:
            noise = draw(st.one_of(st.binary(max_size=12), st.text(max_size=12).map(lambda s: s.encode("utf-8", "surrogatepass")),
                                   st.sampled_from([b"{", b"}", b"[", b"]", b":", b",", b'"', b"\n", b"- ", b"&a ", b"*a",
                                                    b"!!python/object:os.system", b"\t", b"1" * 5000, b"{" * 2000])))
            data = data[:i] + noise + (data[j:] if op == "replace" else data[i:])
    return data
