"""What a VLM family is: its resolution knob, its tiny-model recipe and the ``Family`` entry itself.

Each family module in this folder builds one ``Family`` from these parts (``FAMILY = Family(...)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from docfoundry.errors import UserError

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
        from docfoundry.chat import page_chat

        turns = [{"role": "user", "content": prompt}]
        if answer is not None:
            turns.append({"role": "assistant", "content": answer})
        # the one chat layout (docfoundry.chat); the image rides in its part for callers that read it there
        return page_chat([image], turns, image_part=lambda im: {"type": "image", **({"image": im} if im is not None else {})})

