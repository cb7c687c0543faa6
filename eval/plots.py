"""Report charts as PNG bytes (matplotlib, Agg backend, imported only when a chart is drawn)."""

from __future__ import annotations

import io
from typing import Any

from docfoundry.errors import UserError

COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise UserError("the eval report draws its charts with matplotlib: "
                        "pip install 'docfoundry[report]'") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def grouped_bars(groups: list[str], series: dict[str, list[float | None]], title: str,
                 xlabel: str = "score (0-100)", errors: dict[str, list[tuple[float, float] | None]] | None = None,
                 annotate_delta: bool = False) -> bytes:
    """Horizontal grouped bars: one group per row label, one bar per series (a metric or a run).

    ``errors`` adds interval whiskers per bar; ``annotate_delta`` writes each series' difference
    to the first series next to its bar (the run-comparison picture).
    """
    plt = _pyplot()
    names = list(series)
    height = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(8.5, max(2.2, 0.5 + len(groups) * (0.28 + 0.22 * len(names)))))
    for s, name in enumerate(names):
        ys = [g - 0.4 + height / 2 + s * height for g in range(len(groups))]  # first series on top
        values = [v if v is not None else 0.0 for v in series[name]]
        lo_hi = [(v, v) for v in values]
        xerr = None
        if errors and errors.get(name):
            lo_hi = [e or (v, v) for e, v in zip(errors[name], values)]
            xerr = [[max(0.0, v - lo) for (lo, _), v in zip(lo_hi, values)],
                    [max(0.0, hi - v) for (_, hi), v in zip(lo_hi, values)]]
        ax.barh(ys, values, height=height * 0.92, color=COLORS[s % len(COLORS)], label=name,
                xerr=xerr, error_kw={"elinewidth": 0.8, "capsize": 2})
        for y, raw, v, (_, hi), base in zip(ys, series[name], values, lo_hi, series[names[0]]):
            text = "n/a" if raw is None else f"{v:.1f}"
            if annotate_delta and s > 0 and raw is not None and base is not None:
                text += f" ({v - base:+.1f})"
            ax.text(min(max(v, hi), 100) + 0.8, y, text, va="center", fontsize=7)  # right of the whisker
    ax.set_yticks(range(len(groups)))
    ax.set_yticklabels(groups, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 118)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if len(names) > 1:
        ax.legend(fontsize=7, loc="lower right")
    return _png(fig)


def histogram(values: list[float], title: str, xlabel: str) -> bytes:
    """Distribution of per-document scores (0-100)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.hist(values, bins=20, range=(0, 100), color=COLORS[0], edgecolor="white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("documents")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def thumbnail(image: Any, max_side: int = 360) -> bytes:
    """A page image scaled down to ``max_side`` pixels, as PNG bytes."""
    image = image.copy()
    image.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def paired_histograms(features: dict[str, tuple[list[float], list[float]]], labels: tuple[str, str],
                      columns: int = 3) -> bytes:
    """One small panel per feature with the two sets' histograms overlaid on shared bins
    (``features``: name -> (first set's values, second set's values))."""
    import numpy as np

    plt = _pyplot()
    names = list(features)
    rows = max(1, -(-len(names) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        a, b = features[name]
        lo, hi = min(a + b), max(a + b)
        bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 16)
        for values, label, color in zip((a, b), labels, COLORS):
            ax.hist(values, bins=bins, alpha=0.55, color=color, label=label, density=True)
        ax.set_title(name, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    return _png(fig)
