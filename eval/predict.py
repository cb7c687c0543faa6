"""`eval --model`: run a model over the truth pages and record its raw answers and its speed.

Greedy decoding of the document type's extraction prompt (``docfoundry.prompts``), one page image
per request at the family's resolution budget. Answers are appended to ``REPORT_DIR/predictions.jsonl``
(``{"id", "prediction", "latency_s"}``) as they come, so a killed run resumes where it stopped and
the file can be scored again later with ``--pred``.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError
from eval.datasets import TruthRecord
from eval.parse import Prediction, prediction_from_row, read_predictions

# Truth without a document-type schema (SROIE, FUNSD, CORD): the page's own keys are the task.
KEYS_PROMPT = ("Extract the fields of this document as one JSON object with exactly these keys. Copy each "
               "value exactly as printed on the page; use \"\" for a field that is not on the page.\n{keys}")


def prompt_for(record: TruthRecord) -> str:
    """The schema's extraction prompt, or for schema-less truth a prompt naming the page's keys."""
    from docfoundry.prompts import extraction_prompt
    from eval.score import schema_for

    doc = schema_for(record.doc_type)
    if doc is not None:
        return extraction_prompt(doc)
    return KEYS_PROMPT.format(keys="\n".join(f"- {k}" for k in record.fields))


def _fingerprint(cfg: Any) -> dict[str, Any]:
    return {k: getattr(cfg, k) for k in ("model", "adapter", "engine", "dtype", "quantization",
                                         "max_image_tokens", "max_new_tokens")}


class HFEngine:
    """transformers ``generate`` on one page at a time (greedy)."""

    def __init__(self, cfg: Any) -> None:
        import torch

        from docfoundry.models import family_of, load_model

        self.device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model, self.processor = load_model(
            cfg.model, dtype=cfg.dtype, quantization=cfg.quantization or None, device_map=self.device,
            max_image_tokens=cfg.max_image_tokens or None, adapter=cfg.adapter or None)
        self.family = family_of(self.model)
        self.max_new_tokens = cfg.max_new_tokens

    def answer(self, image: Any, prompt: str) -> str:
        import torch

        text = self.processor.apply_chat_template(self.family.chat(image, prompt), add_generation_prompt=True)
        inputs = self.processor(text=[text], images=[image], return_tensors="pt").to(self.model.device)
        with torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        start = inputs["input_ids"].shape[1]
        return self.processor.batch_decode(out[:, start:], skip_special_tokens=True)[0]

    def peak_memory(self) -> dict[str, Any]:
        import torch

        if self.device.startswith("cuda"):
            return {"peak_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 3),
                    "peak_memory_of": "CUDA memory allocated by torch"}
        return {"peak_memory_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
                "peak_memory_of": "process resident set (CPU)"}


# Engine name -> class taking the eval config (``--engine``); vLLM is not wired into eval yet.
ENGINES: dict[str, Callable[[Any], Any]] = {"hf": HFEngine}


def _open_output(out_file: Path, cfg: Any) -> dict[str, Prediction]:
    """Predictions already in ``out_file`` from the same model settings (resume); others are refused."""
    info_file = out_file.with_suffix(".run.json")
    fingerprint = _fingerprint(cfg)
    if info_file.is_file():
        previous = json.loads(info_file.read_text())
        if previous != fingerprint:
            diff = ", ".join(k for k in fingerprint if previous.get(k) != fingerprint[k])
            raise UserError(f"{out_file.parent}: holds predictions of other model settings (differs in {diff}); "
                            "choose another --out or delete it")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    info_file.write_text(json.dumps(fingerprint, indent=2))
    if not out_file.is_file():
        return {}
    data = out_file.read_bytes()
    if data and not data.endswith(b"\n"):  # a row torn by a crash: cut it, that page is redone
        out_file.write_bytes(data[:data.rfind(b"\n") + 1])
    return read_predictions(out_file)


def speed_summary(latencies: list[float], load_s: float, memory: dict[str, Any]) -> dict[str, Any]:
    """Latency per page (mean, p50, p95), pages/s over generation time, model load time, peak memory."""
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else None
    return {"pages_timed": len(latencies),
            "latency_mean_s": round(statistics.fmean(latencies), 4) if latencies else None,
            "latency_p50_s": round(statistics.median(latencies), 4) if latencies else None,
            "latency_p95_s": round(p95, 4) if p95 is not None else None,
            "pages_per_s": round(len(latencies) / sum(latencies), 4) if latencies and sum(latencies) else None,
            "model_load_s": round(load_s, 3), **memory}


def predict(cfg: Any, records: list[TruthRecord], out_file: Path) -> tuple[dict[str, Prediction], dict[str, Any]]:
    """Answers for every record (resuming ``out_file``) and the speed of this run."""
    from docfoundry.progress import track

    if cfg.engine not in ENGINES:
        raise UserError(f"--engine {cfg.engine} is not available in eval yet (available: {', '.join(ENGINES)}); "
                        "or write predictions with another engine and score them with --pred")
    done = _open_output(out_file, cfg)
    todo = [r for r in records if r.id not in done]
    t0 = time.perf_counter()
    engine = ENGINES[cfg.engine](cfg) if todo else None
    load_s = time.perf_counter() - t0
    with out_file.open("a", encoding="utf-8") as fh:
        for record in track(todo, len(todo), f"eval {Path(cfg.model).name}", unit="pages"):
            image = record.open_image()
            start = time.perf_counter()
            raw = engine.answer(image, prompt_for(record))
            row = {"id": record.id, "prediction": raw, "latency_s": round(time.perf_counter() - start, 4)}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            done[record.id] = prediction_from_row(row, str(out_file))
    if not todo:
        print(f"eval: all {len(records)} pages already answered in {out_file}", file=sys.stderr)
    wanted = {r.id for r in records}
    latencies = [p.latency_s for i, p in done.items() if i in wanted and p.latency_s is not None]
    memory = engine.peak_memory() if engine is not None else {}
    return done, speed_summary(latencies, load_s, memory)
