"""Boxes stay on their text: each geometric effect alone, every preset on real synthetic pages,
and a PNG per preset with the boxes drawn for a person to look at."""

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from synth import effects as fx
from synth.boxcheck import box_fidelity, draw_boxes, pages_fidelity
from synth.degrade import PRESET_NAMES, degrade_array, degrade_sample, load_preset
from synth.specimen import specimen_page

VISUAL_DIR = Path(os.environ.get("DOCFOUNDRY_TEST_OUTPUT", Path(__file__).resolve().parent.parent / "out" / "test-output")) / "degrade"

# Each geometric effect at the strong end of what a preset would ask for; white fills so that
# every dark pixel on the result is text.
STRONG = {
    "rotate": {"angle": [-3.0, 3.0], "fill": 255.0},
    "perspective": {"strength": [0.03, 0.06], "fill": 255.0},
    "scale": {"factor": [0.6, 0.8], "vertical": [0.5, 1.0]},
    "crop": {"amount": [0.5, 1.0]},
    "frame": {"fill_ratio": [0.75, 0.9], "background": 255},
    "wave": {"amplitude": [0.002, 0.004], "wavelength": [0.5, 1.0]},
    "crumple": {"amplitude": [0.004, 0.006], "cells": [4, 10]},
}


def test_every_geometric_effect_is_covered_here():
    assert set(STRONG) == {n for n, e in fx.EFFECTS.items() if e.kind == "geometric"}


def _single(tmp_path: Path, effect: str, phase: str = "post"):
    path = tmp_path / f"{effect}_{phase}.yaml"
    doc = {"ink": [], "paper": [], "post": []}
    doc[phase] = [{"effect": effect, **STRONG[effect]}]
    path.write_text(yaml.safe_dump(doc))
    return load_preset(str(path))


@pytest.mark.parametrize("effect", sorted(STRONG))
def test_geometric_effect_moves_boxes_with_the_text(effect, tmp_path):
    preset = _single(tmp_path, effect)
    for seed in range(3):
        img, words, fields = specimen_page(seed)
        page = np.asarray(img)
        boxes = np.array([w.box for w in words] + [f.box for f in fields], float)
        out = degrade_array(page, boxes, preset, seed)
        assert [a["effect"] for a in out.applied] == [effect]
        # 1) the pixel-coordinate check: every field's ink is in its moved box, box fits the pixels
        fits = box_fidelity(page, fields, out, len(words))
        assert all(f.coverage >= 0.98 for f in fits), [(f.path, f.coverage) for f in fits if f.coverage < 0.98]
        assert sum(f.ok for f in fits) / len(fits) >= 0.99, [f for f in fits if not f.ok]
        # 2) on the degraded pixels themselves: the dark pixels lie inside the union of word boxes,
        #    and each word box holds dark pixels
        gray = out.image.min(axis=2) if out.image.ndim == 3 else out.image
        ink = gray < 128
        h, w = ink.shape
        covered = np.zeros_like(ink)
        moved = np.floor(out.boxes[:len(words)]).astype(int)
        for x0, y0, x1, y1 in moved:
            covered[max(y0, 0):max(y1 + 1, 0), max(x0, 0):max(x1 + 1, 0)] = True
            assert ink[max(y0, 0):y1 + 1, max(x0, 0):x1 + 1].any()
        assert ink.sum() > 1000
        assert (ink & covered).sum() / ink.sum() >= 0.99, effect


def test_geometry_in_the_ink_phase_moves_boxes_too(tmp_path):
    preset = _single(tmp_path, "rotate", phase="ink")
    img, words, fields = specimen_page(4)
    page = np.asarray(img)
    boxes = np.array([w.box for w in words] + [f.box for f in fields], float)
    out = degrade_array(page, boxes, preset, 4)
    assert all(f.ok for f in box_fidelity(page, fields, out, len(words)))


def test_degrade_sample_boxes_are_clipped_ints(tmp_path):
    preset = tmp_path / "big_rotate.yaml"
    preset.write_text("ink: []\npaper: []\npost:\n  - {effect: rotate, angle: 25.0}\n")
    img, words, fields = specimen_page(5)
    out, new_words, new_fields, record = degrade_sample(img, words, fields, str(preset), seed=1)
    w, h = out.size
    for b in [x.box for x in new_words + new_fields]:
        assert all(isinstance(v, int) for v in b)
        assert 0 <= b[0] <= b[2] <= w and 0 <= b[1] <= b[3] <= h
    assert [x.text for x in new_words] == [x.text for x in words]
    assert [(x.path, x.text) for x in new_fields] == [(x.path, x.text) for x in fields]
    assert record["effects"][0] == {"phase": "post", "effect": "rotate", "params": {"angle": 25.0, "fill": -1.0}}


@pytest.fixture(scope="module")
def synthetic_pages():
    """Real synthetic pages (one per document type) from the synth stage."""
    from synth.generate import SynthConfig, render_sample

    cfg = SynthConfig(out="unused")
    return [render_sample(cfg, i) for i in range(4)]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_keeps_boxes_on_text_and_writes_a_visual_check(name, synthetic_pages):
    preset = load_preset(name)
    fits = pages_fidelity(synthetic_pages, preset, seed=100)
    share = sum(f.ok for f in fits) / len(fits)
    assert share >= 0.99, (name, share, [f for f in fits if not f.ok][:5])
    # The visual check: one page per preset, degraded through the public API, boxes drawn.
    r = synthetic_pages[PRESET_NAMES.index(name) % len(synthetic_pages)]
    image, words, fields, record = degrade_sample(r.image, r.sample.words, r.sample.field_boxes, name, seed=7)
    VISUAL_DIR.mkdir(parents=True, exist_ok=True)
    target = VISUAL_DIR / f"{name}.png"
    draw_boxes(image, words, fields).save(target)
    assert target.stat().st_size > 5_000
    assert record["preset"] == name and (name == "clean") == (record["effects"] == [])
    if name == "fax":
        assert image.mode == "L"
        assert set(np.unique(np.asarray(image))) <= {0, 255}
