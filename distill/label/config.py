"""The settings of ``docfoundry label``: the teacher and confidence options (shared with ``label audit``)
and the label run's own, and the one up-front check of each (``validate``, run by ``config.validate``).

The teacher's option groups are nested, not restated: ``sampling`` is the ``Sampling`` every call
is made with and ``options`` the ``TeacherOptions`` the backend is built with; their fields are
flags, ``--config`` keys and keyword arguments under their own names (``--temperature``,
``LabelConfig(concurrency=2)``), as ``docfoundry.config.group`` flattens them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from distill.teachers import Sampling, TeacherOptions
from docfoundry.config import group, grouped, opt
from docfoundry.errors import UserError


@grouped
@dataclass(kw_only=True)
class TeacherArgs:
    """Teacher and confidence settings shared by ``label`` and ``label audit``."""

    teacher: str = opt("ocr", "teacher SPEC: ocr | vllm:MODEL_OR_PATH | openai:URL#MODEL | hf:MODEL_OR_PATH", output=False)
    samples: int = opt(1, "answers sampled per page; K > 1 votes per field (confidence = agreement share)")
    sampling: Sampling = group(Sampling, "how answers are drawn", logprobs=True)  # confidence from log-probs by default
    grounding: bool = opt(True, "check every value against the page's OCR text (rapidocr)")
    ground_threshold: float = opt(0.9, "fuzzy match score (0..1) a value needs to count as grounded")
    ungrounded_penalty: float = opt(0.5, "confidence multiplier for an ungrounded value")
    batch: int = opt(64, "pages per teacher batch (the unit a killed run can lose)", output=False)
    workers: int = opt(1, "OCR worker processes (with --ray: the CPUs of a local Ray instance)", output=False)
    ray: str | None = opt(None, "run the OCR of each batch as Ray tasks: 'local' starts a local instance, "
                                "or give a cluster address", output=False)
    seed: int = opt(0, "sampling seed (with the page and sample index)")
    options: TeacherOptions = group(TeacherOptions, "the backend's settings")

    def validate(self) -> None:
        """Reject teacher settings that cannot work, before any page is read."""
        from distill.teachers import split_spec, teacher_class

        if self.samples < 1:
            raise UserError("--samples must be at least 1")
        if self.samples > 1 and teacher_class(split_spec(self.teacher)[0]).deterministic:
            raise UserError(f"the {split_spec(self.teacher)[0]} teacher gives the same answer every time; "
                            "use --samples 1")
        if self.samples > 1 and self.sampling.temperature <= 0:
            raise UserError("--samples > 1 needs --temperature above 0 (at 0 every sample is the same answer)")
        if self.batch < 1 or self.workers < 1 or self.options.concurrency < 1:
            raise UserError("--batch, --workers and --concurrency must be at least 1")
        for name in ("ground_threshold", "ungrounded_penalty"):
            if not 0 <= getattr(self, name) <= 1:
                raise UserError(f"--{name.replace('_', '-')} must be between 0 and 1")


@grouped
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

    def validate(self) -> None:
        """The teacher settings, then the run's own."""
        super().validate()
        if not self.source:
            raise UserError("--in is required: a folder of images/PDFs or a dataset folder")
        if not 0 <= self.min_confidence <= 1:
            raise UserError("--min-confidence must be between 0 and 1")
        if self.limit < 0:
            raise UserError("--limit must be 0 (all) or more")


def teacher_settings(cfg: TeacherArgs) -> dict[str, Any]:
    """``cfg``'s teacher settings as keyword arguments of another config with them (a label run of an audit)."""
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(TeacherArgs)}


def sampling_of(cfg: TeacherArgs, teacher: Any) -> Sampling:
    """The sampling of every call: log-probabilities only where they are the confidence (one sample,
    a teacher that gives them)."""
    return dataclasses.replace(cfg.sampling, logprobs=cfg.sampling.logprobs and cfg.samples == 1
                               and teacher.gives_logprobs)
