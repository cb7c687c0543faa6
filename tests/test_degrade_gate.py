"""The readability gate: OCR of the field text decides whether a draw is kept, re-drawn or lightened."""

import numpy as np

from synth.degrade import degrade_array, degrade_sample, load_preset
from synth.readability import field_cer, field_lines
from synth.specimen import specimen_page

SMEAR = "  - {effect: blur, p: %s, sigma: 6.0}\n"


def _page(seed: int = 3, n_fields: int = 4):
    img, words, fields = specimen_page(seed)
    return img, words, fields[:n_fields]  # a few fields keep the OCR cheap


def test_clean_page_reads_back_and_a_smeared_one_does_not():
    img, words, fields = _page()
    clean = field_cer(np.asarray(img), words, fields)
    assert clean.fields == 4 and clean.chars > 20
    assert clean.cer <= 0.02
    smeared = np.asarray(img.filter(__import__("PIL.ImageFilter").ImageFilter.GaussianBlur(6)))
    assert field_cer(smeared, words, fields).cer > 0.3


def test_multi_line_field_is_read_line_by_line():
    img, words, fields = specimen_page(3)
    box = [min(f.box[0] for f in fields[:2]), fields[0].box[1], max(f.box[2] for f in fields[:2]), fields[1].box[3]]
    from docfoundry.records import FieldBox

    two = FieldBox("two_lines", fields[0].text + "\n" + fields[1].text, box)
    assert len(field_lines(two, words)) == 2
    assert field_cer(np.asarray(img), words, [two]).cer <= 0.05


def test_gate_redraws_with_a_new_sub_seed(tmp_path):
    preset = tmp_path / "sometimes_smeared.yaml"
    preset.write_text("ink: []\npaper: []\npost:\n" + SMEAR % 0.5)
    p = load_preset(str(preset))
    img, words, fields = _page()
    page = np.asarray(img)
    boxes = np.array([w.box for w in words] + [f.box for f in fields], float)
    # a seed whose first draw smears and whose second does not
    seed = next(s for s in range(100)
                if degrade_array(page, boxes, p, s, 0).applied and not degrade_array(page, boxes, p, s, 1).applied)
    ungated = degrade_sample(img, words, fields, str(preset), seed)
    assert ungated[3]["effects"][0]["effect"] == "blur" and "gate" not in ungated[3]
    image, _, _, record = degrade_sample(img, words, fields, str(preset), seed, max_cer=0.05)
    gate = record["gate"]
    assert [(t["preset"], t["attempt"]) for t in gate["tries"]] == [(preset.stem, 0), (preset.stem, 1)]
    assert gate["tries"][0]["cer"] > 0.05 >= gate["tries"][1]["cer"] == gate["cer"]
    assert gate["passed"] and record["effects"] == [] and record["preset"] == preset.stem
    assert np.array_equal(np.asarray(image), degrade_array(page, boxes, p, seed, 1).image)


def test_gate_falls_back_to_the_lighter_preset(tmp_path):
    preset = tmp_path / "always_smeared.yaml"
    preset.write_text("fallback: clean\nink: []\npaper: []\npost:\n" + SMEAR % 1.0)
    img, words, fields = _page()
    image, _, _, record = degrade_sample(img, words, fields, str(preset), 9, max_cer=0.05)
    tries = record["gate"]["tries"]
    assert [t["preset"] for t in tries] == ["always_smeared"] * 3 + ["clean"]
    assert all(t["cer"] > 0.05 for t in tries[:3])
    assert record["preset"] == "clean" and record["requested"] == str(preset) and record["gate"]["passed"]
    assert np.array_equal(np.asarray(image), np.asarray(img))


def test_gate_keeps_the_most_readable_draw_when_none_passes(tmp_path):
    preset = tmp_path / "hopeless.yaml"
    preset.write_text("ink: []\npaper: []\npost:\n" + SMEAR % 1.0)
    img, words, fields = _page(n_fields=2)
    _, _, _, record = degrade_sample(img, words, fields, str(preset), 2, max_cer=0.0)
    gate = record["gate"]
    assert len(gate["tries"]) == 3 and not gate["passed"]
    assert gate["cer"] == min(t["cer"] for t in gate["tries"])
