"""Idefics3 (Idefics3-8B-Llama3)."""

from docfoundry.families._idefics import idefics_family, idefics_recipe

FAMILY = idefics_family(
    "idefics3", "Idefics3 (Idefics3-8B-Llama3)", ("idefics3",), "Idefics3Processor",
    tiny=idefics_recipe("idefics3", "<|begin_of_text|>", "<|finetune_right_pad_id|>",
                        {"micro": (64, 16, 2), "tiny": (128, 16, 2), "small": (364, 14, 2)},
                        "Idefics3ImageProcessorPil"))
