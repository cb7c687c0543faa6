"""Benchmark: scan degradation per preset on real synthetic pages at 150 DPI, on one core.

    flock /tmp/bench.lock .venv/bin/python -m bench.degrade            # everything, ~20 min
    .venv/bin/python -m bench.degrade --pages 20 --cer-pages 10 --augraphy-pages 4   # quick look

Measures, in one run:
1. whole chain pages/s per preset: `docfoundry synth --degrade P` (values, layout, PDF, raster,
   degradation, JPEG, metadata) with one worker, after an untimed warm-up run that pays the
   one-time costs (augraphy import, numba JIT, the per-process texture cache);
2. `medium` against `augraphy.default_augraphy_pipeline()` on the same clean pages, side by side;
3. readability: rapidocr CER on field text per preset (recognition on the fields' line crops);
4. box fidelity per preset (`synth.boxcheck`): share of field boxes that still hold their text.
Prints markdown for bench/RESULTS.md and writes the numbers as JSON (``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core: no hidden thread pools

PRESETS = ("clean", "light", "medium", "heavy", "fax", "photo")


def chain_rate(preset: str, n: int, warm: int) -> dict[str, float]:
    """Pages/s of `docfoundry synth --degrade preset` with one worker, after ``warm`` untimed pages:
    per wall-clock second and per CPU second of this process (the machine may be shared)."""
    from synth.generate import SynthConfig, run

    root = Path(tempfile.mkdtemp())
    try:
        run(SynthConfig(out=str(root / "warm"), n=warm, degrade=preset, seed=1))
        wall, cpu = time.perf_counter(), time.process_time()
        run(SynthConfig(out=str(root / "timed"), n=n, degrade=preset, seed=0))
        return {"pages": n, "wall": n / (time.perf_counter() - wall), "cpu": n / (time.process_time() - cpu)}
    finally:
        shutil.rmtree(root)


def clean_pages(n: int, seed: int = 0) -> list:
    """``n`` rendered clean pages (invoice, receipt, w2, form in turn) with their records."""
    from synth.generate import SynthConfig, render_sample

    cfg = SynthConfig(out="unused", seed=seed)
    return [render_sample(cfg, i) for i in range(n)]


def offline_fonts_dir() -> Path:
    """A working folder with ``fonts/*.ttf``: augraphy's Scribbles (in the default pipeline) looks
    there and otherwise tries to download fonts, then crashes offline."""
    import reportlab

    folder = Path(tempfile.mkdtemp())
    (folder / "fonts").mkdir()
    shutil.copy(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf", folder / "fonts" / "Vera.ttf")
    return folder


def versus_augraphy(pages: list) -> dict[str, float]:
    """Seconds per page of `medium` and of augraphy's default pipeline on the same clean pages."""
    import augraphy
    import numpy as np

    from synth.degrade import degrade_sample

    os.chdir(offline_fonts_dir())
    arrays = [np.asarray(r.image)[:, :, ::-1].copy() for r in pages]  # augraphy works in BGR
    random.seed(0)
    np.random.seed(0)
    default = augraphy.default_augraphy_pipeline()
    default(arrays[0])  # numba JIT compiles, outside the timing
    for r in pages[:2]:
        degrade_sample(r.image, r.sample.words, r.sample.field_boxes, "medium", 0)
    t_aug = t_ours = c_aug = c_ours = 0.0
    for i, (r, arr) in enumerate(zip(pages, arrays)):
        random.seed(i)
        np.random.seed(i)
        w0, p0 = time.perf_counter(), time.process_time()
        default(arr)
        w1, p1 = time.perf_counter(), time.process_time()
        degrade_sample(r.image, r.sample.words, r.sample.field_boxes, "medium", 1000 + i)
        w2, p2 = time.perf_counter(), time.process_time()
        t_aug, t_ours = t_aug + w1 - w0, t_ours + w2 - w1
        c_aug, c_ours = c_aug + p1 - p0, c_ours + p2 - p1
    n = len(pages)
    return {"pages": n, "augraphy_default_s": t_aug / n, "medium_s": t_ours / n, "speedup": t_aug / t_ours,
            "augraphy_default_cpu_s": c_aug / n, "medium_cpu_s": c_ours / n, "speedup_cpu": c_aug / c_ours}


def readability(preset: str, pages: list, fields_per_page: int) -> dict[str, float]:
    """rapidocr CER over the text of up to ``fields_per_page`` random fields of each degraded page."""
    import numpy as np

    from synth.degrade import degrade_sample
    from synth.readability import field_cer, normalize

    errors = chars = fields = 0
    for i, r in enumerate(pages):
        image, words, boxes, _ = degrade_sample(r.image, r.sample.words, r.sample.field_boxes, preset, 2000 + i)
        readable = [f for f in boxes if normalize(f.text)]
        chosen = random.Random(i).sample(readable, min(fields_per_page, len(readable)))
        score = field_cer(np.asarray(image), words, chosen)
        errors, chars, fields = errors + score.errors, chars + score.chars, fields + score.fields
    return {"pages": len(pages), "fields": fields, "chars": chars, "cer": errors / max(chars, 1)}


def fidelity(preset: str, pages: list) -> dict[str, float]:
    """Share of field boxes that hold their text after the preset (coverage and box/pixel agreement)."""
    from synth.boxcheck import pages_fidelity
    from synth.degrade import load_preset

    fits = pages_fidelity(pages, load_preset(preset), seed=3000)
    n = len(fits)
    return {"pages": len(pages), "fields": n, "ok": sum(f.ok for f in fits) / n,
            "coverage_ok": sum(f.coverage >= 0.98 for f in fits) / n,
            "iou_ok": sum(f.iou >= 0.9 for f in fits) / n}


def main() -> None:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--pages", type=int, default=100, help="timed pages per preset (whole chain)")
    ap.add_argument("--warm", type=int, default=24, help="untimed warm-up pages per preset")
    ap.add_argument("--augraphy-pages", type=int, default=20)
    ap.add_argument("--cer-pages", type=int, default=200)
    ap.add_argument("--cer-fields", type=int, default=6, help="fields OCRed per page")
    ap.add_argument("--fidelity-pages", type=int, default=100)
    ap.add_argument("--parts", default="chain,augraphy,quality", help="chain, augraphy, quality")
    ap.add_argument("--json", default="", help="also write the numbers here")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    presets, parts = args.presets.split(","), args.parts.split(",")
    results: dict[str, dict] = {"chain": {}, "readability": {}, "fidelity": {}}
    for p in presets if "chain" in parts else ():
        results["chain"][p] = chain_rate(p, args.pages, args.warm)
        print(f"chain {p}: {results['chain'][p]}", flush=True)
    pages = clean_pages(max(args.augraphy_pages, args.cer_pages, args.fidelity_pages))
    for p in presets if "quality" in parts else ():
        results["fidelity"][p] = fidelity(p, pages[:args.fidelity_pages])
        results["readability"][p] = readability(p, pages[:args.cer_pages], args.cer_fields)
        print(p, results["fidelity"][p], results["readability"][p], flush=True)
    if "augraphy" in parts:
        results["augraphy"] = versus_augraphy(pages[:args.augraphy_pages])
        print("augraphy", results["augraphy"], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if results["chain"]:
        print("\n| preset | whole chain pages/s, wall clock (1 worker) | pages per CPU-second |\n|---|---|---|")
        for p, c in results["chain"].items():
            print(f"| {p} | {c['wall']:.1f} | {c['cpu']:.1f} |")
    if results["readability"]:
        print("\n| preset | field CER (rapidocr) | fields OCRed | field boxes holding their text |\n|---|---|---|---|")
        for p, r in results["readability"].items():
            f = results["fidelity"][p]
            print(f"| {p} | {r['cer']:.2%} | {r['fields']} on {r['pages']} pages "
                  f"| {f['ok']:.2%} of {f['fields']} on {f['pages']} pages |")
    if "augraphy" in results:
        a = results["augraphy"]
        print(f"\nOn the same {a['pages']} clean pages: medium {a['medium_s'] * 1000:.0f} ms/page, "
              f"augraphy default_augraphy_pipeline() {a['augraphy_default_s'] * 1000:.0f} ms/page: "
              f"{a['speedup']:.1f}x wall-clock ({a['speedup_cpu']:.1f}x CPU time)")


if __name__ == "__main__":
    main()
