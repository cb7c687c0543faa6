"""List items are scored by agreement, not by index: one spurious item near the top of a
prediction must not make every later item wrong (label audit and eval's field accuracy)."""

from __future__ import annotations

from typing import Any

import pytest

from distill.label.scores import audit_scores
from docfoundry.adapters import TruthRecord
from docfoundry.alignment import align_paths
from docfoundry.doctypes import load_doc_type
from docfoundry.normalize import normalized_equal
from docfoundry.predictions import Prediction
from docfoundry.records import flatten
from eval.metrics import field_accuracy
from eval.score import FieldCatalog, score_document

PAIRS = [("Name", "Ada Lovelace"), ("Date", "1843-07-01"), ("Dept", "Analysis"), ("Phone", "555-0100")]
TRUTH = {"title": "Request", "fields": [{"question": q, "answer": a} for q, a in PAIRS]}
SPURIOUS = {"question": "Letterhead Inc", "answer": "PAGE 3"}


def _form(items: list[dict[str, str]]) -> dict[str, Any]:
    return {"title": "Request", "fields": items}


def _report(pred: dict[str, Any], confidence: float = 0.9) -> dict[str, dict[str, Any]]:
    return {k: {"value": v, "confidence": confidence} for k, v in flatten(pred).items()}


def _audit(pred_report: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return audit_scores(load_doc_type("form"), {"p": flatten(TRUTH)}, {"p": pred_report}, set())


def _same(_path: str, t: Any, p: Any) -> bool:
    return normalized_equal(t, p)


def test_spurious_item_at_the_top_shifts_nothing_in_the_audit() -> None:
    pred = _form([SPURIOUS, *TRUTH["fields"]])
    scores = _audit(_report(pred))
    assert scores["field_accuracy"] == 1.0           # every truth field found (by index: title only)
    assert scores["per_field"]["fields[].answer"] == {"accuracy": 1.0, "n": 4}
    # the spurious item stays extra: its two fields are wrong where predicted fields count
    assert scores["per_confidence_bucket"]["0.9-1.0"] == {"accuracy": round(9 / 11, 4), "n": 11}


def test_items_in_another_order_score_right() -> None:
    pred = _form(list(reversed(TRUTH["fields"])))
    assert _audit(_report(pred))["field_accuracy"] == 1.0


def test_in_order_prediction_scores_as_by_index() -> None:
    wrong = [dict(i) for i in TRUTH["fields"]]
    wrong[1]["answer"] = "1843-07-02"                                  # a value wrong, order kept
    pred = _form(wrong[:3])                                            # and the last item missed
    scores = _audit(_report(pred))
    assert scores["field_accuracy"] == round(6 / 9, 4)
    assert align_paths(flatten(TRUTH), flatten(pred), _same) == {k: k for k in flatten(pred)}


def test_each_field_keeps_its_own_confidence_after_reindexing() -> None:
    report = _report(_form([SPURIOUS, *TRUTH["fields"]]), confidence=0.95)
    for k in ("fields.0.question", "fields.0.answer"):               # the spurious item: unsure
        report[k]["confidence"] = 0.35
    buckets = _audit(report)["per_confidence_bucket"]
    assert buckets["0.3-0.4"] == {"accuracy": 0.0, "n": 2}
    assert buckets["0.9-1.0"] == {"accuracy": 1.0, "n": 9}


def test_unmatched_predicted_items_take_indices_after_the_truths() -> None:
    truth = {"items": [{"a": "x"}]}
    names = align_paths(flatten(truth), {"items.0.a": "junk", "items.1.a": "x", "items.2.a": "other"}, _same)
    assert names["items.1.a"] == "items.0.a"
    assert sorted([names["items.0.a"], names["items.2.a"]]) == ["items.1.a", "items.2.a"]


def test_nested_lists_align_inside_their_matched_item() -> None:
    truth = {"groups": [{"name": "g1", "tags": ["a", "b"]}, {"name": "g2", "tags": ["c"]}]}
    pred = {"groups": [{"name": "g2", "tags": ["c"]}, {"name": "g1", "tags": ["zz", "a", "b"]}]}
    names = align_paths(flatten(truth), flatten(pred), _same)
    assert names["groups.0.name"] == "groups.1.name"
    assert names["groups.1.tags.1"] == "groups.0.tags.0"
    assert names["groups.1.tags.2"] == "groups.0.tags.1"
    assert names["groups.1.tags.0"] == "groups.0.tags.2"


INVOICE_ITEMS = [{"description": d, "quantity": "1", "unit_price": a, "amount": a}
                 for d, a in [("Bolts", "4.00"), ("Nuts", "2.50"), ("Washers", "1.25")]]


def test_eval_field_accuracy_pairs_items_by_agreement() -> None:
    truth = {"total": "7.75", "line_items": INVOICE_ITEMS}
    spurious = {"description": "Page 1 of 1", "quantity": "", "unit_price": "", "amount": ""}
    assert field_accuracy(truth, {"total": "7.75", "line_items": [spurious, *INVOICE_ITEMS]}) == (13, 17)
    assert field_accuracy(truth, {"total": "7.75", "line_items": INVOICE_ITEMS[::-1]}) == (13, 13)
    assert field_accuracy(truth, {"total": "7.75", "line_items": INVOICE_ITEMS[:2]}) == (9, 13)


@pytest.mark.parametrize("items, accurate", [
    ([{"description": "Page 1 of 1", "quantity": "", "unit_price": "", "amount": ""}, *INVOICE_ITEMS], 13),
    (INVOICE_ITEMS[::-1], 13),
    (INVOICE_ITEMS[:2], 9),
])
def test_eval_score_document_pairs_items_by_agreement(items: list[dict[str, str]], accurate: int) -> None:
    truth = TruthRecord(id="i", image="", split="test", doc_type="invoice",
                        fields={"total": "7.75", "line_items": INVOICE_ITEMS})
    pred = Prediction(id="i", fields={"total": "7.75", "line_items": items})
    doc = score_document(truth, pred, FieldCatalog(), {}, schema_check=False)
    assert (doc.accurate, doc.exact) == (accurate, accurate)


def test_alignment_is_the_same_in_any_process() -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    # ties everywhere: two identical spurious items, reversed truth items, a nested list
    code = ("import json; from docfoundry.alignment import align_paths; from docfoundry.records import flatten\n"
            "t = {'a': [{'x': '1', 'y': ['p', 'q']}, {'x': '2', 'y': []}, {'x': '1', 'y': ['q']}]}\n"
            "p = {'a': [{'x': '9'}, {'x': '9'}, {'x': '1', 'y': ['q', 'p']}, {'x': '2'}, {'x': '1'}]}\n"
            "print(json.dumps(align_paths(flatten(t), flatten(p), lambda k, a, b: a == b), sort_keys=True))")
    repo = str(Path(__file__).resolve().parents[1])
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": repo}).stdout
            for seed in ("1", "2")}
    assert len(outs) == 1
    names = json.loads(outs.pop())
    assert names["a.2.x"] == "a.0.x" and names["a.3.x"] == "a.1.x" and names["a.4.x"] == "a.2.x"
    assert names["a.2.y.0"] == "a.0.y.1" and names["a.2.y.1"] == "a.0.y.0"
