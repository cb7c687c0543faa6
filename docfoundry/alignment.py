"""One alignment of list items between a prediction and its truth, for every score that compares
flat paths (``line_items.2.amount``): scored by index, one spurious item near the top shifts every
later one and the page scores ~0. Predicted items are matched one to one to truth items maximizing
agreement (``scipy.optimize.linear_sum_assignment``), nested lists too, and the prediction's paths
are re-indexed to the truth's; ties keep positions, so an in-order prediction keeps today's pairing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Equal = Callable[[str, Any, Any], bool]  # (truth path, truth value, predicted value) -> same?

_TIE = 1e-9  # per index of distance: far below one leaf's share of agreement, so it only breaks ties


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p != "")


def _split(flat: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[int, dict[str, Any]]]]:
    """Paths outside any list, and per outermost list prefix its items as ``{index: {rest: value}}``."""
    plain: dict[str, Any] = {}
    lists: dict[str, dict[int, dict[str, Any]]] = {}
    for path, value in flat.items():
        parts = path.split(".")
        at = next((i for i, part in enumerate(parts) if part.isdigit()), None)
        if at is None:
            plain[path] = value
            continue
        prefix, rest = ".".join(parts[:at]), ".".join(parts[at + 1:])
        lists.setdefault(prefix, {}).setdefault(int(parts[at]), {})[rest] = value
    return plain, lists


def _agreement(truth: Mapping[str, Any], pred: Mapping[str, Any], equal: Equal) -> float:
    """Share of the union of leaves that are equal (a leaf on one side only is compared to ``None``)."""
    keys = truth.keys() | pred.keys()
    return sum(equal(k, truth.get(k), pred.get(k)) for k in keys) / len(keys) if keys else 1.0


def _within(equal: Equal, item: str) -> Equal:
    """``equal`` on paths relative to one truth item (its kind lookups still see the whole path)."""
    return lambda rest, tv, pv: equal(_join(item, rest), tv, pv)


def _renamed(flat: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    return {names[k]: v for k, v in flat.items()}


def align_paths(truth: Mapping[str, Any], pred: Mapping[str, Any], equal: Equal) -> dict[str, str]:
    """For each predicted flat path, the path it has in the truth's numbering of list items.

    Each list (by its path prefix, nested lists within matched items) pairs its predicted items one to
    one with truth items maximizing the summed agreement (share of an item's leaves that ``equal``);
    unpaired predicted items take indices after the truth's last, so they stay extra.
    """
    from scipy.optimize import linear_sum_assignment

    plain, pred_lists = _split(pred)
    names = {k: k for k in plain}
    _, truth_lists = _split(truth)
    for prefix, p_items in pred_lists.items():
        t_items = truth_lists.get(prefix, {})
        t_idx, p_idx = sorted(t_items), sorted(p_items)
        inner: dict[tuple[int, int], dict[str, str]] = {}
        cost = [[0.0] * len(p_idx) for _ in t_idx]
        for a, ti in enumerate(t_idx):
            at = _within(equal, _join(prefix, str(ti)))
            for b, pj in enumerate(p_idx):
                inner[ti, pj] = align_paths(t_items[ti], p_items[pj], at)
                score = _agreement(t_items[ti], _renamed(p_items[pj], inner[ti, pj]), at)
                cost[a][b] = -score + _TIE * abs(a - b)
        rows, cols = linear_sum_assignment(cost) if t_idx and p_idx else ([], [])
        target = {p_idx[b]: t_idx[a] for a, b in zip(rows, cols)}
        spare = (max(t_idx) + 1) if t_idx else 0
        for pj in p_idx:
            if pj not in target:
                target[pj], spare = spare, spare + 1
            rest_names = inner.get((target[pj], pj)) or {r: r for r in p_items[pj]}
            for rest in p_items[pj]:
                names[_join(prefix, str(pj), rest)] = _join(prefix, str(target[pj]), rest_names[rest])
    return names


def aligned(truth: Mapping[str, Any], pred: Mapping[str, Any], equal: Equal,
            value_of: Callable[[Any], Any] = lambda v: v) -> dict[str, Any]:
    """``pred`` (flat) with its keys re-indexed to the truth's list items (``align_paths``); its values
    are kept as they are (``value_of`` reads the comparable value out of each, e.g. a label report's)."""
    names = align_paths(truth, {k: value_of(v) for k, v in pred.items()}, equal)
    return {names[k]: v for k, v in pred.items()}
