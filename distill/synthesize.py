"""Visual instruction tasks synthesized by a teacher from image-caption pairs (the domain-adaptive
post-training recipe of Cheng et al. 2024, reimplemented from the paper).

1. The synthesizer sees the image with its caption as the answer to "Describe the image." and
   writes (question, informative answer, precise answer) triplets.
2. A consistency filter asks a teacher whether the precise answer agrees with the informative
   one (Yes / No / Open); only Yes is kept.
3. The final answer is the informative answer when it already concludes with the precise one,
   else the two joined; the caption task joins each image's conversation first or last.

Prompts: ``templates/instruct/synthesize.j2`` and ``consistency.j2``.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distill.conversations import Conversation, page_rng
from docfoundry.errors import BadItem, UserError

_TRIPLET = re.compile(r"##\s*Question:\s*(?P<q>.+?)\s*##\s*Informative Answer:\s*(?P<i>.+?)\s*"
                      r"##\s*Precise Answer:\s*(?P<p>.+?)\s*(?=##\s*Question:|\Z)", re.S | re.I)
CAPTION_KEYS = ("caption", "text", "description")
N_TASKS = 3


@dataclass
class Pair:
    """An image with its caption."""

    id: str
    image: Path
    caption: str


def read_pairs(folder: Path) -> Iterator[Pair]:
    """Image-caption pairs from a folder with ``metadata.jsonl`` (imagefolder layout) whose rows have a
    caption column; a docfoundry dataset folder without one gets its caption from the truth."""
    from distill.truth_tasks import Page, caption
    from docfoundry.doctypes import load_doc_type
    from docfoundry.images import image_size
    from docfoundry.paths import inside
    from docfoundry.records import Sample
    from docfoundry.store import iter_rows

    if not (folder / "metadata.jsonl").is_file():
        raise UserError(f"{folder}: no metadata.jsonl with image-caption pairs (imagefolder layout: "
                        "file_name + caption columns)")
    for i, row in enumerate(iter_rows(folder)):
        rel = str(row.get("file_name") or "")
        try:  # a file_name leading out of the folder is not read; none at all counts as a missing image
            image = inside(folder, rel, f"{folder / 'metadata.jsonl'} row {i + 1}: file_name") if rel else folder
        except BadItem as e:
            print(f"warning: {e}; skipped", file=sys.stderr)
            continue
        text = next((row[k] for k in CAPTION_KEYS if isinstance(row.get(k), str)), None)
        if text is None and row.get("ground_truth"):
            sample = Sample.from_row(row)
            size = (1, 1)
            if image.is_file():
                try:
                    size = image_size(image, str(image))
                except BadItem:
                    pass  # the page itself fails when it is read for the teacher
            text = caption(Page(sample, load_doc_type(sample.doc_type), *size), detailed=False)
        yield Pair(str(row.get("id", i)), image, (text or "").strip())


def parse_triplets(text: str) -> list[tuple[str, str, str]]:
    """(question, informative, precise) triplets from a synthesizer answer ([] when none)."""
    return [(m["q"].strip(), m["i"].strip(), m["p"].strip()) for m in _TRIPLET.finditer(text)
            if m["q"].strip() and m["p"].strip()]


def verdict(text: str) -> str:
    """The filter's Yes / No / Open (first of those words in the answer), else ``?``."""
    m = re.search(r"\b(yes|no|open)\b", text, re.I)
    return m.group(1).capitalize() if m else "?"


def final_answer(informative: str, precise: str) -> str:
    """The recipe's answer: the informative one if it concludes with the precise one, else both."""
    norm = lambda s: re.sub(r"\W+", " ", s).strip().lower()  # noqa: E731
    if informative and norm(precise) and norm(precise) in norm(informative):
        return informative
    if informative:
        return f"{informative}\nSo the answer is: {precise}"
    return f"Answer: {precise}"


class TeacherSource:
    """``instruct --from teacher``: synthesize, filter, and yield conversations (cached teacher calls)."""

    name = "teacher"  # the config fields marked output="teacher" define this source's output

    def __init__(self, cfg: Any) -> None:
        from distill.teachers import Sampling, load_teacher

        if not cfg.teacher:
            raise UserError("--from teacher needs --teacher SPEC (vllm:MODEL, openai:URL#MODEL or hf:MODEL)")
        self.cfg = cfg
        self.synthesizer = load_teacher(cfg.teacher)
        if self.synthesizer.name == "ocr":
            raise UserError("--teacher ocr cannot write instructions; use a generative teacher (vllm:, openai:, hf:)")
        self.checker = (self.synthesizer if not cfg.filter or cfg.filter == cfg.teacher
                        else load_teacher(cfg.filter))
        self.pairs = list(read_pairs(Path(cfg.input)))
        self.sampling = Sampling(temperature=0.0, max_tokens=cfg.max_tokens, structured=False)  # free text
        self.counts: Counter[str] = Counter()
        self.cache: Any = None
        self.rejected: Any = None

    def _ask(self, teacher: Any, page: Any, prompt: str, pair_id: str) -> str:
        from distill.cache import call_key, digest
        from distill.pages import PageError
        from distill.teachers import Request

        key = call_key(image=digest(page.data), prompt=prompt, teacher=teacher.identity(),
                       sampling=self.sampling.key())
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        request = Request(pair_id, page.image, page.data, page.ext, prompt, {}, self.cfg.seed)
        _, answer = next(iter(teacher.answer([request], self.sampling)))
        if answer.error:
            raise PageError(f"{pair_id}: teacher call failed ({answer.error})")
        self.cache.put(key, answer.text)
        return answer.text

    def _reject(self, reason: str, pair: Pair, detail: Any) -> None:
        self.counts[reason] += 1
        if self.counts[reason] <= 20:  # keep a few for inspection
            self.rejected.write(json.dumps({"id": pair.id, "reason": reason, "detail": detail},
                                           ensure_ascii=False) + "\n")

    def pages(self, done: set[str], folder: Path) -> Iterator[Conversation]:
        from distill.cache import CallCache
        from distill.pages import PageError, decode_image
        from distill.truth_tasks import Task
        from docfoundry.doctypes import templates_root
        from docfoundry.progress import track
        from docfoundry.prompts import render_template

        self.cache = CallCache(folder)
        self.rejected = (folder / "rejected.jsonl").open("a", encoding="utf-8")
        prompts = templates_root() / "instruct"
        ask, reject, counts = self._ask, self._reject, self.counts
        for pair in track(self.pairs, len(self.pairs), "instruct (teacher)",
                          extra=lambda: f"cache {self.cache.hit_rate():.0%}"):
            if pair.id in done:
                continue
            if not pair.image.is_file():
                counts["missing_image"] += 1
                continue
            if not pair.caption:
                counts["empty_caption"] += 1
                continue
            try:
                page = decode_image(pair.image.read_bytes(), str(pair.image))
                prompt = render_template(prompts / "synthesize.j2", caption=pair.caption, n=N_TASKS)
                triplets = parse_triplets(ask(self.synthesizer, page, prompt, pair.id))
                if not triplets:
                    reject("unparseable", pair, ask(self.synthesizer, page, prompt, pair.id)[:500])
                    continue
                tasks = []
                for q, inf, prec in triplets:
                    check = render_template(prompts / "consistency.j2", question=q, informative=inf, precise=prec)
                    said = verdict(ask(self.checker, page, check, pair.id))
                    if said != "Yes":
                        reject(f"filtered_{said}", pair, {"question": q, "informative": inf, "precise": prec})
                        continue
                    tasks.append(Task("synthesized", 0, q, final_answer(inf, prec), "informative",
                                      {"informative": inf, "precise": prec}))
            except PageError as e:
                reject("failed", pair, str(e))
                continue
            counts["kept_tasks"] += len(tasks)
            if not tasks:
                continue
            cap = Task("caption", 0, "Describe the image.", pair.caption, "informative", {})
            yield Conversation(pair.id, pair.image, pair.image.name, tasks, cap, page_rng(self.cfg.seed, pair.id))

    def finish_counts(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {"conversations": summary["conversations"], **self.counts}

    def result(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {"out": self.cfg.out, "conversations": summary["conversations"], "counts": dict(self.counts),
                "teacher_calls": self.cache.written, "cache_hits": self.cache.hits}

    def close(self) -> None:
        if self.rejected is not None:
            self.rejected.close()
        if self.cache is not None:
            self.cache.close()
        self.synthesizer.close()


SOURCE = TeacherSource


def run_teacher(cfg: Any) -> dict[str, Any]:
    """``instruct --from teacher``: synthesize, filter, and write conversations (resumable, cached)."""
    from distill.conversations import write

    return write(cfg, TeacherSource(cfg))
