"""Score predictions against truth: every metric per document, then per field, per category,
per document type and overall, with bootstrap confidence intervals for the headline numbers.

Headline numbers are on a 0-100 scale. Per-field and per-category numbers are micro averages over
(document, truth key) pairs; the fuzzy score's headline is its published macro average (mean over
documents of the mean over truth keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from docfoundry.adapters import FieldHint, TruthRecord
from docfoundry.alignment import aligned
from docfoundry.doctypes import DocType, available, load_doc_type, path_pattern
from docfoundry.normalize import normalized_equal
from docfoundry.predictions import Prediction
from docfoundry.records import flatten
from eval.fieldmap import without
from eval.metrics import (
    OutcomeCounts,
    anls,
    field_outcome,
    fuzzy_field,
    is_empty,
    nova_equal,
    percentile_interval,
    prf,
    resampled_sums,
)
from eval.tree_edit import donut_scores

NOT_IN_SCHEMA = "(not in schema)"
DEFAULT_CATEGORY = "fields"


@cache
def schema_for(doc_type: str) -> DocType | None:
    """The document type's schema when there is one (a template name or a schema path)."""
    if doc_type in available() or Path(doc_type).suffix == ".json" or Path(doc_type, "schema.json").is_file():
        return load_doc_type(doc_type)
    return None


@dataclass(frozen=True)
class FieldInfo:
    """Where a value's scores are filed: its schema pattern, category and kind."""

    pattern: str
    category: str
    kind: str


class FieldCatalog:
    """Field info from the document type's schema, else the adapter's hint, else a default
    (the top-level key for nested truth, ``fields`` for flat truth; kind ``text``)."""

    def __init__(self, hints: dict[str, FieldHint] | None = None) -> None:
        self.hints = hints or {}
        self._cache: dict[tuple[str, str], FieldInfo] = {}

    def info(self, doc_type: str, key: str) -> FieldInfo:
        found = self._cache.get((doc_type, key))
        if found is None:
            found = self._cache[(doc_type, key)] = self._resolve(doc_type, key)
        return found

    def _resolve(self, doc_type: str, key: str) -> FieldInfo:
        pattern = path_pattern(key)
        schema = schema_for(doc_type)
        if schema is not None:
            leaf = schema.leaf(key)
            return FieldInfo(pattern, leaf.category if leaf else NOT_IN_SCHEMA, leaf.kind if leaf else "text")
        hint = self.hints.get(doc_type)
        found = hint(pattern) if hint else None
        if found:
            return FieldInfo(pattern, *found)
        top = pattern.split(".")[0].removesuffix("[]")
        return FieldInfo(pattern, top if top != pattern else DEFAULT_CATEGORY, "text")


@dataclass
class FieldTally:
    """Sums for one field (or category): truth-key metrics plus the outcome counts."""

    n_truth: int = 0
    fuzzy: float = 0.0
    accurate: int = 0
    exact: int = 0
    anls: float = 0.0
    outcomes: OutcomeCounts = field(default_factory=OutcomeCounts)

    def merge(self, other: FieldTally) -> None:
        self.n_truth += other.n_truth
        self.fuzzy += other.fuzzy
        self.accurate += other.accurate
        self.exact += other.exact
        self.anls += other.anls
        self.outcomes.merge(other.outcomes)

    def summary(self) -> dict[str, Any]:
        """Scores on a 0-100 scale (``None`` where there is nothing to average)."""
        n = self.n_truth
        idp, strict = prf(self.outcomes), prf(self.outcomes, strict=True)
        return {
            "n_truth": n,
            "fuzzy": _pct(self.fuzzy / 100, n),
            "field_accuracy": _pct(self.accurate, n),
            "exact_match": _pct(self.exact, n),
            "anls": _pct(self.anls, n),
            "f1": _scale(idp["f1"]),
            "precision": _scale(idp["precision"]),
            "recall": _scale(idp["recall"]),
            "strict_f1": _scale(strict["f1"]),
            "false_alarm_rate": _scale(idp["false_alarm_rate"]),
            "outcomes": asdict(self.outcomes),
        }


def _pct(num: float, den: float) -> float | None:
    return round(100 * num / den, 4) if den else None


def _scale(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 4)


@dataclass
class DocScore:
    """Every metric's per-document numbers (numerators and denominators, so they can be summed)."""

    id: str
    doc_type: str
    has_prediction: bool
    parsed: bool
    schema_valid: bool | None
    n_truth: int
    fuzzy: float | None
    accurate: int
    compared: int
    exact: int
    anls: float
    outcomes: OutcomeCounts
    donut_tp: int
    donut_fp: int
    donut_fn: int
    ted_accuracy: float
    missing: int
    hallucinated: int
    latency_s: float | None = None

    @property
    def field_accuracy(self) -> float:
        return self.accurate / self.compared if self.compared else 1.0


def _schema_valid(doc_type: str, fields: dict[str, Any] | None) -> bool | None:
    schema = schema_for(doc_type)
    if schema is None or fields is None:
        return None
    try:
        schema.validate(fields)
    except ValueError:
        return False
    return True


def _tally(tallies: dict[tuple[str, str], FieldTally], doc_type: str, pattern: str) -> FieldTally:
    found = tallies.get((doc_type, pattern))
    if found is None:
        found = tallies[(doc_type, pattern)] = FieldTally()
    return found


def score_document(truth: TruthRecord, pred: Prediction | None, catalog: FieldCatalog,
                   tallies: dict[tuple[str, str], FieldTally], *, schema_check: bool = True,
                   unjudged: set[str] | None = None) -> DocScore:
    """All metrics of one page; adds its per-field sums to ``tallies[(doc_type, pattern)]``.

    ``unjudged``: schema field patterns the truth set never labels (real truth labels some fields
    only); predicted values of those are not scored (schema validity still sees the whole prediction).
    """
    fields = pred.fields if pred is not None else None
    scored_fields = without(fields, unjudged) if unjudged else fields
    doc_type = truth.doc_type
    t = flatten(truth.fields)
    # list items paired with the truth's by agreement, not by index (one spurious item shifts none)
    p = aligned(t, flatten(scored_fields or {}),
                lambda key, tv, pv: normalized_equal(tv, pv, catalog.info(doc_type, key).kind))
    outcomes = OutcomeCounts()
    fuzzy_sum = anls_sum = 0.0
    accurate = exact = missing = hallucinated = 0
    for key, tv in t.items():
        info = catalog.info(doc_type, key)
        tally = _tally(tallies, doc_type, info.pattern)
        pv = p.get(key)
        fz = fuzzy_field(tv, p, key)
        ok = key in p and nova_equal(tv, pv)
        same = normalized_equal(tv, pv, info.kind)
        similarity = anls(pv, [tv])
        outcome = field_outcome(tv, pv, same)
        fuzzy_sum += fz
        anls_sum += similarity
        accurate += ok
        exact += same
        missing += not is_empty(tv) and is_empty(pv)
        tally.n_truth += 1
        tally.fuzzy += fz
        tally.accurate += ok
        tally.exact += same
        tally.anls += similarity
        tally.outcomes.add(outcome)
        outcomes.add(outcome)
    for key in p.keys() - t.keys():  # predicted keys the truth lacks: errors, false alarms
        pv = p[key]
        tally = _tally(tallies, doc_type, catalog.info(doc_type, key).pattern)
        outcome = field_outcome(None, pv, False)
        tally.outcomes.add(outcome)
        outcomes.add(outcome)
        hallucinated += not is_empty(pv)
    tp, fp, fn, ted = donut_scores(truth.fields, scored_fields or {})
    return DocScore(
        id=truth.id, doc_type=doc_type, has_prediction=pred is not None,
        parsed=fields is not None,
        schema_valid=_schema_valid(doc_type, fields) if schema_check else None,
        n_truth=len(t), fuzzy=fuzzy_sum / len(t) if t else None,
        accurate=accurate, compared=len(t.keys() | p.keys()), exact=exact, anls=anls_sum,
        outcomes=outcomes, donut_tp=tp, donut_fp=fp, donut_fn=fn,
        ted_accuracy=ted,
        missing=missing, hallucinated=hallucinated,
        latency_s=pred.latency_s if pred is not None else None,
    )


# Headline metrics: per-document columns to sum, and the statistic over the sums (0-100).
def _f1(s: dict[str, Any], strict: bool) -> Any:
    fp = s["false_alarm"] + s["wrong"]
    fn = s["fn"] + (s["wrong"] if strict else 0)
    return 100 * 2 * s["tp"] / (2 * s["tp"] + fp + fn)


HEADLINE: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "fuzzy": ("fuzzy score (mean over documents of mean rapidfuzz ratio over truth keys)",
              lambda s: s["fuzzy"] / s["has_fuzzy"]),
    "field_accuracy": ("field accuracy (Nova: union of keys, numbers within 0.1%)",
                       lambda s: 100 * s["accurate"] / s["compared"]),
    "f1": ("F1, IDP convention (a wrong value is one FP)", lambda s: _f1(s, strict=False)),
    "strict_f1": ("F1, strict (a wrong value is an FP and an FN)", lambda s: _f1(s, strict=True)),
    "exact_match": ("normalized exact match over truth keys", lambda s: 100 * s["exact"] / s["n_truth"]),
    "anls": ("ANLS over truth keys (threshold 0.5)", lambda s: 100 * s["anls"] / s["n_truth"]),
    "donut_f1": ("Donut field F1 over (key, value) pairs",
                 lambda s: 100 * s["donut_tp"] / (s["donut_tp"] + (s["donut_fp"] + s["donut_fn"]) / 2)),
    "ted_accuracy": ("tree-edit-distance accuracy (Donut nTED)", lambda s: 100 * s["ted"] / s["docs"]),
    "parse_rate": ("predictions that parsed as JSON", lambda s: 100 * s["parsed"] / s["has_prediction"]),
    "schema_valid_rate": ("parsed predictions valid against the schema",
                          lambda s: 100 * s["schema_valid"] / s["schema_checked"]),
}


def document_columns(docs: list[DocScore]) -> dict[str, list[float]]:
    """The per-document numbers the headline statistics sum."""
    return {
        "docs": [1.0] * len(docs),
        "fuzzy": [d.fuzzy or 0.0 for d in docs],
        "has_fuzzy": [float(d.fuzzy is not None) for d in docs],
        "accurate": [d.accurate for d in docs],
        "compared": [d.compared for d in docs],
        "exact": [d.exact for d in docs],
        "anls": [d.anls for d in docs],
        "n_truth": [d.n_truth for d in docs],
        "tp": [d.outcomes.tp for d in docs],
        "fn": [d.outcomes.fn for d in docs],
        "false_alarm": [d.outcomes.false_alarm for d in docs],
        "wrong": [d.outcomes.wrong for d in docs],
        "donut_tp": [d.donut_tp for d in docs],
        "donut_fp": [d.donut_fp for d in docs],
        "donut_fn": [d.donut_fn for d in docs],
        "ted": [d.ted_accuracy for d in docs],
        "parsed": [float(d.parsed) for d in docs],
        "has_prediction": [float(d.has_prediction) for d in docs],
        "schema_valid": [float(bool(d.schema_valid)) for d in docs],
        "schema_checked": [float(d.schema_valid is not None) for d in docs],
    }


def headline(docs: list[DocScore], n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Each headline metric with its 95% bootstrap interval over documents (0-100 scale)."""
    import numpy as np

    cols = document_columns(docs)
    sums = {k: sum(v) for k, v in cols.items()}
    resampled = resampled_sums(cols, n_resamples, seed) if n_resamples else None
    out: dict[str, Any] = {}
    for name, (description, stat) in HEADLINE.items():
        try:
            value: float | None = round(float(stat(sums)), 4)
        except ZeroDivisionError:
            value = None
        ci = None
        if value is not None and resampled is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                ci = percentile_interval(stat(resampled))
        out[name] = {"value": value, "ci95": [round(ci[0], 4), round(ci[1], 4)] if ci else None,
                     "description": description}
    idp = prf(_sum_outcomes(docs))
    for rate in ("precision", "recall", "false_alarm_rate", "false_discovery_rate"):
        out[rate] = {"value": _scale(idp[rate]), "ci95": None, "description": f"{rate.replace('_', ' ')} (IDP)"}
    return out


def _sum_outcomes(docs: list[DocScore]) -> OutcomeCounts:
    total = OutcomeCounts()
    for d in docs:
        total.merge(d.outcomes)
    return total


def validity(docs: list[DocScore]) -> dict[str, Any]:
    """Counts behind the validity rates."""
    return {
        "documents": len(docs),
        "with_prediction": sum(d.has_prediction for d in docs),
        "parsed": sum(d.parsed for d in docs),
        "parse_failures": sum(d.has_prediction and not d.parsed for d in docs),
        "schema_checked": sum(d.schema_valid is not None for d in docs),
        "schema_valid": sum(bool(d.schema_valid) for d in docs),
        "missing_fields": sum(d.missing for d in docs),
        "hallucinated_fields": sum(d.hallucinated for d in docs),
    }


def group_tallies(tallies: dict[tuple[str, str], FieldTally], catalog: FieldCatalog) -> dict[str, Any]:
    """Per-field and per-category summaries, grouped by document type."""
    fields: dict[str, dict[str, Any]] = {}
    categories: dict[str, dict[str, FieldTally]] = {}
    for (doc_type, pattern), tally in sorted(tallies.items()):
        info = catalog.info(doc_type, pattern)
        fields.setdefault(doc_type, {})[pattern] = {"category": info.category, "kind": info.kind, **tally.summary()}
        categories.setdefault(doc_type, {}).setdefault(info.category, FieldTally()).merge(tally)
    return {t: {"fields": fields[t], "categories": {c: x.summary() for c, x in sorted(categories[t].items())}}
            for t in fields}


def overall_categories(tallies: dict[tuple[str, str], FieldTally], catalog: FieldCatalog) -> dict[str, Any]:
    """Per-category summaries over all document types together."""
    merged: dict[str, FieldTally] = {}
    for (doc_type, pattern), tally in tallies.items():
        merged.setdefault(catalog.info(doc_type, pattern).category, FieldTally()).merge(tally)
    return {c: t.summary() for c, t in sorted(merged.items())}


@dataclass
class Scored:
    """Everything the report needs: per-document scores, per-field sums, and what did not match."""

    docs: list[DocScore]
    tallies: dict[tuple[str, str], FieldTally]
    catalog: FieldCatalog
    unknown_prediction_ids: list[str]
    missing_prediction_ids: list[str]
    outside_selection: int = 0


def score_all(records: list[TruthRecord], predictions: dict[str, Prediction],
              hints: dict[str, FieldHint] | None = None, *, known_ids: set[str] | None = None,
              schema_check: bool = True, unjudged: dict[str, set[str]] | None = None) -> Scored:
    """Score every truth record; a truth id without a prediction is scored as an empty one.

    ``known_ids`` are all truth ids before a split or limit was applied: predictions for those are
    outside the selection, not unknown. ``unjudged``: per document type, the schema fields no truth
    record labels (``eval.fieldmap.unlabeled_fields``): predictions of them are not scored.
    """
    catalog = FieldCatalog(hints)
    tallies: dict[tuple[str, str], FieldTally] = {}
    docs = [score_document(r, predictions.get(r.id), catalog, tallies, schema_check=schema_check,
                           unjudged=(unjudged or {}).get(r.doc_type))
            for r in records]
    selected = {r.id for r in records}
    known = selected | (known_ids or set())
    return Scored(
        docs=docs, tallies=tallies, catalog=catalog,
        unknown_prediction_ids=sorted(i for i in predictions if i not in known),
        missing_prediction_ids=[r.id for r in records if r.id not in predictions],
        outside_selection=sum(1 for i in predictions if i in known and i not in selected),
    )


def summarize(scored: Scored, n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The machine-readable metrics: overall, per document type, per category and per field."""
    by_type_docs: dict[str, list[DocScore]] = {}
    for d in scored.docs:
        by_type_docs.setdefault(d.doc_type, []).append(d)
    grouped = group_tallies(scored.tallies, scored.catalog)
    overall = headline(scored.docs, n_resamples, seed)
    return {
        "overall": overall,
        "validity": validity(scored.docs),
        "categories": overall_categories(scored.tallies, scored.catalog),
        "doc_types": {
            t: {"documents": len(ds),
                "headline": overall if len(ds) == len(scored.docs) else headline(ds, n_resamples, seed),
                "validity": validity(ds), **grouped.get(t, {"fields": {}, "categories": {}})}
            for t, ds in sorted(by_type_docs.items())
        },
        "matching": {
            "truth_documents": len(scored.docs),
            "predictions_for_unknown_ids": len(scored.unknown_prediction_ids),
            "unknown_ids_sample": scored.unknown_prediction_ids[:20],
            "predictions_outside_split_or_limit": scored.outside_selection,
            "truth_without_prediction": len(scored.missing_prediction_ids),
            "missing_ids_sample": scored.missing_prediction_ids[:20],
        },
    }
