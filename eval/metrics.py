"""The field's extraction metrics, one small function each, as their publications define them.

Values are compared leaf by leaf after ``flatten`` (dotted keys, list positions as indices).
A prediction that could not be parsed is passed as ``None`` and scored as documented per metric.
Donut's field F1 and tree-edit-distance accuracy live in ``eval.tree_edit``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from docfoundry.alignment import aligned
from docfoundry.normalize import normalized_equal
from docfoundry.records import flatten

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[+-]?\.\d+")


def is_empty(value: Any) -> bool:
    """A field with no value: missing (``None``) or blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# 1. Fuzzy score (the public receipt-extraction result: InternVL-2B 74.2 -> 95.4).

def fuzzy_field(truth_value: Any, pred_flat: Mapping[str, Any], key: str) -> float:
    """``fuzz.ratio(str(truth), str(pred.get(key, "")))``: 0-100, case-sensitive, no normalization."""
    return fuzz.ratio(str(truth_value), str(pred_flat.get(key, "")))


def fuzzy_score(truth: dict[str, Any], pred: dict[str, Any] | None) -> float | None:
    """A document's fuzzy score: the mean over its truth keys (``None`` when it has none).

    An unparseable prediction is ``{}``. The dataset score is the mean of this over documents.
    """
    t, p = flatten(truth), flatten(pred or {})
    if not t:
        return None
    return sum(fuzzy_field(v, p, k) for k, v in t.items()) / len(t)


# 2. Field accuracy (the Nova convention: fake W-2s, 51.9% -> 91.1%).

def as_number(value: Any) -> float | None:
    """A JSON number, or text that is a plain number (``"1,234.50"``, ``"-7"``); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value.strip()):
        return float(value.strip().replace(",", ""))
    return None


def nova_equal(truth_value: Any, pred_value: Any) -> bool:
    """Numbers (both sides numeric) within 0.1% relative (``|pred| < 0.1`` when truth is 0); else ``==``."""
    if type(truth_value) is type(pred_value) and truth_value == pred_value:  # the common case, fast
        return True
    t, p = as_number(truth_value), as_number(pred_value)
    if t is not None and p is not None:
        return abs(p) < 0.1 if t == 0 else abs(p - t) <= 0.001 * abs(t)
    return type(truth_value) is type(pred_value) and truth_value == pred_value  # JSON: true is not 1


def field_accuracy(truth: dict[str, Any], pred: dict[str, Any] | None) -> tuple[int, int]:
    """(correct, compared) over the union of flattened truth and predicted keys.

    A key on one side only is an error. A parse failure (``None``) makes every truth key wrong.
    Micro-average over documents: sum the correct counts, divide by the summed compared counts.
    List items are paired with the truth's by agreement (``docfoundry.alignment``), not by index.
    """
    t = flatten(truth)
    p = aligned(t, flatten(pred or {}), lambda _key, tv, pv: nova_equal(tv, pv))
    keys = t.keys() | p.keys()
    correct = sum(1 for k in keys if k in t and k in p and nova_equal(t[k], p[k]))
    return correct, len(keys)


# 3. Precision / recall / F1 per field (IDP convention and the strict variant).

OUTCOMES = ("tp", "fn", "false_alarm", "wrong", "tn")


def field_outcome(truth_value: Any, pred_value: Any, match: bool) -> str:
    """One field's outcome: ``tn`` (both empty), ``false_alarm`` (truth empty, value predicted),
    ``fn`` (truth has a value, none predicted), ``tp`` (match) or ``wrong`` (a different value)."""
    if is_empty(truth_value):
        return "tn" if is_empty(pred_value) else "false_alarm"
    if is_empty(pred_value):
        return "fn"
    return "tp" if match else "wrong"


@dataclass
class OutcomeCounts:
    """Counts of the five field outcomes; ``prf`` turns them into the two conventions."""

    tp: int = 0
    fn: int = 0
    false_alarm: int = 0
    wrong: int = 0
    tn: int = 0

    def add(self, outcome: str, n: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)

    def merge(self, other: OutcomeCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def prf(c: OutcomeCounts, strict: bool = False) -> dict[str, float | None]:
    """Precision, recall, F1, false-alarm rate and false-discovery rate.

    IDP convention: a wrong value is one FP. Strict: a wrong value is an FP *and* an FN.
    False-alarm rate = false alarms / empty truth fields; false-discovery rate = FP / (TP + FP).
    """
    fp = c.false_alarm + c.wrong
    fn = c.fn + (c.wrong if strict else 0)
    precision, recall = _ratio(c.tp, c.tp + fp), _ratio(c.tp, c.tp + fn)
    return {
        "precision": precision,
        "recall": recall,
        "f1": _ratio(2 * c.tp, 2 * c.tp + fp + fn),
        "false_alarm_rate": _ratio(c.false_alarm, c.false_alarm + c.tn),
        "false_discovery_rate": _ratio(fp, c.tp + fp),
    }


def field_outcomes(truth: dict[str, Any], pred: dict[str, Any] | None,
                   kind_of: Callable[[str], str] = lambda key: "text") -> OutcomeCounts:
    """Outcome counts of one document over the union of its truth and predicted keys.

    A value matches by the normalized exact match of its kind (``kind_of(dotted_key)``).
    """
    t, p = flatten(truth), flatten(pred or {})
    counts = OutcomeCounts()
    for k in t.keys() | p.keys():
        tv, pv = t.get(k), p.get(k)
        counts.add(field_outcome(tv, pv, normalized_equal(tv, pv, kind_of(k))))
    return counts


# 4. Normalized exact match (kind-aware: see docfoundry.normalize).

def normalized_exact_match(truth: dict[str, Any], pred: dict[str, Any] | None,
                           kind_of: Callable[[str], str] = lambda key: "text") -> tuple[int, int]:
    """(matches, truth keys): each truth key compared to the prediction by its schema kind."""
    t, p = flatten(truth), flatten(pred or {})
    return sum(1 for k, v in t.items() if normalized_equal(v, p.get(k), kind_of(k))), len(t)


# 5. ANLS (DocVQA): average normalized Levenshtein similarity with a 0.5 threshold.

def anls(pred: Any, answers: list[Any], threshold: float = 0.5) -> float:
    """Best over the reference answers of 1 - NL when NL < threshold, else 0.

    NL = Levenshtein distance / the longer length, after lower-casing and collapsing whitespace
    as the DocVQA evaluation does; two empty strings score 1.
    """
    p = " ".join(_text(pred).lower().split())
    best = 0.0
    for answer in answers:
        a = " ".join(_text(answer).lower().split())
        longest = max(len(a), len(p))
        nl = Levenshtein.distance(a, p) / longest if longest else 0.0
        best = max(best, 1 - nl if nl < threshold else 0.0)
    return best


def document_anls(truth: dict[str, Any], pred: dict[str, Any] | None) -> tuple[float, int]:
    """(sum of ANLS, truth keys): every truth key is a question whose answer is its value."""
    t, p = flatten(truth), flatten(pred or {})
    return sum(anls(p.get(k), [v]) for k, v in t.items()), len(t)


# 6. Key-value pair F1 (FUNSD entity linking scored on text: question -> answer pairs).

def fold_pair_text(text: Any) -> str:
    """Case-folded, whitespace-collapsed text without a trailing colon (``"Date :"`` -> ``"date"``)."""
    return " ".join(_text(text).split()).casefold().rstrip(": ")


@dataclass
class PairCounts:
    """Matched, predicted and truth pair counts (sum them over documents, then call ``prf``)."""

    matched: int = 0
    predicted: int = 0
    truth: int = 0
    questions_found: int = 0   # truth questions some predicted question matches, whatever its answer

    def merge(self, other: PairCounts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def prf(self) -> dict[str, float | None]:
        """Micro precision, recall and F1 over the summed counts."""
        return {"precision": _ratio(self.matched, self.predicted), "recall": _ratio(self.matched, self.truth),
                "f1": _ratio(2 * self.matched, self.predicted + self.truth)}


def _max_matching(edges: list[list[int]], n_right: int) -> int:
    """Size of a maximum bipartite matching (Kuhn's augmenting paths; forms have tens of pairs)."""
    owner = [-1] * n_right

    def augment(u: int, seen: list[bool]) -> bool:
        for v in edges[u]:
            if not seen[v]:
                seen[v] = True
                if owner[v] < 0 or augment(owner[v], seen):
                    owner[v] = u
                    return True
        return False

    return sum(augment(u, [False] * n_right) for u in range(len(edges)))


def pair_counts(truth: list[tuple[str, str]], pred: list[tuple[str, str]], threshold: float = 80) -> PairCounts:
    """One document's question -> answer pairs matched one to one.

    A predicted pair can match a truth pair when both its question and its answer have
    ``fuzz.ratio >= threshold`` against the truth's after ``fold_pair_text``; the matched count is
    the largest one-to-one assignment of such pairs.
    """
    t = [(fold_pair_text(q), fold_pair_text(a)) for q, a in truth]
    p = [(fold_pair_text(q), fold_pair_text(a)) for q, a in pred]
    q_close = [[fuzz.ratio(pq, tq) >= threshold for tq, _ in t] for pq, _ in p]
    edges = [[j for j, (_, ta) in enumerate(t) if q_close[i][j] and fuzz.ratio(pa, ta) >= threshold]
             for i, (_, pa) in enumerate(p)]
    found = sum(any(q_close[i][j] for i in range(len(p))) for j in range(len(t)))
    return PairCounts(_max_matching(edges, len(t)), len(p), len(t), found)


# 7. Validity.

def missing_and_hallucinated(truth: dict[str, Any], pred: dict[str, Any] | None) -> tuple[int, int]:
    """(missing, hallucinated): truth values the prediction lacks (absent or empty), and
    predicted values under keys the truth does not have at all."""
    t, p = flatten(truth), flatten(pred or {})
    missing = sum(1 for k, v in t.items() if not is_empty(v) and is_empty(p.get(k)))
    hallucinated = sum(1 for k, v in p.items() if k not in t and not is_empty(v))
    return missing, hallucinated


# 8. Bootstrap confidence intervals over documents.

def resampled_sums(columns: dict[str, Any], n_resamples: int = 1000, seed: int = 0) -> dict[str, Any] | None:
    """Per-resample sums of per-document columns, documents drawn with replacement.

    Returns the same names mapped to arrays of length ``n_resamples`` (``None`` if no documents).
    """
    import numpy as np

    names = list(columns)
    matrix = np.column_stack([np.asarray(columns[n], dtype=np.float64) for n in names])
    n = matrix.shape[0]
    if n == 0 or n_resamples <= 0:
        return None
    rng = np.random.default_rng(seed)
    sums = np.empty((n_resamples, len(names)))
    for start in range(0, n_resamples, 100):  # blocks keep the weight matrix small
        block = range(start, min(start + 100, n_resamples))
        weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in block])
        sums[block.start:block.stop] = weights @ matrix
    return {name: sums[:, i] for i, name in enumerate(names)}


def percentile_interval(values: Any, level: float = 0.95) -> tuple[float, float] | None:
    """The central ``level`` interval of the finite values (``None`` if there are none)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def bootstrap_ci(columns: dict[str, Any], statistic: Callable[[dict[str, Any]], Any],
                 n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic`` over documents.

    ``columns`` maps names to per-document arrays (numerators, denominators, counts);
    ``statistic`` receives the same names mapped to per-resample *sums*, so ratio metrics
    (micro averages, F1) are recomputed exactly in every resample.
    """
    import numpy as np

    sums = resampled_sums(columns, n_resamples, seed)
    if sums is None:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        return percentile_interval(statistic(sums), level)
