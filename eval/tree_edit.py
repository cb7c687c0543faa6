"""Donut's JSON metrics: field F1 over flattened (key, value) pairs and tree-edit-distance accuracy.

The normalization, the tree shape and the edit costs follow ``JSONParseEvaluator`` in
clovaai/donut (``donut/util.py``). The edit distance is the Zhang–Shasha algorithm, written here
over flat postorder arrays because the ``zss`` package (the reference, used in the tests) builds
operation lists even when none are asked for and is ~10x slower, too slow for 10,000 documents.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from rapidfuzz.distance import Levenshtein

SUBTREE = "<subtree>"
ROOT = "<root>"


def donut_normalize(data: Any) -> Any:
    """Donut's ``normalize_dict``: keys sorted by (length, name), every value a list, empties dropped."""
    if not data:
        return {}
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key in sorted(data, key=lambda k: (len(k), k)):
            value = data[key]
            if type(value) is str:  # the common leaf, inlined: [value.strip()] unless empty
                if value:
                    out[key] = [value.strip()]
                continue
            value = donut_normalize(value)
            if value:
                out[key] = value if isinstance(value, list) else [value]
        return out
    if isinstance(data, list):
        if all(isinstance(item, dict) for item in data):
            return [n for n in (donut_normalize(item) for item in data) if n]
        return [str(item).strip() for item in data
                if type(item) in (str, int, float) and str(item).strip()]
    return [str(data).strip()]


def donut_pairs(normalized: Any, key: str = "") -> list[tuple[str, str]]:
    """Donut's ``flatten``: (dotted key, value) pairs where list items share their key (no index)."""
    out: list[tuple[str, str]] = []
    _add_pairs(normalized, key, out)
    return out


def _add_pairs(node: Any, key: str, out: list[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            _add_pairs(v, f"{key}.{k}" if key else k, out)
    elif isinstance(node, list):
        for item in node:
            if type(item) is str:
                out.append((key, item))
            else:
                _add_pairs(item, key, out)
    else:
        out.append((key, node))


def donut_f1_counts(truth: dict[str, Any], pred: dict[str, Any]) -> tuple[int, int, int]:
    """(TP, FP, FN) of one document's (key, value) pairs, matched as multisets as Donut does."""
    return _f1_counts(donut_normalize(truth), donut_normalize(pred))


def _f1_counts(t_norm: Any, p_norm: Any) -> tuple[int, int, int]:
    t, p = Counter(donut_pairs(t_norm)), Counter(donut_pairs(p_norm))
    tp = sum((t & p).values())
    return tp, sum(p.values()) - tp, sum(t.values()) - tp


def donut_f1(tp: int, fp: int, fn: int) -> float | None:
    """Donut's field F1 = TP / (TP + (FP + FN) / 2); ``None`` when there is nothing to count."""
    denom = tp + (fp + fn) / 2
    return tp / denom if denom else None


@dataclass
class Tree:
    """An ordered tree as postorder arrays: label, leaf flag, insert/delete cost, leftmost leaf."""

    labels: list[str]
    leaf: list[bool]
    cost: list[int]
    lmd: list[int]

    def keyroots(self) -> list[int]:
        """Zhang–Shasha keyroots: for each leftmost leaf, the highest node that has it."""
        last: dict[int, int] = {}
        for i, leftmost in enumerate(self.lmd):
            last[leftmost] = i
        return sorted(last.values())


def donut_tree(normalized: Any) -> Tree:
    """Donut's ``construct_tree_from_dict``: ``<root>``, key nodes, ``<subtree>`` per list item, leaves."""
    tree = Tree([], [], [], [])

    def add(label: str, is_leaf: bool, children: list[tuple[str, bool, Any]]) -> int:
        first = None
        for child in children:
            index = add(*child)
            first = tree.lmd[index] if first is None else first
        tree.labels.append(label)
        tree.leaf.append(is_leaf)
        tree.cost.append(len(label) if is_leaf else 1)
        tree.lmd.append(len(tree.labels) - 1 if first is None else first)
        return len(tree.labels) - 1

    def kids(data: Any) -> list[tuple[str, bool, Any]]:
        if isinstance(data, dict):
            return [(key, False, kids(value)) for key, value in data.items()]
        if isinstance(data, list) and all(isinstance(item, dict) for item in data):
            return [(SUBTREE, False, kids(item)) for item in data]
        if isinstance(data, list):
            return [(str(item), True, []) for item in data]
        raise ValueError(f"not a normalized Donut value: {data!r}")

    add(ROOT, False, kids(normalized))
    return tree


def tree_edit_distance(a: Tree, b: Tree) -> int:
    """Zhang–Shasha ordered tree edit distance with Donut's costs (same result as ``zss.distance``).

    Update costs: two leaves, their Levenshtein distance; a leaf and a key node, 1 + the leaf's
    length; two key nodes, 0 or 1 (same label or not). Insert/delete: a leaf's length, else 1.
    """
    al, bl, ac = a.lmd, b.lmd, a.cost
    alab, aleaf, blab, bleaf = a.labels, a.leaf, b.labels, b.leaf
    distance = Levenshtein.distance
    td = [[0] * len(bl) for _ in al]
    # Per keyroot of b: its first row (insert costs) and per column (index, node, cost, lmd offset, on path).
    b_keyroots = []
    for j in b.keyroots():
        lj = bl[j]
        first = [0]
        for jy in range(lj, j + 1):
            first.append(first[-1] + b.cost[jy])
        cols = [(y, jy, b.cost[jy], bl[jy] - lj, bl[jy] == lj) for y, jy in enumerate(range(lj, j + 1), 1)]
        b_keyroots.append((first, cols))
    for i in a.keyroots():
        li = al[i]
        for first, cols in b_keyroots:
            row = first
            fd = [row]
            for ix in range(li, i + 1):
                prev, delete = row, ac[ix]
                left = prev[0] + delete
                row = [left]
                fd.append(row)
                td_row = td[ix]
                if al[ix] == li:  # ix on the leftmost path: the subtree distances of its pairs are made here
                    before = fd[0]
                    for y, jy, insert, q, on_path in cols:
                        if on_path:
                            if aleaf[ix] and bleaf[jy]:
                                update = distance(alab[ix], blab[jy])
                            elif aleaf[ix] or bleaf[jy]:
                                update = 1 + (delete if aleaf[ix] else insert)
                            else:
                                update = alab[ix] != blab[jy]
                            left = min(prev[y] + delete, left + insert, prev[y - 1] + update)
                            td_row[jy] = left
                        else:
                            left = min(prev[y] + delete, left + insert, before[q] + td_row[jy])
                        row.append(left)
                else:
                    before = fd[al[ix] - li]
                    for y, jy, insert, q, _ in cols:
                        left = min(prev[y] + delete, left + insert, before[q] + td_row[jy])
                        row.append(left)
    return td[-1][-1]


def strip_common_ends(a: dict[str, Any], b: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Drop top-level items identical in both normalized dicts at the start and at the end.

    Exact for this distance: the roots always map to each other (same label, and any other
    mapping of a root costs more), and a forest that starts (or ends) with the same tree on both
    sides is as far apart as the rest: if the optimal mapping sent nodes of one copy elsewhere,
    following their twins in the other copy and the triangle inequality of Donut's costs gives a
    mapping of the rest that is no dearer. Checked against ``zss`` on random trees in the tests.
    """
    ai, bi = list(a.items()), list(b.items())
    start = 0
    while start < min(len(ai), len(bi)) and ai[start] == bi[start]:
        start += 1
    end = 0
    while end < min(len(ai), len(bi)) - start and ai[-1 - end] == bi[-1 - end]:
        end += 1
    return dict(ai[start:len(ai) - end]), dict(bi[start:len(bi) - end])


def ted_accuracy(truth: dict[str, Any], pred: dict[str, Any]) -> float:
    """Donut's nTED accuracy max(0, 1 - TED(pred, truth) / TED(empty, truth)), in [0, 1].

    TED(empty, truth) is the cost of inserting every node of the truth under the shared root,
    computed directly. An empty truth scores 1 when the prediction is empty too, else 0.
    """
    return _ted_accuracy(donut_normalize(truth), donut_normalize(pred))


def _ted_accuracy(t_norm: Any, p_norm: Any) -> float:
    if t_norm == p_norm:
        return 1.0
    from_empty = _insert_cost(t_norm)  # every node but the root, which maps to the empty root
    if from_empty == 0:
        return 0.0
    p_rest, t_rest = strip_common_ends(p_norm, t_norm)
    distance = tree_edit_distance(donut_tree(p_rest), donut_tree(t_rest))
    return max(0.0, 1 - distance / from_empty)


def _insert_cost(normalized: Any) -> int:
    """Cost of inserting every node below the root: 1 per key or list item, a leaf's length."""
    if isinstance(normalized, dict):
        return sum(1 + _insert_cost(v) for v in normalized.values())
    if all(isinstance(item, dict) for item in normalized):
        return sum(1 + _insert_cost(item) for item in normalized)
    return sum(len(item) for item in normalized)


def donut_scores(truth: dict[str, Any], pred: dict[str, Any]) -> tuple[int, int, int, float]:
    """(TP, FP, FN, nTED accuracy) of one document, normalizing each side once."""
    t_norm, p_norm = donut_normalize(truth), donut_normalize(pred)
    return (*_f1_counts(t_norm, p_norm), _ted_accuracy(t_norm, p_norm))
