"""``docfoundry gap``: how far synthetic pages are from the user's real ones, measured.

    docfoundry gap --synth data/synth --real scans/ --schema receipt --out reports/gap
    docfoundry gap --synth data/forms --real ../shared/datasets/funsd --real-split train --max-pages 60 --out reports/gap-forms
    docfoundry gap --synth data/receipts --real ../shared/datasets/sroie-dev --schema receipt \\
        --truth ../shared/datasets/sroie-dev --teacher ocr --out reports/gap-receipts

Both sets are measured on what a reader and a model see (image: size, aspect, paper and ink,
contrast, ink coverage, blur, noise, skew, glyph height; text from rapidocr: lines per page, words
and characters per line, character height, share of the schema's printed labels found, digits,
OCR confidence; layout: where the text sits on a 4x4 grid), then a classifier two-sample test says
how well a page's features tell its set (cross-validated ROC AUC; 0.5 = indistinguishable). Real
pages need no labels; with ``--truth`` the teacher is also scored on both sets per field. OCR lines
are cached per page by content hash (``OUT/cache`` or ``--cache``, the cache ``label`` writes), so a
re-run costs seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docfoundry.commands import Command
from docfoundry.config import opt, to_dict
from docfoundry.errors import UserError


@dataclass
class GapConfig:
    synth: str = opt(help="synthetic pages: a dataset folder from docfoundry synth (or any folder of images/PDFs)")
    real: str = opt(help="the real pages: a folder of images/PDFs or any layout label --in reads; no labels needed")
    out: str = opt(help="report folder: gap.json, gap.md, gap.html, pages.jsonl, cache/")
    schema: str = opt("", "document type whose printed labels (x-labels) are looked for; needed with --truth")
    truth: str = opt("", "labeled real pages (labels.jsonl, SROIE, FUNSD, CORD, a dataset folder): the teacher's "
                         "per-field accuracy on the synthetic pages next to these")
    teacher: str = opt("ocr", "teacher SPEC scored with --truth (ocr | vllm:MODEL | openai:URL#MODEL | hf:MODEL)")
    field_map: dict[str, str] = opt({}, "truth field=schema field, comma-separated (the schema's x-aliases map "
                                        "without it)")
    real_split: str = opt("", "only the real pages of this split (e.g. train for FUNSD)")
    synth_split: str = opt("", "only the synthetic pages of this split")
    max_pages: int = opt(0, "measure the first N pages of each set (0 = all)", min=0)
    ocr: bool = opt(True, "text and layout features from rapidocr (seconds per page, cached); "
                          "--no-ocr measures the images alone")
    cache: str = opt("", "OCR cache folder (default OUT/cache); a label run's cache folder serves it too")
    workers: int = opt(1, "worker processes for measuring and OCR", min=1)
    seed: int = opt(0, "seed of the classifier and its folds")
    progress: bool = opt(True, "show progress bars")

    def validate(self) -> None:
        """Inputs that cannot work, before any page is read."""
        from eval.gap.collect import check_source

        check_source(self.synth, "--synth")
        check_source(self.real, "--real")
        if self.truth:
            check_source(self.truth, "--truth")
            if not self.schema:
                raise UserError("--truth needs --schema (the document type the teacher extracts)")
            if not self.ocr:
                raise UserError("--truth scores the teacher, which reads the pages' OCR; drop --no-ocr")
        if self.field_map and not self.truth:
            raise UserError("--field-map applies to --truth (labeled real pages); give --truth DIR")


def _group_features(names: list[str]) -> dict[str, list[str]]:
    from eval.gap.features import IMAGE_FEATURES, TEXT_FEATURES

    groups = {"image": [n for n in names if n in IMAGE_FEATURES],
              "text": [n for n in names if n in TEXT_FEATURES],
              "layout": [n for n in names if n.startswith("layout_")]}
    return {g: v for g, v in groups.items() if v}


def compare(synth: list[Any], real: list[Any], seed: int) -> dict[str, Any]:
    """The two-sample test on all features and on each group (image, text, layout) alone."""
    from eval.gap.twosample import feature_names, two_sample_auc

    s_rows, r_rows = [p.values for p in synth], [p.values for p in real]
    groups_of = [p.digest for p in synth + real]
    try:
        test = two_sample_auc(s_rows, r_rows, groups_of, seed=seed)
    except ValueError as e:
        raise UserError(f"gap: {e} (got {len(synth)} synthetic and {len(real)} real)") from None
    groups = {}
    names = feature_names(s_rows + r_rows)
    for group, keep in _group_features(names).items():
        pick = [{k: row[k] for k in keep} for row in s_rows], [{k: row[k] for k in keep} for row in r_rows]
        t = two_sample_auc(*pick, groups_of, seed=seed)
        groups[group] = {k: t[k] for k in ("auc", "auc_sd", "verdict", "n_features")}
    return {"test": test, "groups": groups}


def run(cfg: GapConfig) -> dict[str, Any]:
    """Measure both sets, run the two-sample test (and the teacher audit with ``--truth``) and write
    the report; returns the headline numbers."""
    from distill.cache import CallCache
    from docfoundry.config import validate
    from docfoundry.doctypes import load_doc_type
    from eval.gap.collect import measure_set, pick_pages
    from eval.gap.features import schema_labels, vocabulary_overlap
    from eval.gap.report import TOP_FEATURES, write_gap_report

    validate(cfg)
    out = Path(cfg.out)
    labels = schema_labels(load_doc_type(cfg.schema)) if cfg.schema else None
    synth_pages = pick_pages(cfg.synth, cfg.synth_split, cfg.max_pages, "--synth")
    real_pages = pick_pages(cfg.real, cfg.real_split, cfg.max_pages, "--real")
    cache_dir = cfg.cache or str(out / "cache")
    with CallCache(cache_dir) as cache:
        kw = {"ocr": cfg.ocr, "labels": labels, "workers": cfg.workers, "progress": cfg.progress}
        synth = measure_set(synth_pages, "synthetic", cache, **kw)
        real = measure_set(real_pages, "real", cache, **kw)
        ocr_reads = cache.written
    result: dict[str, Any] = {
        "synth": {"source": cfg.synth, "pages": len(synth)}, "real": {"source": cfg.real, "pages": len(real)},
        **compare(synth, real, cfg.seed), "config": to_dict(cfg), "ocr_pages_read": ocr_reads,
    }
    if cfg.ocr:
        result["vocabulary"] = vocabulary_overlap(synth, real)
    if cfg.truth:
        from eval.gap.teacher import teacher_gap

        result["teacher"] = teacher_gap(schema=cfg.schema, synth=cfg.synth, truth=cfg.truth, teacher=cfg.teacher,
                                        out=out / "teacher", cache=cache_dir, field_map=cfg.field_map,
                                        limit=cfg.max_pages, workers=cfg.workers, progress=cfg.progress)
    top = [f["feature"] for f in result["test"]["features"][:TOP_FEATURES]]
    histograms = None
    if top:
        from eval.plots import paired_histograms

        histograms = paired_histograms({n: ([p.values[n] for p in synth], [p.values[n] for p in real]) for n in top},
                                       ("synthetic", "real"))
    thumbs = {name: [(p.id, p.thumbnail) for p in pages if p.thumbnail] for name, pages in
              (("synthetic", synth), ("real", real))}
    rows = [{"set": name, **p.to_json()} for name, pages in (("synthetic", synth), ("real", real)) for p in pages]
    paths = write_gap_report(out, result, rows, histograms, thumbs)
    summary: dict[str, Any] = {"out": cfg.out, "auc": result["test"]["auc"],
                               **{f"auc_{g}": t["auc"] for g, t in result["groups"].items()},
                               "synthetic_pages": len(synth), "real_pages": len(real),
                               "most_separating": top[:5], "report": paths["html"]}
    if "teacher" in result:
        o = result["teacher"]["gap"]["overall"]
        summary.update(teacher_synthetic_accuracy=o["synthetic_accuracy"], teacher_real_accuracy=o["real_accuracy"],
                       teacher_gap=o["gap"])
    return summary


COMMANDS = [Command("gap", "measure how far synthetic pages are from real ones: image, text and layout features, "
                    "a classifier two-sample test (ROC AUC) and, with --truth, the teacher's per-field gap",
                    GapConfig, run, usage=__doc__.split("\n\n")[1])]
