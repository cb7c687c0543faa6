"""``synth --like DIR``: fit generation to a folder of the user's unlabeled scans.

    docfoundry synth --like scans/ --doc-types receipt --n 1000 --out data/synth

The scans are measured (``docfoundry.pagestats``: glyph height, paper and ink levels, tint, blur,
noise, skew, size). The resolution comes from the glyph heights (synthetic pages rendered at the DPI
whose letters are as tall in pixels as the scans'), the base preset is the built-in one whose pages
measure closest after one calibration step, and its ink fade (or black point, for ink darker than an
unfaded page's), paper, rotation, blur and noise strengths are then set by a few rounds of degrading
calibration pages and measuring them again, until they measure like the scans. A readability guard then
OCRs the fields of the calibration pages degraded with the fitted preset: where the fit would make the
truth unreadable (field CER over ``READABLE_CER``; e.g. blur before a bitonal scanner's threshold), its
damaging strengths are backed off, then the next-closest base is tried, and what was done is said in
the preset and ``run.json``. The result is a preset YAML (``OUT/like.yaml``) and a DPI, both kept in
``run.json``, and the scans' page sizes (``OUT/like-pages.yaml``): per measured scan its size in points
at the resolution that makes its own glyphs as tall as the synthetic ones, drawn per synthetic page
(``synth --page-sizes``), so the pages come in the scans' spread of aspects, pixel sizes and text
scales, not one of each. Each row also carries the ink fade or black point, paper, blur and noise
strengths that bring a page to that scan's own measures (``PER_PAGE``: one calibration step from the
fit, one more on a page at the row's DPI), since the scans' ink and sheets spread in ways one median
cannot draw. Whether the ink prints through a print head's dots is judged by OCR's sureness on scans
and calibration pages (``synth.like_dots``).
"""

from __future__ import annotations

import functools
import math
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docfoundry.errors import UserError
from docfoundry.images import IMAGE_SUFFIXES
from synth.like_dots import head_pitch, with_dots

if TYPE_CHECKING:
    from synth.generate import Rendered

MAX_PAGES = 40         # scans measured (evenly spaced over the folder)
EXTENT_SIDE = 1000     # longest side the ink's extent is measured at (a share of the page: coarse is enough)
PITCH_SIDE = 2000      # longest side the line pitch is measured at (a lag of one pixel must be a small share of it)
PITCH_PAGES = 12       # clean synthetic pages whose median line pitch is the one a scan's is compared with
SPACING_RANGE = (0.8, 1.5)  # line spacing a page may be drawn at, as a share of the layouts' own
CALIBRATION_PAGES = 3  # synthetic pages degraded per calibration round
# Clean pages the synthetic glyph height is the median of: the layouts' type sizes differ twofold (16 to 33 px at
# 300 DPI), so the median of a few calibration pages moved the fitted DPI by a fifth with the pages drawn.
GLYPH_PAGES = 48
GROWTH_PAGES = 8      # pages whose glyphs are measured clean and degraded for what the degradation adds to them
DPI_TOLERANCE = 0.06   # a DPI this close to the last one is kept (a pixel of a 20 px glyph is 5%)
ROUNDS = 4             # calibration rounds of the strengths
DPI_RANGE = (50, 600)
# The measures the base preset is chosen on, each with the spread that counts as one unit of distance.
MATCH_SCALES = {"paper_level": 8.0, "ink_level": 60.0, "tint": 4.0, "blur_sigma": 0.3, "noise_sigma": 1.0,
                "abs_skew": 0.7, "contrast": 60.0}
# Effects whose strengths are fitted: (phase, effect, parameter) -> the measure it is fitted to. The ink's
# darkness is a uniform fade (thermal_fade without its bands), fitted with blur, which lightens thin strokes too.
FITTED = {("ink", "thermal_fade", "fade"): "ink_level",
          ("paper", "paper", "brightness"): "paper_level", ("paper", "paper", "tint"): "tint",
          ("post", "rotate", "angle"): "abs_skew",
          ("post", "blur", "sigma"): "blur_sigma", ("post", "noise", "sigma"): "noise_sigma",
          ("post", "black_point", "level"): "ink_level"}
# A fitted step the base preset lacks gets these parameters: the fade alone, no bands or weak columns.
NEW_STEP = {"thermal_fade": {"gradient": 0.0, "banding": 0.0, "dropouts": 0.0}}
REPLACED_BY_FADE = ("ink_fade",)  # a base's fading steps the fitted fade takes the place of
FADE_TOP = 0.8  # the most ink a fit takes away (a fifth of the darkness stays)
# Ink darker than a fade-free page gives (blur greys thin strokes; a scanner's levels make them black) is the
# black point's to fit, up to this gray level: past it the gaps between blurred glyphs would print black too.
BLACK_TOP = 120.0
# The strengths set per page from its own scan (``page_sizes_of``): sheet, ink, blur and noise vary together from
# scan to scan in ways one median cannot draw (sroie-dev: sharp, noisy black-ink scans next to soft faded ones).
PER_PAGE = ("thermal_fade.fade", "black_point.level", "paper.brightness", "paper.tint", "blur.sigma", "noise.sigma")
_POST_LAST = ("jpeg", "binarize", "gray")  # fitted post effects go before these (the scanner's output stage)
# Readability guard: the field CER (rapidocr on the fields' lines) fitted pages may reach, above the clean
# pages' own; past it the strengths that destroy text are scaled by BACKOFF, at most BACKOFF_STEPS times.
# At 0.35 about two characters in three still read right; the built-in presets stay under it on 150 DPI
# receipts (phone 0.31, heavy 0.14), a fit that blurs or specks text away before a bitonal threshold does not.
READABLE_CER = 0.35
BACKOFF = 0.6
BACKOFF_STEPS = 4
GUARD_DRAWS = 3  # degradation draws per calibration page the guard reads (one draw's luck is no verdict)
BACKED_OFF = ("blur.sigma", "noise.sigma")  # what makes text unreadable; paper, tint and skew do not


@dataclass
class LikeFit:
    """What ``--like`` found: the DPI, the preset (as YAML data), the strengths and the measures."""

    source: str
    pages: int
    dpi: int
    base_preset: str
    preset: dict[str, Any]
    strengths: dict[str, float]
    real: dict[str, float]
    synthetic: dict[str, float]
    base_distances: dict[str, float] = field(default_factory=dict)
    readability: dict[str, Any] = field(default_factory=dict)
    page_sizes: list[dict[str, float]] = field(default_factory=list)  # ``page_sizes_of`` the scans
    print_dots: dict[str, Any] = field(default_factory=dict)  # OCR sureness of scans, plain and dotted pages

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "pages": self.pages, "dpi": self.dpi, "base_preset": self.base_preset,
                "strengths": self.strengths, "real": self.real, "synthetic": self.synthetic,
                "base_distances": self.base_distances, "readability": self.readability, "preset": self.preset,
                "page_sizes": self.page_sizes, "print_dots": self.print_dots}


def scan_files(folder: str) -> list[Path]:
    """The images under ``folder`` (recursive, sorted); none is a one-line error naming the folder."""
    root = Path(folder)
    if not root.is_dir():
        raise UserError(f"--like {folder}: not a folder of scans")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"--like {folder}: no images found (looked for {', '.join(IMAGE_SUFFIXES)})")
    return files


def evenly_spaced(items: list[Any], n: int) -> list[Any]:
    """Up to ``n`` of ``items``, evenly spaced over them (all of them when there are no more)."""
    return list(items) if len(items) <= n else [items[i * len(items) // n] for i in range(n)]


def measure(image: Any) -> dict[str, float]:
    """The page measures the fit uses (``page_stats`` with skew as its size)."""
    from docfoundry.pagestats import page_stats

    s = page_stats(image)
    s["abs_skew"] = abs(s.pop("skew_degrees"))
    return s


def ink_extent(image: Any) -> dict[str, float]:
    """Where the page's text lies, as shares of its width and height (``ink_x0`` .. ``ink_y1``: the 2nd
    and 98th percentiles of the edges of its glyph-shaped ink pieces, as ``pagestats.glyph_height``
    picks them, so a photo's paper edges and background do not count): a receipt photographed or
    scanned with paper or background around its print has its text in the middle of the image."""
    import numpy as np

    from docfoundry.pagestats import gray_array, ink_mask

    mask = ink_mask(gray_array(image, EXTENT_SIDE)[0])
    x, y, w, h = _glyph_pieces(mask)
    if len(h) < 20:
        return {"ink_x0": 0.0, "ink_y0": 0.0, "ink_x1": 1.0, "ink_y1": 1.0}
    rows, cols = mask.shape
    return {"ink_x0": float(np.percentile(x, 2) / cols), "ink_x1": float(np.percentile(x + w, 98) / cols),
            "ink_y0": float(np.percentile(y, 2) / rows), "ink_y1": float(np.percentile(y + h, 98) / rows)}


def _glyph_pieces(mask: Any) -> tuple[Any, Any, Any, Any]:
    """``(x, y, w, h)`` of the ink's connected pieces shaped like characters (as ``glyph_height`` picks them)."""
    import cv2
    import numpy as np

    _, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    x, y, w, h, area = (stats[1:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH,
                                                cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
    glyph = (h >= 3) & (h <= mask.shape[0] / 8) & (w <= 3 * h) & (area >= 4)
    return x[glyph], y[glyph], w[glyph], h[glyph]


def line_pitch(image: Any) -> float:
    """The distance between the page's printed lines in glyph heights (0 when too little text): the
    first strong peak of the autocorrelation of its ink row profile (the glyph-shaped pieces' widths
    at their centre rows), which merged or blank rows do not shift, as adjacent-row gaps would be."""
    import numpy as np

    from docfoundry.pagestats import gray_array, ink_mask

    mask = ink_mask(gray_array(image, PITCH_SIDE)[0])
    _, y, w, h = _glyph_pieces(mask)
    if len(h) < 20:
        return 0.0
    glyph = float(np.median(h))
    profile = np.bincount(y + h // 2, weights=w, minlength=mask.shape[0]).astype(float)
    sigma = max(1.0, glyph / 4)
    kernel = np.exp(-0.5 * (np.arange(-int(3 * sigma), int(3 * sigma) + 1) / sigma) ** 2)
    p = np.convolve(profile, kernel, "same")
    p -= p.mean()
    ac = np.correlate(p, p, "full")[len(p) - 1:]
    lo, hi = int(1.1 * glyph), min(len(ac) - 1, int(6 * glyph))
    if hi - lo < 3:
        return 0.0
    window = ac[lo:hi + 1]
    strong = [i for i in range(1, len(window) - 1)
              if window[i - 1] <= window[i] >= window[i + 1] and window[i] >= 0.5 * window.max()]
    i = strong[0] if strong else int(window.argmax())
    if 0 < i < len(window) - 1:  # the peak between pixels (a parabola through it and its neighbours)
        a, b, c = window[i - 1], window[i], window[i + 1]
        i += 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
    return float((lo + i) / glyph)


def measure_scans(folder: str, max_pages: int = MAX_PAGES) -> list[dict[str, float]]:
    """Measures of up to ``max_pages`` scans (with their ``ink_extent``), evenly spaced; an unreadable
    one stops naming its file."""
    from docfoundry.images import open_image

    files = evenly_spaced(scan_files(folder), max_pages)
    rows = []
    for f in files:
        image = open_image(f, str(f), "scan")
        rows.append({**measure(image), **ink_extent(image), "line_pitch": line_pitch(image)})
    return rows


def medians(rows: list[dict[str, float]]) -> dict[str, float]:
    """The median of every measure over pages."""
    return {k: float(statistics.median(r[k] for r in rows)) for k in rows[0]}


def page_sizes_of(rows: list[dict[str, float]], dpi: int, glyph_height: float, pitch: float = 0.0,
                  fitted: tuple[dict[str, float], dict[str, float]] | None = None) -> list[dict[str, Any]]:
    """Per scan, the page that looks like it at synthetic scale: ``dpi`` makes the synthetic glyphs
    ``glyph_height`` px tall, so a scan whose glyphs are k times that gets k times the DPI (its text
    scale), and its pixel size divided by that DPI is its size in points (its aspect is kept); where
    its ink lies (``ink_extent``) is the box the print is asked to fill (``print``, points). With the
    synthetic pages' line ``pitch`` (glyph heights), a scan's own pitch over it is the line spacing
    its page is drawn at (``spacing``, within ``SPACING_RANGE``), so a roll reaches the scan's length
    with the scan's lines, not with more rows at the layouts' spacing. With ``fitted`` (the fitted
    strengths and what pages degraded with them measure), each row gets the ``PER_PAGE`` strengths one
    calibration step moves to its own scan's measures (``strengths``)."""
    out = []
    for r in rows:
        scale = r["glyph_height"] / glyph_height if r["glyph_height"] > 0 and glyph_height > 0 else 1.0
        page_dpi = int(round(min(DPI_RANGE[1], max(DPI_RANGE[0], dpi * scale))))
        width, height = r["width"] * 72 / page_dpi, r["height"] * 72 / page_dpi
        row = {"dpi": page_dpi, "width": round(width, 1), "height": round(height, 1)}
        if "ink_x0" in r:
            row["print"] = [round(r["ink_x0"] * width, 1), round(r["ink_y0"] * height, 1),
                            round(r["ink_x1"] * width, 1), round(r["ink_y1"] * height, 1)]
        if pitch > 0 and r.get("line_pitch", 0) > 0:
            row["spacing"] = round(min(SPACING_RANGE[1], max(SPACING_RANGE[0], r["line_pitch"] / pitch)), 3)
        if fitted is not None:
            row["strengths"] = _page_strengths(_update(*fitted, r))
        out.append(row)
    return out


def _page_strengths(strengths: dict[str, float]) -> dict[str, float]:
    """The ``PER_PAGE`` strengths as a size row writes them: within their effects' limits, whole numbers
    where the parameter takes them (gray levels)."""
    from synth import effects as fx

    out: dict[str, float] = {}
    for key in PER_PAGE:
        effect, _, param = key.partition(".")
        limit, default = fx.EFFECTS[effect].limits.get(param), fx.EFFECTS[effect].params[param]
        value = min(limit.hi, max(limit.lo, strengths[key])) if limit else strengths[key]
        integral = all(isinstance(x, int) for x in (default if isinstance(default, list) else [default]))
        out[key] = round(value) if integral else round(value, 3)
    return out


def distance(a: dict[str, float], b: dict[str, float]) -> float:
    """How far two sets' median measures are, in units of ``MATCH_SCALES``."""
    return math.sqrt(sum(((a[k] - b[k]) / s) ** 2 for k, s in MATCH_SCALES.items()))


# --- presets as data ----------------------------------------------------------------------------

def preset_data(name_or_path: str) -> dict[str, Any]:
    """A preset file's content as plain data (``description``, ``fallback``, the three phases)."""
    from docfoundry.config import load_yaml
    from synth.degrade import PRESET_DIR, PRESET_NAMES, load_preset

    load_preset(name_or_path)  # a bad preset fails here with its one-line error
    path = PRESET_DIR / f"{name_or_path}.yaml" if name_or_path in PRESET_NAMES else Path(name_or_path)
    data = load_yaml(path)
    return {"description": data.get("description", ""), "fallback": data.get("fallback"),
            "ink": list(data.get("ink") or []), "paper": list(data.get("paper") or []),
            "post": list(data.get("post") or [])}


def _step(steps: list[dict[str, Any]], phase: str, effect: str) -> dict[str, Any]:
    """The phase's step of ``effect`` (made and placed where it acts when the preset lacks it)."""
    for s in steps:
        if s.get("effect") == effect:
            return s
    new = {"effect": effect, **NEW_STEP.get(effect, {})}
    if phase == "post" and effect == "rotate":
        steps.insert(0, new)
    elif phase == "post":
        last = [i for i, s in enumerate(steps) if s.get("effect") in _POST_LAST]
        steps.insert(last[0] if last else len(steps), new)
    else:
        steps.insert(0 if phase == "paper" else len(steps), new)
    return new


def with_strengths(base: dict[str, Any], strengths: dict[str, float], spread: float = 0.0) -> dict[str, Any]:
    """``base`` with the fitted effects always applied at ``strengths`` (``"effect.param"`` -> value);
    ``spread`` > 0 writes each as a ``[lo, hi]`` range around its value (per-page variety)."""
    import copy

    data = copy.deepcopy(base)
    for (phase, effect, param), _ in FITTED.items():
        value = strengths.get(f"{effect}.{param}")
        if value is None:
            continue
        step = _step(data[phase], phase, effect)
        step["p"] = 1.0
        if effect == "rotate":  # |U(-2a, 2a)| has median a; calibration tilts by exactly a
            step[param] = [round(-2 * value, 3), round(2 * value, 3)] if spread else round(value, 3)
        elif effect == "paper":  # gray levels are whole numbers
            v = round(value)  # the range stays centred on the fit: one clipped at 0 or 255 would shift its median
            width = min(round((4 if param == "brightness" else 3) * spread * 5), v, 255 - v)
            step[param] = [v - width, v + width] if width else v
        else:
            step[param] = ([round(value * (1 - spread), 3), round(value * (1 + spread), 3)] if spread
                           else round(value, 3))
    if "thermal_fade.fade" in strengths:  # the fitted fade is the ink's darkness: no second, unfitted one
        data["ink"] = [s for s in data["ink"] if s.get("effect") not in REPLACED_BY_FADE]
    for phase in ("ink", "post"):  # a strength fitted to nothing is no step at all
        data[phase] = [s for s in data[phase] if not _is_off(s)]
    return data


_OFF = {("blur", "sigma"): 0.05, ("noise", "sigma"): 0.05, ("rotate", "angle"): 0.02}


def _is_off(step: dict[str, Any]) -> bool:
    for (effect, key), floor in _OFF.items():
        v = step.get(key) if step.get("effect") == effect else None
        if v is not None:
            return max(abs(x) for x in (v if isinstance(v, list) else [v])) <= floor
    return False


def write_preset(data: dict[str, Any], path: Path) -> Path:
    """Write preset data as YAML (validated by loading it back)."""
    import yaml

    from synth.degrade import load_preset

    path.write_text(yaml.safe_dump(data, sort_keys=False, width=120), encoding="utf-8")
    load_preset(str(path))
    return path


# --- the fit ------------------------------------------------------------------------------------

def _degraded(pages: list[Rendered], data: dict[str, Any], folder: Path, tag: str, seed: int) -> list[Any]:
    """One draw of preset ``data`` on each page (page ``i`` with seed ``seed + i``)."""
    from docfoundry.records import WordBox
    from synth.degrade import degrade_sample

    path = write_preset(data, folder / f"{tag}.yaml")
    out = []
    for i, page in enumerate(pages):
        w, h = page.image.size
        anchor = [WordBox("page", [w // 4, h // 4, 3 * w // 4, 3 * h // 4])]  # geometry needs a box to move
        out.append(degrade_sample(page.image, anchor, [], str(path), seed + i)[0])
    return out


def _measure_degraded(pages: list[Rendered], data: dict[str, Any], folder: Path, tag: str, seed: int
                      ) -> dict[str, float]:
    return medians([measure(image) for image in _degraded(pages, data, folder, tag, seed)])


def _fit_dots(folder: str, pages: list[Rendered], base: dict[str, Any], strengths: dict[str, float], dpi: int,
              work: Path, seed: int) -> dict[str, Any]:
    """Whether the fitted pages print through a head's dots (``synth.like_dots``), with the sureness
    of the scans, the plain and the dotted calibration pages."""
    from synth.like_dots import MIN_PITCH, SCANS, choose, scans_sureness, sureness

    pitch = head_pitch(dpi)
    if pitch < MIN_PITCH:
        return {"pitch": pitch, "on": False, "why": f"{dpi} DPI cannot show a head's dots"}
    plain = with_strengths(base, strengths)
    got = {"scans": scans_sureness(evenly_spaced(scan_files(folder), SCANS)),
           "plain": sureness(_degraded(pages, plain, work, "dots-plain", seed)),
           "dotted": sureness(_degraded(pages, with_dots(plain, pitch), work, "dots-dotted", seed))}
    return {**{k: round(v, 4) for k, v in got.items()}, "pitch": pitch, "on": choose(**got)}


def field_cer_of(pages: list[Rendered], data: dict[str, Any] | None, folder: Path, tag: str, seed: int,
                 draws: int = GUARD_DRAWS) -> float:
    """Field CER over ``pages`` degraded ``draws`` times each with preset ``data`` (``None``: the clean
    pages, read once), all fields pooled."""
    import numpy as np

    from synth.degrade import degrade_sample
    from synth.readability import field_cer

    path = str(write_preset(data, folder / f"{tag}.yaml")) if data is not None else ""
    errors = chars = 0
    for draw in range(draws if path else 1):
        for i, page in enumerate(pages):
            image, words, fields = page.image, page.sample.words, page.sample.field_boxes
            if path:
                image, words, fields, _ = degrade_sample(image, words, fields, path, seed + draw * len(pages) + i)
            score = field_cer(np.asarray(image), words, fields)
            errors, chars = errors + score.errors, chars + score.chars
    return errors / max(chars, 1)


def _guard(pages: list[Rendered], order: list[str], fitted: dict[str, dict[str, float]], work: Path, seed: int,
           draws: int = GUARD_DRAWS, dress: Callable[[dict[str, Any]], dict[str, Any]] = lambda data: data,
           ) -> tuple[str, dict[str, float], dict[str, Any]]:
    """The first base in ``order`` whose fitted strengths, backed off as little as needed, keep the fields
    readable: ``(base, strengths, record)``; ``dress`` adds what the fit puts on every base (the head's
    dots). When none does, the most readable try is kept and the record says ``passed: false``."""
    clean = field_cer_of(pages, None, work, "clean", seed)
    limit = round(max(READABLE_CER, clean + READABLE_CER / 3), 4)  # pages unreadable clean are the DPI's doing
    tries: list[dict[str, Any]] = []
    best: tuple[float, str, dict[str, float]] | None = None
    for base in order:
        strengths = fitted[base]
        for step in range(BACKOFF_STEPS + 1):
            scale = BACKOFF ** step
            tried = {k: (v * scale if k in BACKED_OFF else v) for k, v in strengths.items()}
            preset = with_strengths(dress(preset_data(base)), tried, spread=0.2)
            cer = field_cer_of(pages, preset, work, f"guard-{base}-{step}", seed, draws)
            tries.append({"base": base, "scale": round(scale, 4), "cer": round(cer, 4)})
            if best is None or cer < best[0]:
                best = (cer, base, tried)
            if cer <= limit:
                return base, tried, {"max_cer": limit, "clean_cer": round(clean, 4), "cer": round(cer, 4),
                                     "passed": True, "backed_off": scale < 1 or base != order[0], "tries": tries}
    cer, base, tried = best
    return base, tried, {"max_cer": limit, "clean_cer": round(clean, 4), "cer": round(cer, 4), "passed": False,
                         "backed_off": True, "tries": tries}


def _relative_contrast(m: dict[str, float]) -> float:
    """How much of the paper's lightness the ink takes away (0: no ink, 1: black on any paper)."""
    return max(m["paper_level"] - m["ink_level"], 0.0) / max(m["paper_level"], 1.0)


def _update(strengths: dict[str, float], got: dict[str, float], want: dict[str, float]) -> dict[str, float]:
    """One calibration step per strength toward its measure's target."""
    s = dict(strengths)
    # a fade keeps (1 - fade) of each ink pixel's darkness, and blur and the sheet scale that on alike
    keep = (1 - s["thermal_fade.fade"]) * _relative_contrast(want) / max(_relative_contrast(got), 1e-3)
    level = s.get("black_point.level", 0.0)
    if level > 0 or (keep > 1 and s["thermal_fade.fade"] == 0):  # darker than unfaded ink: the black point
        level = min(BLACK_TOP, max(0.0, level + got["ink_level"] - want["ink_level"]))
    else:
        s["thermal_fade.fade"] = min(FADE_TOP, max(0.0, 1 - keep))
    s["black_point.level"] = level
    s["paper.brightness"] = min(255.0, max(0.0, s["paper.brightness"] + (want["paper_level"] - got["paper_level"])))
    s["paper.tint"] = min(80.0, max(0.0, s["paper.tint"] + (want["tint"] - got["tint"])))
    s["rotate.angle"] = min(20.0, max(0.0, s["rotate.angle"] + (want["abs_skew"] - got["abs_skew"])))
    for key, measure_name, top in (("blur.sigma", "blur_sigma", 6.0), ("noise.sigma", "noise_sigma", 40.0)):
        ratio = want[measure_name] / max(got[measure_name], 1e-3)
        s[key] = min(top, max(s[key], 0.05) * ratio ** 1.2)  # both measures grow about in proportion
    return s


def _calibrate(pages: list[Rendered], base: dict[str, Any], want: dict[str, float], strengths: dict[str, float],
               rounds: int, work: Path, tag: str, seed: int, progress: int | None = None,
               ) -> tuple[dict[str, float], dict[str, float]]:
    """``rounds`` of degrade-measure-update from ``strengths``: the last strengths and what they measured."""
    from docfoundry.progress import track

    got: dict[str, float] = {}
    steps = range(rounds)
    for r in track(steps, rounds, "like: strengths", unit="rounds") if progress else steps:
        if r:
            strengths = _update(strengths, got, want)
        got = _measure_degraded(pages, with_strengths(base, strengths), work, f"{tag}-{r}", seed)
    return strengths, got


def _per_page_step(rows: list[dict[str, float]], sizes: list[dict[str, Any]], render: Callable[[int, int], Rendered],
                   base: dict[str, Any], strengths: dict[str, float], work: Path, seed: int) -> None:
    """One more calibration step of each size row's ``PER_PAGE`` strengths, measured on a page at the row's
    own resolution: thin strokes at a low DPI blur lighter, so a median page's ink says too little."""
    for i, (scan, size) in enumerate(zip(rows, sizes, strict=True)):
        own = {**strengths, **size["strengths"]}
        page = render(size["dpi"], i % CALIBRATION_PAGES)
        got = _measure_degraded([page], with_strengths(base, own), work, f"page-{i}", seed + i)
        size["strengths"] = _page_strengths(_update(own, got, scan))


def glyph_median(render: Callable[[int, int], Rendered], dpi: int, n: int = GLYPH_PAGES) -> float:
    """The median glyph height (pixels) of the first ``n`` clean pages ``render`` draws at ``dpi``."""
    return float(statistics.median(measure(render(dpi, i).image)["glyph_height"] for i in range(n)))


def fit_dpi(glyphs: Callable[[int], float], dpi: int, height: float, growth: float = 1.0) -> int:
    """The DPI at which the clean pages' median glyph (``glyphs(dpi)``: ``glyph_median`` at that DPI),
    grown by ``growth`` (what the degradation adds), is ``height`` pixels tall: from ``dpi``, a second
    step where the first lands more than ``DPI_TOLERANCE`` away (a glyph's pixel height is not quite in
    proportion to the DPI); 0 when the pages have no text-like marks."""
    for _ in range(2):
        got = glyphs(dpi) * growth
        if got <= 0:
            return 0
        refit = int(round(min(DPI_RANGE[1], max(DPI_RANGE[0], dpi * height / max(got, 1e-6)))))
        if abs(refit / dpi - 1) <= DPI_TOLERANCE:
            return refit
        dpi = refit
    return dpi


def glyph_growth(render: Callable[[int, int], Rendered], dpi: int, preset: dict[str, Any], work: Path, seed: int,
                 n: int = GROWTH_PAGES) -> float:
    """How much taller preset ``preset`` makes the glyphs measure: the median over ``n`` clean pages at
    ``dpi`` of each one's degraded glyph height over its clean one (per page, since the layouts' type
    sizes differ twofold; over more pages than the calibration's, since on a large page a noisy draw
    can halve the measure)."""
    pages = [render(dpi, i) for i in range(n)]
    degraded = _degraded(pages, preset, work, "growth", seed)
    ratios = [measure(d)["glyph_height"] / h for p, d in zip(pages, degraded, strict=True)
              if (h := measure(p.image)["glyph_height"]) > 0]
    return float(statistics.median(ratios)) if ratios else 1.0


def fit_like(folder: str, render: Callable[[int, int], Rendered], dpi: int, *, max_pages: int = MAX_PAGES,
             seed: int = 0, progress: bool = True) -> LikeFit:
    """Fit the DPI and a preset to the scans in ``folder``. ``render(dpi, i)`` is the ``i``-th clean
    calibration page at ``dpi`` (``synth.generate.Rendered``: its image, words and field boxes);
    ``dpi`` is where the glyph-height fit starts."""
    from docfoundry.progress import track
    from synth.degrade import PRESET_NAMES

    rows = measure_scans(folder, max_pages)
    want = medians(rows)
    glyphs = functools.cache(lambda at: glyph_median(render, at))  # each DPI's pages are measured once
    fitted_dpi = fit_dpi(glyphs, dpi, want["glyph_height"]) if want["glyph_height"] > 0 else 0
    if not fitted_dpi:
        raise UserError(f"--like {folder}: no text-like marks found on the scans or the synthetic pages")
    pages = [render(fitted_dpi, i) for i in range(CALIBRATION_PAGES)]
    initial = {"thermal_fade.fade": 0.0, "black_point.level": 0.0, "paper.brightness": want["paper_level"],
               "paper.tint": max(0.0, want["tint"]), "rotate.angle": want["abs_skew"], "blur.sigma": 0.5,
               "noise.sigma": max(0.5, want["noise_sigma"])}
    with tempfile.TemporaryDirectory(prefix="docfoundry-like-") as tmp:
        work = Path(tmp)
        tried: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
        names = list(PRESET_NAMES)
        # each base gets one calibration step before it is judged: its own strengths are what get fitted
        for name in track(names, len(names), "like: presets", unit="presets") if progress else names:
            tried[name] = _calibrate(pages, preset_data(name), want, initial, 2, work, f"base-{name}", seed)
        distances = {n: round(distance(got, want), 3) for n, (_, got) in tried.items()}
        order = sorted(distances, key=lambda n: (distances[n], n))
        base = order[0]
        base_data = preset_data(base)
        begin = _update(*tried[base], want)
        steps = ROUNDS if progress else None
        strengths, got = _calibrate(pages, base_data, want, begin, ROUNDS, work, "round", seed, steps)
        growth = 1.0
        for attempt in range(2):  # blur and noise make glyphs look taller: refit the DPI on degraded pages
            growth = glyph_growth(render, fitted_dpi, with_strengths(base_data, strengths), work, seed)
            refit = fit_dpi(glyphs, fitted_dpi, want["glyph_height"], growth)
            if abs(refit / fitted_dpi - 1) <= DPI_TOLERANCE:
                break
            fitted_dpi = refit
            pages = [render(fitted_dpi, i) for i in range(CALIBRATION_PAGES)]
            strengths, got = _calibrate(pages, base_data, want, _update(strengths, got, want), 2, work,
                                        f"dpi-{attempt}", seed)
        dots = _fit_dots(folder, pages, base_data, strengths, fitted_dpi, work, seed)
        dress = (lambda data: with_dots(data, dots["pitch"])) if dots["on"] else (lambda data: data)
        if dots["on"]:  # the dots lighten and thin the ink: the strengths are fitted again through them
            base_data = dress(base_data)
            strengths, got = _calibrate(pages, base_data, want, _update(strengths, got, want), 2, work, "dots", seed)
        # the runners-up keep their one-step strengths: the guard only needs them when the best one fails
        fitted = {n: _update(*tried[n], want) for n in order[1:3]}
        fitted[base] = strengths
        base, strengths, readability = _guard(pages, order[:3], fitted, work, seed, dress=dress)
        if readability["backed_off"]:  # what the pages measure now, not what the unreadable fit did
            base_data = dress(preset_data(base))
            got = _measure_degraded(pages, with_strengths(base_data, strengths), work, "guarded", seed)
        strengths = {k: round(v, 3) for k, v in strengths.items()}
        pitch = statistics.median(line_pitch(render(fitted_dpi, i).image) for i in range(PITCH_PAGES))
        sizes = page_sizes_of(rows, fitted_dpi, want["glyph_height"], pitch, (strengths, got))
        _per_page_step(rows, sizes, render, base_data, strengths, work, seed)
    preset = with_strengths(base_data, strengths, spread=0.2)
    said = (f"; field CER {readability['cer']:.3f} (clean {readability['clean_cer']:.3f}, at most "
            f"{readability['max_cer']:.3f})")
    if readability["backed_off"]:
        said += (", strengths backed off to keep the text readable" if readability["passed"] else
                 ", NOT READABLE at any backed-off strength: check the scans' resolution")
    preset["description"] = (f"fitted by synth --like to {len(rows)} scans of {folder}: base {base}, "
                             f"{fitted_dpi} DPI{said}")
    preset["fallback"] = preset.get("fallback") or "light"
    keep = ("glyph_height", "width", "height", "aspect", *MATCH_SCALES)
    real = {k: round(want[k], 4) for k in (*keep, "line_pitch")}
    synthetic = {**{k: round(got[k], 4) for k in keep if k in got}, "line_pitch": round(pitch, 4),
                 "glyph_height": round(glyphs(fitted_dpi) * growth, 4)}
    return LikeFit(str(folder), len(rows), fitted_dpi, base, preset, strengths, real, synthetic, distances,
                   readability, sizes, dots)
