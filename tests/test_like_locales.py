"""synth --like's locale fit: scans vote for the supported locale whose pages print their words;
a known locale is recovered from pages drawn in it, real Malaysian receipts pick Malaysia,
and a folder OCR reads nothing on (or a single candidate) keeps the candidates."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from real_data import SROIE

from synth.generate import SynthConfig, render_sample
from synth.like import scan_files
from synth.like_locales import drawn_locales, fit_locales, letters_of
from synth.locales import SUPPORTED

BASE = SynthConfig(out="unused", doc_types=["receipt"], degrade="clean", seed=3)


def render(locale: str, i: int):
    return render_sample(dataclasses.replace(BASE, locales=[locale]), i)


def test_letters_and_vote_shares():
    assert letters_of("TOTAL RM 12.50 Jalan-Besar 3x") == "total rm jalan besar x"
    assert drawn_locales({"en_MS": 8}) == ["en_MS"]
    assert drawn_locales({"en_GB": 2, "en_MS": 6}) == ["en_GB", "en_MS", "en_MS", "en_MS"]


@pytest.mark.parametrize("locale", ["de_DE", "en_IN"])
def test_pages_rendered_in_a_known_locale_vote_for_it(tmp_path, locale):
    for i in range(3):  # the 'scans': other pages than the vocabulary's (indices 100+), same locale
        render(locale, 100 + i).image.save(tmp_path / f"scan{i}.png")
    fit = fit_locales(scan_files(str(tmp_path)), render, list(SUPPORTED))
    assert fit.locales == [locale], fit.to_json()
    assert fit.probability[locale] == max(fit.probability.values()), fit.probability


@pytest.mark.skipif(not SROIE.is_dir(), reason="needs ../shared/datasets/sroie-dev")
def test_real_malaysian_receipts_are_drawn_mostly_in_en_ms():
    fit = fit_locales(scan_files(str(SROIE / "images")), render, list(SUPPORTED), scans=4, pages=4)
    assert fit.scans == 4 and max(fit.votes, key=fit.votes.get) == "en_MS", fit.to_json()
    assert fit.probability["en_MS"] == max(fit.probability.values()), fit.probability


def test_one_candidate_is_kept_without_reading_a_scan(tmp_path):
    fit = fit_locales([tmp_path / "not-read.png"], render, ["en_US"])
    assert fit.locales == ["en_US"] and fit.scans == 0


def test_scans_without_text_keep_the_candidates(tmp_path):
    from PIL import Image

    Image.new("L", (300, 500), 255).save(tmp_path / "blank.png")
    fit = fit_locales([Path(tmp_path / "blank.png")], render, ["en_US", "de_DE"], pages=1)
    assert fit.locales == ["en_US", "de_DE"] and fit.votes == {} and fit.scans == 0


def test_without_scikit_learn_the_locale_fit_is_one_line_naming_the_extra(tmp_path, monkeypatch, capsys):
    import sys

    from PIL import Image

    from docfoundry.cli import main

    Image.new("L", (300, 500), 255).save(tmp_path / "scan.png")
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if the gap extra were not installed
    assert main(["synth", "--n", "1", "--like", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "docfoundry[gap]" in err and "--like-locales keep" in err and len(err.splitlines()) == 1, err
