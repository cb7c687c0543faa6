"""Benchmark: the built-in invoice drawn by the generic schema generator against its Python one.

    nice -n 10 python -m bench.synth_generic --n 200     # from the repository root

Same run, same seeds, interleaved: (1) the values step alone (docs/s), (2) the whole chain of
`docfoundry synth` (values -> layout -> PDF -> raster -> JPEG -> metadata, pages/s of CPU time)
with ``templates/invoice`` as it is and with a copy whose schema says ``"x-values": "schema"``.
Prints a markdown table for bench/RESULTS.md; the ratio is generic / Python.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def generic_copy() -> Path:
    """A templates root holding ``invoice_generic``: the invoice folder, schema drawn by the generic path."""
    from docfoundry.doctypes import templates_root

    root = Path(tempfile.mkdtemp())
    shutil.copytree(templates_root() / "invoice", root / "invoice_generic")
    schema_file = root / "invoice_generic" / "schema.json"
    schema = json.loads(schema_file.read_text())
    schema_file.write_text(json.dumps({**schema, "x-values": "schema"}))
    return root


def values_rate(doc_type: str, n: int) -> float:
    """Documents per second of the values step (draw + schema validation), one process."""
    from docfoundry.doctypes import load_doc_type
    from synth.locales import SUPPORTED, Locale
    from synth.values import ValueContext, split_truth, values_for

    doc = load_doc_type(doc_type)
    start = time.process_time()
    for i in range(n):
        ctx = ValueContext(Locale(SUPPORTED[i % len(SUPPORTED)], i), random.Random(i))
        gt, _ = split_truth(values_for(doc, ctx))
        doc.validate(gt)
    return n / (time.process_time() - start)


def chain_rate(doc_type: str, n: int) -> float:
    """Pages per CPU second of a whole `synth` run of ``n`` pages of one type."""
    from synth.generate import SynthConfig, run

    out = Path(tempfile.mkdtemp()) / "ds"
    own = resource.getrusage(resource.RUSAGE_SELF)
    run(SynthConfig(out=str(out), n=n, doc_types=[doc_type]))
    after = resource.getrusage(resource.RUSAGE_SELF)
    shutil.rmtree(out.parent)
    return n / (after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200, help="pages per whole-chain run")
    ap.add_argument("--repeat", type=int, default=3, help="interleaved pairs; medians reported")
    args = ap.parse_args()
    os.environ["DOCFOUNDRY_TEMPLATES"] = str(generic_copy())
    chain_rate("invoice", 4), chain_rate("invoice_generic", 4)  # warm fonts, Faker locales, layouts
    values = [(values_rate("invoice", args.n * 5), values_rate("invoice_generic", args.n * 5))
              for _ in range(args.repeat)]
    chain = [(chain_rate("invoice", args.n), chain_rate("invoice_generic", args.n)) for _ in range(args.repeat)]
    rows = {"values step (docs per CPU s)": values, "whole chain (pages per CPU s)": chain}
    print("| invoice, 150 dpi, clean | Python generator | generic (schema) | generic / Python |\n|---|---|---|---|")
    for name, pairs in rows.items():
        py, gen = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
        ratio = statistics.median(b / a for a, b in pairs)
        print(f"| {name} | {py:.1f} | {gen:.1f} | {ratio:.2f}x |")
    print(json.dumps({k: [[round(a, 2), round(b, 2)] for a, b in v] for k, v in rows.items()}))


if __name__ == "__main__":
    main()
