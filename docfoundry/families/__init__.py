"""The VLM family registry: one module per family in this folder, each with its ``FAMILY`` entry.

A family says how to load a model (processor class), which tokens are media tokens (masked from the
loss), which knob caps image resolution, the LoRA targets, and how to build a tiny test model. The
table is collected from the folder (``<name>.py`` holds ``FAMILY`` named ``<name>``), as transformers
builds its auto tables from the model folders; a config's ``model_type`` finds its family.

    family = family_of(model)            # or a config, or a model_type string
    messages = family.chat(page, "Extract the fields as JSON.")
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from docfoundry.errors import UserError
from docfoundry.families._base import Family, NoBudget, PixelBudget, TileBudget, TinyRecipe

__all__ = ["FAMILIES", "GENERIC", "Family", "NoBudget", "PixelBudget", "TileBudget", "TinyRecipe",
           "family_of", "get_family"]

log = logging.getLogger("docfoundry.models")  # the logger name users filter on since families lived in models.py


def _collect() -> dict[str, Family]:
    """Every ``FAMILY`` of this folder's public modules, by module name."""
    table: dict[str, Family] = {}
    owner: dict[str, str] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        family = importlib.import_module(f"{__name__}.{info.name}").FAMILY
        if family.name != info.name:
            raise RuntimeError(f"docfoundry/families/{info.name}.py: FAMILY is named '{family.name}'; "
                               f"name it '{info.name}' after its file")
        for model_type in family.model_types:
            if model_type in owner:
                raise RuntimeError(f"docfoundry/families/{info.name}.py: model_type '{model_type}' is "
                                   f"already the {owner[model_type]} family's")
            owner[model_type] = family.name
        table[family.name] = family
    return table


FAMILIES: dict[str, Family] = _collect()
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

