"""`docfoundry eval`: score predictions (or a model) against truth and write a report people read.

    docfoundry eval --truth data/synth --split test --pred preds.jsonl --out reports/student
    docfoundry eval --truth data/synth --split test --model models/student --limit 200 --out reports/student
    docfoundry eval compare reports/base reports/student reports/teacher --out reports/compare

Truth is a dataset folder or any layout in ``docfoundry.adapters`` (labels.jsonl, SROIE, FUNSD, CORD).
Predictions are JSONL rows ``{"id", "prediction": raw text}`` or ``{"id", "fields": {...}}``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docfoundry.adapters import ADAPTERS
from docfoundry.chat import DEFAULT_OCR_MAX_TOKENS, OCR_CONTEXTS
from docfoundry.commands import Command
from docfoundry.config import opt, to_dict
from docfoundry.errors import UserError


@dataclass
class EvalConfig:
    # output="report": defines the report only; the rest also defines --model's predictions (fingerprint)
    truth: str = opt(help="truth: a dataset folder, or a folder in a labels.jsonl / SROIE / FUNSD / CORD layout", output="report")
    out: str = opt(help="report folder: metrics.json, documents.jsonl, report.md, report.html", output=False)
    pred: str = opt("", "predictions JSONL: {id, prediction: raw model text} or {id, fields: {...}} per line", output="report")
    model: str = opt("", "run this model instead of reading --pred: hub id, model folder or adapter folder")
    adapter: str = opt("", "LoRA adapter folder applied to --model")
    engine: str = opt("hf", "inference engine for --model", choices=["hf", "vllm"])
    schema: str = opt("", "document type (or schema.json path) for every page (default: each page's own type)", output="report")
    split: str = opt("", "score only this split (train, validation, test)", output="report")
    truth_format: str = opt("auto", "truth layout", choices=["auto", *ADAPTERS], output="report")
    field_map: dict[str, str] = opt({}, "truth field=schema field, comma-separated (company=store_name,"
                                        "address=store_address), applied to the truth before scoring; the "
                                        "schema's x-aliases map without it (needs --schema for SROIE/CORD/FUNSD)", output="report")
    limit: int = opt(0, "score only the first N truth pages (0: all)", min=0, output="report")
    label: str = opt("", "this run's name in the report and in `eval compare` (default: model or file name)", output="report")
    bootstrap: int = opt(1000, "bootstrap resamples for the 95% intervals (0: none)", min=0, output="report")
    seed: int = opt(0, "bootstrap seed", output="report")
    worst: int = opt(5, "how many worst pages to show with thumbnail, truth and prediction", min=0, output="report")
    dtype: str = opt("auto", "--model weights dtype: auto, float32, bfloat16, float16",
                     choices=["auto", "float32", "bfloat16", "float16"])
    quantization: str = opt("", "--model quantization of the language model: 4bit or 8bit", choices=["", "4bit", "8bit"])
    max_image_tokens: int = opt(0, "--model image-token budget per page (0: the model's saved setting)", min=0)
    max_new_tokens: int = opt(512, "--model generation limit per page", min=1)
    structured: bool = opt(False, "--model, --engine hf: hold every answer to the document type's JSON Schema, as "
                                  "the hf teacher decodes (xgrammar): the parse rate then measures the grammar, the "
                                  "values what the model learned; schema-less truth is answered free",
                           output=False)  # in the predictions' fingerprint when on (eval.predict._fingerprint)
    max_field_chars: int = opt(0, "--structured: cap every string value at N characters (0: no cap; a cap also "
                                  "forbids escapes, so no multi-line values)", min=0, output=False)
    repetition_penalty: float = opt(1.0, "--model: transformers' and vLLM's repetition penalty on the tokens the "
                                         "prompt and answer already hold (1.0: none; a small student that loops in a "
                                         "value is held back by 1.2-1.5)", min=1.0, output=False)
    ocr_context: str = opt("auto", "--model: the page's OCR lines in the prompt: none, text, layout, or auto (what "
                                   "the student was trained with, from its train_config.json; else none)",
                           choices=["auto", *OCR_CONTEXTS], output=False)
    ocr_max_tokens: int | None = opt(None, "--model: cap of the OCR context in the model's tokens (whole lines cut "
                                           "from the end; 0: no cap; default: the student's, else "
                                           f"{DEFAULT_OCR_MAX_TOKENS})", min=0, output=False)
    ocr_cache: str = opt("", "--model: OCR cache folder (default OUT/cache; a label run's cache serves it too)",
                         output=False)
    batch: int = opt(32, "--engine vllm: pages per engine call (answers are saved after each call)", min=1, output=False)
    device: str = opt("", "--model device: cpu, cuda, cuda:1 ... (default: cuda when available, else cpu)", output=False)

    def validate(self) -> None:
        """Cross-field checks (``docfoundry.config.validate`` runs them after the ranges)."""
        from eval.predict import check_settings

        if bool(self.pred) == bool(self.model):
            raise UserError("give either --pred FILE or --model NAME_OR_PATH (exactly one)")
        check_settings(self)


@dataclass
class CompareConfig:
    reports: list[str] = opt(help="report folders written by `docfoundry eval`; the first is the baseline",
                             positional=True)
    out: str = opt(help="folder for compare.json, compare.md and compare.html")
    labels: list[str] = opt([], "names for the runs, comma-separated (default: each report's label)")


def _check_overlap(cfg: EvalConfig, truth: Any, predictions: dict[str, Any]) -> None:
    """A predictions file that matches no truth page is a user error, not a report of zeros."""
    if not predictions:
        raise UserError(f"{cfg.pred}: holds no predictions")
    if not any(r.id in predictions for r in truth.records):
        pred_id, truth_id = next(iter(predictions)), truth.records[0].id
        raise UserError(f"{cfg.pred}: none of its {len(predictions)} ids is among the {len(truth.records)} truth "
                        f"pages of {truth.source} (e.g. prediction '{pred_id}', truth '{truth_id}'); "
                        "wrong --truth, --split or --limit?")


def run(cfg: EvalConfig) -> dict[str, Any]:
    """Score, write the report, return the headline numbers."""
    from docfoundry.adapters import load_truth
    from docfoundry.config import validate
    from docfoundry.doctypes import load_doc_type
    from docfoundry.predictions import read_predictions
    from eval.fieldmap import map_truth, unlabeled_by_type
    from eval.report import write_report
    from eval.score import schema_for, score_all, summarize

    validate(cfg)  # ranges and choices too when the config was built in Python
    if cfg.schema:
        load_doc_type(cfg.schema)  # an unknown type fails here, naming the known ones
    truth = load_truth(cfg.truth, cfg.truth_format, cfg.split or None, cfg.schema or None, cfg.limit)
    field_maps = map_truth(truth, cfg.field_map, schema_for)  # truth named as the schema names it
    from docfoundry.store import OutputLock

    lock = OutputLock(cfg.out)  # one eval writes a report folder at a time (a second gets one line)
    speed = None
    if cfg.pred:
        predictions = read_predictions(cfg.pred)
        _check_overlap(cfg, truth, predictions)
    else:
        from eval.predict import predict

        predictions, speed, unreadable = predict(cfg, truth.records, Path(cfg.out) / "predictions.jsonl")
        # a page the model could not be shown is a truth problem (skipped), not a miss of the model
        truth.records = [r for r in truth.records if r.id not in unreadable]
        truth.problems += list(unreadable.values())
        if not truth.records:
            raise UserError(f"{cfg.truth}: no page image could be read (first: {next(iter(unreadable.values()))}); "
                            f"see {Path(cfg.out) / 'failed.jsonl'}")
    # labeled real pages name a few fields: a field none of them labels cannot be judged (a dataset
    # folder's truth is complete: a value it lacks is one the page does not print)
    unjudged = unlabeled_by_type(truth.records, schema_for) if truth.adapter != "dataset" else {}
    scored = score_all(truth.records, predictions, truth.hints, known_ids=truth.all_ids, unjudged=unjudged)
    metrics = summarize(scored, cfg.bootstrap, cfg.seed)
    metrics["truth_problems"] = truth.problems
    metrics["field_map"] = {t: fm.to_json() for t, fm in field_maps.items()}
    metrics["unscored_schema_fields"] = {t: sorted(f) for t, f in unjudged.items()}
    if speed:
        metrics["speed"] = speed
    label = cfg.label or (Path(cfg.model.rstrip("/")).name if cfg.model else Path(cfg.pred).stem)
    run_info = {"label": label, "command": " ".join(["docfoundry", *sys.argv[1:]]), "config": to_dict(cfg),
                "truth": str(cfg.truth), "adapter": truth.adapter, "split": cfg.split,
                "predictions": cfg.pred or f"model {cfg.model}" + (f" + {cfg.adapter}" if cfg.adapter else "")}
    paths = write_report(cfg.out, scored, metrics, {r.id: r for r in truth.records}, predictions, run_info,
                         cfg.worst)
    m = metrics["matching"]
    for note in (f"truth pages with no prediction: {m['truth_without_prediction']} (scored as misses)"
                 if m["truth_without_prediction"] else "",
                 f"predictions whose id is not in the truth: {m['predictions_for_unknown_ids']} (ignored)"
                 if m["predictions_for_unknown_ids"] else "",
                 f"unreadable truth items skipped: {len(truth.problems)} (first: {truth.problems[0]})"
                 if truth.problems else "",
                 *(f"{t} truth fields with no {fm.schema} field, scored under their own names: "
                   f"{', '.join(fm.unmapped)}" for t, fm in field_maps.items() if fm.unmapped),
                 *(f"{t} fields no truth page labels, predictions of them not scored: {', '.join(sorted(f))}"
                   for t, f in unjudged.items())):
        if note:
            print(f"warning: {note}", file=sys.stderr)
    lock.release()
    overall = metrics["overall"]
    return {"label": label, "pages": len(truth.records),
            **{k: overall[k]["value"] for k in ("field_accuracy", "fuzzy", "f1", "exact_match",
                                                "ted_accuracy", "parse_rate")},
            "truth_without_prediction": m["truth_without_prediction"],
            "predictions_for_unknown_ids": m["predictions_for_unknown_ids"],
            **({"pages_per_s": speed["pages_per_s"]} if speed else {}),
            "report": paths["html"]}


def run_compare(cfg: CompareConfig) -> dict[str, Any]:
    """Side-by-side report of several eval runs."""
    from eval.compare import compare_reports

    return compare_reports(cfg.reports, cfg.out, cfg.labels or None)


_USAGE = __doc__.split("\n\n")[1]
COMMANDS = [
    Command("eval", "score predictions or a model against truth; write metrics.json and an HTML report",
            EvalConfig, run, usage=_USAGE),
    Command("eval compare", "compare several eval reports side by side (bars per category with deltas)",
            CompareConfig, run_compare,
            usage="example:\n  docfoundry eval compare reports/base reports/student --out reports/compare"),
]
