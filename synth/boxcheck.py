"""Box fidelity after degradation: does every moved field box still hold its own text?

The page's pixel coordinates go through the same warps as the page (a two-channel float image,
interpolated like the pixels), so every output pixel knows which clean pixel it shows. From that,
for each field:

- coverage: the share of the field's ink on the degraded page that lies inside its moved box
  (the text is still in its box);
- iou: IoU of the moved box with the bounding box of the pixels that show the field's clean box
  (the box mapping agrees with the pixel mapping; an axis-aligned box around rotated text is as
  tight as it can be).

A field passes when coverage >= 0.98 and the box agrees with the pixels: iou >= 0.9, or every
edge within 1.5 px (on a field a few pixels wide, such as a quantity "2", rounding both boxes to
whole pixels alone costs more than 0.1 IoU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from docfoundry.records import FieldBox
from synth.degrade import Degraded, Preset, degrade_array

MIN_COVERAGE = 0.98
MIN_IOU = 0.9
EDGE_TOLERANCE = 1.5  # pixels
INK_LEVEL = 160  # gray level below which a clean pixel counts as ink


@dataclass
class FieldFit:
    """How well one moved field box fits its moved ink."""

    path: str
    coverage: float
    iou: float
    edge_error: float  # largest distance between an edge of the box and the pixels' edge

    @property
    def ok(self) -> bool:
        return self.coverage >= MIN_COVERAGE and (self.iou >= MIN_IOU or self.edge_error <= EDGE_TOLERANCE)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _label_boxes(labels: np.ndarray, count: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per label 1..count: pixel-edge bounding box of its pixels and the pixel coordinates."""
    ys, xs = np.nonzero(labels)
    ids = labels[ys, xs].astype(np.int64) - 1
    order = np.argsort(ids, kind="stable")
    ys, xs, ids = ys[order], xs[order], ids[order]
    starts = np.searchsorted(ids, np.arange(count + 1))
    boxes = np.zeros((count, 4))
    points = []
    for i in range(count):
        px, py = xs[starts[i]:starts[i + 1]], ys[starts[i]:starts[i + 1]]
        points.append(np.stack([px, py], axis=1))
        if len(px):
            boxes[i] = (px.min(), py.min(), px.max() + 1, py.max() + 1)
    return boxes, points


def field_labels(page: np.ndarray, fields: list[FieldBox]) -> tuple[np.ndarray, np.ndarray]:
    """Two uint16 images holding i + 1 for field i: its ink pixels, and its whole box."""
    gray = page if page.ndim == 2 else page.min(axis=2)
    ink = gray < INK_LEVEL
    ink_labels = np.zeros(gray.shape, np.uint16)
    box_labels = np.zeros(gray.shape, np.uint16)
    for i, fb in enumerate(fields):
        x0, y0, x1, y1 = fb.box
        box_labels[y0:y1, x0:x1] = i + 1
        region = ink_labels[y0:y1, x0:x1]
        region[ink[y0:y1, x0:x1]] = i + 1
    return ink_labels, box_labels


def source_coordinates(height: int, width: int, degraded: Degraded) -> np.ndarray:
    """For each degraded pixel, the (x, y) clean pixel it shows, or (-1, -1) where it shows none."""
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    # A third channel of ones marks page pixels; where it blends with the border's zeros, the
    # interpolated coordinates mix in the border too and are dropped.
    coords = np.dstack([xs, ys, np.ones_like(xs)])
    for _, warp in degraded.warps:
        coords = warp.apply(coords, False, 0.0)
    return np.where(coords[..., 2:] > 0.999, coords[..., :2], -1.0)


def box_fidelity(page: np.ndarray, fields: list[FieldBox], degraded: Degraded,
                 field_offset: int) -> list[FieldFit]:
    """Fit of each moved field box; ``degraded.boxes[field_offset:]`` are the fields' boxes."""
    h, w = page.shape[:2]
    ink, region = field_labels(page, fields)
    coords = source_coordinates(h, w, degraded)
    sx, sy = np.rint(coords[..., 0]).astype(np.int64), np.rint(coords[..., 1]).astype(np.int64)
    valid = (sx >= 0) & (sx < w) & (sy >= 0) & (sy < h)
    sx, sy = np.where(valid, sx, 0), np.where(valid, sy, 0)
    ink_out = np.where(valid, ink[sy, sx], 0)
    region_out = np.where(valid, region[sy, sx], 0)
    _, ink_points = _label_boxes(ink_out, len(fields))
    region_boxes, _ = _label_boxes(region_out, len(fields))
    moved = degraded.boxes[field_offset:field_offset + len(fields)]
    fits = []
    for i, fb in enumerate(fields):
        box, pts = moved[i], ink_points[i]
        if len(pts):
            inside = ((pts[:, 0] >= np.floor(box[0])) & (pts[:, 0] < np.ceil(box[2]))
                      & (pts[:, 1] >= np.floor(box[1])) & (pts[:, 1] < np.ceil(box[3])))
            coverage = float(inside.mean())
        else:  # an empty value has no ink to lose
            coverage = 1.0
        edge_error = float(np.abs(box - region_boxes[i]).max())
        fits.append(FieldFit(fb.path, coverage, _iou(box, region_boxes[i]), edge_error))
    return fits


def pages_fidelity(pages: list, preset: Preset, seed: int) -> list[FieldFit]:
    """Degrade each rendered page (``render_sample`` output; every page of a document of several)
    with ``preset``, the i-th page with seed ``seed + i``, and return the fit of every field box on
    every page."""
    fits = []
    images = [(image, *r.sample.on_page(k)) for r in pages for k, image in enumerate(r.images or [r.image])]
    for i, (image, words, fields) in enumerate(images):
        page = np.asarray(image)
        boxes = np.array([w.box for w in words] + [f.box for f in fields], float)
        fits += box_fidelity(page, fields, degrade_array(page, boxes, preset, seed + i), len(words))
    return fits


def draw_boxes(image, words: list, fields: list[FieldBox]):
    """A copy of ``image`` (PIL) with word boxes in blue and field boxes in red, for people to look at."""
    from PIL import ImageDraw

    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    for wb in words:
        draw.rectangle([wb.box[0], wb.box[1], wb.box[2] - 1, wb.box[3] - 1], outline=(40, 90, 255))
    for fb in fields:
        draw.rectangle([fb.box[0] - 1, fb.box[1] - 1, fb.box[2], fb.box[3]], outline=(230, 20, 20), width=2)
    return out
