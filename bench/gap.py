"""The synthetic-to-real gap, measured with ``docfoundry gap``: default synth vs ``synth --like``.

    python -m bench.gap --doc-type receipt --real ../shared/datasets/sroie-dev --n 30 \\
        --seed-ocr /tmp/df-real-ocr --out /tmp/gap-bench/receipt
    python -m bench.gap --doc-type form --real ../shared/datasets/funsd --real-split train --n 30 \\
        --seed-ocr /tmp/forms-ocr --out /tmp/gap-bench/form
    python -m bench.gap ... --default-synth /tmp/gap-before/receipt   # pages made by another checkout

Makes ``--n`` synthetic pages of the type with the default settings and ``--n`` with ``--like``
fitted to the real images (the real split's only), then runs ``gap`` for both against the first
``--n`` real pages with one shared OCR cache, and prints the AUCs (all features, image, text,
layout) with the features that separate most. ``--seed-ocr`` copies OCR lines other benches keep
per page id (``bench/real.py``'s ``{"lines": [...]}`` or ``bench/forms.py``'s list) into the cache
under gap's content-hash key, so the real pages are not read again.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any


def seed_ocr(real: str, split: str, n: int, seed_dir: Path, cache_dir: Path) -> int:
    """Copy cached OCR lines of the real pages from a per-id folder into gap's cache; returns how many."""
    from distill.cache import CallCache, digest
    from distill.ocr import ocr_cache_key
    from eval.gap.collect import pick_pages

    added = 0
    with CallCache(cache_dir) as cache:
        for page in pick_pages(real, split, n, "--real"):
            f = seed_dir / f"{page.id}.json"
            if not f.is_file():
                continue
            data = json.loads(f.read_text())
            key = ocr_cache_key(digest(page.read().data))
            if key not in cache:
                cache.put(key, data["lines"] if isinstance(data, dict) else data)
                added += 1
    return added


def like_scans(real: str, split: str, out: Path) -> str:
    """The real images ``--like`` fits to: the folder itself, or links to the split's images only."""
    from eval.gap.collect import pick_pages

    if not split:
        images = Path(real) / "images"
        return str(images if images.is_dir() else real)
    folder = out / f"like-scans-{split}"
    folder.mkdir(parents=True, exist_ok=True)
    for page in pick_pages(real, split, 0, "--real"):
        link = folder / Path(page.source).name
        if not link.exists():
            os.symlink(Path(page.source).resolve(), link)
    return str(folder)


def synth(doc_type: str, n: int, seed: int, out: Path, like: str = "") -> dict[str, Any]:
    from synth.generate import SynthConfig, run

    return run(SynthConfig(out=str(out), doc_types=[doc_type], n=n, seed=seed, like=like))


def gap(synth_dir: Path, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    from eval.gap.run import GapConfig, run

    return run(GapConfig(synth=str(synth_dir), real=args.real, out=str(out), schema=args.doc_type,
                         real_split=args.real_split, max_pages=args.n, cache=args.cache or str(Path(args.out) / "cache"),
                         progress=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doc-type", required=True)
    parser.add_argument("--real", required=True, help="real pages (any layout label --in reads)")
    parser.add_argument("--real-split", default="")
    parser.add_argument("--n", type=int, default=30, help="pages per set")
    parser.add_argument("--seed", type=int, default=11, help="synth seed")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed-ocr", default="", help="folder of per-id OCR lines of the real pages")
    parser.add_argument("--default-synth", default="", help="use these default synthetic pages instead of making them")
    parser.add_argument("--skip-like", action="store_true")
    parser.add_argument("--cache", default="", help="OCR cache folder (default OUT/cache; share it between runs)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.seed_ocr:
        print(f"seeded {seed_ocr(args.real, args.real_split, args.n, Path(args.seed_ocr), Path(args.cache or out / 'cache'))} "
              "real pages' OCR from", args.seed_ocr)
    default_dir = Path(args.default_synth) if args.default_synth else out / "synth-default"
    if not args.default_synth:
        synth(args.doc_type, args.n, args.seed, default_dir)
    results = {"default": gap(default_dir, args, out / "gap-default")}
    if not args.skip_like:
        fitted = synth(args.doc_type, args.n, args.seed, out / "synth-like", like_scans(args.real, args.real_split, out))
        results["like"] = {**gap(out / "synth-like", args, out / "gap-like"), "fit": fitted.get("like")}
    print("\n| synthetic set | AUC | image | text | layout | most separating |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, r in results.items():
        print(f"| {name} | {r['auc']:.3f} | {r.get('auc_image', 0):.3f} | {r.get('auc_text', 0):.3f} | "
              f"{r.get('auc_layout', 0):.3f} | {', '.join(r['most_separating'][:4])} |")
    (out / "bench.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
