"""Receipts like real till rolls, with truth still exact: the thermal layouts print every field
once inside its box in the new locales, the tax is the territory's regime on the page's date,
cash rounding keeps the schema's arithmetic, labels name the local tax, and the new layouts and
presets give the same bytes for any worker count and hash seed."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from folder_checks import folder_bytes
from page_checks import assert_fields_printed_in_boxes

from docfoundry.checks import evaluate_checks
from docfoundry.doctypes import load_doc_type
from docfoundry.records import flatten
from synth.layout import DrawCtx, load_layouts, render_page
from synth.locales import TAX_REGIMES, Locale, gstin_check, money_round, tax_regime
from synth.render import Page
from synth.values import ValueContext, split_truth
from synth.values.receipt import make

REPO = Path(__file__).resolve().parent.parent
RECEIPT = load_doc_type("receipt")
THERMAL = sorted(lay.name for lay in load_layouts(RECEIPT) if lay.name.startswith("thermal"))
# the till rolls that print the header and footer extras too (brand, company number, contact, staff, footer notes)
TILL_EXTRAS = ["till_classic", "till_footer", "till_modern", "till_restaurant"]
NEW_PRESETS = ("thermal", "crumpled", "phone")


def _receipt(locale: str, seed: int) -> tuple[dict, dict, ValueContext]:
    ctx = ValueContext(Locale(locale, seed), random.Random(seed))
    gt, typed = split_truth(make(ctx))
    RECEIPT.validate(gt)
    return gt, typed, ctx


def test_there_are_four_thermal_layouts():
    assert THERMAL == ["thermal_pos_footer", "thermal_restaurant_bill", "thermal_scanned_a4", "thermal_tax_invoice"]


@pytest.mark.parametrize("layout_name", THERMAL + TILL_EXTRAS)
@pytest.mark.parametrize("locale", ["en_MS", "en_IN", "en_US"])
def test_thermal_layout_prints_every_field_once_inside_its_box(layout_name, locale):
    layout = next(lay for lay in load_layouts(RECEIPT) if lay.name == layout_name)
    for seed in range(3):
        gt, _, ctx = _receipt(locale, seed)
        values = {k: v for k, v in flatten(gt).items() if v.strip()}
        page, height = render_page(layout, RECEIPT, values, random.Random(seed), ctx.extras)
        assert_fields_printed_in_boxes(page, height, values)


@pytest.mark.parametrize("layout_name", ["thermal_tax_invoice", "till_classic"])
def test_extras_are_printed_but_never_truth(layout_name):
    """The copy mark, title and staff lines the value maker drew are words on the page, in no field."""
    layout = next(lay for lay in load_layouts(RECEIPT) if lay.name == layout_name)
    checked = 0
    for seed in range(30):
        gt, _, ctx = _receipt("en_MS", seed)
        values = {k: v for k, v in flatten(gt).items() if v.strip()}
        page, _ = render_page(layout, RECEIPT, values, random.Random(seed), ctx.extras)
        printed = " ".join(w[0] for w in page.words)
        field_text = " ".join(t for t, _ in page.field_boxes().values())
        for key in ("copy_mark", "doc_title", "company_no"):
            if ctx.extras[key]:
                assert ctx.extras[key].strip() in printed
                assert ctx.extras[key].strip() not in field_text
                checked += 1
    assert checked >= 20


def test_tax_is_the_regime_in_force_on_the_receipt_date_and_checks_hold():
    names = set()
    for locale in ("en_MS", "en_IN", "en_GB", "en_US"):
        for seed in range(40):
            _, typed, ctx = _receipt(locale, seed)
            regime = tax_regime(ctx.loc.territory, dt.date.fromisoformat(typed["date"]))
            subtotal, tax = Decimal(str(typed["subtotal"])), Decimal(str(typed["tax"]))
            assert any(money_round(subtotal * Decimal(r) / 100) == tax for r in regime.rates), (locale, seed)
            assert all(c.holds for c in evaluate_checks(RECEIPT, typed)), (locale, seed)
            names.add((ctx.loc.territory, regime.name))
    # both Malaysian regimes and both Indian ones occur between 2016 and 2026
    assert {("MY", "GST"), ("MY", "SST"), ("IN", "VAT"), ("IN", "GST"), ("GB", "VAT"), ("US", "Sales Tax")} <= names


def test_regimes_change_on_their_dates():
    assert tax_regime("MY", dt.date(2017, 5, 1)).rates == ("6",)
    assert tax_regime("MY", dt.date(2018, 7, 1)).rates == ("0",)
    assert tax_regime("MY", dt.date(2019, 1, 1)).name == "SST"
    assert tax_regime("IN", dt.date(2017, 6, 30)).name == "VAT"
    assert tax_regime("IN", dt.date(2017, 7, 1)).name == "GST"
    assert all(r == sorted(r, key=lambda g: g.since) for r in map(list, TAX_REGIMES.values()))


def test_cash_rounding_prints_the_adjustment_as_a_field_and_the_arithmetic_stays_exact():
    """Where cash is rounded the total paid is subtotal + tax + rounding, a multiple of the step; the
    adjustment is a field (truth) printed once, mostly non-zero as on real rolls, never an extra."""
    adjusted = zero = 0
    for seed in range(60):
        gt, typed, ctx = _receipt("en_MS", seed)
        assert not any(row[0].lower().startswith("round") for row in ctx.extras["total_lines"])
        checks = {c.name: c for c in evaluate_checks(RECEIPT, typed)}
        assert all(c.holds for c in checks.values()), seed
        if "rounding" in gt:
            total = Decimal(str(typed["subtotal"])) + Decimal(str(typed["tax"])) + Decimal(str(typed["rounding"]))
            assert Decimal(str(typed["total"])) == total and total % Decimal("0.05") == 0
            assert [p for p, _ in checks["total"].operands] == ["subtotal", "tax", "rounding"]
            adjusted += Decimal(str(typed["rounding"])) != 0
            zero += Decimal(str(typed["rounding"])) == 0
        else:
            assert [p for p, _ in checks["total"].operands] == ["subtotal", "tax"]  # optional: left out
    assert adjusted >= 25 and zero >= 5
    layout = next(lay for lay in load_layouts(RECEIPT) if lay.name == "thermal_tax_invoice")
    for seed in range(20):  # no rounding where cash is not rounded: left out, and no label printed for it
        gt, _, ctx = _receipt("en_GB", seed)
        assert "rounding" not in gt
        values = {k: v for k, v in flatten(gt).items() if isinstance(v, str)}  # as synth.generate passes them
        page, _ = render_page(layout, RECEIPT, values, random.Random(seed), ctx.extras)
        assert not any(w[0].lower().startswith("round") for w in page.words), seed


def test_gstin_check_character_and_local_ids():
    assert gstin_check("27AAPFU0939F1Z") == "V"  # the GSTIN format's published example
    after, before = Locale("en_IN", 3), Locale("en_IN", 3)
    gstin = after.tax_id(dt.date(2020, 1, 1))
    assert len(gstin) == 15 and gstin[13] == "Z" and gstin[14] == gstin_check(gstin[:14])
    assert len(before.tax_id(dt.date(2016, 1, 1))) == 11 and before.tax_id(dt.date(2016, 1, 1)).isdigit()
    my = Locale("en_MS", 4)
    assert my.tax_id(dt.date(2017, 1, 1)).isdigit() and len(my.tax_id(dt.date(2017, 1, 1))) == 12
    assert my.currency == "MYR" and my.money(Decimal("12.3"), symbol=True) == "RM12.30"
    assert Locale("en_IN", 1).money(Decimal("12.3"), symbol=True) == "INR 12.30"  # no rupee sign in the fonts


def test_labels_prefer_the_local_tax_word():
    def label(words: tuple[str, ...], seed: int) -> str:
        ctx = DrawCtx(Page(200), RECEIPT, {}, random.Random(seed), "Courier", 8, (0, 0, 0),
                      {"label_words": {"tax": words}})
        return ctx.label("tax")

    assert {label(("GST", "Tax"), s) for s in range(20)} == {"GST"}
    assert {label(("VAT",), s) for s in range(20)} == {"VAT"}
    assert {label(("SST", "Tax"), s) for s in range(20)} <= {"Tax", "Sales Tax"}
    assert len({label((), s) for s in range(40)}) > 2  # no preference: any of the schema's labels


def _run(args: list[str], cwd: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "docfoundry", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_new_layouts_and_presets_give_the_same_bytes_for_any_workers_and_hash_seed(tmp_path):
    args = ["synth", "--doc-types", "receipt", "--locales", "en_MS,en_IN,en_GB", "--n", "24", "--seed", "1",
            "--degrade", "thermal=1,crumpled=1,phone=1", "--verify", "--out", "out"]
    outs = []
    for hash_seed, workers in (("1", "1"), ("2", "2")):
        cwd = tmp_path / f"run{hash_seed}"
        cwd.mkdir()
        _run([*args, "--workers", workers], cwd, hash_seed)
        outs.append(cwd / "out")
    rows = [json.loads(line) for line in (outs[0] / "metadata.jsonl").read_text().splitlines()]
    metas = [json.loads(r["meta"]) for r in rows]
    drawn = {m["layout"] for m in metas}
    # a seed whose 24 pages draw every layout (seed 0 stopped when the item rows drew more values)
    assert set(THERMAL) <= drawn, "seed 1 no longer draws every thermal layout: pick another"
    assert len(set(TILL_EXTRAS) & drawn) >= 3, drawn  # and most till rolls with the header and footer extras
    assert {m["degradation"]["preset"] for m in metas} == set(NEW_PRESETS)
    a, b = (folder_bytes(f, skip=lambda name: name.startswith(".docfoundry"),
                         run_drop=("seconds", "config", "command")) for f in outs[:2])
    assert len(a) == 24 + 2
    assert sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)) == []


def test_addresses_are_set_as_real_rolls_set_them_and_read_back_exactly(tmp_path):
    """Parts separated by ", ", a bare "," or " ,", a line break keeping its comma or not; the
    rounding line's truth and the addresses read back from the PDF text layer (--verify)."""
    addresses = [_receipt("en_MS", seed)[0]["store_address"] for seed in range(60)]
    assert any(re.search(r",[^\s,]", a) for a in addresses)  # "7/4,JALAN"
    assert any(", " in a for a in addresses) and any(" ," in a for a in addresses)
    assert any(re.search(r",\n", a) for a in addresses) and any(re.search(r"[^,]\n", a) for a in addresses)
    proc = subprocess.run([sys.executable, "-m", "docfoundry", "synth", "--doc-types", "receipt", "--locales", "en_MS",
                           "--n", "12", "--seed", "5", "--verify", "--out", "out"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert summary["verified"].startswith("100.00% of"), summary["verified"]
    rows = [json.loads(line) for line in (tmp_path / "out" / "metadata.jsonl").read_text().splitlines()]
    rounding = [json.loads(r["ground_truth"])["gt_parse"].get("rounding", "") for r in rows]
    assert any(v not in ("", "0.00") for v in rounding), rounding


def test_a_long_note_wraps_over_the_roll_in_its_own_type_size():
    from synth.layout import block_extra
    from synth.values.receipt import NOTES

    note = max(NOTES, key=len)

    def printed(wrap: bool) -> list[tuple]:
        ctx = DrawCtx(Page(200), RECEIPT, {}, random.Random(0), "Courier", 8, (0, 0, 0), {"footer": [note]})
        block_extra(ctx, {"key": "footer", "align": "center", "wrap": wrap}, 10, 10, 150)
        return [(op[3], op[5], ctx.page.width_of(op[3], op[4], op[5])) for op in ctx.page.ops if op[0] == "text"]

    lines = printed(wrap=True)
    assert len(lines) >= 3 and " ".join(t for t, _, _ in lines) == note
    assert all(size == 8 and width <= 150 for _, size, width in lines)
    (one,) = printed(wrap=False)  # without wrap the note is one line in smaller type
    assert one[0] == note and one[1] < 8


def test_some_rolls_print_a_longer_note_under_their_items():
    from synth.values.receipt import NOTES

    footers = [_receipt("en_MS", seed)[2].extras["footer"] for seed in range(60)]
    with_note = sum(any(line in NOTES for line in f) for f in footers)
    assert 20 <= with_note <= 50, with_note
