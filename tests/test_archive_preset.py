"""The ``archive`` preset: a bitonal scan stored at about half its resolution (FUNSD's look) has
pure white paper, no noise, gray edges from the averaging, and its boxes still hold their text."""

from __future__ import annotations

import numpy as np

from docfoundry.pagestats import page_stats
from synth.boxcheck import pages_fidelity
from synth.degrade import degrade_sample, load_preset
from synth.generate import SynthConfig, render_sample


def test_archive_pages_are_white_noiseless_gray_edged_and_keep_their_boxes():
    cfg = SynthConfig(out="unused", doc_types=["form"], seed=3, dpi=200)
    pages = [render_sample(cfg, i) for i in range(4)]
    for i, r in enumerate(pages):
        image = degrade_sample(r.image, r.sample.words, r.sample.field_boxes, "archive", 40 + i)[0]
        gray = np.asarray(image.convert("L"))
        stats = page_stats(image)
        assert 0.4 < image.size[0] / r.image.size[0] < 0.6  # kept at about half the scanned resolution
        assert stats["paper_level"] == 255 and stats["noise_sigma"] < 0.01
        edges = (gray > 0) & (gray < 255)
        assert edges.mean() > 0.005  # averaged edges, not a bitonal page
        assert 0.6 < stats["blur_sigma"] < 0.8  # FUNSD's train scans measure 0.67
    fits = pages_fidelity(pages, load_preset("archive"), seed=11)
    assert sum(f.ok for f in fits) / len(fits) >= 0.99, [f for f in fits if not f.ok][:5]
