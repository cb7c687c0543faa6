"""What a page image looks like, in numbers: size, paper and ink levels, contrast, ink coverage,
blur, noise, skew and glyph height. No OCR: cheap enough to measure every page of a folder.

``eval.gap`` compares two sets of pages with these numbers and ``synth.like`` fits the generator's
resolution and degradation to them, so both read one definition of each measure.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# Longest side the measures look at (blur and noise too): larger photos are area-downscaled first,
# which keeps a 35-megapixel phone shot to a fraction of a second and a few hundred MB.
MEASURE_SIDE = 3000
SKEW_RANGE = 6.0  # degrees searched either way; text lines tilted more than this read as another layout
_LAPLACE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)  # Immerkaer's noise kernel (norm 6)


def gray_array(image: Any, max_side: int = MEASURE_SIDE) -> tuple[np.ndarray, float]:
    """The page as float32 gray levels, downscaled (area) so its longest side is at most ``max_side``;
    returns ``(gray, scale)`` with ``scale`` = measured pixels per original pixel."""
    import cv2

    arr = np.asarray(image.convert("L") if getattr(image, "mode", "L") != "L" else image)
    h, w = arr.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale < 1.0:
        arr = cv2.resize(arr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return arr.astype(np.float32), scale


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Dark marks against the local paper (adaptive threshold, so uneven light is not ink)."""
    import cv2

    g8 = np.clip(gray, 0, 255).astype(np.uint8)
    block = max(15, (min(g8.shape) // 30) | 1)
    return cv2.adaptiveThreshold(g8, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12).astype(bool)


def noise_sigma(gray: np.ndarray, mask: np.ndarray) -> float:
    """Gaussian noise estimate in gray levels (Immerkaer 1996): the mean absolute response of a
    second-difference filter, whose response to noise of sd s has sd 6 s, over the paper away from
    ink (``mask`` dilated), where the page itself is flat."""
    import cv2

    r = np.abs(cv2.filter2D(gray, cv2.CV_32F, _LAPLACE))
    near_ink = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    paper = ~near_ink
    paper[[0, -1], :] = False
    paper[:, [0, -1]] = False
    if paper.sum() < 100:
        return 0.0
    return float(math.sqrt(math.pi / 2) * r[paper].mean() / 6.0)


def blur_sigma(gray: np.ndarray, contrast: float) -> float:
    """Edge blur as the sigma (pixels) of a Gaussian that gives the page's steepest edges: a step of
    height C blurred by sigma has a peak slope C / (sigma sqrt(2 pi))."""
    gy, gx = np.gradient(gray)
    mag = np.hypot(gx, gy)
    steep = float(np.percentile(mag, 99.7))
    if steep <= 1e-6 or contrast <= 1e-6:
        return 0.0
    return float(contrast / (steep * math.sqrt(2 * math.pi)))


def skew_degrees(mask: np.ndarray) -> float:
    """The text lines' angle (degrees, counter-clockwise positive): the rotation that makes the ink's
    row profile most peaked, searched coarse to fine within ``SKEW_RANGE``."""
    import cv2

    ys, xs = np.nonzero(mask)
    if len(ys) < 50:
        return 0.0
    small = mask.astype(np.uint8) * 255
    h, w = small.shape
    f = min(1.0, 800 / max(h, w))
    if f < 1.0:
        small = cv2.resize(small, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    h, w = small.shape
    centre = (w / 2, h / 2)

    def peakedness(angle: float) -> float:
        rot = cv2.warpAffine(small, cv2.getRotationMatrix2D(centre, -angle, 1.0), (w, h))
        rows = rot.sum(axis=1, dtype=np.float64)
        return float(np.square(np.diff(rows)).sum())

    best, step = 0.0, 1.0
    candidates = np.arange(-SKEW_RANGE, SKEW_RANGE + 1e-9, step)
    for _ in range(3):
        best = float(max(candidates, key=peakedness))
        step /= 5
        candidates = np.arange(best - 5 * step, best + 5 * step + 1e-9, step)
    return round(best, 2) + 0.0  # no -0.0


def glyph_height(mask: np.ndarray) -> float:
    """Median height (pixels) of the ink's connected pieces that are shaped like characters."""
    import cv2

    n, _, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return 0.0
    w, h, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, cv2.CC_STAT_AREA]
    glyph = (h >= 4) & (h <= mask.shape[0] / 8) & (w <= 3 * h) & (area >= 6)
    return float(np.median(h[glyph])) if glyph.any() else 0.0


def page_stats(image: Any) -> dict[str, float]:
    """Every image measure of one page (a ``PIL.Image``); lengths are in original pixels."""
    width, height = image.size
    gray, scale = gray_array(image)
    mask = ink_mask(gray)
    paper = float(np.percentile(gray, 90))
    # the ink's own darkness (its darker tenth), whatever share of the page it covers
    ink = float(np.percentile(gray[mask], 10)) if mask.any() else paper
    contrast = max(paper - ink, 0.0)
    rgb = np.asarray(image.convert("RGB").resize((64, max(1, round(64 * height / width)))), np.float32)
    bright = rgb.mean(axis=2) >= np.percentile(rgb.mean(axis=2), 60)
    tint = float((rgb[..., 0][bright] - rgb[..., 2][bright]).mean()) if bright.any() else 0.0
    return {
        "width": float(width), "height": float(height), "aspect": height / width,
        "megapixels": width * height / 1e6,
        "paper_level": paper, "ink_level": ink, "contrast": contrast,
        "ink_coverage": float(mask.mean()), "tint": tint,
        "blur_sigma": blur_sigma(gray, contrast) / scale,
        "noise_sigma": noise_sigma(gray, mask),
        "skew_degrees": skew_degrees(mask),
        "glyph_height": glyph_height(mask) / scale,
    }
