"""The labeling of one batch of pages: read them, OCR them, ask the teacher (cache first, one retry),
and merge the answers into a dataset row with per-field confidence and grounding."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from distill.label.config import TeacherArgs, sampling_of


def sample_seed(seed: int, image_hash: str, sample: int, attempt: int) -> int:
    """The sampling seed of one (page, sample, attempt): stable across runs and worker counts."""
    from docfoundry.seeds import derive

    return derive(seed, image_hash, sample, attempt, bits=31)


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
    fields = parse_prediction(answer.text)  # eval's reading: the first JSON object, raw newlines tolerated
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
    def ocr_keys(self, w: PageWork) -> list[str]:
        """The OCR cache key of each page (one key per page image for every reader of the cache, gap too)."""
        from distill.cache import digest
        from distill.ocr import ocr_cache_key

        if not w.image.more:
            return [ocr_cache_key(w.image_hash)]
        return [ocr_cache_key(digest(p.data)) for p in w.image.pages]

    def teacher_key(self, w: PageWork, sample: int, attempt: int) -> str:
        from distill.cache import call_key

        return call_key(call="teacher", image=w.image_hash, prompt=self.prompt, schema=self.doc.schema,
                        teacher=self.teacher.identity(), sampling=self.sampling.key(),
                        seed=self.cfg.seed, sample=sample, attempt=attempt)

    # stages ---------------------------------------------------------------------------------
    def read(self, works: list[PageWork]) -> None:
        from distill.pages import PageError

        for w in works:
            try:
                w.image = w.page.read()
                w.image_hash = w.image.document_hash()  # a page's digest; a document's covers every page
            except PageError as e:
                w.failed = str(e)

    def read_ocr(self, works: list[PageWork]) -> None:
        from distill.ocr import OcrLine
        from distill.pages import stacked

        if not self.need_ocr:
            return
        live = [w for w in works if not w.failed]
        misses = [(key, page.data) for w in live for key, page in zip(self.ocr_keys(w), w.image.pages)
                  if self.cache.get(key) is None]  # a document's pages are read one by one
        datas = [data for _, data in misses]
        if self.cfg.ray:
            from docfoundry.parallel import ordered_map

            results = ordered_map(_ocr_worker, datas, workers=self.cfg.workers, ray=self.cfg.ray)
        else:
            results = self.pool.imap(_ocr_worker, datas) if self.pool else map(_ocr_worker, datas)
        for (key, _), lines in zip(misses, results):
            self.cache.put(key, lines)
            self.counts["ocr_calls"] += 1
        for w in live:
            pages = [[OcrLine.from_json(d) for d in self.cache.entries[key]] for key in self.ocr_keys(w)]
            w.ocr = pages[0] if len(pages) == 1 else stacked(pages, [p.image.height for p in w.image.pages])

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
                                        ocr=w.ocr, doc=self.doc, more=w.image.more))
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
        if w.image.more:  # the words of a document's stacked reading go back to their pages
            from distill.pages import unstacked

            heights = [p.image.height for p in w.image.pages]
            words = [WordBox(wb.text, box, page) for wb in words for page, box in [unstacked(wb.box, heights)]]
        sample = Sample(id=w.page.id, doc_type=self.doc.name, split=w.page.split,
                        gt_parse=remove_paths(fields, low), words=words, meta=meta)
        return sample, report
