"""Small print: rapidocr's detector, at its default size, merges and misses the ~19 px text lines of
100-dpi forms; ``distill.ocr.read_page`` reads such a page again with a detector that sees it larger,
and reads larger print once, as before."""

from __future__ import annotations

import json

from PIL import Image
from real_data import FUNSD, SROIE

from bench.forms import predicted_pairs
from distill.extract import extract
from distill.ocr import SMALL_LINE, _read, detector_line_height, read_page
from docfoundry.doctypes import load_doc_type
from eval.metrics import pair_counts


def _row(root, image_id: str) -> dict:
    rows = [json.loads(x) for x in (root / "labels.jsonl").read_text().splitlines() if x.strip()]
    return next(r for r in rows if r["id"] == image_id)


def test_a_real_forms_small_print_is_read_again_larger():
    """FUNSD train form 91856041_6049 prints its phone numbers in ~19 px lines: read at the default
    detector size they are not paired with their keys; read again larger they are."""
    row = _row(FUNSD, "91856041_6049")
    page = Image.open(FUNSD / row["image"]).convert("RGB")
    assert detector_line_height(_read(page), *page.size) < SMALL_LINE
    doc = load_doc_type("form")
    fields, _ = extract(doc, read_page(page))
    phones = [(q, a) for q, a in row["fields"].items() if "NUMBER" in q]
    assert len(phones) == 2
    assert pair_counts(phones, predicted_pairs(doc, fields)).matched == 2, predicted_pairs(doc, fields)


def test_a_receipts_larger_print_is_read_once():
    """A real receipt's print is tall enough for the default detector: its reading is the single
    default read, unchanged."""
    page = Image.open(SROIE / _row(SROIE, "X51005441401")["image"]).convert("RGB")
    once = _read(page)
    assert detector_line_height(once, *page.size) >= SMALL_LINE
    assert [(line.text, line.box) for line in read_page(page)] == [(line.text, line.box) for line in once]
