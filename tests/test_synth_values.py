"""Values are internally consistent and valid against their schema, for every type and locale."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import jsonschema
import pytest

from docfoundry.doctypes import available, load_doc_type
from docfoundry.records import flatten
from synth.locales import SUPPORTED, Locale, money_round
from synth.values import ValueContext, make_values, split_truth
from synth.values.w2 import SS_WAGE_BASE, medicare_tax

N = 40


def values(doc_type: str, seed: int, locale: str = "en_US"):
    ctx = ValueContext(Locale(locale, seed), random.Random(seed))
    return split_truth(make_values(load_doc_type(doc_type).values_module, ctx))


def D(x) -> Decimal:
    return Decimal(str(x))


def test_builtin_types_and_schemas_are_valid():
    assert {"invoice", "receipt", "w2", "form"} <= set(available())
    for name in ("invoice", "receipt", "w2", "form"):
        doc = load_doc_type(name)
        jsonschema.Draft202012Validator.check_schema(doc.schema)
        assert doc.leaves and all(leaf.category for leaf in doc.leaves)
        assert len(doc.layout_files()) >= 6, f"{name}: fewer than 6 layouts"


@pytest.mark.parametrize("locale", SUPPORTED)
def test_invoice_arithmetic(locale):
    for seed in range(N // 4):
        gt, typed = values("invoice", seed, locale)
        load_doc_type("invoice").validate(gt)
        subtotal = Decimal(0)
        for item in typed["line_items"]:
            assert D(item["amount"]) == money_round(D(item["quantity"]) * D(item["unit_price"]))
            subtotal += D(item["amount"])
        assert D(typed["subtotal"]) == subtotal
        assert D(typed["tax_amount"]) == money_round(subtotal * D(typed["tax_rate"]) / 100)
        assert D(typed["total"]) == D(typed["subtotal"]) + D(typed["tax_amount"])
        assert typed["due_date"] >= typed["invoice_date"]


def test_amounts_follow_the_locale():
    de = [values("invoice", s, "de_DE")[0]["subtotal"] for s in range(10)]
    us = [values("invoice", s, "en_US")[0]["subtotal"] for s in range(10)]
    assert all(v[-3] == "," for v in de), de  # 1.234,56
    assert all(v[-3] == "." for v in us), us  # 1,234.56
    gt, _ = values("invoice", 3, "de_DE")
    assert gt["currency"] == "EUR" and values("invoice", 3, "en_GB")[0]["currency"] == "GBP"


def test_receipt_arithmetic_and_change():
    for seed in range(N):
        gt, typed = values("receipt", seed, random.Random(seed).choice(SUPPORTED))
        load_doc_type("receipt").validate(gt)
        subtotal = sum(D(i["amount"]) for i in typed["items"])
        for i in typed["items"]:
            assert D(i["amount"]) == money_round(D(i["quantity"]) * D(i["unit_price"]))
        assert D(typed["subtotal"]) == subtotal
        assert D(typed["total"]) == subtotal + D(typed["tax"]) + D(typed.get("rounding", 0))
        assert D(typed["change"]) == D(typed["tendered"]) - D(typed["total"]) >= 0


def test_w2_tax_rules():
    for seed in range(N * 2):
        gt, t = values("w2", seed)
        load_doc_type("w2").validate(gt)
        year = t["tax_year"]
        assert 2016 <= year <= 2026
        assert D(t["social_security_wages"]) == min(D(t["medicare_wages"]), D(SS_WAGE_BASE[year]))
        assert D(t["social_security_tax"]) == money_round(D(t["social_security_wages"]) * D("0.062"))
        mw = D(t["medicare_wages"])
        assert D(t["medicare_tax"]) == money_round(mw * D("0.0145") + max(D(0), mw - 200000) * D("0.009"))
        assert sum(D(s["state_wages"]) for s in t["states"]) == D(t["wages"])
        deferral = sum(D(b["amount"]) for b in t["box12"] if b["code"] == "D")
        assert D(t["wages"]) + deferral == mw  # 401(k) deferrals leave box 1 only
        assert 1 <= len(t["states"]) <= 2


def test_additional_medicare_tax_above_200k():
    assert medicare_tax(Decimal(250000)) == Decimal("3625.00") + Decimal("450.00")
    assert medicare_tax(Decimal(100000)) == Decimal("1450.00")


def test_form_pairs_and_json_roundtrip():
    for seed in range(N):
        gt, _ = values("form", seed)
        load_doc_type("form").validate(gt)
        assert len(gt["fields"]) >= 3
        assert json.loads(json.dumps(gt)) == gt


def test_printed_text_is_printable_by_base_fonts():
    for doc_type in ("invoice", "receipt", "form"):
        for seed, locale in enumerate(SUPPORTED):
            gt, _ = values(doc_type, seed, locale)
            for path, text in flatten(gt).items():
                text.encode("cp1252")  # raises if a glyph would print as a box
                assert "\u00a0" not in text, path


def test_us_fallbacks_are_recorded():
    loc = Locale("en_US", 1)
    loc.iban()
    tax = loc.tax_id()
    assert any("iban" in f for f in loc.fallbacks)
    assert len(tax.replace("-", "")) == 9  # an EIN, not a VAT id
