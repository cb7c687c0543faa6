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

The package, one job per module: ``config`` (the settings), ``labeler`` (one batch of pages through
OCR, the teacher and the merge), ``stage`` (``run``: the folder in, the dataset folder out), ``scores``
(labels against truth), ``audit`` (``run_audit``) and ``audit_report`` (``audit.md``). Their names are
re-exported here, where code written before the split imports them from.
"""

from __future__ import annotations

from distill.label.audit import AuditConfig, load_real_truth, real_audit, run_audit
from distill.label.config import LabelConfig, TeacherArgs, sampling_of, teacher_settings
from distill.label.labeler import Labeler, PageWork, check_answer, remove_paths, sample_seed
from distill.label.scores import (
    AUDIT_THRESHOLDS,
    TARGET_ACCURACY,
    _bucket,
    audit_scores,
    gap_table,
    recommend_min_confidence,
    score_labels,
    seed_fuzzy,
    synthetic_truth,
)
from distill.label.stage import FAILED_FILE, fingerprint, read_labels, run, run_command
from docfoundry.commands import Command

__all__ = ["AUDIT_THRESHOLDS", "COMMANDS", "FAILED_FILE", "TARGET_ACCURACY", "AuditConfig", "LabelConfig", "Labeler",
           "PageWork", "TeacherArgs", "_bucket", "audit_scores", "check_answer", "fingerprint",
           "gap_table", "load_real_truth", "read_labels", "real_audit", "recommend_min_confidence", "remove_paths",
           "run", "run_audit", "run_command", "sample_seed", "sampling_of", "score_labels", "seed_fuzzy",
           "synthetic_truth", "teacher_settings"]

COMMANDS = [
    Command("label", "weak-label pages with a teacher (vLLM, OpenAI server, transformers or OCR): "
            "fields with confidence and grounding, cached and resumable", LabelConfig, run_command,
            usage=__doc__.split("\n\n")[1]),
    Command("label audit", "run a teacher on synthetic pages with exact truth (and on labeled real pages "
            "with --truth): per-field accuracy, accuracy per confidence bucket, the synthetic-real gap and "
            "the --min-confidence to use", AuditConfig, run_audit, usage=__doc__.split("\n\n")[1]),
]
