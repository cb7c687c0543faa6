"""bench/student.py's copy probe scores the value tokens of an answer, not its keys or punctuation."""

from __future__ import annotations

import json


def test_value_mask_marks_the_tokens_inside_string_values_only():
    from bench.student import value_mask
    from docfoundry.tiny import build_processor

    tokenizer = build_processor("idefics3", "micro").tokenizer
    answer = json.dumps({"store_name": "AGUADO & CO", "items": [{"amount": "1,86"}], "tax": ""})
    mask = value_mask(tokenizer, answer)
    offsets = tokenizer(answer, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    assert len(mask) == len(offsets)
    marked = "".join(answer[a:b] for (a, b), m in zip(offsets, mask) if m)
    assert marked.replace(" ", "") == "AGUADO&CO1,86"  # every value character, no key, quote or brace
    assert not any(m for (a, b), m in zip(offsets, mask) if "store_name" in answer[a:b] or '"' in answer[a:b])
