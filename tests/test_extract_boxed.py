"""The ocr teacher on pages of labelled boxes (W-2) and on pages scanned askew: box labels that OCR
misread in tiny print, an amount printed lower right of its label, a table header printed over
every row, and rows levelled by the page's skew (``distill.skew``). Invented pages, no OCR."""

from __future__ import annotations

import pytest

from distill.extract import extract, label_likeness
from distill.ocr import OcrLine
from distill.skew import level, page_skew
from docfoundry.doctypes import load_doc_type


def line(text: str, x0: int, y0: int, x1: int, h: int = 20, slope: float = 0.0) -> OcrLine:
    """One OCR line of ``text``: one word box per word, spread over ``x0..x1``, risen by ``slope``."""
    words = text.split()
    step = (x1 - x0) / len(words)
    boxes = []
    for i, w in enumerate(words):
        a, b = round(x0 + i * step), round(x0 + (i + 1) * step) - 4
        dy = round(slope * (a + b) / 2)
        boxes.append((w, [a, y0 + dy, b, y0 + h + dy]))
    box = [min(b[0] for _, b in boxes), min(b[1] for _, b in boxes), max(b[2] for _, b in boxes),
           max(b[3] for _, b in boxes)]
    return OcrLine(text, box, 0.99, boxes)


def test_a_misread_box_label_is_known_by_its_likeness_and_its_box_code():
    assert label_likeness("5 Medicaze wagea and tiga", "5 Medicare wages and tips") >= 65
    assert label_likeness("6 Medicaze wagea and tiga", "5 Medicare wages and tips") == 0  # another box's code
    assert label_likeness("Bonial security wage", "3 Social security wages") >= 65       # the code read into a word
    assert label_likeness("1 Wages, tipz,", "1 Wages, tips, other compensation") >= 65  # cut at the box's edge
    assert label_likeness("Jennifer T Ford", "e Employee's first name and initial  Last name") < 65


def test_misread_labels_head_their_boxes_and_a_value_lower_right_is_the_box_s():
    lines = [
        line("1 Wagoa, tipa, other", 70, 100, 240, h=14), line("48,384.15", 268, 108, 351),
        line("2 Federal income tax withheld", 380, 100, 560, h=14), line("3,310.94", 600, 108, 680),
        line("5 Medicaze wagea and tiga", 70, 160, 240, h=14), line("48,384.15", 268, 168, 351),
        line("6 Nedicare tax withheld", 380, 160, 560, h=14), line("701.57", 600, 168, 680),
    ]
    fields, scores = extract(load_doc_type("w2"), lines)
    assert fields["wages"] == "48,384.15" and fields["federal_income_tax"] == "3,310.94"
    assert fields["medicare_wages"] == "48,384.15" and fields["medicare_tax"] == "701.57"
    assert scores["medicare_wages"] < scores["federal_income_tax"]  # a misread label is trusted less


def test_a_state_table_whose_header_repeats_over_every_row_reads_each_row():
    header = [("15 State", 70, 120), ("Employer's state ID number", 140, 330), ("16 State wages, tips, etc.", 360, 560),
              ("17 State income tax", 600, 760)]
    lines = [line("e Employee's first name and initial  Last name", 70, 20, 400, h=14), line("Ana B Cruz", 70, 40, 200)]
    for y, (state, sid, wages, tax) in ((200, ("NY", "NY496105207", "26,709.15", "1,835.04")),
                                        (260, ("MD", "MD960883735", "18,849.99", "736.19"))):
        lines += [line(t, a, y, b, h=14) for t, a, b in header]
        lines += [line(state, 70, y + 18, 100), line(sid, 140, y + 18, 280), line(wages, 460, y + 18, 560),
                  line(tax, 680, y + 18, 760)]
    fields, _ = extract(load_doc_type("w2"), lines)
    states = [(s["state"], s["employer_state_id"], s["state_wages"], s["state_income_tax"]) for s in fields["states"]]
    assert states[:2] == [("NY", "NY496105207", "26,709.15", "1,835.04"), ("MD", "MD960883735", "18,849.99", "736.19")]


def test_the_skew_is_measured_from_the_words_of_long_lines_and_levelled():
    slope = 0.02  # about 1.1 degrees
    lines = [line("one two three four five six", 50, y, 900, slope=slope) for y in (100, 140, 180)]
    assert abs(page_skew(lines) - slope) < 0.003
    levelled = level(lines)
    assert all(abs(w[1][1] - lv.words[0][1][1]) <= 2 for lv in levelled for w in lv.words)  # words level again
    assert [ln.text for ln in levelled] == [ln.text for ln in lines]
    level_page = [line("one two three four five six", 50, y, 900) for y in (100, 140, 180)]
    assert page_skew(level_page) == 0.0 and level(level_page) is level_page


@pytest.mark.parametrize("slope", [-0.03, 0.05])  # about -1.7 and 2.9 degrees
def test_on_a_page_scanned_askew_a_label_pairs_with_the_amount_at_the_far_end_of_its_row(slope):
    """The amounts at x ~1050 sit 30-50 px (one or two rows) off their labels' rows."""
    rows = [("1 Wages, tips, other compensation", "19,980.99"), ("2 Federal income tax withheld", "2,749.89"),
            ("3 Social security wages", "20,888.84"), ("4 Social security tax withheld", "1,295.11")]
    lines = []
    for i, (label, amount) in enumerate(rows):
        y = 300 + 26 * i
        lines += [line(label, 100, y, 420, slope=slope), line(amount, 1000, y, 1100, slope=slope)]
    fields, _ = extract(load_doc_type("w2"), lines)
    assert [fields[k] for k in ("wages", "federal_income_tax", "social_security_wages", "social_security_tax")] \
        == [a for _, a in rows]


def test_a_real_receipt_photographed_askew_keeps_its_whole_address():
    """A real 4961x7016 photo of ../shared/datasets/sroie-dev (OCR'd live, one page): tilted, its
    first address line and the rest no longer shared their rows' alignment; levelled they do."""
    import json

    from PIL import Image
    from rapidfuzz import fuzz
    from real_data import SROIE

    from distill.ocr import read_page

    row = next(r for r in map(json.loads, (SROIE / "labels.jsonl").read_text().splitlines())
               if r["id"] == "X51006414519")
    lines = read_page(Image.open(SROIE / row["image"]))
    assert page_skew(lines) != 0.0
    fields, _ = extract(load_doc_type("receipt"), lines)
    assert fuzz.ratio(fields["store_address"].casefold(), row["fields"]["address"].casefold()) >= 95


def test_an_empty_box_whose_label_is_printed_is_surer_than_a_field_never_printed():
    """Empty is the right answer for a printed box with nothing in it (most W-2 boxes), and a read
    table row's empty cell: both as sure as what was read around them, not the not-found score."""
    from distill.extract import SCORE_NOT_FOUND

    lines = [line("7 Social security tips", 70, 200, 240), line("8 Allocated tips", 355, 200, 500),
             line("d Control number", 640, 200, 800), line("05797", 640, 222, 700),
             line("15 State", 70, 300, 120), line("Employer's state ID number", 140, 300, 330),
             line("16 State wages, tips, etc.", 360, 300, 560), line("17 State income tax", 600, 300, 760),
             line("NY", 70, 322, 100), line("NY496105207", 140, 322, 280), line("26,709.15", 460, 322, 560)]
    fields, scores = extract(load_doc_type("w2"), lines)
    assert fields["social_security_tips"] == "" and scores["social_security_tips"] > 0.7
    assert fields["wages"] == "" and scores["wages"] == SCORE_NOT_FOUND  # its label is not on the page
    assert fields["states"][0]["state_income_tax"] == "" and scores["states.0.state_income_tax"] > 0.7
