"""Benchmark: pages per CPU second of the FUNSD-like form and IRS W-2 layouts against the
type's other layouts, in the same process, clean and with a degradation preset.

    python -m bench.synth_layouts --n 60                 # from the repository root
    python -m bench.synth_layouts --n 60 --presets clean,medium

Each group of layouts becomes a template folder of its own (the type's schema, those layouts
only, in ``$DOCFOUNDRY_TEMPLATES``) so ``synth.generate.make_sample`` draws only from it; the same
page indices run through both groups. CPU time (``time.process_time``) is the measure: on a
shared machine the wall clock is what the process got, not what a page costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

NEW = {"form": ("funsd_typed", "funsd_hand", "funsd_cells", "funsd_memo"), "w2": ("irs", "irs_copies")}


def _group_folders(root: Path) -> dict[str, str]:
    """``{type}_new`` / ``{type}_old`` template folders; returns group name -> base type."""
    from docfoundry.doctypes import templates_root

    groups = {}
    for base, new in NEW.items():
        src = templates_root() / base
        for group, wanted in (("new", True), ("old", False)):
            name = f"{base}_{group}"
            folder = root / name
            (folder / "layouts").mkdir(parents=True)
            schema = json.loads((src / "schema.json").read_text())
            schema["x-values"] = base
            (folder / "schema.json").write_text(json.dumps(schema))
            for f in sorted((src / "layouts").glob("*.yaml")):
                if (f.stem in new) == wanted:
                    shutil.copy(f, folder / "layouts")
            groups[name] = base
    return groups


def rate(doc_type: str, preset: str, n: int) -> float:
    """Pages per CPU second of the whole per-page chain (values, layout, PDF, raster, degradation,
    JPEG) for ``n`` pages of ``doc_type``."""
    from synth.generate import SynthConfig, make_sample

    cfg = SynthConfig(out="unused", doc_types=[doc_type], degrade=preset)
    for i in range(3):  # warm: fonts, Faker locales, textures, augraphy imports
        make_sample(cfg, 10_000 + i, "train")
    start = time.process_time()
    for i in range(n):
        make_sample(cfg, i, "train")
    return n / (time.process_time() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--presets", default="clean,medium")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp())
    try:
        groups = _group_folders(root)
        os.environ["DOCFOUNDRY_TEMPLATES"] = str(root)
        rows = []
        for preset in args.presets.split(","):
            for base in NEW:
                old, new = rate(f"{base}_old", preset, args.n), rate(f"{base}_new", preset, args.n)
                rows.append({"type": base, "preset": preset, "old_layouts": old, "new_layouts": new, "ratio": new / old})
        print("| type | preset | other layouts, pages/CPU-s | new layouts, pages/CPU-s | new / other |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['type']} | {r['preset']} | {r['old_layouts']:.1f} | {r['new_layouts']:.1f} | {r['ratio']:.2f}x |")
        print(json.dumps({"n": args.n, "groups": sorted(groups), "rows": rows}))
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
