"""Teacher backends behind one small interface, registered by name like subcommands.

A teacher SPEC is ``NAME:TARGET`` or a bare ``NAME``:

    vllm:models/tiny-smolvlm                     vLLM offline engine, batched, JSON-schema decoding
    openai:http://127.0.0.1:8000/v1#MODEL        any OpenAI-compatible server (e.g. ``vllm serve``)
    hf:HuggingFaceTB/SmolVLM-256M-Instruct       plain transformers ``generate``, one page at a time
    ocr                                          rapidocr + schema-guided extraction (no GPU, no weights)

NAME is a module of this package that defines ``TEACHER``, a ``Teacher`` subclass; the module is
imported only when that teacher is used, so ``docfoundry --help`` never imports vLLM or torch.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from docfoundry.chat import (
    DEFAULT_OCR_MAX_TOKENS,
    OCR_CONTEXTS,
    ImagePart,
    TokenCounter,
    check_ocr_setting,
    ocr_key,
)
from docfoundry.config import opt
from docfoundry.errors import UserError

# The model teachers' chat layout, part of their identity: answers asked in another layout are other
# answers, so a call cached under an older layout (1: the instructions as a system turn) is not reused.
CHAT_LAYOUT = 2


class TeacherUnavailable(UserError):
    """The teacher cannot be reached or started (server down after retries, engine failed to load)."""


@dataclass(frozen=True)
class Sampling:
    """How answers are drawn; part of every call's cache key."""

    temperature: float = opt(0.0, "sampling temperature (K > 1 needs one above 0, e.g. 0.7)")
    top_p: float = opt(1.0, "nucleus sampling share")
    max_tokens: int = opt(1024, "answer length cap in tokens")
    logprobs: bool = opt(False, "with one sample, use token log-probabilities as confidence where the teacher gives them")
    structured: bool = opt(True, "constrain answers to the schema (JSON-schema decoding: vLLM/xgrammar, the server's "
                                 "json_schema, xgrammar in hf)")
    max_field_chars: int = opt(0, "cap every string value at N characters in constrained decoding (0 = no cap; no "
                                  "multi-line values then)")

    def key(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Request:
    """One call: a page image, the prompt and schema, and the seed of this sample/attempt."""

    page_id: str
    image: Any               # PIL.Image (RGB)
    image_bytes: bytes       # the encoded page (what the cache key hashes)
    image_ext: str           # "jpg" | "png"
    prompt: str
    schema: dict[str, Any]
    seed: int
    ocr: list[Any] | None = None  # the page's OCR lines, for teachers that read them
    doc: Any = None               # the DocType (leaves, labels, kinds), for teachers that read it
    more: list[Any] = field(default_factory=list)  # a document's later pages (``distill.pages.PageImage``)

    @property
    def images(self) -> list[Any]:
        """Every page's PIL image, the first page first (a model teacher sees them all)."""
        return [self.image, *(p.image for p in self.more)]

    def encoded(self) -> list[tuple[bytes, str]]:
        """Every page's (encoded bytes, extension), the first page first."""
        return [(self.image_bytes, self.image_ext), *((p.data, p.ext) for p in self.more)]


@dataclass
class Answer:
    """A teacher's raw answer: text, optional token log-probs, optional per-field scores.

    ``error`` is set when the call itself failed for this request (it is retried, not cached).
    """

    text: str = ""
    tokens: list[tuple[str, float]] | None = None
    field_scores: dict[str, float] | None = None
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "seconds": round(self.seconds, 4)}
        if self.tokens is not None:
            out["tokens"] = [[t, round(lp, 5)] for t, lp in self.tokens]
        if self.field_scores is not None:
            out["field_scores"] = self.field_scores
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Answer:
        tokens = d.get("tokens")
        return cls(d.get("text", ""), [(t, float(lp)) for t, lp in tokens] if tokens is not None else None,
                   d.get("field_scores"), float(d.get("seconds", 0.0)))


@dataclass
class TeacherOptions:
    """Backend settings (each backend reads the ones it uses); ``label``'s flags and keys by these names.

    Only ``max_image_tokens`` defines a label folder by itself (``output=``); the model knobs the
    answers depend on join the teacher's identity instead (``LocalModelTeacher.identity``, ``ocr_identity``).
    """

    max_image_tokens: int | None = opt(None, "image-token budget per page (the family's resolution knob); default: "
                                             "the model's own")
    concurrency: int = opt(8, "requests in flight (openai)", output=False)
    timeout: float = opt(120.0, "seconds per request before it is retried (openai)", output=False)
    retries: int = opt(3, "retries with backoff when the server fails or times out (openai)", output=False)
    api_key_env: str = opt("OPENAI_API_KEY", "environment variable that holds the API key (openai; never logged)",
                           output=False)
    tensor_parallel_size: int = opt(1, "GPUs per vLLM engine", output=False)
    data_parallel_size: int = opt(1, "vLLM engine replicas", output=False)
    dtype: str = opt("auto", "model dtype (vllm, hf): auto | bfloat16 | float16 | float32", output=False)
    max_model_len: int | None = opt(None, "context length cap for vLLM (default: the model's)", output=False)
    enforce_eager: bool = opt(False, "vLLM without torch.compile: starts about a minute sooner on CPU", output=False)
    ocr_context: str = opt("none", "the page's OCR lines in the prompt (hf, vllm, openai): none, text (in reading "
                                   "order) or layout (each line with its box in 0-1000 page space)",
                           choices=list(OCR_CONTEXTS), output=False)
    ocr_max_tokens: int = opt(DEFAULT_OCR_MAX_TOKENS, "cap of the OCR context in the model's tokens (whole lines "
                                                      "cut from the end; 0: no cap; openai: 4 bytes a token)", min=0,
                              output=False)

    def ocr_identity(self) -> dict[str, Any]:
        """The OCR context's part of a teacher's identity (empty without context: old cache keys hold)."""
        return ocr_key(self.ocr_context, self.ocr_max_tokens)


def model_fingerprint(name_or_path: str) -> dict[str, Any]:
    """What identifies a model in a cache key: a local folder's path and content digest (weights
    retrained to the same sizes are another model), or the hub id."""
    folder = Path(name_or_path)
    if not folder.is_dir():
        return {"model": name_or_path}
    from docfoundry.digest import model_digest

    return {"model": str(folder.resolve()), "content": model_digest(str(folder))}


class Teacher:
    """One labeling backend. Subclasses set the class attributes and implement ``answer``."""

    name: ClassVar[str] = ""
    target_help: ClassVar[str] = ""          # what follows ``NAME:`` (empty: the name stands alone)
    needs_ocr: ClassVar[bool] = False        # reads the page's OCR lines (Request.ocr)
    deterministic: ClassVar[bool] = False    # same answer every time: sampling K answers is pointless
    gives_logprobs: ClassVar[bool] = False   # can return token log-probabilities

    def __init__(self, target: str, options: TeacherOptions) -> None:
        self.target = target
        self.options = options
        check_ocr_setting(options.ocr_context, options.ocr_max_tokens)
        if options.ocr_context != "none":
            self.needs_ocr = True  # the prompt carries the page's OCR lines, so the labeler reads them

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.target}" if self.target else self.name

    def identity(self) -> dict[str, Any]:
        """What defines this teacher's answers (cache key part)."""
        return {"spec": self.spec, **self.options.ocr_identity()}

    def reserve_images(self, n: int) -> None:
        """Say, before the first ``answer``, that a request may hold up to ``n`` page images (the input's
        largest document). A capacity, not part of ``identity``; only an engine sized at start reads it."""

    def answer(self, requests: list[Request], sampling: Sampling) -> Iterator[tuple[int, Answer]]:
        """Answer ``requests``; yields ``(index, Answer)`` as each finishes, in any order."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the engine, server connections or model."""


def teacher_chat(req: Request, image: Any | list[Any], image_part: ImagePart, count: TokenCounter,
                 options: TeacherOptions) -> list[dict[str, Any]]:
    """The conversation every model teacher sends (``docfoundry.chat.page_chat``): one user turn of
    the page(s), their OCR context (``options.ocr_context``), then the instructions, the layout the
    student is trained and evaluated in (``CHAT_LAYOUT``), so a distilled student asked as a teacher
    sees the prompt it learned. ``image`` is what ``image_part`` turns into the backend's image content (PIL, data URL), or a
    list of them, one per page of a document; ``count`` counts tokens for the context's cap. A
    document's OCR lines are its pages' stacked reading (``distill.pages.stacked``), sized so.
    """
    from docfoundry.chat import ocr_context, page_chat

    context = ""
    if options.ocr_context != "none":
        if req.ocr is None:
            raise UserError(f"{req.page_id}: --ocr-context {options.ocr_context} needs the page's OCR lines")
        size = (req.image.size[0], sum(im.size[1] for im in req.images))  # the stacked pages' reading
        context, _ = ocr_context([(req.ocr, size)], options.ocr_context, options.ocr_max_tokens, count)
    return page_chat(image if isinstance(image, list) else [image], [{"role": "user", "content": req.prompt}],
                     context=context, image_part=image_part)


def decoding_schema(schema: dict[str, Any], max_field_chars: int = 0) -> dict[str, Any]:
    """The schema a decoder is constrained with: docfoundry's ``x-`` annotations removed, and
    ``maxLength`` on every string when ``max_field_chars`` is set (a runaway value then cannot eat
    the token budget; note that xgrammar then allows no escapes, so no multi-line values)."""
    if isinstance(schema, list):
        return [decoding_schema(v, max_field_chars) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: decoding_schema(v, max_field_chars) for k, v in schema.items()
           if not k.startswith("x-") and k != "$schema"}
    if max_field_chars and out.get("type") == "string":
        out["maxLength"] = min(int(out.get("maxLength", max_field_chars)), max_field_chars)
    return out


class LocalModelTeacher(Teacher):
    """A teacher that runs a model folder or hub id itself (hf, vllm): its answers depend on the
    weights, the resolution budget and the dtype, so those are part of its identity."""

    target_help: ClassVar[str] = "MODEL_OR_PATH"
    gives_logprobs: ClassVar[bool] = True

    def identity(self) -> dict[str, Any]:
        return {"spec": self.spec, **model_fingerprint(self.target),
                "max_image_tokens": self.options.max_image_tokens, "dtype": self.options.dtype,
                "chat_layout": CHAT_LAYOUT, **self.options.ocr_identity()}


def teacher_names() -> list[str]:
    """Registered teacher names: the public modules of this package."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def teacher_class(name: str) -> type[Teacher]:
    """The ``Teacher`` class registered as ``name``; an unknown name lists the known ones."""
    if name not in teacher_names():
        raise UserError(f"unknown teacher '{name}' (known: {', '.join(teacher_names())})")
    cls = importlib.import_module(f"{__name__}.{name}").TEACHER
    assert cls.name == name, f"{cls.__name__}.name must be '{name}'"
    return cls


def split_spec(spec: str) -> tuple[str, str]:
    """``vllm:models/x`` -> ``("vllm", "models/x")``; ``ocr`` -> ``("ocr", "")``."""
    name, _, target = spec.partition(":")
    return name.strip(), target.strip()


def load_teacher(spec: str, options: TeacherOptions | None = None) -> Teacher:
    """Build the teacher a SPEC names; a missing or extra target is a one-line error."""
    name, target = split_spec(spec)
    cls = teacher_class(name)
    if cls.target_help and not target:
        raise UserError(f"--teacher {spec}: say which model, as {name}:{cls.target_help}")
    if not cls.target_help and target:
        raise UserError(f"--teacher {spec}: the {name} teacher takes no target (use '{name}')")
    return cls(target, options or TeacherOptions())

