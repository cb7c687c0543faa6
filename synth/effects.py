"""The degradation effects a preset can name: fast numpy/OpenCV effects and vetted augraphy ones.

An effect is registered once with its parameter defaults, the limits of its numeric parameters
and the phases it may run in; a preset names it and may override parameters with a fixed value
or a ``[lo, hi]`` range that is drawn per page (``synth.degrade`` checks both against the limits). Pixel effects take
and return a uint8 page (H x W x 3 RGB or H x W gray). Geometric effects return a ``Warp``: the
same mapping moves the pixels and the word / field boxes, so boxes stay on their text.

Textures (paper blotches, grain, smooth fields) depend only on (size, bucket) and are made once
per process, so a page costs a table lookup and a cheap blend, not a fresh noise field.
"""

from __future__ import annotations

import inspect
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import numpy as np

PHASES = ("ink", "paper", "post")
TEXTURE_BUCKETS = 8  # textures per size: variety across pages (with random flips and offsets) at a fixed cost
_GRAIN_PAD = 64  # grain textures are this much larger so a page reads a randomly offset window


@dataclass(frozen=True)
class OneOf:
    """A string parameter with a fixed set of values; the first is the default."""

    options: tuple[str, ...]


@dataclass(frozen=True)
class Limit:
    """The values a numeric parameter may take: ``lo`` to ``hi``, both included."""

    lo: float
    hi: float

    def admits(self, value: float) -> bool:
        """Whether ``value`` lies within the limit."""
        return self.lo <= value <= self.hi

    def __str__(self) -> str:
        return f"[{self.lo:g}, {self.hi:g}]"


@dataclass(frozen=True)
class Effect:
    """A registered effect: its name, kind, the phases it may run in, its parameter defaults and limits."""

    name: str
    kind: str  # "pixel" or "geometric"
    phases: tuple[str, ...]
    params: dict[str, Any]
    run: Callable[..., Any]
    summary: str
    source: str = "docfoundry"
    limits: dict[str, Limit] = field(default_factory=dict)  # per numeric parameter: the values that work


@dataclass
class Context:
    """What an effect may know about the page beyond its pixels."""

    phase: str
    content: tuple[float, float, float, float] | None  # union of all boxes (x0, y0, x1, y1)
    blank: bool = False  # the layer is still an untouched white sheet (the paper phase's start)


@dataclass
class Warp:
    """A geometric mapping: ``apply`` moves pixels, ``map_points`` moves (x, y) pixel-centre points."""

    size: tuple[int, int]  # output (width, height)
    apply: Callable[[np.ndarray, bool, float | None], np.ndarray]  # (image, nearest, fill) -> image
    map_points: Callable[[np.ndarray], np.ndarray]
    info: dict[str, Any] = field(default_factory=dict)
    matrix: np.ndarray | None = None  # 3x3 homography (pixel centres) when the warp is one


def then(first: Warp, second: Warp) -> Warp | None:
    """One warp doing ``first`` then ``second`` when both are homographies (one resampling, not
    two), else None. The outside of the page takes the later constant fill, if any."""
    if first.matrix is None or second.matrix is None or first.size != second.size:
        return None
    fill = second.info.get("fill")
    return _homography(second.matrix @ first.matrix, second.size,
                       {"fill": first.info.get("fill") if fill is None else fill})


EFFECTS: dict[str, Effect] = {}


def register(name: str, kind: str = "pixel", phases: tuple[str, ...] = PHASES,
             limits: dict[str, Limit] | None = None, **params: Any):
    """Register an effect function under ``name`` with its parameter defaults and the limits of its
    numeric parameters (every one has a limit, and its default lies within it)."""
    limits = limits or {}
    numeric = {k for k, v in params.items() if not isinstance(v, OneOf)}
    if set(limits) != numeric:  # a new effect cannot forget a limit: presets are checked against them
        raise ValueError(f"effect {name}: limits for {sorted(limits)}, numeric parameters {sorted(numeric)}")
    for key, limit in limits.items():
        if not all(limit.admits(v) for v in (params[key] if isinstance(params[key], list) else [params[key]])):
            raise ValueError(f"effect {name}: default {key}={params[key]} outside {limit}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        EFFECTS[name] = Effect(name, kind, phases, params, fn, (fn.__doc__ or "").strip().splitlines()[0],
                               limits=limits)
        return fn

    return deco


UNIT = Limit(0.0, 1.0)
GRAY = Limit(0, 255)  # a uint8 gray level
FILL = Limit(-1.0, 255.0)  # a gray level, or negative: continue the page's border pixels


# ---------------------------------------------------------------- cached textures (per process)


def _canvas(n: int) -> int:
    """Texture sizes are rounded up to 256 so pages of any size (after a crop) share one texture."""
    return -(-n // 256) * 256


def smooth_field(height: int, width: int, bucket: int, cells: int = 8) -> np.ndarray:
    """A low-frequency uint8 field (0..255) over a ``height`` x ``width`` page: blotches, fading."""
    return _smooth_canvas(_canvas(height), _canvas(width), bucket, cells)[:height, :width]


@lru_cache(maxsize=64)
def _smooth_canvas(height: int, width: int, bucket: int, cells: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng([0xD0C, 1, height, width, bucket, cells])
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    big = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(big.min()), float(big.max())
    return np.ascontiguousarray(np.clip((big - lo) * (255.0 / max(hi - lo, 1e-6)), 0, 255).astype(np.uint8))


@lru_cache(maxsize=64)
def grain_field(height: int, width: int, bucket: int) -> np.ndarray:
    """Gaussian grain centred on 128 (sd 32); pages read random windows of padded canvases."""
    rng = np.random.default_rng([0xD0C, 2, height, width, bucket])
    noise = rng.standard_normal((height, width), dtype=np.float32)
    return np.clip(noise * 32.0 + 128.0, 0, 255).astype(np.uint8)


@lru_cache(maxsize=16)
def paper_texture(height: int, width: int, bucket: int) -> np.ndarray:
    """Paper structure centred on 128: blotches plus fibre grain, one gray channel."""
    import cv2

    blotch = smooth_field(height, width, bucket, 6).astype(np.int16) - 128
    fine = grain_field(height // 2, width // 2, bucket)[: height // 2, : width // 2]
    fibres = cv2.resize(cv2.GaussianBlur(fine, (0, 0), 0.8), (width, height)).astype(np.int16) - 128
    return np.clip(128 + blotch // 2 + fibres, 0, 255).astype(np.uint8)


_TEXTURES = {"grain": grain_field, "paper": paper_texture}


@lru_cache(maxsize=32)  # ~8 MB each for a letter page at 150 DPI
def _three_channel(kind: str, height: int, width: int, bucket: int) -> np.ndarray:
    """An RGB copy of a cached texture, made once so RGB pages need no per-page channel merge."""
    import cv2

    plane = _TEXTURES[kind](height, width, bucket)
    return cv2.merge([plane, plane, plane])


def _bucket(rng: np.random.Generator) -> int:
    return int(rng.integers(TEXTURE_BUCKETS))


def _texture_window(kind: str, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A randomly placed window of a cached texture, shaped like ``img`` (a view, no copy).

    Textures are made for the page size rounded up (``_canvas``) plus a margin, so a handful
    serve every page size, including cropped and scaled pages.
    """
    h, w = img.shape[:2]
    dy, dx = (int(v) for v in rng.integers(0, _GRAIN_PAD, 2))
    key = (_canvas(h) + _GRAIN_PAD, _canvas(w) + _GRAIN_PAD, _bucket(rng))
    tex = _TEXTURES[kind](*key) if img.ndim == 2 else _three_channel(kind, *key)
    return tex[dy:dy + h, dx:dx + w]


def _channels(img: np.ndarray, plane: np.ndarray) -> np.ndarray:
    """``plane`` (H x W) shaped like ``img`` (gray stays gray, RGB gets three equal channels)."""
    import cv2

    return plane if img.ndim == 2 else cv2.merge([plane, plane, plane])


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ pixel effects


@register("paper", brightness=[236, 250], tint=[0, 10], texture=[6, 16],
          limits={"brightness": GRAY, "tint": GRAY, "texture": GRAY})
def paper(img, rng, ctx, brightness, tint, texture):
    """Paper colour and structure: multiplies the page by a cached paper texture, tinted yellow."""
    import cv2

    tex = _texture_window("paper", img, rng)
    ramp = brightness + (np.arange(256) - 128.0) * (texture / 128.0)
    # A warm tint takes most from blue, a little from green (aged or recycled paper).
    lut = _lut(ramp) if img.ndim == 2 else np.stack(
        [_lut(ramp), _lut(ramp - tint * 0.4), _lut(ramp - tint)], axis=-1).reshape(256, 1, 3)
    sheet = cv2.LUT(tex, lut)
    return sheet if ctx.blank else cv2.multiply(img, sheet, scale=1 / 255)


@register("ink_fade", fade=[0.1, 0.3], limits={"fade": UNIT})
def ink_fade(img, rng, ctx, fade):
    """Patchy light ink: dark pixels lose up to ``fade`` of their darkness, following a smooth field."""
    import cv2

    h, w = img.shape[:2]
    keep = cv2.LUT(smooth_field(h, w, _bucket(rng)), _lut(255 * (1 - fade * np.arange(256) / 255)))
    dark = cv2.bitwise_not(img)
    return cv2.bitwise_not(cv2.multiply(dark, _channels(img, keep), scale=1 / 255))


@register("ink_spread", radius=[1, 1], limits={"radius": Limit(-10, 10)})
def ink_spread(img, rng, ctx, radius):
    """Ink gain or loss: ``radius`` > 0 thickens strokes (toner spread), < 0 thins them."""
    import cv2

    r = int(radius)
    if r == 0:
        return img
    kernel = np.ones((abs(r) + 1, abs(r) + 1), np.uint8)
    return cv2.erode(img, kernel) if r > 0 else cv2.dilate(img, kernel)


@register("blur", sigma=[0.4, 0.8], limits={"sigma": Limit(0.01, 20.0)})  # OpenCV refuses 0
def blur(img, rng, ctx, sigma):
    """Gaussian blur (scanner optics, focus)."""
    import cv2

    return cv2.GaussianBlur(img, (0, 0), float(sigma))


@register("motion_blur", length=[3, 7], angle=[0.0, 180.0],
          limits={"length": Limit(1, 64), "angle": Limit(-360.0, 360.0)})
def motion_blur(img, rng, ctx, length, angle):
    """Linear motion blur of ``length`` pixels at ``angle`` degrees (hand shake in a photo)."""
    import cv2

    n = max(int(length), 1)
    kernel = np.zeros((n, n), np.float32)
    kernel[n // 2, :] = 1.0 / n
    rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), float(angle), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (n, n))
    return cv2.filter2D(img, -1, kernel / max(float(kernel.sum()), 1e-6))


@register("noise", sigma=[2.0, 5.0], limits={"sigma": Limit(0.0, 128.0)})
def noise(img, rng, ctx, sigma):
    """Sensor noise: cached Gaussian grain of standard deviation ``sigma`` gray levels."""
    import cv2

    grain = _texture_window("grain", img, rng)
    alpha = float(sigma) / 32.0  # the cached grain has sd 32
    return cv2.addWeighted(img, 1.0, grain, alpha, -128.0 * alpha)


@register("speckle", density=[2e-5, 8e-5], size=[1, 3], value=[0, 80],
          limits={"density": Limit(0.0, 0.01), "size": Limit(1, 16), "value": GRAY})
def speckle(img, rng, ctx, density, size, value):
    """Dust and toner specks: ``density`` dots per pixel of ``size`` pixels and gray ``value``."""
    h, w = img.shape[:2]
    n = int(rng.poisson(density * h * w))
    ys, xs = rng.integers(0, h, n), rng.integers(0, w, n)
    dy, dx = np.mgrid[0:int(size), 0:int(size)].reshape(2, -1)
    ys = np.clip(ys[:, None] + dy, 0, h - 1).ravel()
    xs = np.clip(xs[:, None] + dx, 0, w - 1).ravel()
    out = img.copy()
    out[ys, xs] = np.minimum(out[ys, xs], int(value))
    return out


@register("streaks", count=[1, 4], thickness=[1, 3], darkness=[0.3, 0.8],
          orientation=OneOf(("horizontal", "vertical")),
          limits={"count": Limit(0, 100), "thickness": Limit(1, 64), "darkness": UNIT})
def streaks(img, rng, ctx, count, thickness, darkness, orientation):
    """Scanner / fax streaks: full-length dark lines along rows or columns."""
    out = img.copy()
    along_rows = orientation == "horizontal"
    size = img.shape[0] if along_rows else img.shape[1]
    for _ in range(int(count)):
        start = int(rng.integers(0, max(size - int(thickness), 1)))
        sl = slice(start, start + int(thickness))
        band = out[sl] if along_rows else out[:, sl]
        band[...] = (band * (1.0 - darkness)).astype(np.uint8)
    return out


@register("levels", contrast=[0.9, 1.1], brightness=[-8.0, 8.0], gamma=[0.9, 1.1],
          limits={"contrast": Limit(0.0, 10.0), "brightness": Limit(-255.0, 255.0), "gamma": Limit(0.01, 10.0)})
def levels(img, rng, ctx, contrast, brightness, gamma):
    """Contrast around mid-gray, brightness shift and gamma, as one lookup table."""
    import cv2

    x = np.arange(256) / 255.0
    y = ((x ** gamma) - 0.5) * contrast + 0.5 + brightness / 255.0
    return cv2.LUT(img, _lut(y * 255))


@register("black_point", phases=("post",), level=[20.0, 60.0], limits={"level": Limit(0.0, 200.0)})
def black_point(img, rng, ctx, level):
    """A scanner's black point: gray levels up to ``level`` come out black and darker tones darken along a
    curve that leaves the light ones (the paper and its texture) as they were, so soft or thin strokes print
    solid on an unchanged sheet."""
    import cv2

    x = np.arange(256, dtype=np.float32)
    # x - level at x = level (black), x at 255; the shift falls off with the square of the lightness
    return cv2.LUT(img, _lut(x - level * np.square((255.0 - x) / (255.0 - level))))


@register("lighting", strength=[0.1, 0.3], limits={"strength": UNIT})
def lighting(img, rng, ctx, strength):
    """Uneven light: a linear gradient in a random direction plus a vignette, darkening by up to ``strength``."""
    import cv2

    h, w = img.shape[:2]
    gy, gx = np.mgrid[0:32, 0:32].astype(np.float32) / 31.0 - 0.5
    theta = rng.uniform(0, 2 * math.pi)
    ramp = gx * math.cos(theta) + gy * math.sin(theta) + 0.5
    vignette = (gx ** 2 + gy ** 2) * 2.0
    shade = np.clip(0.6 * ramp + 0.4 * vignette, 0, 1)
    gain = cv2.resize((1.0 - strength * shade) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(img, _channels(img, gain.astype(np.uint8)), scale=1 / 255)


@register("shadow", darkness=[0.2, 0.45], softness=[0.02, 0.08], limits={"darkness": UNIT, "softness": UNIT})
def shadow(img, rng, ctx, darkness, softness):
    """A soft-edged shadow (a hand or phone) falling over one side of the page."""
    import cv2

    h, w = img.shape[:2]
    small = 128
    side = int(rng.integers(4))
    depth = rng.uniform(0.15, 0.45) * small
    a, b = sorted(rng.uniform(0, small, 2))
    pts = np.array([[a, 0], [b, 0], [b + rng.uniform(-20, 20), depth], [a + rng.uniform(-20, 20), depth]])
    pts = _rotate_square(pts, side, small)
    mask = np.zeros((small, small), np.float32)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), max(softness * small, 0.5))
    gain = cv2.resize((1.0 - darkness * mask) * 255, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.multiply(img, _channels(img, gain.astype(np.uint8)), scale=1 / 255)


def _rotate_square(pts: np.ndarray, quarter_turns: int, size: float) -> np.ndarray:
    for _ in range(quarter_turns):
        pts = np.stack([size - pts[:, 1], pts[:, 0]], axis=1)
    return pts


@register("color_cast", warmth=[-0.06, 0.06], limits={"warmth": Limit(-1.0, 1.0)})
def color_cast(img, rng, ctx, warmth):
    """White balance: ``warmth`` > 0 shifts toward yellow (tungsten), < 0 toward blue (daylight)."""
    import cv2

    if img.ndim == 2:
        return img
    x = np.arange(256.0)
    lut = np.stack([_lut(x * (1 + warmth)), _lut(x), _lut(x * (1 - warmth))], axis=-1)
    return cv2.LUT(img, lut.reshape(256, 1, 3))


@register("bleed_through", alpha=[0.04, 0.12], limits={"alpha": UNIT})
def bleed_through(img, rng, ctx, alpha):
    """Show-through of the back side: a mirrored, blurred, faint copy of the page."""
    import cv2

    h, w = img.shape[:2]
    # Work at a quarter size: the show-through is blurred anyway.
    small = (max(w // 4, 1), max(h // 4, 1))  # a page scaled down to a few pixels still has a back
    back = cv2.flip(cv2.resize(img, small, interpolation=cv2.INTER_LINEAR), 1)
    back = cv2.GaussianBlur(back, (0, 0), 1.5)
    faint = cv2.addWeighted(back, float(alpha), np.full_like(back, 255), 1.0 - float(alpha), 0)
    return cv2.min(img, cv2.resize(faint, (w, h), interpolation=cv2.INTER_LINEAR))


@register("jpeg", quality=[50, 85], limits={"quality": Limit(0, 100)})
def jpeg(img, rng, ctx, quality):
    """JPEG compression artefacts at ``quality``."""
    import cv2

    # OpenCV codes BGR: swap so chroma subsampling sees the true colours.
    src = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".jpg", src, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out if img.ndim == 2 else cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


@register("gray", phases=("ink", "post"))  # not paper: the sheet is multiplied into an RGB page
def gray(img, rng, ctx):
    """Convert to one gray channel (a gray-scale scan)."""
    import cv2

    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


@register("binarize", phases=("ink", "post"), threshold=[130, 170], limits={"threshold": GRAY})
def binarize(img, rng, ctx, threshold):
    """Black and white at ``threshold`` (fax, bitonal scan); returns gray."""
    import cv2

    g = gray(img, rng, ctx)
    return cv2.threshold(g, int(threshold), 255, cv2.THRESH_BINARY)[1]


@register("resolution", factor=[0.55, 0.8], vertical=[1.0, 1.0],
          limits={"factor": Limit(0.01, 1.0), "vertical": Limit(0.01, 4.0)})
def resolution(img, rng, ctx, factor, vertical):
    """Low resolution look: down-sample by ``factor`` (rows by ``factor * vertical``) and back up."""
    import cv2

    h, w = img.shape[:2]
    small = (max(int(w * factor), 1), max(int(h * factor * vertical), 1))
    down = cv2.resize(img, small, interpolation=cv2.INTER_AREA)
    return cv2.resize(down, (w, h), interpolation=cv2.INTER_LINEAR)


@register("thermal_fade", phases=("ink",), fade=[0.2, 0.5], gradient=[0.0, 0.3], banding=[0.05, 0.2],
          dropouts=[0.0, 0.02], limits={"fade": UNIT, "gradient": UNIT, "banding": UNIT, "dropouts": UNIT})
def thermal_fade(img, rng, ctx, fade, gradient, banding, dropouts):
    """Faded thermal print: dark pixels lose ``fade`` of their darkness, more toward one end of the
    roll (``gradient``), in print-head bands across the rows (``banding``) and in weak dot columns
    (``dropouts``: the share of columns that print light)."""
    import cv2

    h, w = img.shape[:2]
    along = np.linspace(0.0, 1.0, h, dtype=np.float32)
    if rng.random() < 0.5:
        along = along[::-1]
    bands = cv2.resize(rng.uniform(-1, 1, (max(h // 24, 2), 1)).astype(np.float32), (1, h),
                       interpolation=cv2.INTER_CUBIC)[:, 0]
    rows = np.clip(1.0 - fade - gradient * along - banding * bands, 0.0, 1.0)
    cols = np.ones(w, np.float32)
    weak = rng.random(w) < dropouts
    cols[weak] = rng.uniform(0.2, 0.7, int(weak.sum()))
    keep = (np.outer(rows, cols) * 255).astype(np.uint8)
    dark = cv2.bitwise_not(img)
    return cv2.bitwise_not(cv2.multiply(dark, _channels(img, keep), scale=1 / 255))


@register("print_dots", phases=("ink",), pitch=[1.4, 1.8], fill=[1.0, 1.15], jitter=[0.2, 0.4],
          limits={"pitch": Limit(1.0, 8.0), "fill": Limit(0.5, 1.5), "jitter": UNIT})
def print_dots(img, rng, ctx, pitch, fill, jitter):
    """A thermal or dot-matrix print head: the ink sampled on the head's dot grid (``pitch`` pixels
    apart), each dot printed as a round dot ``fill`` pitches wide, its darkness uneven (``jitter``)
    where the glyph covers part of its cell; inside a solid stroke every dot is fully dark."""
    import cv2

    h, w = img.shape[:2]
    dark = (255.0 - gray(img, rng, ctx).astype(np.float32)) / 255.0
    grid = (max(int(w / pitch), 1), max(int(h / pitch), 1))
    cells = cv2.resize(dark, grid, interpolation=cv2.INTER_AREA)
    heat = np.clip(rng.normal(1.0, jitter, cells.shape), 0.3, 1.0)
    edge = np.clip((1.0 - cells) / (1.0 - DOT_COVER), 0.0, 1.0)  # 0 inside a solid stroke, 1 at its edge
    on = (cells > DOT_COVER) * (1.0 - (1.0 - heat) * edge).astype(np.float32)
    dots = cv2.resize(on.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST)
    ys, xs = np.ogrid[0:h, 0:w]
    fy, fx = (ys * grid[1] / h) % 1.0 - 0.5, (xs * grid[0] / w) % 1.0 - 0.5  # where in its dot cell a pixel sits
    disc = (fy * fy + fx * fx <= (fill / 2) ** 2).astype(np.float32)
    ink = cv2.GaussianBlur(dots * disc, (0, 0), 0.5)  # a dot's edge is soft, not a pixel step
    return _channels(img, (255.0 - np.clip(ink, 0.0, 1.0) * 255.0).astype(np.uint8))


DOT_COVER = 0.35  # a head prints a dot where the glyph covers this share of the dot's cell


@register("crease", phases=("paper", "post"), count=[2, 6], depth=[0.08, 0.2], width=[0.002, 0.008],
          highlight=[0.0, 0.06], limits={"count": Limit(0, 50), "depth": UNIT, "width": Limit(0.0005, 0.1),
                                         "highlight": UNIT})
def crease(img, rng, ctx, count, depth, width, highlight):
    """Folds of crumpled paper: ``count`` straight creases across the page, each a shadow of
    ``depth`` beside a thin ``highlight``, ``width`` (share of the page diagonal) wide."""
    import cv2

    h, w = img.shape[:2]
    scale = 256.0 / max(h, w)  # shading is smooth: draw it small, then resize
    sh, sw = max(int(h * scale), 2), max(int(w * scale), 2)
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float32)
    gain = np.ones((sh, sw), np.float32)
    sigma = max(width * math.hypot(sh, sw), 0.5)
    for _ in range(int(count)):
        px, py = rng.uniform(0, sw), rng.uniform(0, sh)
        theta = rng.uniform(0, math.pi)
        d = (xs - px) * math.sin(theta) - (ys - py) * math.cos(theta)  # signed distance to the fold
        gain -= depth * np.exp(-((d - sigma) / sigma) ** 2) - highlight * np.exp(-((d + sigma) / sigma) ** 2)
    gain = cv2.resize(np.clip(gain, 0.3, 1.3), (w, h), interpolation=cv2.INTER_LINEAR)
    out = img.astype(np.float32) * (gain if img.ndim == 2 else gain[:, :, None])
    return np.clip(out, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- geometric effects


def _homography(matrix: np.ndarray, size: tuple[int, int], info: dict[str, Any]) -> Warp:
    import cv2

    matrix = np.asarray(matrix, np.float64)

    def apply(img: np.ndarray, nearest: bool, fill: float | None) -> np.ndarray:
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        border = cv2.BORDER_REPLICATE if fill is None else cv2.BORDER_CONSTANT
        value = 0 if fill is None else (fill,) * (1 if img.ndim == 2 else img.shape[2])
        if np.allclose(matrix[2], (0, 0, 1)):
            return cv2.warpAffine(img, matrix[:2], size, flags=interp, borderMode=border, borderValue=value)
        return cv2.warpPerspective(img, matrix, size, flags=interp, borderMode=border, borderValue=value)

    def map_points(pts: np.ndarray) -> np.ndarray:
        return cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float64), matrix).reshape(-1, 2)

    return Warp(size, apply, map_points, info, matrix)


def _draw_fill(rng: np.random.Generator, fill: float) -> float | None:
    """A negative ``fill`` means: continue the page's own border pixels."""
    return None if fill < 0 else float(fill)


@register("rotate", kind="geometric", phases=("ink", "post"), angle=[-1.0, 1.0], fill=-1.0,
          limits={"angle": Limit(-360.0, 360.0), "fill": FILL})
def rotate(h, w, rng, ctx, angle, fill):
    """Skew: rotate the page by ``angle`` degrees about its centre (size kept)."""
    import cv2

    m = np.vstack([cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), float(angle), 1.0), [0, 0, 1]])
    return _homography(m, (w, h), {"fill": _draw_fill(rng, fill)})


@register("perspective", kind="geometric", phases=("ink", "post"), strength=[0.01, 0.04], fill=-1.0,
          limits={"strength": Limit(0.0, 0.25), "fill": FILL})
def perspective(h, w, rng, ctx, strength, fill):
    """Camera / scanner-lid perspective: each corner moves inward by up to ``strength`` of the page."""
    import cv2

    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    inward = np.float32([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    jitter = rng.uniform(0, strength, (4, 2)) * np.float32([w, h])
    dst = (src + inward * jitter).astype(np.float32)
    return _homography(cv2.getPerspectiveTransform(src, dst), (w, h), {"fill": _draw_fill(rng, fill)})


@register("scale", kind="geometric", phases=("ink", "post"), factor=[0.7, 0.9], vertical=[1.0, 1.0],
          limits={"factor": Limit(0.05, 2.0), "vertical": Limit(0.25, 2.0)})
def scale(h, w, rng, ctx, factor, vertical):
    """Resample the page to ``factor`` of its size (rows ``factor * vertical``): lower scan DPI."""
    import cv2

    nw, nh = max(round(w * factor), 1), max(round(h * factor * vertical), 1)
    sx, sy = nw / w, nh / h

    def apply(img: np.ndarray, nearest: bool, fill: float | None) -> np.ndarray:
        interp = cv2.INTER_NEAREST_EXACT if nearest else cv2.INTER_AREA  # both pixel-centre aligned
        return cv2.resize(img, (nw, nh), interpolation=interp)

    def map_points(pts: np.ndarray) -> np.ndarray:
        return (pts + 0.5) * np.array([sx, sy]) - 0.5

    return Warp((nw, nh), apply, map_points)


@register("crop", kind="geometric", phases=("ink", "post"), amount=[0.0, 0.6], limits={"amount": UNIT})
def crop(h, w, rng, ctx, amount):
    """Page cropping: cut each side by a random share (up to ``amount``) of its blank margin."""
    x0, y0, x1, y1 = ctx.content or (0, 0, w, h)
    margins = np.array([x0, y0, w - x1, h - y1]).clip(min=0)
    cut = np.floor(margins * rng.uniform(0, amount, 4)).astype(int)
    left, top = int(cut[0]), int(cut[1])
    nw, nh = w - left - int(cut[2]), h - top - int(cut[3])

    def apply(img: np.ndarray, nearest: bool, fill: float | None) -> np.ndarray:
        return np.ascontiguousarray(img[top:top + nh, left:left + nw])

    def map_points(pts: np.ndarray) -> np.ndarray:
        return pts - np.array([left, top])

    return Warp((nw, nh), apply, map_points, {"cut": [int(c) for c in cut]})


@register("frame", kind="geometric", phases=("post",), fill_ratio=[0.8, 0.95], background=[40, 200],
          limits={"fill_ratio": Limit(0.05, 1.0), "background": GRAY})
def frame(h, w, rng, ctx, fill_ratio, background):
    """A photo that does not fill the frame: shrink the page onto a plain background, off-centre."""
    s = float(fill_ratio)
    tx, ty = rng.uniform(0, 1, 2) * np.array([w, h]) * (1 - s)
    m = np.array([[s, 0, tx + 0.5 * (s - 1)], [0, s, ty + 0.5 * (s - 1)], [0, 0, 1]])
    return _homography(m, (w, h), {"fill": float(background)})


@register("wave", kind="geometric", phases=("ink", "post"), amplitude=[0.001, 0.003],
          wavelength=[0.6, 1.5], limits={"amplitude": Limit(0.0, 0.05), "wavelength": Limit(0.05, 10.0)})
def wave(h, w, rng, ctx, amplitude, wavelength):
    """Paper that does not lie flat: smooth waves of ``amplitude`` (share of height) across the page."""
    import cv2

    ay, ax = amplitude * h, amplitude * h * 0.5
    ly, lx = wavelength * w, wavelength * h
    py, px = rng.uniform(0, 2 * math.pi, 2)
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)
    # Output pixel (x, y) reads source (x + dx(y), y + dy(x)): separable, so the maps are cheap.
    dy = (ay * np.sin(2 * math.pi * xs / ly + py)).astype(np.float32)
    dx = (ax * np.sin(2 * math.pi * ys / lx + px)).astype(np.float32)
    map_x = xs[None, :] + dx[:, None]
    map_y = ys[:, None] + dy[None, :]

    def apply(img: np.ndarray, nearest: bool, fill: float | None) -> np.ndarray:
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        border = cv2.BORDER_REPLICATE if fill is None else cv2.BORDER_CONSTANT
        value = 0 if fill is None else (fill,) * (1 if img.ndim == 2 else img.shape[2])
        return cv2.remap(img, map_x, map_y, interp, borderMode=border, borderValue=value)

    def map_points(pts: np.ndarray) -> np.ndarray:
        # Invert the pull-map by fixed-point iteration: the displacement is small and smooth.
        sx, sy = pts[:, 0], pts[:, 1]
        x, y = sx.copy(), sy.copy()
        for _ in range(8):
            x = sx - ax * np.sin(2 * math.pi * y / lx + px)
            y = sy - ay * np.sin(2 * math.pi * x / ly + py)
        return np.stack([x, y], axis=1)

    return Warp((w, h), apply, map_points)


@register("crumple", kind="geometric", phases=("ink", "post"), amplitude=[0.002, 0.005], cells=[4, 8],
          limits={"amplitude": Limit(0.0, 0.03), "cells": Limit(2, 64)})
def crumple(h, w, rng, ctx, amplitude, cells):
    """Crumpled paper flattened again: a smooth random displacement of up to ``amplitude`` (share of
    the height) over a ``cells`` x ``cells`` grid of bumps."""
    import cv2

    n = int(cells) + 1
    grid = rng.uniform(-1.0, 1.0, (n, n, 2)).astype(np.float32) * float(amplitude) * h
    dx = cv2.resize(np.ascontiguousarray(grid[:, :, 0]), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(np.ascontiguousarray(grid[:, :, 1]), (w, h), interpolation=cv2.INTER_CUBIC)
    map_x = np.arange(w, dtype=np.float32)[None, :] + dx
    map_y = np.arange(h, dtype=np.float32)[:, None] + dy

    def apply(img: np.ndarray, nearest: bool, fill: float | None) -> np.ndarray:
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        return cv2.remap(img, map_x, map_y, interp, borderMode=cv2.BORDER_REPLICATE)

    def map_points(pts: np.ndarray) -> np.ndarray:
        # Output p reads source p + d(p): solve p = s - d(p) by fixed-point iteration (d is smooth and small).
        src = pts.astype(np.float64)
        p = src.copy()
        for _ in range(8):
            xi = np.clip(np.rint(p[:, 0]), 0, w - 1).astype(int)
            yi = np.clip(np.rint(p[:, 1]), 0, h - 1).astype(int)
            p = src - np.stack([dx[yi, xi], dy[yi, xi]], axis=1)
        return p

    return Warp((w, h), apply, map_points)


# ------------------------------------------------------------------------ augraphy (vetted)

# augraphy effects a preset may name. Each was checked to give the same bytes from the same seed
# in separate processes (it draws only from `random` / `numpy.random`, which are seeded per call)
# and to keep the page size. BadPhotoCopy is left out: its noise masks come from numba-compiled
# code whose RNG the Python-level seeds do not reach; DirtyRollers, Folding and Moire likewise.
AUGRAPHY_EFFECTS = (
    "InkBleed",             # ink spreading along stroke edges, ~60 ms
    "LowInkRandomLines",    # streaks where the print head ran low, ~3 ms
    "LowInkPeriodicLines",  # periodic low-ink banding, ~85 ms
    "InkMottling",          # uneven ink density, ~40 ms
    "DirtyDrum",            # photocopier drum lines, ~450 ms
    "Stains",               # coffee / water stains (paper), ~300 ms
    "LinesDegradation",     # broken thin lines, ~100 ms
)

# What augraphy leaves unchecked, per number (each element of a list): outside these it divides by
# zero, hands OpenCV an empty kernel, or loops or allocates without bound. Anything else it
# cannot use fails at the page and is reported as the preset's fault (synth.degrade).
AUGRAPHY_LIMITS: dict[str, dict[str, Limit]] = {
    "InkBleed": {"intensity_range": UNIT, "kernel_size": Limit(1, 31), "severity": UNIT},
    "LowInkRandomLines": {"count_range": Limit(0, 200), "noise_probability": UNIT},
    "LowInkPeriodicLines": {"count_range": Limit(0, 200), "period_range": Limit(1, 1000), "noise_probability": UNIT},
    "InkMottling": {"ink_mottling_alpha_range": UNIT, "ink_mottling_noise_scale_range": Limit(1, 64),
                    "ink_mottling_gaussian_kernel_range": Limit(1, 63)},
    "DirtyDrum": {"line_width_range": Limit(1, 64), "line_concentration": UNIT, "direction": Limit(-1, 2),
                  "noise_intensity": UNIT, "noise_value": GRAY, "ksize": Limit(1, 31), "sigmaX": Limit(0, 20)},
    "Stains": {"stains_blend_alpha": UNIT},
    "LinesDegradation": {"line_gradient_range": GRAY, "line_gradient_direction": Limit(0, 2),
                         "line_split_probability": UNIT, "line_replacement_value": GRAY,
                         "line_long_to_short_ratio": Limit(1, 1000), "line_replacement_probability": UNIT,
                         "line_replacement_thickness": Limit(1, 64)},
}


@cache
def augraphy_params(name: str) -> dict[str, Any]:
    """The constructor defaults of augraphy effect ``name`` (lists for tuples), without ``p``."""
    import augraphy

    sig = inspect.signature(getattr(augraphy, name).__init__)
    return {k: list(v.default) if isinstance(v.default, tuple) else v.default
            for k, v in sig.parameters.items() if k not in ("self", "p", "numba_jit")}


def run_augraphy(name: str, img: np.ndarray, seed: int, params: dict[str, Any]) -> np.ndarray:
    """Run augraphy effect ``name`` reproducibly: the global RNGs are seeded for the call, then restored."""
    import augraphy
    import cv2

    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    saved = random.getstate(), np.random.get_state()
    try:
        random.seed(seed)
        np.random.seed(seed)
        cv2.setRNGSeed(seed)
        out = getattr(augraphy, name)(p=1, **kwargs)(np.ascontiguousarray(img))
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
    out = np.asarray(out[0] if isinstance(out, tuple) else out).astype(np.uint8, copy=False)
    if out.shape[:2] != img.shape[:2]:
        raise RuntimeError(f"augraphy {name} changed the page size {img.shape[:2]} -> {out.shape[:2]}")
    if out.ndim != img.ndim:
        out = cv2.cvtColor(out, cv2.COLOR_GRAY2RGB if img.ndim == 3 else cv2.COLOR_RGB2GRAY)
    return out


def effect_names() -> list[str]:
    """Every name a preset may use: own effects, then the vetted augraphy ones."""
    return [*EFFECTS, *AUGRAPHY_EFFECTS]
