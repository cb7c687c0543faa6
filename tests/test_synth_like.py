"""synth --like: the fit recovers the resolution and the strengths of a known preset from pages
degraded with it, backs off strengths that would make the truth unreadable, keeps the fitted preset
and its readability in run.json and OUT/like.yaml, resumes, refuses --degrade beside it, and gives
the same bytes in another process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from real_data import SROIE

from docfoundry.cli import main

ROOT = Path(__file__).resolve().parents[1]
KNOWN = """description: known strengths
ink: []
paper:
  - {effect: paper, brightness: 226, tint: 6, texture: 4}
post:
  - {effect: rotate, angle: 1.5}
  - {effect: blur, sigma: 1.1}
  - {effect: noise, sigma: 6.0}
"""


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """Receipts rendered at 120 DPI and degraded with the KNOWN preset: the 'user's scans' (glyphs 11 px
    tall: at 90 DPI's 9 px one pixel of glyph height is 11% of the DPI, more than the fit is asked to hit)."""
    root = tmp_path_factory.mktemp("like")
    assert main(["synth", "--doc-types", "receipt", "--n", "3", "--seed", "5", "--dpi", "120",
                 "--out", str(root / "clean")]) == 0
    (root / "known.yaml").write_text(KNOWN)
    assert main(["degrade", "--in", str(root / "clean"), "--out", str(root / "scans"),
                 "--preset", str(root / "known.yaml")]) == 0
    return root / "scans" / "images"


def test_fit_recovers_dpi_and_strengths_of_a_known_preset(scans):
    from synth.generate import SynthConfig, render_sample
    from synth.like import fit_like

    def render(dpi: int, i: int):  # the scans' own three pages, clean, in turn: the fit alone is under test
        return render_sample(SynthConfig(out="unused", doc_types=["receipt"], seed=5, dpi=dpi), i % 3)

    fit = fit_like(str(scans), render, 150, progress=False)
    s = fit.strengths
    assert fit.base_preset == "clean", fit.base_distances
    assert abs(fit.dpi - 120) <= 12, fit.dpi
    assert abs(s["paper.brightness"] - 226) <= 6, s
    assert abs(s["paper.tint"] - 6) <= 4, s
    assert abs(s["rotate.angle"] - 1.5) <= 0.4, s
    assert 1.1 * 0.7 <= s["blur.sigma"] <= 1.1 * 1.3, s
    assert 6.0 * 0.75 <= s["noise.sigma"] <= 6.0 * 1.25, s
    for key in ("paper_level", "noise_sigma", "blur_sigma", "abs_skew"):  # the fitted preset measures like the scans
        assert abs(fit.synthetic[key] - fit.real[key]) <= max(0.25 * fit.real[key], 1.0), (key, fit.synthetic, fit.real)
    r = fit.readability  # readable as fitted: nothing was backed off
    assert r["passed"] and not r["backed_off"] and r["cer"] <= r["max_cer"], r


def test_guard_backs_off_a_fit_that_makes_the_fields_unreadable(tmp_path):
    """The forms case: blur before the bitonal base's threshold measures like sharp black-and-white scans
    (the threshold restores the edges) but erodes the letters, as the fit chose for FUNSD's scans; the
    guard backs it off until the fields read again, and says so."""
    from synth.generate import SynthConfig, render_sample
    from synth.like import _guard, field_cer_of, preset_data, with_strengths

    pages = [render_sample(SynthConfig(out="unused", doc_types=["receipt"], seed=5, dpi=110), i) for i in range(2)]
    unreadable = {"paper.brightness": 255.0, "paper.tint": 0.0, "rotate.angle": 0.0, "blur.sigma": 1.0,
                  "noise.sigma": 10.0}
    base, strengths, record = _guard(pages, ["fax"], {"fax": unreadable}, tmp_path, 0, draws=2)
    assert base == "fax" and record["passed"] and record["backed_off"], record
    assert record["tries"][0]["cer"] > record["max_cer"] >= record["cer"], record
    assert strengths["noise.sigma"] < unreadable["noise.sigma"] and strengths["paper.brightness"] == 255.0
    after = field_cer_of(pages, with_strengths(preset_data("fax"), strengths, spread=0.2), tmp_path, "after", 50, 2)
    assert after <= record["max_cer"], (after, record)  # on degradation draws the guard did not see


def _cli(out: Path, scans: Path, hash_seed: str) -> None:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    subprocess.run([sys.executable, "-m", "docfoundry", "synth", "--doc-types", "receipt", "--n", "2", "--seed", "3",
                    "--like", str(scans), "--out", str(out)], check=True, env=env, cwd=ROOT, capture_output=True)


def test_synth_like_writes_its_preset_resumes_and_is_the_same_in_another_process(tmp_path, scans, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    _cli(a, scans, "1")
    _cli(b, scans, "2")
    assert (a / "like.yaml").read_bytes() == (b / "like.yaml").read_bytes()
    images = sorted(p.name for p in (a / "images").iterdir())
    assert len(images) == 2
    assert all((a / "images" / n).read_bytes() == (b / "images" / n).read_bytes() for n in images)
    run = json.loads((a / "run.json").read_text())
    like = run["config"]["like"]
    assert like["source"] == str(scans) and like["dpi"] == run["config"]["dpi"]
    assert run["config"]["degrade"] == str(a / "like.yaml") and like["preset"]["post"]
    assert like["readability"]["cer"] <= like["readability"]["max_cer"]
    assert "field CER" in like["preset"]["description"]
    rows = [json.loads(line) for line in (a / "metadata.jsonl").read_text().splitlines()]
    assert all(json.loads(r["meta"])["degradation"]["preset"] == "like" for r in rows)
    # each page at the text scale of one of the scans (their glyphs' spread around the fitted DPI)
    assert all(json.loads(r["meta"])["dpi"] in {p["dpi"] for p in like["page_sizes"]} for r in rows)
    assert (a / "like-pages.yaml").read_bytes() == (b / "like-pages.yaml").read_bytes()
    # the locales the scans voted for (each scan once) are the ones the pages are drawn in
    fitted = like["locales"]
    assert fitted["scans"] == len(list(scans.iterdir())) == sum(fitted["votes"].values()), fitted
    assert run["config"]["locales"] == fitted["locales"]
    assert all(json.loads(r["meta"])["locale"] in fitted["locales"] for r in rows)
    # the same command again resumes the folder (the fit is the same), making nothing new
    assert main(["synth", "--doc-types", "receipt", "--n", "2", "--seed", "3", "--like", str(scans),
                 "--out", str(a)]) == 0
    assert '"made_now": 0' in capsys.readouterr().out
    assert main(["synth", "--n", "2", "--like", str(scans), "--degrade", "medium", "--out", str(tmp_path / "c")]) == 2
    assert "--like" in capsys.readouterr().err
    assert main(["synth", "--n", "2", "--like", str(tmp_path / "none"), "--out", str(tmp_path / "d")]) == 2
    assert str(tmp_path / "none") in capsys.readouterr().err


def test_like_locales_keep_leaves_the_locales_as_given(tmp_path, scans):
    out = tmp_path / "keep"
    assert main(["synth", "--doc-types", "receipt", "--n", "1", "--seed", "3", "--like", str(scans),
                 "--like-locales", "keep", "--locales", "it_IT", "--out", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["locales"] == ["it_IT"] and "locales" not in run["config"]["like"]
    row = json.loads((out / "metadata.jsonl").read_text().splitlines()[0])
    assert json.loads(row["meta"])["locale"] == "it_IT"


def test_run_config_takes_synth_like(tmp_path, capsys, scans):
    from docfoundry.orchestration.pipeline import load_run_config, stage_hashes

    bad = tmp_path / "bad.yaml"
    bad.write_text(f"synth:\n  like: {tmp_path / 'no-scans'}\n")
    assert main(["run", str(bad), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no-scans" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r" / "synth").exists()
    good = tmp_path / "good.yaml"
    good.write_text(f"synth:\n  like: {scans}\n")
    plain, fitted = stage_hashes(load_run_config("")), stage_hashes(load_run_config(str(good)))
    assert plain["synth"] != fitted["synth"]


REAL_SCANS = SROIE / "images"


def _text_page(seed: int):
    """A white page with dark glyph-sized bars: enough text-like marks for the page measures."""
    from types import SimpleNamespace

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 600), "white")
    draw = ImageDraw.Draw(image)
    for row in range(20):
        for col in range(8 + (seed + row) % 5):
            x, y = 20 + col * 40, 20 + row * 28
            draw.rectangle([x, y, x + 24, y + 14], fill=(20, 20, 20))
    return SimpleNamespace(image=image)


def test_a_paper_range_stays_centred_on_its_fit_at_the_ends_of_the_scale():
    from synth.like import preset_data, with_strengths

    data = with_strengths(preset_data("light"), {"paper.brightness": 255.0, "paper.tint": 0.0}, spread=0.2)
    paper = next(s for s in data["paper"] if s["effect"] == "paper")
    assert (paper["brightness"], paper["tint"]) == (255, 0)  # was [251, 255] and [0, 3]: a warm, darker sheet
    data = with_strengths(preset_data("light"), {"paper.brightness": 240.0, "paper.tint": 1.0}, spread=0.2)
    paper = next(s for s in data["paper"] if s["effect"] == "paper")
    assert (paper["brightness"], paper["tint"]) == ([236, 244], [0, 2])


@pytest.mark.skipif(not REAL_SCANS.is_dir(), reason="needs ../shared/datasets/sroie-dev")
def test_pages_degraded_with_the_paper_fitted_to_real_scans_measure_like_them(tmp_path):
    from synth.like import _measure_degraded, measure_scans, medians, preset_data, with_strengths

    want = medians(measure_scans(str(REAL_SCANS), 4))
    fitted = {"paper.brightness": want["paper_level"], "paper.tint": want["tint"]}
    got = _measure_degraded([_text_page(i) for i in range(6)],
                            with_strengths(preset_data("light"), fitted, spread=0.2), tmp_path, "real", 3)
    # before the centred range: tint 0.26 and paper 254 on scans measuring 0 and 255
    assert abs(got["tint"] - want["tint"]) <= 0.1
    assert abs(got["paper_level"] - want["paper_level"]) <= 0.5


@pytest.mark.skipif(not REAL_SCANS.is_dir(), reason="needs ../shared/datasets/sroie-dev")
def test_a_fitted_fade_brings_the_ink_to_the_real_scans_level(tmp_path):
    """The ink is fitted as the paper is: on four sroie-dev scans (ink levels 27 to 128, median 44) the
    calibration fades a page's ink from the base preset's 19 to theirs; it was left to the base preset."""
    from synth.like import (
        _calibrate,
        _measure_degraded,
        measure_scans,
        medians,
        preset_data,
        with_strengths,
    )

    want = medians(measure_scans(str(REAL_SCANS), 4))
    pages = [_text_page(i) for i in range(3)]
    start = {"thermal_fade.fade": 0.0, "paper.brightness": want["paper_level"], "paper.tint": 0.0,
             "rotate.angle": 0.0, "blur.sigma": 0.5, "noise.sigma": 0.5}
    before = _measure_degraded(pages, with_strengths(preset_data("clean"), start), tmp_path, "start", 3)
    strengths, got = _calibrate(pages, preset_data("clean"), want, start, 3, tmp_path, "ink", 3)
    assert want["ink_level"] - before["ink_level"] >= 15, (before, want)  # the page starts well off
    assert strengths["thermal_fade.fade"] > 0.05
    assert abs(got["ink_level"] - want["ink_level"]) <= 0.25 * abs(before["ink_level"] - want["ink_level"]), \
        (before["ink_level"], got["ink_level"], want["ink_level"])
    assert abs(got["contrast"] - want["contrast"]) <= 6, (got, want)


@pytest.mark.skipif(not REAL_SCANS.is_dir(), reason="needs ../shared/datasets/sroie-dev")
def test_each_page_takes_the_paper_and_ink_of_its_own_scan(tmp_path):
    """One median cannot draw sroie-dev's black-ink scans next to faded ones, or gray sheets next to white:
    each scan's size row carries the strengths that move a page to its own paper and ink, and a page degraded
    with them measures closer to its scan than the median fit's page does."""
    import yaml

    from synth.generate import load_page_sizes
    from synth.like import (
        _measure_degraded,
        measure_scans,
        page_sizes_of,
        preset_data,
        with_strengths,
    )

    scans = measure_scans(str(REAL_SCANS), 6)
    pages = [_text_page(i) for i in range(3)]
    fitted = {"thermal_fade.fade": 0.0, "paper.brightness": 255.0, "paper.tint": 0.0, "rotate.angle": 0.0,
              "blur.sigma": 0.5, "noise.sigma": 0.5}
    median = _measure_degraded(pages, with_strengths(preset_data("light"), fitted), tmp_path, "median", 3)
    sizes = page_sizes_of(scans, 100, 20.0, fitted=(fitted, median))
    fades = [s["strengths"]["thermal_fade.fade"] for s in sizes]
    assert len({round(f, 2) for f in fades}) >= 3 and 0.0 in fades  # black-ink scans keep their ink
    for i, (scan, size) in enumerate(zip(scans, sizes)):
        own = _measure_degraded(pages, with_strengths(preset_data("light"), {**fitted, **size["strengths"]}),
                                tmp_path, f"own-{i}", 3)
        off = {k: abs(median[k] - scan[k]) for k in ("paper_level", "ink_level")}
        assert abs(own["paper_level"] - scan["paper_level"]) <= max(0.5 * off["paper_level"], 4.0), (own, scan)
        if scan["ink_level"] < median["ink_level"]:  # darker than the page: the scanner's black point, no fade
            assert size["strengths"]["thermal_fade.fade"] == 0.0 < size["strengths"]["black_point.level"], size
        assert abs(own["ink_level"] - scan["ink_level"]) <= max(0.5 * off["ink_level"], 4.0), (own, scan)
    file = tmp_path / "sizes.yaml"  # the rows read back as --page-sizes rows with their strengths
    file.write_text(yaml.safe_dump({"pages": sizes}))
    assert [r.strengths for r in load_page_sizes(str(file))] == [s["strengths"] for s in sizes]


def test_the_fit_prints_through_a_heads_dots_only_where_the_scans_read_like_dots(tmp_path):
    """Scans printed in dots read less surely than vector glyphs: the fit keeps the dots for them, not for
    scans of plain pages, and tries none where the resolution cannot show dots."""
    from synth.generate import SynthConfig, render_sample
    from synth.like import _degraded, _fit_dots, preset_data
    from synth.like_dots import head_pitch, with_dots

    dpi = 300
    pages = [render_sample(SynthConfig(out="unused", doc_types=["receipt"], seed=5, dpi=dpi), i) for i in range(2)]
    clean = preset_data("clean")
    dotted = _degraded(pages, with_dots(clean, head_pitch(dpi)), tmp_path, "scans", seed=100)
    for name, images in (("dotted", dotted), ("plain", [p.image for p in pages])):
        (tmp_path / name).mkdir()
        for i, image in enumerate(images):
            image.save(tmp_path / name / f"scan{i}.png")
    on = _fit_dots(str(tmp_path / "dotted"), pages, clean, {}, dpi, tmp_path, seed=0)
    off = _fit_dots(str(tmp_path / "plain"), pages, clean, {}, dpi, tmp_path, seed=0)
    assert on["on"] and on["dotted"] < on["plain"] and abs(on["dotted"] - on["scans"]) < abs(on["plain"] - on["scans"]), on
    assert not off["on"] and off["plain"] == off["scans"], off
    low = _fit_dots(str(tmp_path / "dotted"), pages, clean, {}, 150, tmp_path, seed=0)
    assert not low["on"] and "cannot show" in low["why"], low


def test_a_black_point_prints_gray_strokes_black_and_keeps_white_paper():
    import numpy as np

    from synth.effects import black_point

    img = np.full((20, 40), 255, np.uint8)
    img[5:15, 10:12], img[5:15, 20:22], img[0:2, 30:40] = 70, 150, 246  # a blurred stroke, a light one, textured paper
    out = black_point(img, None, None, 70.0)
    assert out[7, 10] == 0 and out[0, 0] == 255 and 100 < out[7, 20] < 150, (out[7, 10], out[7, 20])
    assert out[0, 35] >= 245  # the sheet's light texture keeps its level


def test_the_synthetic_glyph_height_is_the_layouts_not_the_seeds_draw():
    """The fitted DPI is the one whose pages' median glyph is as tall as the scans': the layouts' type
    sizes differ twofold, so the median of the three calibration pages moved with the pages a seed drew
    (at 200 DPI: 14, 12 and 13 px for seeds 11, 13 and 14, and the fitted DPI 242 to 324 over seeds);
    over ``GLYPH_PAGES`` pages every seed measures the same layouts' height."""
    import dataclasses

    from synth.generate import SynthConfig, render_sample
    from synth.like import glyph_median

    heights = []
    for seed in (11, 13, 14):
        cfg = SynthConfig(out="unused", doc_types=["receipt"], seed=seed, dpi=200)
        heights.append(glyph_median(lambda dpi, i, cfg=cfg: render_sample(dataclasses.replace(cfg, dpi=dpi), i), 200))
    assert max(heights) / min(heights) <= 1.07, heights  # within one pixel of a 15 px glyph


def test_fit_dpi_lands_where_the_grown_glyphs_are_as_tall_as_the_scans():
    from synth.like import DPI_TOLERANCE, fit_dpi

    def glyphs(dpi: int) -> float:  # a glyph's height is not quite in proportion to the DPI: 1 px of antialias
        return dpi / 15 + 1

    dpi = fit_dpi(glyphs, 150, 21.0)
    assert abs(glyphs(dpi) / 21.0 - 1) <= DPI_TOLERANCE, dpi
    grown = fit_dpi(glyphs, dpi, 21.0, growth=1.2)  # blur makes the glyphs measure a fifth taller
    assert grown < dpi and abs(glyphs(grown) * 1.2 / 21.0 - 1) <= DPI_TOLERANCE, (dpi, grown)
    assert fit_dpi(lambda dpi: 0.0, 150, 21.0) == 0  # pages without text-like marks


def test_glyph_growth_is_what_the_degradation_adds_page_by_page(tmp_path):
    """Measured page by page over ``GROWTH_PAGES``: a ratio of three pages' medians read 0.56 for the fitted
    crumpled preset on sroie-dev's seed-13 fit at 326 DPI (a noisy draw on an A4-sized page measured a 31 px
    glyph as 12 px), which sent the DPI to 591 in a first version."""
    from synth.generate import SynthConfig, render_sample
    from synth.like import glyph_growth, preset_data, with_strengths

    def render(dpi: int, i: int):
        return render_sample(SynthConfig(out="unused", doc_types=["receipt"], seed=13, dpi=dpi), i)

    assert glyph_growth(render, 150, preset_data("clean"), tmp_path, 0) == 1.0
    blurred = with_strengths(preset_data("clean"), {"blur.sigma": 1.5})
    assert 1.05 <= glyph_growth(render, 150, blurred, tmp_path, 0) <= 1.6
