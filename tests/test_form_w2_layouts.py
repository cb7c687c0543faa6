"""The FUNSD-like form layouts and the IRS W-2 layouts: handwriting keeps exact boxes, copies print
every field once as truth, boxes survive degradation, and the pages are the same bytes for any
worker count and hash seed (the new layouts alone, as template folders of their own)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from folder_checks import folder_bytes
from page_checks import assert_fields_printed_in_boxes

from docfoundry.doctypes import load_doc_type
from docfoundry.records import flatten
from synth.handwriting import hand_style, hand_text
from synth.layout import load_layouts, render_page
from synth.locales import Locale
from synth.raster import rasterize, squash, verify_fields
from synth.render import Page, Run
from synth.values import ValueContext, make_values, split_truth

REPO = Path(__file__).resolve().parent.parent
NEW_LAYOUTS = {"form": ["funsd_typed", "funsd_hand", "funsd_cells", "funsd_memo"], "w2": ["irs", "irs_copies"]}


def _render(doc_type: str, layout_name: str, seed: int):
    doc = load_doc_type(doc_type)
    layout = next(lay for lay in load_layouts(doc) if lay.name == layout_name)
    rng = random.Random(seed)
    ctx = ValueContext(Locale("en_US" if doc_type == "w2" else ("de_DE", "en_US", "it_IT")[seed % 3], seed), rng)
    gt, _ = split_truth(make_values(doc.values_module, ctx))
    values = {k: v for k, v in flatten(gt).items() if v.strip()}
    page, height = render_page(layout, doc, values, rng, ctx.extras)
    return page, height, values


def _ink_outside(page: Page, height: float, dpi: int = 150) -> tuple[int, int]:
    """(dark pixels outside every word box, dark pixels) of the page as rendered."""
    gray = np.asarray(rasterize(page.to_pdf(height), dpi).convert("L"))
    s = dpi / 72
    inside = np.zeros(gray.shape, bool)
    for _, x0, y0, x1, y1 in page.words:
        inside[int(y0 * s):int(np.ceil(y1 * s)), int(x0 * s):int(np.ceil(x1 * s))] = True
    ink = gray < 160
    return int((ink & ~inside).sum()), int(ink.sum())


def test_handwritten_words_hold_all_their_ink_and_read_back():
    """Slanted, turned, wobbling glyphs of every hand: no ink outside the word boxes, and each
    field's text is in the PDF's text layer inside its box."""
    for seed in range(6):
        rng = random.Random(seed)
        page, hand, y = Page(612, 792), hand_style(rng), 30.0
        for i in range(10):
            runs = [Run("Ref: "), Run(f"Quinn-Jaguar {i} 12/03/97 $1,234.50 gyp", f"f.{i}")]
            _, h = hand_text(page, 40 + rng.uniform(0, 80), y, runs, rng.uniform(7, 15), hand, rng, max_width=420)
            y += h * 1.3
        outside, ink = _ink_outside(page, 792)
        assert ink > 5000 and outside == 0, (seed, hand, outside)
        fields = page.field_boxes()
        assert len(fields) == 10
        assert verify_fields(page.to_pdf(792), 792, fields) == []
        assert all(squash(fields[f"f.{i}"][0]) == squash(f"Quinn-Jaguar {i} 12/03/97 $1,234.50 gyp") for i in range(10))


def test_hand_text_fits_its_width():
    rng = random.Random(3)
    page = Page(612, 792)
    w, _ = hand_text(page, 10, 10, [Run("a rather long answer written in a narrow box", "x")], 12,
                     hand_style(rng), rng, max_width=120)
    box = page.field_boxes()["x"][1]
    assert box[2] - 10 <= 120 * 1.1 and w <= 120 * 1.1


@pytest.mark.parametrize(("doc_type", "layout_name"), [(t, n) for t, ns in NEW_LAYOUTS.items() for n in ns])
def test_new_layout_prints_each_field_once_in_its_box_and_words_hold_the_text(doc_type, layout_name):
    for seed in range(4):
        page, height, values = _render(doc_type, layout_name, seed)
        assert_fields_printed_in_boxes(page, height, values)


def test_form_pages_carry_the_funsd_kinds_of_marks():
    """Across a few pages of the new layouts: handwriting, typewriter answers, stamps, fax lines,
    turned file numbers, blanks left unanswered (words, no field) all occur."""
    seen = set()
    for name in NEW_LAYOUTS["form"]:
        for seed in range(6):
            page, _, values = _render("form", name, seed)
            kinds = {op[0] if op[0] != "draw" else op[1].__name__ for op in page.ops}
            seen |= kinds
            fonts = {op[4] for op in page.ops if op[0] == "text"}
            if "Courier" in fonts:
                seen.add("typewriter")
            field_words = {w for v in values.values() for w in v.split()}
            if any(w[0].rstrip(":") and w[0] not in field_words for w in page.words):
                seen.add("words beyond the fields")
    assert {"draw_glyphs", "_draw_turned", "_draw_frame", "_draw_scrawl", "typewriter",
            "words beyond the fields"} <= seen, seen


def test_w2_copies_repeat_the_values_but_the_truth_is_the_first_copy():
    for seed in range(4):
        page, height, values = _render("w2", "irs_copies", seed)
        ssn = values["employee_ssn"]
        printed = [w for w in page.words if w[0] == ssn]
        assert len(printed) in (2, 4)
        box = page.field_boxes()["employee_ssn"][1]
        assert box[1] == min(w[2] for w in printed)  # the first copy, at the top
        assert verify_fields(page.to_pdf(height), height, page.field_boxes()) == []


def test_new_layouts_keep_boxes_on_their_text_after_degradation(tmp_path, monkeypatch):
    from synth.boxcheck import pages_fidelity
    from synth.degrade import load_preset
    from synth.generate import SynthConfig, render_sample

    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(_new_layout_types(tmp_path)))
    cfg = SynthConfig(out="unused", doc_types=["newform", "neww2"])
    pages = [render_sample(cfg, i) for i in range(6)]
    assert len({r.sample.meta["layout"] for r in pages}) >= 3
    for preset in ("medium", "photo"):
        fits = pages_fidelity(pages, load_preset(preset), seed=11)
        assert sum(f.ok for f in fits) / len(fits) >= 0.99, (preset, [f for f in fits if not f.ok][:5])


def _new_layout_types(root: Path) -> Path:
    """Template folders ``newform`` and ``neww2``: the form and W-2 schemas with only the new
    layouts, so a short run draws nothing else."""
    for name, (base, layouts) in {"newform": ("form", NEW_LAYOUTS["form"]), "neww2": ("w2", NEW_LAYOUTS["w2"])}.items():
        folder = root / name
        (folder / "layouts").mkdir(parents=True, exist_ok=True)
        schema = json.loads((REPO / "templates" / base / "schema.json").read_text())
        schema["x-values"] = base
        (folder / "schema.json").write_text(json.dumps(schema))
        for layout in layouts:
            shutil.copy(REPO / "templates" / base / "layouts" / f"{layout}.yaml", folder / "layouts")
    return root


def test_new_layouts_give_the_same_bytes_for_any_workers_and_hash_seed(tmp_path):
    import os

    from docfoundry.store import LOCK_FILE

    templates = _new_layout_types(tmp_path / "templates")
    outs = []
    for hash_seed, workers in (("1", "1"), ("2", "2")):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO),
               "DOCFOUNDRY_TEMPLATES": str(templates)}
        out = tmp_path / f"out{hash_seed}"
        proc = subprocess.run([sys.executable, "-m", "docfoundry", "synth", "--doc-types", "newform,neww2",
                               "--n", "16", "--seed", "5", "--locales", "it_IT,de_DE,en_US", "--degrade", "medium",
                               "--workers", workers, "--verify", "--out", str(out)],
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append({k: v for k, v in folder_bytes(out, skip=lambda name: name.startswith("."),
                                                      run_drop=("seconds", "command"),
                                                      config_drop=("workers", "out")).items() if not k.endswith(LOCK_FILE)})
    rows = [json.loads(line) for line in outs[0]["metadata.jsonl"].decode().splitlines()]
    layouts = {json.loads(r["meta"])["layout"] for r in rows}
    assert len(layouts) >= 5, layouts  # most of the six new layouts are in the run
    assert len(outs[0]) == 16 + 2
    assert sorted(k for k in outs[0].keys() | outs[1].keys() if outs[0].get(k) != outs[1].get(k)) == []


def test_a_box_after_a_dashed_rule_is_drawn_solid():
    """Regression: ``to_pdf`` set the dash for a dashed rule and the boxes after it inherited it
    (the W-2 copies' perforation dashed every later grid cell)."""
    page = Page(200, 200)
    page.hline(10, 190, 20, dash=True)
    page.rect(20, 50, 150, 100)
    gray = np.asarray(rasterize(page.to_pdf(200), 144).convert("L"))
    top_edge = gray[99:102, 50:330].min(axis=0)  # the box's top edge, 2 px per point
    assert (top_edge < 128).mean() > 0.98
    rule = gray[39:42, 30:370].min(axis=0)
    assert 0.3 < (rule < 128).mean() < 0.8  # the rule itself is still dashed
