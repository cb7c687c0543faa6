"""Page sizes per page (``synth --page-sizes``, what ``--like`` fits): ``--like`` recovers the size,
aspect and text-scale spread of a known set of pages; a roll prints as long as asked (more item
rows, not a stretched image), a wide request centres the roll on a sheet; truth stays exact
(``--verify``); the pages are the same bytes across worker counts and processes; layouts that leave
optional labels out still print every field once."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from folder_checks import folder_bytes

from docfoundry.cli import main
from docfoundry.store import LOCK_FILE

ROOT = Path(__file__).resolve().parents[1]
# The known pages: two text scales (DPI), rolls of two widths and lengths (one at a wider line spacing),
# one A4-wide sheet.
KNOWN = """pages:
  - {dpi: 100, width: 220, height: 560}
  - {dpi: 150, width: 200, height: 640}
  - {dpi: 150, width: 170, height: 470, spacing: 1.3}
  - {dpi: 100, width: 600, height: 850}
"""


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]


def _sizes(folder: Path) -> list[tuple[int, int]]:
    from PIL import Image

    return [Image.open(folder / r["file_name"]).size for r in _rows(folder)]


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """Clean receipts drawn at the KNOWN sizes: the 'user's scans' whose spread the fit must find."""
    root = tmp_path_factory.mktemp("pages")
    (root / "known.yaml").write_text(KNOWN)
    assert main(["synth", "--doc-types", "receipt", "--n", "8", "--seed", "4", "--page-sizes",
                 str(root / "known.yaml"), "--verify", "--out", str(root / "scans")]) == 0
    return root


def test_page_sizes_are_honoured_with_exact_truth(known, capsys):
    rows, sizes = _rows(known / "scans"), _sizes(known / "scans")
    asked = {(d, round(w * d / 72), round(h * d / 72)) for d, w, h in [(100, 220, 560), (150, 200, 640),
                                                                       (150, 170, 470), (100, 600, 850)]}
    for r, (w, h) in zip(rows, sizes):
        dpi = json.loads(r["meta"])["dpi"]
        match = [a for a in asked if a[0] == dpi and abs(a[1] - w) <= 2]
        assert match, (dpi, w, h)  # the width (and resolution) asked for, not the layout's own roll
        assert h >= match[0][2] - 2, (dpi, w, h, match)  # at least as long as asked: never cut short
    assert {json.loads(r["meta"])["dpi"] for r in rows} == {100, 150}
    layouts = {json.loads(r["meta"])["layout"] for r in rows}
    assert layouts <= {p.stem for p in (ROOT / "templates/receipt/layouts").glob("*.yaml")}


def test_like_recovers_the_size_aspect_and_scale_spread_of_known_pages(known):
    """The fit's per-scan page sizes give back each scan's pixel size and aspect, where its print lies,
    and the scans' relative text scale."""
    from synth.like import measure_scans, page_sizes_of

    scans = measure_scans(str(known / "scans" / "images"))
    glyph = statistics.median(r["glyph_height"] for r in scans)
    fitted = page_sizes_of(scans, 100, glyph)
    truth = [json.loads(r["meta"])["dpi"] for r in _rows(known / "scans")]
    for row, scan in zip(fitted, scans):
        assert abs(row["width"] * row["dpi"] / 72 - scan["width"]) <= 0.01 * scan["width"] + 1
        assert abs(row["height"] / row["width"] - scan["aspect"]) <= 0.01 * scan["aspect"]
        x0, y0, x1, y1 = row["print"]
        assert 0 <= x0 < x1 <= row["width"] and 0 <= y0 < y1 <= row["height"]
    sheets = [r for r in fitted if r["width"] > 2 * r["print"][2] - 2 * r["print"][0]]
    assert sheets and all(r["print"][0] > 0.2 * r["width"] for r in sheets)  # a roll in the middle of a sheet
    # the text scale: a page's DPI follows its glyphs (type sizes vary by layout, so by page), and the
    # pages scanned at 1.5 times the resolution get about 1.5 times the DPI
    by = {d: statistics.median(f["dpi"] for f, t in zip(fitted, truth) if t == d) for d in set(truth)}
    assert 1.2 <= by[150] / by[100] <= 1.9, (by, truth, [f["dpi"] for f in fitted])


def test_synth_like_draws_the_scans_sizes_per_page(known, tmp_path):
    """End to end: --like on the known pages writes their sizes to like-pages.yaml and draws them per
    page, so the synthetic set's aspects and pixel widths are the known set's, not one layout's."""
    out = tmp_path / "like"
    assert main(["synth", "--doc-types", "receipt", "--n", "12", "--seed", "9", "--like",
                 str(known / "scans" / "images"), "--verify", "--out", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["page_sizes"] == str(out / "like-pages.yaml")
    assert len(run["config"]["like"]["page_sizes"]) == 8
    real = sorted(h / w for w, h in _sizes(known / "scans"))
    got = sorted(h / w for w, h in _sizes(out))
    assert len(set(round(a, 1) for a in got)) >= 3  # a spread, not one aspect
    assert abs(statistics.median(got) - statistics.median(real)) <= 0.15 * statistics.median(real), (got, real)
    scan_widths = [w for w, _ in _sizes(known / "scans")]
    for w, _ in _sizes(out):  # each page as many pixels wide as one of the scans
        assert min(abs(w - s) for s in scan_widths) <= 0.03 * w + 2, (w, scan_widths)


def roll_pages(tmp_path, row: str, n: int) -> list:
    """``n`` till_classic receipts drawn on the page size of one ``--page-sizes`` row (YAML flow text)."""
    from synth.generate import SynthConfig, render_sample

    f = tmp_path / f"sizes-{abs(hash(row))}.yaml"
    f.write_text(f"pages:\n  - {{{row}}}\n")
    cfg = SynthConfig(out="unused", doc_types=["receipt"], seed=2, page_sizes=str(f))
    return [render_sample(cfg, i, layout_name="till_classic") for i in range(n)]


def test_a_roll_prints_as_long_as_asked_with_more_rows(tmp_path):
    short = roll_pages(tmp_path, "dpi: 72, width: 210, height: 300", 3)
    long = roll_pages(tmp_path, "dpi: 72, width: 210, height: 700", 3)
    for s, lo in zip(short, long):
        assert s.image.size[0] == lo.image.size[0] == 210  # the width asked, at 72 DPI one pixel a point
        assert len(lo.sample.gt_parse["items"]) >= len(s.sample.gt_parse["items"])
        assert lo.image.size[1] >= 700  # a print shorter than asked leaves paper below, never a stretch
        assert not s.unverified() and not lo.unverified()
    assert sum(len(p.sample.gt_parse["items"]) for p in long) > sum(len(p.sample.gt_parse["items"]) for p in short)
    ends = [max(w.box[3] for w in p.sample.words) for p in short]
    assert all(abs(e - 300) <= 60 for e in ends), ends  # printed down to about the length asked


def test_a_wide_request_centres_the_roll_on_a_sheet(tmp_path):
    from synth.generate import SynthConfig, render_sample

    f = tmp_path / "sheet.yaml"
    f.write_text("pages:\n  - {dpi: 72, width: 600, height: 850}\n")
    r = render_sample(SynthConfig(out="unused", doc_types=["receipt"], seed=2, page_sizes=str(f)), 0,
                      layout_name="till_modern")
    assert r.image.size == (600, 850)
    xs = [x for w in r.sample.words for x in (w.box[0], w.box[2])]
    assert min(xs) > 150 and max(xs) < 450, (min(xs), max(xs))  # a 227 pt roll in the middle
    assert not r.unverified()


def test_page_sizes_bytes_do_not_depend_on_workers_or_process(known, tmp_path):
    args = ["synth", "--doc-types", "receipt", "--n", "6", "--seed", "12", "--page-sizes", str(known / "known.yaml")]
    assert main([*args, "--workers", "2", "--out", str(tmp_path / "w2")]) == 0
    env = {**os.environ, "PYTHONHASHSEED": "7"}
    subprocess.run([sys.executable, "-m", "docfoundry", *args, "--out", str(tmp_path / "p")], check=True, env=env,
                   cwd=ROOT, capture_output=True)
    skip = {LOCK_FILE, "run.json"}.__contains__  # run.json names its command and folder; the pages are the rest
    a, b = folder_bytes(tmp_path / "w2", skip=skip), folder_bytes(tmp_path / "p", skip=skip)
    assert len(a) == 6 + 1 and a == b


def test_optional_labels_are_left_out_at_the_layouts_rate_and_fields_stay_exact():
    from synth.generate import SynthConfig, render_sample

    cfg = SynthConfig(out="unused", doc_types=["receipt"], seed=8)
    shown = total = 0
    for i in range(12):
        r = render_sample(cfg, i, layout_name="thermal_tax_invoice")
        assert not r.unverified()
        text = " ".join(w.text for w in r.sample.words)
        for label in ("Tel", "Date"):  # this layout's optional labels of always-printed fields
            total += 1
            shown += label in text
    assert 0.1 * total <= shown <= 0.9 * total, (shown, total)


@pytest.mark.parametrize("row", ["{dpi: 100, width: 200}", "{dpi: 100, width: 200, height: 500, spacing: 9}",
                                 "{dpi: 100, width: 200, height: 500, strengths: {paper.shade: 3}}",
                                 "{dpi: 100, width: 200, height: 500, strengths: {thermal_fade.fade: 2.0}}"])
def test_bad_page_sizes_file_is_one_line(tmp_path, capsys, row):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"pages:\n  - {row}\n")
    assert main(["synth", "--n", "1", "--page-sizes", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert str(bad) in err and "row 1" in err and len(err.splitlines()) == 1, err


def test_a_page_sizes_spacing_is_the_line_pitch_drawn_and_measured(tmp_path):
    """A row's ``spacing`` draws the page's lines that much further apart (``line_pitch`` measures it
    back), so a roll reaches the asked length with fewer rows; the truth stays exact."""
    from synth.like import line_pitch

    plain = roll_pages(tmp_path, "dpi: 150, width: 210, height: 640, spacing: 1.0", 4)
    wide = roll_pages(tmp_path, "dpi: 150, width: 210, height: 640, spacing: 1.4", 4)
    assert all(not p.unverified() for p in plain + wide)
    ratio = statistics.median(line_pitch(w.image) / line_pitch(p.image) for p, w in zip(plain, wide))
    assert 1.25 <= ratio <= 1.55, ratio
    rows = [sum(len(p.sample.gt_parse["items"]) for p in s) for s in (plain, wide)]
    assert rows[1] < rows[0], rows


def test_page_sizes_of_sets_each_scans_spacing_from_its_line_pitch():
    """A scan's spacing is its line pitch over the synthetic pages', within ``SPACING_RANGE``; no pitch, no spacing."""
    from synth.like import SPACING_RANGE, page_sizes_of

    scans = [{"glyph_height": 10.0, "width": 600.0, "height": 1800.0, "line_pitch": p} for p in (2.4, 1.0, 9.0, 0.0)]
    rows = page_sizes_of(scans, 100, 10.0, pitch=2.0)
    assert [r.get("spacing") for r in rows] == [1.2, SPACING_RANGE[0], SPACING_RANGE[1], None]
    assert all("spacing" not in r for r in page_sizes_of(scans, 100, 10.0))


def test_every_page_sizes_row_is_drawn_once_per_turn(known):
    """Eight pages after four rows take each row twice: independent draws gave some rows three pages and
    others one, so 30 pages after 40 sroie-dev scans drew 4 of its 17 black-ink scans instead of about 13."""
    from collections import Counter

    from synth.generate import SynthConfig, load_page_sizes, page_row

    cfg = SynthConfig(out="unused", doc_types=["receipt"], seed=4, page_sizes=str(known / "known.yaml"))
    rows = load_page_sizes(cfg.page_sizes)
    counts = Counter(rows.index(page_row(cfg, i)) for i in range(8))
    assert sorted(counts.values()) == [2, 2, 2, 2], counts
    assert [page_row(cfg, i) for i in range(4)] != list(rows)  # shuffled by the seed, not the file's order


def test_a_rows_strengths_degrade_the_pages_drawn_from_it(tmp_path):
    """A ``--page-sizes`` row's strengths replace the preset's on the pages drawn from it (what ``--like``
    writes per scan); rows without them keep the preset's draws, and the truth stays exact."""
    import numpy as np
    from PIL import Image

    preset = tmp_path / "p.yaml"
    preset.write_text("ink:\n  - {effect: thermal_fade, fade: 0.0, gradient: 0.0, banding: 0.0, dropouts: 0.0}\n"
                      "paper:\n  - {effect: paper, brightness: 250, tint: 0, texture: 0}\npost: []\n")
    sizes = tmp_path / "s.yaml"
    sizes.write_text("pages:\n  - {dpi: 100, width: 200, height: 500, strengths: "
                     "{paper.brightness: 200, thermal_fade.fade: 0.5}}\n")
    assert main(["synth", "--doc-types", "receipt", "--n", "2", "--seed", "3", "--page-sizes", str(sizes),
                 "--degrade", str(preset), "--verify", "--out", str(tmp_path / "o")]) == 0
    for r in _rows(tmp_path / "o"):
        effects = {e["effect"]: e["params"] for e in json.loads(r["meta"])["degradation"]["effects"]}
        assert effects["paper"]["brightness"] == 200 and effects["thermal_fade"]["fade"] == 0.5
        gray = np.asarray(Image.open(tmp_path / "o" / r["file_name"]).convert("L"))
        # black ink keeping half its darkness on a 200 sheet is 100 (JPEG rings a little below)
        assert abs(np.percentile(gray, 90) - 200) <= 3 and 80 <= gray.min() <= 110
