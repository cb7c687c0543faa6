"""Benchmark: clean synthetic pages at 150 DPI, per stage and whole chain, 1 vs 2 workers.

    python -m bench.synth --n 200     # from the repository root

Prints a markdown table for bench/RESULTS.md. The whole-chain rate is compared with the cost of
the raster step alone in the same run, and 2 workers with 1 worker in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def stage_split(n: int, dpi: int) -> dict[str, float]:
    """Seconds per page for each step of the chain, measured on one process."""
    from docfoundry.doctypes import load_doc_type
    from docfoundry.records import flatten
    from synth.generate import SynthConfig, sample_seed
    from synth.layout import load_layouts, render_page
    from synth.locales import Locale
    from synth.raster import encode, rasterize
    from synth.values import ValueContext, make_values, split_truth

    cfg = SynthConfig(out="unused")
    t = dict.fromkeys(("values", "layout", "pdf", "raster", "jpeg"), 0.0)
    for i in range(n):
        doc = load_doc_type(cfg.doc_types[i % 4])
        seed = sample_seed(0, i)
        rng = random.Random(seed)
        c0 = time.perf_counter()
        ctx = ValueContext(Locale("en_US" if doc.name == "w2" else rng.choice(cfg.locales), seed), rng)
        gt, _ = split_truth(make_values(doc.values_module, ctx))
        doc.validate(gt)
        c1 = time.perf_counter()
        values = {k: v for k, v in flatten(gt).items() if v.strip()}
        page, height = render_page(rng.choice(load_layouts(doc)), doc, values, rng, ctx.extras)
        c2 = time.perf_counter()
        pdf = page.to_pdf(height)
        c3 = time.perf_counter()
        image = rasterize(pdf, dpi)
        c4 = time.perf_counter()
        encode(image)
        c5 = time.perf_counter()
        for k, a, b in zip(t, (c0, c1, c2, c3, c4), (c1, c2, c3, c4, c5)):
            t[k] += b - a
    return {k: v / n for k, v in t.items()}


def whole_chain(n: int, workers: int, dpi: int) -> tuple[float, float]:
    """(pages per wall second, pages per CPU second of this process and its workers) of
    `docfoundry synth` (values -> PDF -> raster -> JPEG -> metadata) into a fresh folder."""
    import resource

    from synth.generate import SynthConfig, run

    def cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    out = Path(tempfile.mkdtemp()) / "ds"
    start, cpu0 = time.perf_counter(), cpu()
    run(SynthConfig(out=str(out), n=n, workers=workers, dpi=dpi))
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu0
    shutil.rmtree(out.parent)
    return n / seconds, n / cpu_seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--dpi", type=int, default=150)
    ap.add_argument("--repeat", type=int, default=1,
                    help="1- and 2-worker runs, interleaved; the medians are reported (a shared machine drifts)")
    args = ap.parse_args()
    whole_chain(8, 1, args.dpi)  # warm caches (fonts, Faker locales, layouts)
    split = stage_split(args.n, args.dpi)
    pairs = [(whole_chain(args.n, 1, args.dpi), whole_chain(args.n, 2, args.dpi)[0]) for _ in range(args.repeat)]
    one, one_cpu = statistics.median(p[0][0] for p in pairs), statistics.median(p[0][1] for p in pairs)
    two = statistics.median(p[1] for p in pairs)
    ratios = [b / a[0] for a, b in pairs]
    total = sum(split.values())
    print("| step | ms/page | share |\n|---|---|---|")
    for k, v in split.items():
        print(f"| {k} | {v * 1000:.1f} | {v / total:.0%} |")
    print(f"| sum of steps | {total * 1000:.1f} | 100% |")
    print()
    print("| measure | value |\n|---|---|")
    print(f"| whole chain, 1 worker | {one:.1f} pages/s |")
    print(f"| whole chain, 1 worker, per CPU second | {one_cpu:.1f} pages/s |")
    print(f"| whole chain, 2 workers | {two:.1f} pages/s |")
    print(f"| 2 workers / 1 worker (median of {len(ratios)} adjacent pairs) | {statistics.median(ratios):.2f}x |")
    print(f"| raster alone (pdfium render) | {1 / split['raster']:.1f} pages/s |")
    print(json.dumps({"one_worker": one, "one_worker_cpu": one_cpu, "two_workers": two,
                      "ratios": [round(r, 3) for r in ratios], "split_ms": {k: v * 1000 for k, v in split.items()}}))


if __name__ == "__main__":
    main()
