"""Teacher benchmarks for `docfoundry label`.

    python -m bench.teacher engine --pages 32                    # vLLM batched vs transformers, one page at a time
    python -m bench.teacher ocr --pages 12                       # the ocr teacher: seconds per page on one core
    python -m bench.teacher audit --n 50                         # the ocr teacher's accuracy: label audit,
                                                                 # receipts and invoices, clean and medium

``engine``: the same ~200M-parameter random-weight model (the registry's ``small`` Idefics3), the
same synthetic pages and the same fixed answer length (EOS ignored) through vLLM's offline engine
in one batch and through transformers ``generate`` one page at a time, in the same dtype, in one
run (transformers first: vLLM lowers torch's thread count for the process when it starts).
Prints markdown rows for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def synthetic_pages(n: int, doc_types: list[str], degrade: str = "clean", seed: int = 11) -> Path:
    from synth.generate import SynthConfig
    from synth.generate import run as synth

    out = Path(tempfile.mkdtemp()) / "pages"
    synth(SynthConfig(out=str(out), doc_types=doc_types, n=n, seed=seed, degrade=degrade))
    return out


def requests_for(pages: Path, n: int) -> list[Any]:
    from distill.label import sample_seed
    from distill.pages import list_pages
    from distill.teachers import Request
    from docfoundry.doctypes import load_doc_type
    from docfoundry.prompts import extraction_prompt

    out = []
    for page in list_pages(pages, n):
        image = page.read()
        doc = load_doc_type(page.id.rsplit("_", 1)[0])
        out.append(Request(page.id, image.image, image.data, image.ext, extraction_prompt(doc), doc.schema,
                           sample_seed(0, page.id, 0, 0), doc=doc))
    return out


def bench_model(cache: str) -> Path:
    """The registry's ~200M Idefics3 (``small``), random weights, built once in ``cache``."""
    from docfoundry.tiny import cached_tiny

    return cached_tiny("idefics3", "small", cache=cache)


def answer_tokens(model: Path, pages: Path) -> list[int]:
    """Length of each page's correct answer (compact truth JSON) in the model's tokens."""
    from transformers import AutoTokenizer

    from docfoundry.store import read_samples

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    return [len(tokenizer(json.dumps(s.gt_parse, ensure_ascii=False, separators=(",", ":")),
                          add_special_tokens=False)["input_ids"]) for s in read_samples(pages)]


def bench_engine(args: argparse.Namespace) -> None:
    import os

    import torch

    from distill.teachers import Sampling, TeacherOptions
    from distill.teachers.hf import HfTeacher
    from distill.teachers.vllm import chat_messages, sampling_params
    from docfoundry.engines.vllm import CPU_ENV, engine_kwargs, start_engine
    from docfoundry.info import count_parameters
    from docfoundry.loading import load_config

    model = bench_model(args.model_cache)
    config = load_config(str(model))
    params = count_parameters(config)
    folder = synthetic_pages(args.pages + 1, ["receipt", "invoice"])
    reqs = requests_for(folder, args.pages + 1)
    warm_req, reqs = reqs[-1], reqs[:-1]  # warm-up page: loads, compiles, and (vLLM) caches the shared prompt
    truth_tokens = answer_tokens(model, folder)
    if not args.out_tokens:
        args.out_tokens = int(statistics.median(truth_tokens))
    options = TeacherOptions(dtype=args.dtype, max_image_tokens=args.max_image_tokens,
                             enforce_eager=args.eager)
    sampling = Sampling(max_tokens=args.out_tokens, structured=False)

    hf = HfTeacher(str(model), options)
    hf.generate(warm_req, Sampling(max_tokens=4, structured=False))  # load + warm up, not timed
    threads_hf = torch.get_num_threads()
    hf_pages = reqs[:args.hf_pages]
    start = time.perf_counter()
    for r in hf_pages:
        hf.generate(r, sampling, min_new_tokens=args.out_tokens)
    hf_s = time.perf_counter() - start
    hf.close()

    if not torch.cuda.is_available():
        # room for every page's KV cache at once (1 GiB holds ~20 of these 900-token sequences here)
        os.environ["VLLM_CPU_KVCACHE_SPACE"] = str(args.kv_cache_gib)
        for k, v in CPU_ENV.items():
            os.environ.setdefault(k, v)
    llm = start_engine(str(model), options)
    warm = [sampling_params(warm_req, Sampling(max_tokens=4, structured=False))]
    llm.chat([chat_messages(warm_req)], sampling_params=warm, use_tqdm=False)
    threads_vllm = torch.get_num_threads()
    start = time.perf_counter()
    outs = llm.chat([chat_messages(r) for r in reqs],
                    sampling_params=[sampling_params(r, sampling, min_tokens=args.out_tokens, ignore_eos=True)
                                     for r in reqs], use_tqdm=False)
    vllm_s = time.perf_counter() - start
    lengths = {len(o.outputs[0].token_ids) for o in outs}
    kwargs = engine_kwargs(str(model), options)

    hf_rate, vllm_rate = len(hf_pages) / hf_s, len(reqs) / vllm_s
    print(f"model: {model.name} ({params / 1e6:.0f}M parameters, {config.model_type}), {args.dtype}, "
          f"image budget {args.max_image_tokens} tokens ({kwargs.get('mm_processor_kwargs')}), "
          f"answer {args.out_tokens} tokens (vLLM lengths {sorted(lengths)}; the pages' correct answers are "
          f"{min(truth_tokens)}-{max(truth_tokens)} tokens, median {statistics.median(truth_tokens):.0f}), "
          f"eager={args.eager}")
    print(f"torch threads: transformers {threads_hf}, vLLM {threads_vllm}; "
          f"VLLM_CPU_KVCACHE_SPACE={os.environ.get('VLLM_CPU_KVCACHE_SPACE')} GiB")
    print("| engine | pages | seconds | pages/s | tokens/s |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| transformers generate, one page at a time | {len(hf_pages)} | {hf_s:.1f} | {hf_rate:.3f} | "
          f"{len(hf_pages) * args.out_tokens / hf_s:.1f} |")
    print(f"| vLLM LLM.chat, one batch | {len(reqs)} | {vllm_s:.1f} | {vllm_rate:.3f} | "
          f"{len(reqs) * args.out_tokens / vllm_s:.1f} |")
    print(f"| **ratio vLLM / transformers (pages/s)** | | | **{vllm_rate / hf_rate:.1f}x** | |")


def bench_ocr(args: argparse.Namespace) -> None:
    from distill.extract import extract
    from distill.ocr import read_page, warm_engines
    from distill.pages import list_pages
    from docfoundry.doctypes import load_doc_type

    pages = list_pages(synthetic_pages(args.pages, ["receipt", "invoice"]), args.pages)
    warm_engines()  # model loads, not timed
    rows = []
    for page in pages:
        image = page.read()
        doc = load_doc_type(page.id.rsplit("_", 1)[0])
        c0 = time.perf_counter()
        cpu0 = time.process_time()
        lines = read_page(image.image)
        c1 = time.perf_counter()
        extract(doc, lines)
        c2 = time.perf_counter()
        rows.append((doc.name, image.image.size, c1 - c0, c2 - c1, time.process_time() - cpu0, len(lines)))
    print("| type | pages | px (mean) | OCR s/page | extraction ms/page | CPU s/page | lines/page |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for name in sorted({r[0] for r in rows}):
        sel = [r for r in rows if r[0] == name]
        k = len(sel)
        w = sum(r[1][0] for r in sel) // k
        h = sum(r[1][1] for r in sel) // k
        print(f"| {name} | {k} | {w}x{h} | {sum(r[2] for r in sel) / k:.2f} | {1000 * sum(r[3] for r in sel) / k:.1f} | "
              f"{sum(r[4] for r in sel) / k:.2f} | {sum(r[5] for r in sel) / k:.0f} |")


def bench_audit(args: argparse.Namespace) -> None:
    from distill.label import AuditConfig, run_audit

    root = Path(args.out)
    print("| type | pages | degradation | field accuracy | failed pages | worst fields |")
    print("| --- | ---: | --- | ---: | ---: | --- |")
    for degrade in args.degrade:
        for doc_type in args.types:
            out = root / f"{doc_type}-{degrade}"
            run_audit(AuditConfig(teacher="ocr", schema=doc_type, n=args.n, out=str(out), degrade=degrade,
                                  workers=args.workers, progress=False))
            report = json.loads((out / "audit.json").read_text())
            worst = sorted(report["per_field"].items(), key=lambda kv: kv[1]["accuracy"])[:3]
            print(f"| {doc_type} | {args.n} | {degrade} | {report['field_accuracy']:.3f} | "
                  f"{report['label']['failed']} | "
                  + ", ".join(f"{p} {v['accuracy']:.2f}" for p, v in worst) + " |", flush=True)
    for degrade in args.degrade:
        for doc_type in args.types:
            report = json.loads((root / f"{doc_type}-{degrade}" / "audit.json").read_text())
            print(f"\n{doc_type} {degrade}: accuracy per confidence bucket "
                  + ", ".join(f"{b}: {v['accuracy']:.2f} (n={v['n']})" for b, v in report["per_confidence_bucket"].items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    e = sub.add_parser("engine", help="vLLM batched vs transformers one page at a time")
    e.add_argument("--pages", type=int, default=32)
    e.add_argument("--hf-pages", type=int, default=3, help="pages for transformers (it is the slow side)")
    e.add_argument("--out-tokens", type=int, default=0,
                   help="fixed answer length; 0: the median length of the pages' correct answers in this model's tokens")
    e.add_argument("--max-image-tokens", type=int, default=256)
    e.add_argument("--eager", action="store_true", help="vLLM without torch.compile")
    e.add_argument("--dtype", default="float32", help="both engines (CPUs without AVX512-BF16 run bfloat16 slowly)")
    e.add_argument("--kv-cache-gib", type=int, default=4, help="VLLM_CPU_KVCACHE_SPACE for the CPU engine")
    e.add_argument("--threads", type=int, default=1,
                   help="torch/OpenMP threads for both engines (on a shared machine more threads than free "
                        "cores spin: 2 threads decoded 5x slower than 1 here)")
    e.add_argument("--model-cache", default=str(Path(tempfile.gettempdir()) / "docfoundry-bench-models"))
    o = sub.add_parser("ocr", help="ocr teacher seconds per page")
    o.add_argument("--pages", type=int, default=12)
    a = sub.add_parser("audit", help="ocr teacher accuracy via label audit")
    a.add_argument("--n", type=int, default=50)
    a.add_argument("--types", nargs="+", default=["receipt", "invoice"])
    a.add_argument("--degrade", nargs="+", default=["clean", "medium"])
    a.add_argument("--workers", type=int, default=1)
    a.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "docfoundry-bench-audit"))
    args = parser.parse_args()
    if args.what == "engine":
        import os

        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before torch is imported
    {"engine": bench_engine, "ocr": bench_ocr, "audit": bench_audit}[args.what](args)


if __name__ == "__main__":
    main()
