"""Degrade any dataset folder: each page gets a preset's scan degradation, its boxes moved with it
(every page of a document of several pages).

    docfoundry degrade --in data/synth --out data/synth_medium --preset medium
    docfoundry degrade --in data/synth --out data/synth_fax --preset fax --max-cer 0.1 --workers 2
    docfoundry degrade --in data/synth --out data/custom --preset my_scanner.yaml --seed 3

Page ``id`` is degraded with a seed made from (``--seed``, id) alone, so any worker count gives
the same bytes and a killed run continues where it stopped when re-run with the same arguments.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docfoundry.commands import Command
from docfoundry.config import opt, to_dict
from docfoundry.errors import BadItem, UserError
from docfoundry.records import Sample

if TYPE_CHECKING:
    from synth.degrade import Preset


def _preset_help() -> str:
    """``--preset``'s help, with the built-in presets as their folder has them (read when the flags are built)."""
    from synth.degrade import preset_names

    return f"{'|'.join(preset_names())} or a preset YAML path"


@dataclass
class DegradeConfig:
    input: str = opt(help="input dataset folder (metadata.jsonl + images/)", flag="--in", metavar="DIR")
    out: str = opt(help="output dataset folder (created; re-run the same command to resume)")
    preset: str = opt("medium", _preset_help)
    seed: int = opt(0, "seed; (seed, page id) defines each page's degradation")
    max_cer: float | None = opt(None, "readability gate: re-draw while OCR CER on field text exceeds this")
    workers: int = opt(1, "worker processes")
    jpeg_quality: int = opt(90, "JPEG quality of the written pages")


def page_seed(seed: int, sample_id: str) -> int:
    """A stable 63-bit seed for one page (independent of process, order and hash randomization)."""
    from docfoundry.seeds import derive

    return derive(seed, sample_id, "degrade")


def degrade_pages(images: list[Any], sample: Sample, preset: str | Preset, seed: int,
                  max_cer: float | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Degrade every page of a document with ``preset``, each page's boxes moved with its pixels
    (``sample.words`` and ``sample.field_boxes`` are replaced); returns the pages and the record
    for ``meta["degradation"]``. Page 1 uses ``seed`` (a one-page document degrades as it always
    did), page k+1 a seed made from (``seed``, k)."""
    from docfoundry.seeds import derive
    from synth.degrade import degrade_sample

    if len(images) == 1:
        image, sample.words, sample.field_boxes, record = degrade_sample(
            images[0], sample.words, sample.field_boxes, preset, seed, max_cer)
        return [image], record
    out, records, words, fields = [], [], [], []
    for k, image in enumerate(images):
        page_words, page_fields = sample.on_page(k)
        image, page_words, page_fields, record = degrade_sample(
            image, page_words, page_fields, preset, seed if k == 0 else derive(seed, "page", k), max_cer)
        out.append(image)
        records.append(record)
        words += page_words
        fields += page_fields
    order = {f.path: i for i, f in enumerate(sample.field_boxes)}  # the fields keep their row order
    sample.words, sample.field_boxes = words, sorted(fields, key=lambda f: order[f.path])
    return out, {"preset": records[0]["preset"], "pages": records}


def degrade_one(job: tuple[DegradeConfig, str, Sample]) -> tuple[Sample, bytes | list[bytes] | None, str]:
    """Degrade one document of the input folder; returns (record, JPEG bytes (a list for several
    pages), error or '')."""
    from docfoundry.store import read_pages
    from synth.raster import encode

    cfg, folder, sample = job
    try:
        pages = read_pages(folder, sample)
    except BadItem as e:  # a broken, oversized or misplaced page fails alone
        return sample, None, str(e)
    images, record = degrade_pages(pages, sample, cfg.preset, page_seed(cfg.seed, sample.id), cfg.max_cer)
    before = sample.meta.get("degradation")
    if before and before.get("preset", "clean") != "clean":
        record["previous"] = before  # a page degraded twice keeps the history
    sample.meta["degradation"] = record
    data = [encode(image, "jpg", cfg.jpeg_quality) for image in images]
    return sample, data if len(data) > 1 else data[0], ""


def run(cfg: DegradeConfig) -> dict[str, Any]:
    """Degrade every page of ``cfg.input`` into ``cfg.out`` (resuming); return a summary of counts."""
    import multiprocessing as mp

    from docfoundry.progress import track
    from docfoundry.store import DatasetWriter, read_samples
    from synth.degrade import load_preset

    preset = load_preset(cfg.preset)
    if cfg.workers < 1:
        raise UserError("--workers must be at least 1")
    if Path(cfg.out).resolve() == Path(cfg.input).resolve():
        raise UserError(f"--out {cfg.out}: must differ from --in (pages are written next to their rows)")
    samples = list(read_samples(cfg.input))
    order = {s.id: i for i, s in enumerate(samples)}
    fingerprint = {"input": str(Path(cfg.input).resolve()), "preset": cfg.preset, "seed": cfg.seed,
                   "max_cer": cfg.max_cer, "jpeg_quality": cfg.jpeg_quality,
                   "preset_file": hashlib.sha256(Path(preset.path).read_bytes()).hexdigest()[:16]}
    writer = DatasetWriter(cfg.out, stage="degrade", fingerprint=fingerprint, config=to_dict(cfg),
                           packages=("augraphy", "opencv-python-headless", "rapidocr"))
    todo = [(cfg, cfg.input, s) for s in samples if s.id not in writer.done]
    errors: list[str] = []
    pool = mp.get_context("fork").Pool(cfg.workers) if cfg.workers > 1 and len(todo) > 1 else None
    try:
        results = pool.imap(degrade_one, todo, chunksize=2) if pool else map(degrade_one, todo)
        for sample, data, error in track(results, len(todo), f"degrade {preset.name}"):
            if error:
                print(f"warning: {error}; skipped", file=sys.stderr)
                errors.append(error)
                continue
            writer.add(sample, data, "jpg")
    finally:
        if pool:
            pool.terminate()
    counts = {"pages": len(writer.done), "made_now": len(todo) - len(errors), "failed": len(errors),
              "errors": errors[:50]}
    done = len(writer.done) >= len(samples)
    info = writer.finish(counts, order=lambda row: order.get(row["id"], len(order)),
                         status="complete" if done else "partial")
    return {"out": cfg.out, "preset": preset.name, **{k: v for k, v in counts.items() if k != "errors"},
            "seconds": info["seconds"], "exit_code": 0 if not errors else 1}


COMMANDS = [
    Command("degrade", "scan degradation of any dataset folder, boxes moved with the pixels",
            DegradeConfig, run, usage=__doc__.split("\n\n")[1]),
]
