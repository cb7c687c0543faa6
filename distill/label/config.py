"""The settings of ``docfoundry label``: the teacher and confidence options (shared with ``label audit``)
and the label run's own, plus the checks that refuse settings which cannot work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docfoundry.config import opt
from docfoundry.errors import UserError


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


def validate(cfg: LabelConfig) -> None:
    if not cfg.source:
        raise UserError("--in is required: a folder of images/PDFs or a dataset folder")
    if not 0 <= cfg.min_confidence <= 1:
        raise UserError("--min-confidence must be between 0 and 1")
    if cfg.limit < 0:
        raise UserError("--limit must be 0 (all) or more")
