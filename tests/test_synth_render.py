"""Every layout prints every field exactly once, and every field's text is inside its box."""

from __future__ import annotations

import random

import pytest
from page_checks import assert_fields_printed_in_boxes

from docfoundry.doctypes import available, load_doc_type
from docfoundry.records import flatten
from synth.generate import SynthConfig, render_sample
from synth.layout import load_layouts, render_page
from synth.locales import Locale
from synth.values import ValueContext, make_values, split_truth

LAYOUTS = [(t, lay.name) for t in available() for lay in load_layouts(load_doc_type(t))]


@pytest.mark.parametrize(("doc_type", "layout_name"), LAYOUTS)
def test_layout_prints_every_field_inside_its_box(doc_type, layout_name):
    doc = load_doc_type(doc_type)
    layout = next(lay for lay in load_layouts(doc) if lay.name == layout_name)
    for seed in range(3):
        rng = random.Random(seed)
        ctx = ValueContext(Locale("de_DE" if doc_type != "w2" else "en_US", seed), rng)
        gt, _ = split_truth(make_values(doc.values_module, ctx))
        values = {k: v for k, v in flatten(gt).items() if v.strip()}
        page, height = render_page(layout, doc, values, rng, ctx.extras)
        assert_fields_printed_in_boxes(page, height, values)


def test_pixel_boxes_cover_the_ink_of_their_field():
    """In the rendered image, each field box holds dark pixels and a 2px ring around it is mostly light."""
    import numpy as np

    cfg = SynthConfig(out="unused")  # every type (doctypes.available), used in turn
    for index in range(8):
        r = render_sample(cfg, index)
        gray = np.asarray(r.image.convert("L"))
        h, w = gray.shape
        for f in r.sample.field_boxes:
            x0, y0, x1, y1 = f.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            inside = gray[y0:y1, x0:x1]
            assert (inside < 128).any(), f"{r.sample.id} {f.path}: no ink inside the box"


def test_layouts_differ_visibly():
    """Layouts of one type are different arrangements, not jitter: field positions differ."""
    doc = load_doc_type("invoice")
    positions = {}
    for layout in load_layouts(doc):
        ctx = ValueContext(Locale("en_US", 7), random.Random(7))
        gt, _ = split_truth(make_values("invoice", ctx))
        values = {k: v for k, v in flatten(gt).items() if v.strip()}
        page, _ = render_page(layout, doc, values, random.Random(7), ctx.extras)
        boxes = page.field_boxes()
        positions[layout.name] = tuple(round(boxes[k][1][i] / 40) for k in ("total", "invoice_number", "vendor.name") for i in (0, 1))
    assert len(set(positions.values())) == len(positions), positions


def test_item_codes_print_before_the_item_text_or_the_count():
    """Receipts with item codes print each code on the item's text line (one long line) on some pages
    and before its count on others (``code_line``); the item fields stay exact in their boxes."""
    cfg = SynthConfig(out="unused", doc_types=["receipt"], seed=3)
    where = {"text": 0, "count": 0}
    for i in range(40):
        r = render_sample(cfg, i, layout_name="thermal_tax_invoice")
        assert not r.unverified()
        codes = [w for w in r.sample.words if w.text.isdigit() and len(w.text) in (7, 13)]
        for path, (_, box) in r.fields_pt.items():
            line = "text" if path.endswith(".description") else "count" if path.endswith(".quantity") else None
            if line and any(abs(c.box[1] * 72 / cfg.dpi - box[1]) < 1 for c in codes):
                where[line] += 1
    assert where["text"] > 0 and where["count"] > 0, where
