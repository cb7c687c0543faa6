"""Values drawn from a schema's rules (synth.values.schema) and the meta-schema that checks them."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from types_fixtures import PO_LAYOUTS, PURCHASE_ORDER, write_type

from docfoundry.checks import evaluate_checks
from docfoundry.doctypes import load_doc_type
from docfoundry.errors import UserError
from synth.locales import Locale
from synth.values import ValueContext, split_truth, values_for

REPO = Path(__file__).resolve().parents[1]


def load(tmp_path: Path, schema: dict, name: str = "purchase_order"):
    folder = write_type(tmp_path, name, schema, PO_LAYOUTS)
    load_doc_type.cache_clear()
    return load_doc_type(str(folder))


def draw(doc, seed: int, locale: str = "en_US"):
    return split_truth(values_for(doc, ValueContext(Locale(locale, seed), random.Random(seed))))


def test_purchase_order_values_follow_their_rules(tmp_path):
    doc = load(tmp_path, PURCHASE_ORDER)
    terms, phones, items = Counter(), 0, set()
    for seed in range(60):
        gt, typed = draw(doc, seed, ("en_US", "de_DE", "fr_FR")[seed % 3])
        doc.validate(gt)
        checks = evaluate_checks(doc, typed)
        assert len(checks) == len(gt["line_items"]) + 3 and all(c.holds for c in checks)
        assert dt.date.fromisoformat(typed["delivery_date"]) - dt.date.fromisoformat(typed["order_date"]) \
            in [dt.timedelta(days=d) for d in range(3, 46)]
        assert "2019-01-01" <= typed["order_date"] <= "2026-06-30"
        assert re.fullmatch(rf"PO-{typed['order_date'][:4]}-\d{{5}}|[A-Z]{{2}}\d{{6}}", gt["po_number"])
        assert all(re.fullmatch(r"[A-Z]{2}-\d{4}", i["sku"]) for i in gt["line_items"])
        assert all(1 <= float(i["quantity"]) <= 60 for i in typed["line_items"])
        assert gt["buyer"]["address"].count("\n") <= 2
        terms[gt["terms"]] += 1
        phones += "phone" in gt["supplier"]
        items.add(len(gt["line_items"]))
        if seed % 3 == 1:
            assert gt["currency"] == "EUR" and gt["subtotal"][-3] == ","
    assert terms.most_common(1)[0][0] == "Net 30" and set(terms) == {"Net 30", "Net 60", "Prepaid"}
    assert 25 < phones < 60  # optional with probability 0.3 of being left out
    assert items == set(range(1, 7))


def test_an_extension_key_of_another_tool_passes_a_near_miss_of_ours_does_not(tmp_path):
    ok = copy.deepcopy(PURCHASE_ORDER)
    ok["properties"]["po_number"]["x-print-labels"] = ["PO"]  # not docfoundry's: left alone
    assert load(tmp_path, ok).leaf("po_number") is not None
    with pytest.raises(UserError, match="unknown key 'x-lables'"):
        load(tmp_path, broken("po_number", "x-lables", ["PO"]))


def test_tax_rate_is_the_regime_in_force_on_the_document_date(tmp_path):
    from synth.locales import tax_regime

    doc = load(tmp_path, PURCHASE_ORDER)
    rates = set()
    for seed in range(40):
        _, typed = draw(doc, seed, "en_MS")  # Malaysia: GST 6%, a 0% holiday in 2018, then SST
        when = dt.date.fromisoformat(typed["order_date"])
        rate = str(typed["tax_rate"]).removesuffix(".0")
        assert rate in tax_regime("MY", when).rates, (when, rate)
        rates.add(rate)
    assert len(rates) >= 2


def test_derived_values_are_checks_that_catch_a_wrong_total(tmp_path):
    doc = load(tmp_path, PURCHASE_ORDER)
    gt, typed = draw(doc, 5)
    typed["total"] = float(typed["total"]) + 1
    failing = [c.name for c in evaluate_checks(doc, typed) if not c.holds]
    assert failing == ["total"]


def test_same_seed_same_document_across_processes(tmp_path):
    write_type(tmp_path, "purchase_order", PURCHASE_ORDER, PO_LAYOUTS)
    code = ("import json, random, sys; from docfoundry.doctypes import load_doc_type; "
            "from synth.locales import Locale; from synth.values import ValueContext, split_truth, values_for; "
            "doc = load_doc_type('purchase_order'); "
            "print(json.dumps([split_truth(values_for(doc, ValueContext(Locale(l, s), random.Random(s)))) "
            "for s in range(8) for l in ('en_US', 'it_IT')]))")
    outs = []
    for hashseed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed, "DOCFOUNDRY_TEMPLATES": str(tmp_path)}
        outs.append(subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True,
                                   text=True, check=True).stdout)
    assert outs[0] == outs[1] and len(json.loads(outs[0])) == 16


def broken(path: str, key: str, value) -> dict:
    schema = copy.deepcopy(PURCHASE_ORDER)
    node = schema
    for part in path.split("."):
        node = node["items"] if part == "[]" else node["properties"][part]
    if value is None:
        node.pop(key)
    else:
        node[key] = value
    return schema


@pytest.mark.parametrize(("path", "key", "value", "needle"), [
    ("buyer.name", "x-fakr", {"provider": "company"}, "unknown key 'x-fakr' (did you mean 'x-faker'?"),
    ("notes", "x-optional", 1.5, "x-optional 1.5"),
    ("subtotal", "x-derive", "sum(line_items[].amout)", "names 'line_items[].amout'"),
    ("subtotal", "x-derive", "total(a, b)", "x-derive"),
    ("delivery_date", "x-after", "po_number", "x-after 'po_number' is not a date field"),
    ("po_number", "x-optional", 0.2, "x-optional on a field its parent lists in 'required'"),
    ("po_number", "x-pattern", "PO-{yeer}", "{yeer}"),
    ("terms", "x-weights", [1, 2], "one weight per x-choices"),
    ("order_date", "x-days", [1], "x-days"),
])
def test_a_mistake_is_one_line_naming_file_field_and_key(tmp_path, path, key, value, needle):
    with pytest.raises(UserError) as e:
        load(tmp_path, broken(path, key, value))
    msg = str(e.value)
    assert needle in msg and str(tmp_path / "purchase_order" / "schema.json") in msg, msg
    assert f"field '{path}" in msg and "\n" not in msg


@pytest.mark.parametrize(("path", "key", "value", "needle"), [
    ("buyer.name", "x-faker", "compnay", "provider 'compnay' is not a Faker provider"),
    ("terms", "x-choices", None, "field 'terms' has no draw rule"),
    ("order_date", "x-range", ["2020-05-01", "2019-01-01"], "is not [earliest, latest] ISO dates"),
    ("line_items.[].quantity", "x-range", ["1", "x"], "is not [low, high] numbers"),
    ("po_number", "maxLength", 3, "a value its draw rules made breaks the schema"),
])
def test_synth_refuses_an_undrawable_leaf_with_exit_2(tmp_path, monkeypatch, capsys, path, key, value, needle):
    from docfoundry.cli import main
    from synth.layout import load_layouts

    schema = broken(path, key, value)
    if key == "x-choices":
        schema["properties"]["terms"].pop("x-weights")
    write_type(tmp_path / "tpl", "purchase_order", schema, PO_LAYOUTS)
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(tmp_path / "tpl"))
    load_doc_type.cache_clear()
    load_layouts.cache_clear()
    code = main(["synth", "--doc-types", "purchase_order", "--n", "2", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    load_doc_type.cache_clear()
    errors = [line for line in err.splitlines() if line.startswith("error:")]  # the progress bar may be up
    assert code == 2 and len(errors) == 1 and needle in errors[0] and "schema.json" in errors[0], err
    assert path.replace(".[]", "[]") in err or key == "maxLength"


def test_builtin_invoice_schema_draws_valid_invoices_on_the_generic_path(tmp_path):
    from docfoundry.doctypes import templates_root

    schema = json.loads((templates_root() / "invoice" / "schema.json").read_text())
    doc = load(tmp_path, {**schema, "x-values": "schema"}, "invoice_generic")
    for seed in range(20):
        gt, typed = draw(doc, seed, ("en_US", "de_DE")[seed % 2])
        doc.validate(gt)
        assert all(c.holds for c in evaluate_checks(doc, typed))
        assert typed["due_date"] >= typed["invoice_date"]
