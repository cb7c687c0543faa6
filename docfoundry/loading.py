"""Loading a VLM: a hub id, a model folder or an adapter folder, with one-line errors and the
workarounds this environment needs (no torchvision: stand-in video processors), then releasing it.

Teacher, student and eval load every model through ``load_model``:

    model, processor = load_model("models/tiny-smolvlm", max_image_tokens=256)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docfoundry.errors import UserError
from docfoundry.families import FAMILIES, Family, family_of
from docfoundry.threads import fit_cpu_threads


def is_local(name_or_path: str) -> bool:
    """True for a path (existing, or spelled as one), False for a hub id."""
    p = Path(name_or_path)
    return p.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1


def resolve_source(name_or_path: str, adapter: str | None = None) -> tuple[str, str | None]:
    """(base model, adapter): an adapter folder given as the model resolves to its base model."""
    p = Path(name_or_path).expanduser()
    if is_local(name_or_path):
        if not p.is_dir():
            raise UserError(f"{p}: no such model folder (build one with `docfoundry models tiny "
                            f"--family smolvlm --out {p}` or pass a hub id)")
        if not (p / "config.json").is_file():
            if (p / "adapter_config.json").is_file() and adapter is None:
                base = json.loads((p / "adapter_config.json").read_text()).get("base_model_name_or_path")
                if not base:
                    raise UserError(f"{p}/adapter_config.json: no base_model_name_or_path; pass the base "
                                    "model and --adapter")
                return resolve_source(base)[0], str(p)
            raise UserError(f"{p}: no model here (no config.json); point at a folder written by "
                            "save_pretrained or `docfoundry models tiny`")
        return str(p), adapter
    return name_or_path, adapter


def load_config(name_or_path: str, *, trust_remote_code: bool = False) -> Any:
    """The model's config, with one-line errors for a missing or unsupported model."""
    from transformers import AutoConfig

    where = f"{name_or_path}/config.json" if is_local(name_or_path) else name_or_path
    try:
        return AutoConfig.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except OSError as e:
        raise UserError(f"{name_or_path}: not a local model folder and not loadable from the hub "
                        f"({str(e).splitlines()[0]})") from None
    except ValueError as e:
        raise UserError(f"{where}: unsupported architecture ({str(e).splitlines()[0]}); supported "
                        f"families: {', '.join(FAMILIES)}") from None


def check_image_text_model(config: Any, where: str) -> None:
    """Refuse configs that ``AutoModelForImageTextToText`` cannot build."""
    from transformers import AutoModelForImageTextToText

    if type(config) not in AutoModelForImageTextToText._model_mapping and not getattr(
            config, "auto_map", None):
        raise UserError(f"{where}: model_type '{config.model_type}' is not an image-text-to-text "
                        f"model; supported families: {', '.join(FAMILIES)} (or any model that "
                        "AutoModelForImageTextToText loads)")


def check_special_tokens(tokenizer: Any, family: Family, where: str) -> None:
    """The tokenizer must already hold the family's media tokens (processors would silently add them)."""
    vocab = tokenizer.get_vocab()
    needed = (*family.media_tokens, family.end_of_turn) if not family.generic else ()
    missing = [t for t in needed if t and t not in vocab]
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        raise UserError(f"{where}: tokenizer lacks the {family.name} special tokens {shown}; use the "
                        f"model's own tokenizer or rebuild it (docfoundry models tiny --family {family.name})")


def video_processor(family: Family, source: str | None = None) -> Any:
    """The video processor a processor is built with (from ``source``, or new for a tiny model).

    Without torchvision (the CPU wheels here) the Qwen-VL and SmolVLM video processors cannot be
    built and their processors refuse to load; images never touch the video processor, so they get
    the plain base class instead. This is the one place that handles it.
    """
    import transformers
    from transformers import AutoVideoProcessor
    from transformers.utils import is_torchvision_available
    from transformers.video_processing_utils import BaseVideoProcessor, VideoProcessorMixin

    if is_torchvision_available():
        if source is not None:
            return AutoVideoProcessor.from_pretrained(source)
        return getattr(transformers, family.tiny.video_processor)()
    # Processors type-check this part against transformers.VideoProcessorMixin, which transformers
    # exports only when torchvision is installed; export it so the check can run.
    transformers.VideoProcessorMixin = VideoProcessorMixin
    return BaseVideoProcessor()


def saved_video_processor(family: Family, processor: Any) -> dict[str, Any] | None:
    """What to save for a stand-in video processor: the family's real class with the image geometry,
    so a machine with torchvision loads a working one. None when the processor holds a real one."""
    from transformers.video_processing_utils import BaseVideoProcessor

    if type(getattr(processor, "video_processor", None)) is not BaseVideoProcessor:
        return None
    image = processor.image_processor.to_dict()
    geometry = {k: image[k] for k in ("patch_size", "merge_size", "temporal_patch_size", "max_image_size")
                if k in image}
    return {"video_processor_type": family.tiny.video_processor, **geometry}


def release(holder: Any, attribute: str) -> None:
    """Drop the model (or engine) ``holder`` keeps in ``attribute`` and give its memory back,
    the CUDA cache too, so the next model of a run finds the device free."""
    import gc

    import torch

    holder.__dict__.pop(attribute, None)
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def save_processor(processor: Any, family: Family, out: Path) -> None:
    """``processor.save_pretrained`` that records the family's real video processor when a stand-in
    was used (no torchvision here), so a machine with torchvision (vLLM) loads a working one."""
    processor.save_pretrained(out)
    video = saved_video_processor(family, processor)
    config = out / "processor_config.json"
    if video is not None and config.is_file():
        saved = json.loads(config.read_text())
        config.write_text(json.dumps({**saved, "video_processor": video}, indent=2) + "\n")


def load_processor(name_or_path: str, family: Family, *, trust_remote_code: bool = False) -> Any:
    """The family's processor, built from its parts so the tokenizer is checked before use."""
    import transformers
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    if family.generic:
        return AutoProcessor.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    where = f"{name_or_path}/tokenizer.json" if is_local(name_or_path) else name_or_path
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise UserError(f"{where}: cannot load the tokenizer ({str(e).splitlines()[0]})") from None
    check_special_tokens(tokenizer, family, where)
    parts: dict[str, Callable[[], Any]] = {
        "tokenizer": lambda: tokenizer,
        "image_processor": lambda: AutoImageProcessor.from_pretrained(name_or_path),
        "video_processor": lambda: video_processor(family, name_or_path),
    }
    cls = getattr(transformers, family.processor_class)
    processor_dict, kwargs = cls.get_processor_dict(name_or_path)
    args = [parts[attribute]() for attribute in cls.get_attributes()]
    return cls.from_args_and_dict(args, processor_dict, **kwargs)


QUANTIZATION = ("4bit", "8bit")


def _quantization_config(quantization: str | None, family: Family, dtype: Any = None) -> Any:
    """bitsandbytes settings; 4-bit computes in ``dtype`` when one is given, else bfloat16 on a GPU
    and float32 on a CPU (where bfloat16 is emulated and several times slower on AVX2)."""
    if quantization is None:
        return None
    if quantization not in QUANTIZATION:
        raise UserError(f"quantization must be one of {', '.join(QUANTIZATION)}, got '{quantization}'")
    import torch
    from transformers import BitsAndBytesConfig

    # the vision tower, projector and head stay in full precision (patterns are matched from the start)
    skip = [rf"(?:.*\.)?{name}" for name in (*family.vision_modules, "lm_head")]
    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    compute = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    if dtype not in (None, "auto"):
        compute = _torch_dtype(dtype)
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute, llm_int8_skip_modules=skip)


def _torch_dtype(dtype: Any) -> Any:
    import torch

    if dtype is None or dtype == "auto" or isinstance(dtype, torch.dtype):
        return dtype
    if not isinstance(getattr(torch, str(dtype), None), torch.dtype):
        raise UserError(f"dtype must be auto, float32, bfloat16 or float16, got '{dtype}'")
    return getattr(torch, dtype)


def load_model(name_or_path: str, *, dtype: Any = "auto", quantization: str | None = None,
               device_map: Any = None, max_image_tokens: int | None = None, adapter: str | None = None,
               trust_remote_code: bool = False) -> tuple[Any, Any]:
    """(model, processor) for a hub id, a local model folder or an adapter folder, in eval mode.

    ``quantization`` "4bit" (nf4, QLoRA) or "8bit" quantizes the language model only;
    ``max_image_tokens`` sets the family's resolution knob; ``adapter`` applies a LoRA adapter (its
    folder's saved processor wins over the base model's).
    """
    from transformers import AutoModelForImageTextToText

    base, adapter = resolve_source(str(name_or_path), adapter)
    config = load_config(base, trust_remote_code=trust_remote_code)
    check_image_text_model(config, f"{base}/config.json" if is_local(base) else base)
    family = family_of(config)
    processor_source = adapter if adapter and _has_processor(adapter) else base
    processor = load_processor(processor_source, family, trust_remote_code=trust_remote_code)
    if max_image_tokens:
        family.set_image_budget(processor, max_image_tokens)
    model = AutoModelForImageTextToText.from_pretrained(
        base, dtype=_torch_dtype(dtype), device_map=device_map, trust_remote_code=trust_remote_code,
        quantization_config=_quantization_config(quantization, family, dtype))
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    fit_cpu_threads(model)
    return model, processor


def _has_processor(folder: str) -> bool:
    return any((Path(folder) / n).is_file() for n in ("processor_config.json", "preprocessor_config.json",
                                                      "tokenizer_config.json"))

