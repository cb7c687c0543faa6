"""The ``print_dots`` ink effect: a print head's dot grid, still readable, usable from a preset file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from synth import effects as fx
from synth.degrade import degrade_array, load_preset


def run(img: np.ndarray, pitch: float, fill: float = 1.0, jitter: float = 0.0, seed: int = 0) -> np.ndarray:
    return fx.EFFECTS["print_dots"].run(img, np.random.default_rng(seed), fx.Context("ink", None), pitch, fill, jitter)


def test_a_solid_block_is_printed_as_dots_one_pitch_apart():
    img = np.full((80, 400), 255, np.uint8)
    img[20:60, 40:360] = 0
    out = run(img, pitch=5.0, fill=0.8)
    block = (255.0 - out[20:60, 40:360]) / 255.0
    assert 0.3 < block.mean() < 0.8  # ink between the dots is gone, the dots themselves print
    profile = block.mean(axis=0) - block.mean()
    spectrum = np.abs(np.fft.rfft(profile))
    peak = int(np.argmax(spectrum[1:])) + 1
    assert abs(len(profile) / peak - 5.0) < 0.3  # the dots repeat every pitch
    assert (out[:15] == 255).all() and (out[65:] == 255).all()  # paper stays paper


def test_jitter_makes_dot_darkness_uneven_and_the_draw_is_seeded():
    img = np.full((60, 300), 255, np.uint8)
    img[10:50, 10:290] = 0
    even, uneven = run(img, 4.0, 0.9, 0.0), run(img, 4.0, 0.9, 0.4)
    assert uneven.std() != even.std()
    assert np.array_equal(run(img, 4.0, 0.9, 0.4, seed=3), run(img, 4.0, 0.9, 0.4, seed=3))
    assert not np.array_equal(run(img, 4.0, 0.9, 0.4, seed=3), run(img, 4.0, 0.9, 0.4, seed=4))


def test_a_dot_inside_a_solid_stroke_prints_fully_dark_and_the_heat_varies_at_its_edges():
    """A head's dots in a solid stroke are all heated (they share the heat): uneven darkness shows
    only where the glyph covers part of a dot's cell, so bold text stays solid as on a till roll."""
    img = np.full((60, 300), 255, np.uint8)
    img[10:50, 10:290] = 0
    img[10:50, 292:294] = 0  # a hairline covering half of its dots' cells
    out = run(img, 4.0, 1.4, 0.4)
    centres = out[22:40:4, 22:280:4]  # dot centres well inside the block (pitch 4 px: cell centres at 2 + 4k)
    assert centres.max() <= 8, centres.max()
    edge = out[22:40:4, 290]
    assert edge.min() < 255 and edge.std() > 0  # the half-covered cells print, unevenly


def test_text_printed_in_dots_at_a_thermal_heads_pitch_still_reads():
    import reportlab

    from distill.ocr import read_page

    font = ImageFont.truetype(str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"), 28)
    page = Image.new("L", (520, 80), 255)
    ImageDraw.Draw(page).text((12, 20), "TOTAL RM 12.50", font=font, fill=0)
    dotted = run(np.asarray(page), pitch=1.6, fill=1.1, jitter=0.35)
    assert not np.array_equal(dotted, np.asarray(page))
    lines = read_page(Image.fromarray(dotted).convert("RGB"))
    assert " ".join(line.text for line in lines).replace(" ", "") == "TOTALRM12.50"


def test_a_preset_file_can_print_through_dots(tmp_path):
    preset = tmp_path / "dots.yaml"
    preset.write_text("ink:\n  - {effect: print_dots, pitch: 2.0, fill: 1.0, jitter: 0.3}\npaper: []\npost: []\n")
    loaded = load_preset(str(preset))
    page = np.full((60, 200, 3), 255, np.uint8)
    page[20:40, 20:180] = 0
    out = degrade_array(page, np.zeros((0, 4)), loaded, seed=1)
    assert [a["effect"] for a in out.applied] == ["print_dots"]
    assert 0 < (255 - out.image[20:40, 20:180].astype(float)).mean() / 255 < 0.95
