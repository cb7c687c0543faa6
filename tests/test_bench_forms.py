"""bench.forms scores FUNSD-style pairs by their text: a question printed twice is matched by what it
says and what it was answered, whatever order the truth file numbered its repeats in."""

from __future__ import annotations

import json

from test_pairs import line

from bench.forms import score_funsd


def test_a_repeated_question_matches_whatever_order_its_repeats_were_numbered_in(tmp_path):
    # the truth file numbered the lower "DATE:" first; the page reads top to bottom
    row = {"id": "f1", "image": "images/f1.png", "split": "test",
           "fields": {"DATE:": "1/2/90", "DATE: #2": "3/4/90", "NAME:": "Ann Lee"}}
    (tmp_path / "labels.jsonl").write_text(json.dumps(row) + "\n")
    cache = tmp_path / "ocr"
    cache.mkdir()
    lines = [line("DATE: 3/4/90", 50, 100), line("NAME: Ann Lee", 50, 160), line("DATE: 1/2/90", 50, 220)]
    (cache / "f1.json").write_text(json.dumps([x.to_json() for x in lines]))
    got = score_funsd(tmp_path, "test", cache)
    assert (got["matched"], got["predicted"], got["truth"]) == (3, 3, 3), got


def test_truth_pairs_drop_only_the_repeat_marker():
    from bench.forms import truth_pairs

    assert truth_pairs({"DATE": "1", "DATE #2": "2", "Sample #4": "x"}) == [
        ("DATE", "1"), ("DATE", "2"), ("Sample #4", "x")]  # "Sample #4" was printed so: no bare "Sample"
