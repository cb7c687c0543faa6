"""Vision-language model families: how to load one, its media tokens, resolution knob and LoRA targets.

Teacher, student and eval load every model through ``load_model``; family quirks live here and
nowhere else (the Auto-class role of transformers: a table keyed by the config's ``model_type``).

    docfoundry models tiny --family smolvlm --size micro --out models/tiny-smolvlm
    docfoundry models info models/tiny-smolvlm
    docfoundry models info HuggingFaceTB/SmolVLM-256M-Instruct --max-image-tokens 1024

    model, processor = load_model("models/tiny-smolvlm", max_image_tokens=256)
    family = family_of(model)
    messages = family.chat(page, "Extract the fields as JSON.")
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docfoundry.commands import Command
from docfoundry.config import opt
from docfoundry.errors import UserError

log = logging.getLogger("docfoundry.models")

LETTER_PAGE_150DPI = (1275, 1650)  # width, height in pixels: the page size image budgets are quoted for


# ---------------------------------------------------------------------------------------------
# Resolution knobs: each turns a token budget into image-processor settings.


@dataclass(frozen=True)
class TileBudget:
    """Idefics3 / SmolVLM: the page is resized to ``size.longest_edge`` and cut into square tiles.

    Each tile costs ``image_seq_len`` image tokens plus two wrappers (``<fake_token_around_image>``,
    ``<row_i_col_j>``), each row of tiles ends with a newline, and a downscaled global tile
    (``<fake_token_around_image><global-img>`` ... ``<fake_token_around_image>``) is always added.
    """

    max_tiles_per_side: int = 6  # the tokenizers hold <row_i_col_j> tokens up to 6 x 6

    @staticmethod
    def worst_case_tokens(k: int, tile_tokens: int) -> int:
        """Tokens of any image whose longest edge is resized to ``k`` tiles (at most k x k tiles)."""
        global_tile = tile_tokens + 3
        return global_tile if k <= 1 else k * k * (tile_tokens + 2) + (k + 1) + global_tile

    def settings(self, processor: Any, max_image_tokens: int) -> dict[str, Any]:
        tile = processor.image_processor.max_image_size["longest_edge"]
        tile_tokens = processor.image_seq_len
        if self.worst_case_tokens(1, tile_tokens) > max_image_tokens:
            raise UserError(f"max_image_tokens={max_image_tokens} is below one tile of this model "
                            f"({self.worst_case_tokens(1, tile_tokens)} tokens); raise it")
        k = 1
        while k < self.max_tiles_per_side and self.worst_case_tokens(k + 1, tile_tokens) <= max_image_tokens:
            k += 1
        return {"size": {"longest_edge": k * tile}}

    def describe(self, processor: Any) -> str:
        ip = processor.image_processor
        return (f"size.longest_edge={ip.size['longest_edge']} (tile {ip.max_image_size['longest_edge']} px, "
                f"{processor.image_seq_len} tokens per tile)")


@dataclass(frozen=True)
class PixelBudget:
    """Qwen2-VL / Qwen2.5-VL / Qwen3-VL: the page is resized to at most ``size.longest_edge`` pixels
    (``max_pixels``); every (patch_size * merge_size)^2 pixels become one ``<|image_pad|>`` token,
    wrapped in ``<|vision_start|>`` ... ``<|vision_end|>``."""

    def settings(self, processor: Any, max_image_tokens: int) -> dict[str, Any]:
        ip = processor.image_processor
        factor = ip.patch_size * ip.merge_size
        pads = max_image_tokens - 2
        if pads < 1:
            raise UserError(f"max_image_tokens={max_image_tokens} is below the minimum of 3 for this model")
        max_pixels = pads * factor * factor
        # smart_resize rounds up to min_pixels before capping; keep min well below the cap
        min_pixels = min(ip.size["shortest_edge"], max(factor * factor, max_pixels // 4))
        return {"size": {"shortest_edge": min_pixels, "longest_edge": max_pixels}}

    def describe(self, processor: Any) -> str:
        ip = processor.image_processor
        return (f"size.longest_edge (max_pixels)={ip.size['longest_edge']} "
                f"({ip.patch_size * ip.merge_size} px per token side)")


@dataclass(frozen=True)
class NoBudget:
    """Unknown families: docfoundry does not know their resolution knob."""

    def settings(self, processor: Any, max_image_tokens: int) -> dict[str, Any]:
        raise UserError("this model's family is not in docfoundry's registry, so max_image_tokens "
                        "cannot be applied; set its processor's resolution yourself")

    def describe(self, processor: Any) -> str:
        return "unknown (generic family)"


# ---------------------------------------------------------------------------------------------
# The family registry.

_CHATML = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' and default_system %}"
    "<|im_start|>system\n{{ default_system }}<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def chatml_template(default_system: str = "") -> str:
    """The Qwen-VL chat template (ChatML with vision wrappers), with an optional default system turn."""
    return "{% set default_system = " + json.dumps(default_system) + " %}" + _CHATML


def user_assistant_template(bos: str) -> str:
    """The Idefics3 / SmolVLM chat template: ``User:<image>text<end_of_utterance>\\nAssistant: ...``."""
    return (
        bos + "{% for message in messages %}{{ message['role'] | capitalize }}"
        "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
        "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}"
        "{% elif part['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
        "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
    )


IDEFICS3_MEDIA = ("<fake_token_around_image>", "<image>", "<global-img>",
                  *(f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)))
QWEN_MEDIA = ("<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>")

# Processor attributes that name media tokens, for families docfoundry does not know.
_GENERIC_MEDIA_ATTRS = ("image_token", "fake_image_token", "global_image_token", "boi_token",
                        "eoi_token", "image_start_token", "image_end_token", "vision_start_token",
                        "vision_end_token", "video_token")


@dataclass(frozen=True)
class TinyRecipe:
    """How to build a random-weight test model of a family (``docfoundry.tiny`` does the building).

    ``config(size, ids)`` returns the model config as a dict for a ``docfoundry.tiny.TinySize`` and
    the token ids of the trained tokenizer; the processor parts follow the same size.
    """

    bos: str
    eos: str
    pad: str
    extra_tokens: tuple[str, ...]          # special tokens besides the media tokens
    chat_template: str
    image_processor: str                   # transformers class (PIL backend: no torchvision needed)
    video_processor: str                   # transformers class (needs torchvision; "" if none)
    image_processor_kwargs: Callable[[Any], dict[str, Any]]
    processor_kwargs: Callable[[Any], dict[str, Any]]
    config: Callable[[Any, dict[str, int]], dict[str, Any]]


def _llama_text(s: Any, ids: dict[str, int], bos: str, eos: str, pad: str) -> dict[str, Any]:
    return {"model_type": "llama", "vocab_size": ids["vocab_size"], "hidden_size": s.hidden,
            "intermediate_size": s.intermediate, "num_hidden_layers": s.layers,
            "num_attention_heads": s.heads, "num_key_value_heads": s.kv_heads, "head_dim": s.head_dim,
            "max_position_embeddings": s.max_positions, "rms_norm_eps": 1e-5, "rope_theta": 100000.0,
            "initializer_range": s.init_range, "tie_word_embeddings": False,
            "bos_token_id": ids[bos], "eos_token_id": ids[eos], "pad_token_id": ids[pad]}


def _idefics_recipe(model_type: str, bos: str, pad: str, tiles: dict[str, tuple[int, int, int]],
                    image_processor: str, video_processor: str = "") -> TinyRecipe:
    """Idefics3 and SmolVLM share one architecture: SigLIP tiles, pixel shuffle, a Llama text model.

    ``tiles`` maps a size name to (tile pixels, patch pixels, pixel-shuffle scale).
    """
    eos = "<end_of_utterance>"

    def config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
        image_size, patch, scale = tiles[s.name]
        return {"model_type": model_type, "image_token_id": ids["<image>"], "scale_factor": scale,
                "pad_token_id": ids[pad], "tie_word_embeddings": False,
                "text_config": _llama_text(s, ids, bos, eos, pad),
                "vision_config": {"hidden_size": s.vision_hidden, "intermediate_size": s.vision_intermediate,
                                  "num_hidden_layers": s.vision_layers, "num_attention_heads": s.vision_heads,
                                  "image_size": image_size, "patch_size": patch}}

    def image_kwargs(s: Any) -> dict[str, Any]:
        return {"max_image_size": {"longest_edge": tiles[s.name][0]}, "do_image_splitting": True}

    def processor_kwargs(s: Any) -> dict[str, Any]:
        image_size, patch, scale = tiles[s.name]
        return {"image_seq_len": (image_size // patch) ** 2 // scale ** 2}

    return TinyRecipe(bos=bos, eos=eos, pad=pad, extra_tokens=(bos, pad, eos),
                      chat_template=user_assistant_template(bos), image_processor=image_processor,
                      video_processor=video_processor,
                      image_processor_kwargs=image_kwargs, processor_kwargs=processor_kwargs, config=config)


def _qwen_ids(ids: dict[str, int]) -> dict[str, int]:
    return {"image_token_id": ids["<|image_pad|>"], "video_token_id": ids["<|video_pad|>"],
            "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"]}


def _qwen_text(s: Any, ids: dict[str, int], rope: dict[str, Any]) -> dict[str, Any]:
    # mrope splits the rotary half-dimension across (time, height, width): it must sum to head_dim / 2
    half = s.head_dim // 2
    section = [half - 2 * (3 * half // 8), 3 * half // 8, 3 * half // 8]
    return {"vocab_size": ids["vocab_size"], "hidden_size": s.hidden, "intermediate_size": s.intermediate,
            "num_hidden_layers": s.layers, "num_attention_heads": s.heads, "num_key_value_heads": s.kv_heads,
            "head_dim": s.head_dim, "max_position_embeddings": s.max_positions, "initializer_range": s.init_range,
            "rope_parameters": {"rope_type": "default", "mrope_section": section, **rope},
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"], "tie_word_embeddings": False}


def _spread(depth: int, n: int = 3) -> list[int]:
    """``n`` distinct vision layer indexes spread over ``depth`` layers (deepstack, full attention)."""
    return sorted({min(depth - 1, (i + 1) * depth // n - 1) for i in range(n)} | {depth - 1})[-n:]


def _qwen2vl_config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
    return {"model_type": "qwen2_vl", **_qwen_ids(ids), "tie_word_embeddings": False,
            "text_config": _qwen_text(s, ids, {"rope_theta": 1000000.0}),
            "vision_config": {"depth": s.vision_layers, "embed_dim": s.vision_hidden, "hidden_size": s.hidden,
                              "num_heads": s.vision_heads, "mlp_ratio": s.vision_intermediate // s.vision_hidden,
                              "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2}}


def _qwen25vl_config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
    return {"model_type": "qwen2_5_vl", **_qwen_ids(ids), "tie_word_embeddings": False,
            "text_config": _qwen_text(s, ids, {"rope_theta": 1000000.0}),
            "vision_config": {"depth": s.vision_layers, "hidden_size": s.vision_hidden,
                              "intermediate_size": s.vision_intermediate, "num_heads": s.vision_heads,
                              "out_hidden_size": s.hidden, "patch_size": 14, "spatial_merge_size": 2,
                              "temporal_patch_size": 2, "window_size": 112,
                              "fullatt_block_indexes": _spread(s.vision_layers, 4)}}


def _qwen3vl_config(s: Any, ids: dict[str, int]) -> dict[str, Any]:
    return {"model_type": "qwen3_vl", **_qwen_ids(ids), "tie_word_embeddings": False,
            "text_config": _qwen_text(s, ids, {"rope_theta": 5000000.0, "mrope_interleaved": True}),
            "vision_config": {"depth": s.vision_layers, "hidden_size": s.vision_hidden,
                              "intermediate_size": s.vision_intermediate, "num_heads": s.vision_heads,
                              "out_hidden_size": s.hidden, "patch_size": 16, "spatial_merge_size": 2,
                              "temporal_patch_size": 2, "num_position_embeddings": s.vision_positions,
                              "deepstack_visual_indexes": _spread(s.vision_layers)}}


def _qwen_recipe(patch: int, config: Callable, default_system: str, video: str) -> TinyRecipe:
    factor = patch * 2  # pixels per image token side: patch * spatial merge

    def image_kwargs(s: Any) -> dict[str, Any]:
        return {"patch_size": patch, "merge_size": 2, "temporal_patch_size": 2,
                "min_pixels": 4 * factor * factor, "max_pixels": s.page_tokens * factor * factor}

    return TinyRecipe(bos="<|endoftext|>", eos="<|im_end|>", pad="<|endoftext|>",
                      extra_tokens=("<|endoftext|>", "<|im_start|>", "<|im_end|>"),
                      chat_template=chatml_template(default_system), image_processor="Qwen2VLImageProcessorPil",
                      video_processor=video,
                      image_processor_kwargs=image_kwargs, processor_kwargs=lambda s: {}, config=config)


@dataclass(frozen=True)
class Family:
    """What docfoundry knows about one VLM family (see ``FAMILIES``)."""

    name: str                           # CLI name (``--family``)
    title: str                          # human name, with the checkpoints it covers
    model_types: tuple[str, ...]        # config ``model_type`` values that belong to it
    processor_class: str                # transformers processor class
    media_tokens: tuple[str, ...]       # image token and its wrappers: masked from the loss
    image_token: str                    # the placeholder the processor expands per image
    end_of_turn: str                    # ends each chat turn; the answer's labels include it
    budget: TileBudget | PixelBudget | NoBudget
    lm_prefix: str                      # module path of the language model inside the VLM
    vision_modules: tuple[str, ...]     # vision tower and projector: frozen, never quantized
    tiny: TinyRecipe | None = None      # how ``docfoundry.tiny`` builds a random-weight test model
    generic: bool = False

    @property
    def lora_targets(self) -> str:
        """peft ``target_modules`` regex: attention and MLP projections of the language model only."""
        return (rf".*\.{self.lm_prefix}\.layers\.\d+\."
                r"(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)")

    def lora_modules(self, model: Any) -> list[str]:
        """Names of the modules that ``lora_targets`` selects in ``model``."""
        pattern = re.compile(self.lora_targets)
        return [n for n, _ in model.named_modules() if pattern.fullmatch(n)]

    def is_vision_module(self, name: str) -> bool:
        """True for parameters and modules of the vision tower or projector (frozen by default)."""
        return any(re.search(rf"(^|\.){m}(\.|$)", name) for m in self.vision_modules)

    def media_token_ids(self, processor: Any) -> list[int]:
        """Token ids of this family's media tokens in ``processor``'s tokenizer (the loss mask)."""
        tokens = self.media_tokens or tuple(
            getattr(processor, a) for a in _GENERIC_MEDIA_ATTRS if isinstance(getattr(processor, a, None), str))
        vocab = processor.tokenizer.get_vocab()
        return sorted({vocab[t] for t in tokens if t in vocab})

    def image_budget_settings(self, processor: Any, max_image_tokens: int) -> dict[str, Any]:
        """Image-processor settings that keep any image within ``max_image_tokens`` sequence tokens.

        They also work as processor call kwargs, hence as vLLM ``mm_processor_kwargs``.
        """
        if max_image_tokens < 1:
            raise UserError(f"max_image_tokens must be positive, got {max_image_tokens}")
        return self.budget.settings(processor, max_image_tokens)

    def set_image_budget(self, processor: Any, max_image_tokens: int) -> dict[str, Any]:
        """Set ``processor``'s resolution knob so an image never costs more than ``max_image_tokens``."""
        from transformers.image_utils import SizeDict

        settings = self.image_budget_settings(processor, max_image_tokens)
        ip = processor.image_processor
        ip.size = replace(ip.size, **settings["size"]) if isinstance(ip.size, SizeDict) else {
            **ip.size, **settings["size"]}
        return settings

    def image_tokens(self, processor: Any, image: Any) -> int:
        """Sequence tokens one image really costs with ``processor``: the span from its first to its
        last media token (wrappers and row newlines included). Runs the processor on the image."""
        text = processor.apply_chat_template(self.chat(image, ""), add_generation_prompt=False)
        ids = processor(text=[text], images=[image], return_tensors="np")["input_ids"][0].tolist()
        media = set(self.media_token_ids(processor))
        positions = [i for i, token in enumerate(ids) if token in media]
        return positions[-1] - positions[0] + 1 if positions else 0

    def chat(self, image: Any, prompt: str, answer: str | None = None) -> list[dict[str, Any]]:
        """Chat messages for one image and a prompt, plus the assistant's answer for training.

        ``processor.apply_chat_template(messages, add_generation_prompt=answer is None)`` renders it;
        pass the same image to the processor call.
        """
        image_part: dict[str, Any] = {"type": "image"}
        if image is not None:
            image_part["image"] = image
        messages: list[dict[str, Any]] = [
            {"role": "user", "content": [image_part, {"type": "text", "text": prompt}]}]
        if answer is not None:
            messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
        return messages


QWEN2_SYSTEM = "You are a helpful assistant."  # Qwen2/2.5-VL templates add it when no system turn is given


def _families() -> dict[str, Family]:
    idefics_like = dict(media_tokens=IDEFICS3_MEDIA, image_token="<image>", end_of_turn="<end_of_utterance>",
                        budget=TileBudget(), lm_prefix="text_model",
                        vision_modules=("vision_model", "connector"))
    qwen_like = dict(media_tokens=QWEN_MEDIA, image_token="<|image_pad|>", end_of_turn="<|im_end|>",
                     budget=PixelBudget(), lm_prefix="language_model", vision_modules=("visual",))
    table = [
        Family("idefics3", "Idefics3 (Idefics3-8B-Llama3)", ("idefics3",), "Idefics3Processor",
               tiny=_idefics_recipe("idefics3", "<|begin_of_text|>", "<|finetune_right_pad_id|>",
                                    {"micro": (64, 16, 2), "tiny": (128, 16, 2), "small": (364, 14, 2)},
                                    "Idefics3ImageProcessorPil"), **idefics_like),
        Family("smolvlm", "SmolVLM (SmolVLM-256M/500M/2.2B, SmolDocling)", ("smolvlm",), "SmolVLMProcessor",
               tiny=_idefics_recipe("smolvlm", "<|im_start|>", "<|im_end|>",
                                    {"micro": (64, 16, 2), "tiny": (128, 16, 2), "small": (512, 16, 4)},
                                    "SmolVLMImageProcessorPil", "SmolVLMVideoProcessor"), **idefics_like),
        Family("qwen2vl", "Qwen2-VL", ("qwen2_vl",), "Qwen2VLProcessor",
               tiny=_qwen_recipe(14, _qwen2vl_config, QWEN2_SYSTEM, "Qwen2VLVideoProcessor"), **qwen_like),
        Family("qwen25vl", "Qwen2.5-VL", ("qwen2_5_vl",), "Qwen2_5_VLProcessor",
               tiny=_qwen_recipe(14, _qwen25vl_config, QWEN2_SYSTEM, "Qwen2VLVideoProcessor"), **qwen_like),
        Family("qwen3vl", "Qwen3-VL", ("qwen3_vl",), "Qwen3VLProcessor",
               tiny=_qwen_recipe(16, _qwen3vl_config, "", "Qwen3VLVideoProcessor"), **qwen_like),
    ]
    return {f.name: f for f in table}


FAMILIES: dict[str, Family] = _families()
GENERIC = Family("generic", "any AutoModelForImageTextToText", (), "", media_tokens=(), image_token="",
                 end_of_turn="", budget=NoBudget(), lm_prefix="(?:language_model|text_model)",
                 vision_modules=("vision_tower", "vision_model", "visual", "multi_modal_projector",
                                 "connector"), generic=True)
_warned_generic: set[str] = set()


def get_family(name: str) -> Family:
    """A family by its CLI name; the error lists the known names."""
    if name not in FAMILIES:
        raise UserError(f"unknown model family '{name}' (known: {', '.join(FAMILIES)})")
    return FAMILIES[name]


def family_of(model_or_config: Any) -> Family:
    """The family of a model (or peft model), a config, or a ``model_type`` string.

    An unknown ``model_type`` falls back to the generic entry and says so once per type.
    """
    config = getattr(model_or_config, "config", model_or_config)
    model_type = config if isinstance(config, str) else getattr(config, "model_type", None)
    for family in FAMILIES.values():
        if model_type in family.model_types:
            return family
    if model_type not in _warned_generic:
        _warned_generic.add(model_type)
        log.warning("model_type '%s' is not in docfoundry's family registry (known: %s); using generic "
                    "defaults: no image budget, media tokens from the processor, LoRA on %s",
                    model_type, ", ".join(FAMILIES), GENERIC.lm_prefix)
    return GENERIC


# ---------------------------------------------------------------------------------------------
# Loading.


def _is_local(name_or_path: str) -> bool:
    p = Path(name_or_path)
    return p.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1


def resolve_source(name_or_path: str, adapter: str | None = None) -> tuple[str, str | None]:
    """(base model, adapter): an adapter folder given as the model resolves to its base model."""
    p = Path(name_or_path).expanduser()
    if _is_local(name_or_path):
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

    where = f"{name_or_path}/config.json" if _is_local(name_or_path) else name_or_path
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
    where = f"{name_or_path}/tokenizer.json" if _is_local(name_or_path) else name_or_path
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
    check_image_text_model(config, f"{base}/config.json" if _is_local(base) else base)
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
    return model, processor


def _has_processor(folder: str) -> bool:
    return any((Path(folder) / n).is_file() for n in ("processor_config.json", "preprocessor_config.json",
                                                      "tokenizer_config.json"))


# ---------------------------------------------------------------------------------------------
# Facts about a model, without loading its weights.


def count_parameters(config: Any) -> int:
    """Parameter count of the model ``config`` describes (built on the meta device: no memory)."""
    import torch
    from transformers import AutoModelForImageTextToText

    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    return sum(p.numel() for p in model.parameters())


def blank_page() -> Any:
    """A white letter page at 150 DPI (the page image budgets are quoted for)."""
    from PIL import Image

    return Image.new("RGB", LETTER_PAGE_150DPI, "white")


def model_info(name_or_path: str, max_image_tokens: int | None = None,
               trust_remote_code: bool = False) -> dict[str, Any]:
    """Family, parameter count, image tokens per page, LoRA targets and media tokens of a model."""
    import torch
    from transformers import AutoModelForImageTextToText

    base, adapter = resolve_source(str(name_or_path))
    config = load_config(base, trust_remote_code=trust_remote_code)
    check_image_text_model(config, f"{base}/config.json" if _is_local(base) else base)
    family = family_of(config)
    processor = load_processor(adapter or base, family, trust_remote_code=trust_remote_code)
    if max_image_tokens:
        family.set_image_budget(processor, max_image_tokens)
    with torch.device("meta"):
        model = AutoModelForImageTextToText.from_config(config)
    lora = family.lora_modules(model)
    vocab = processor.tokenizer.get_vocab()
    media = family.media_tokens or tuple(t for t, _ in sorted(
        ((t, i) for t, i in vocab.items() if i in family.media_token_ids(processor)), key=lambda x: x[1]))
    return {
        "model": str(name_or_path),
        "family": family.name,
        "title": family.title,
        "model_type": config.model_type,
        "parameters": sum(p.numel() for p in model.parameters()),
        "image_tokens_per_page": family.image_tokens(processor, blank_page()),
        "page": f"{LETTER_PAGE_150DPI[0]}x{LETTER_PAGE_150DPI[1]} px (letter, 150 DPI)",
        "resolution": family.budget.describe(processor),
        "lora_targets": family.lora_targets,
        "lora_modules": len(lora),
        "vision_modules": list(family.vision_modules),
        "media_tokens": {t: vocab.get(t) for t in media},
    }


# ---------------------------------------------------------------------------------------------
# Commands.


@dataclass
class TinyConfig:
    family: str = opt(help=f"model family to build: {', '.join(FAMILIES)}", choices=list(FAMILIES))
    out: str = opt(help="folder to write the model, tokenizer and processor to")
    size: str = opt("micro", "micro (0.3-0.6M parameters: tests), tiny (2-3M: demos), small (190-205M: "
                    "benchmarks)",
                    choices=["micro", "tiny", "small"])
    seed: int = opt(0, "random seed: the same seed gives the same weights and tokenizer")
    init_range: float = opt(0.02, "std of the random text weights (0.15 lets a tiny model overfit fast)", min=0)

    def validate(self) -> None:
        """--out is a new or empty folder, or one a previous ``models tiny`` wrote (it is rebuilt)."""
        from docfoundry.tiny import MARKER

        out = Path(self.out)
        if out.exists() and not out.is_dir():
            raise UserError(f"--out {out}: is a file; give a folder for the model")
        if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
            raise UserError(f"--out {out}: folder is not empty and holds no tiny model; give a new or empty folder")


@dataclass
class InfoConfig:
    model: str = opt(help="hub id, model folder or adapter folder", positional=True)
    max_image_tokens: int = opt(0, "apply this image-token budget first (0: the saved setting)")
    trust_remote_code: bool = opt(False, "allow the model's own code from the hub")


def run_tiny(cfg: TinyConfig) -> dict[str, Any]:
    """Build a random-weight model of ``cfg.family`` with a locally trained tokenizer and save it."""
    import os
    import shutil

    from docfoundry.config import validate
    from docfoundry.tiny import build_tiny, save_tiny

    validate(cfg)
    model, processor = build_tiny(cfg.family, cfg.size, seed=cfg.seed, init_range=cfg.init_range)
    out = Path(cfg.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging, old = (out.parent / f".{out.name}.{kind}-{os.getpid()}" for kind in ("new", "old"))
    try:
        save_tiny(model, processor, staging, family=cfg.family, size=cfg.size, seed=cfg.seed,
                  init_range=cfg.init_range)
        if out.is_dir():  # a previous build: replaced whole, unless it holds files a build does not write
            foreign = sorted({p.name for p in out.iterdir()} - {p.name for p in staging.iterdir()})
            if foreign:
                raise UserError(f"--out {out}: holds files that are not part of a tiny model ({foreign[0]}, ...); "
                                "give a new or empty folder")
            os.replace(out, old)
        os.replace(staging, out)  # a killed build leaves the old folder or the new one, never a mix
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return {"out": str(out), "family": cfg.family, "size": cfg.size,
            "parameters": sum(p.numel() for p in model.parameters())}


def run_info(cfg: InfoConfig) -> dict[str, Any]:
    """Print what docfoundry knows about a model."""
    return model_info(cfg.model, cfg.max_image_tokens or None, cfg.trust_remote_code)


COMMANDS = [
    Command("models tiny", "build a tiny random-weight VLM of a family, offline (tests, demos)",
            TinyConfig, run_tiny,
            "example:\n  docfoundry models tiny --family smolvlm --size micro --out models/tiny-smolvlm"),
    Command("models info", "family, parameters, image tokens per page, LoRA targets, media tokens",
            InfoConfig, run_info,
            "example:\n  docfoundry models info models/tiny-smolvlm --max-image-tokens 256"),
]

