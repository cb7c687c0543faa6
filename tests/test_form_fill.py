"""Forms full to the bottom, as FUNSD's are: ``fill`` (running notes, a table of figures, ruled
lines) and ``footer`` (document number, code, copy list at the foot) add words but no field, never
run into each other or into the keys above, and leave the page's truth what it was."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from page_checks import assert_fields_printed_in_boxes

from docfoundry.doctypes import load_doc_type
from docfoundry.records import flatten
from synth.layout import load_layouts, render_page
from synth.locales import Locale
from synth.values import ValueContext, make_values, split_truth

REPO = Path(__file__).resolve().parent.parent
LAYOUT = """page: letter
fonts: [Helvetica, Times-Roman, Courier]
size: {size}
margin: [50, 72]
blocks:
  - {{type: title, field: title, scale: 1.3}}
  - {{type: text, field: form_number}}
  - {{type: sheet, list: fields, style: line, answers: typed, spread: [0.6, 1.8]}}
  - {{type: checks, list: choices, mark: box}}
  - {{type: fill, reserve: 4}}
  - {{type: signature}}
  - {{type: footer}}
"""


def _doc_type(root: Path, name: str, size: str):
    """A form type whose one layout is the fill layout at type ``size`` (the real form schema and values)."""
    folder = root / name
    (folder / "layouts").mkdir(parents=True)
    schema = json.loads((REPO / "templates" / "form" / "schema.json").read_text())
    schema["x-values"] = "form"
    (folder / "schema.json").write_text(json.dumps(schema))
    (folder / "layouts" / "fill.yaml").write_text(LAYOUT.format(size=size))
    return folder


def _pages(monkeypatch, tmp_path: Path, name: str, size: str, seeds: range):
    shutil.rmtree(tmp_path / name, ignore_errors=True)
    _doc_type(tmp_path, name, size)
    monkeypatch.setenv("DOCFOUNDRY_TEMPLATES", str(tmp_path))
    doc = load_doc_type(name)
    layout = load_layouts(doc)[0]
    for seed in seeds:
        rng = random.Random(seed)
        ctx = ValueContext(Locale(("en_US", "de_DE", "fr_FR")[seed % 3], seed), rng)
        gt, _ = split_truth(make_values(doc.values_module, ctx))
        values = {k: v for k, v in flatten(gt).items() if v.strip()}
        page, height = render_page(layout, doc, values, rng, ctx.extras)
        yield page, height, values, ctx.extras


def _overlaps(words) -> list:
    out = []
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            if min(a[3], b[3]) - max(a[1], b[1]) > 0.5 and min(a[4], b[4]) - max(a[2], b[2]) > 0.5:
                out.append((a, b))
    return out


def test_filled_pages_reach_the_foot_and_no_words_collide(monkeypatch, tmp_path):
    low = 0
    for page, height, values, extras in _pages(monkeypatch, tmp_path, "fillform", "[9.5, 12]", range(12)):
        assert_fields_printed_in_boxes(page, height, values)
        assert _overlaps(page.words) == []
        if sum(w[4] > height * 0.75 for w in page.words) >= 5:
            low += 1
        number = [w for w in page.words if w[0] == extras["file_number"]]
        if number:  # the document number is the lowest text on the page
            assert number[0][4] >= max(w[4] for w in page.words) - 0.01
            assert number[0][4] <= height - 50 * 0.5
    assert low >= 10, low  # text down to the lowest quarter on nearly every page (FUNSD's are full)


def test_a_page_whose_keys_reach_the_foot_is_drawn_smaller_not_over_the_footer(monkeypatch, tmp_path):
    """Large type: the keys alone run into the footer's place; the page is drawn again smaller
    (the layout's shrink) instead of printing the footer over them."""
    sizes = []
    for page, height, values, _ in _pages(monkeypatch, tmp_path, "crowdform", "[14, 17]", range(20)):
        assert_fields_printed_in_boxes(page, height, values)
        assert _overlaps(page.words) == []  # without the footer's check some of these printed it over the keys
        sizes.append(min(op[5] for op in page.ops if op[0] == "text"))
    assert min(sizes) < 14 * 0.88  # shrunk at least once somewhere


def test_fillers_leave_the_truth_as_it_was(monkeypatch):
    """The fillers' values are drawn after every field, so adding them changed no page's truth."""
    import synth.values.form as form

    doc = load_doc_type("form")

    def truth(seed: int) -> dict:
        ctx = ValueContext(Locale("en_US", seed), random.Random(seed))
        return split_truth(make_values(doc.values_module, ctx))[0], ctx.extras

    with_fill = [truth(s) for s in range(8)]
    monkeypatch.setattr(form, "_fillers", lambda ctx: None)
    without = [truth(s) for s in range(8)]
    assert [gt for gt, _ in with_fill] == [gt for gt, _ in without]
    assert all("notes" in ex and "figures" in ex and "footer" in ex for _, ex in with_fill)
    assert all("notes" not in ex for _, ex in without)
