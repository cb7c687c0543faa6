"""SmolVLM (SmolVLM-256M/500M/2.2B, SmolDocling): the Idefics3 architecture with a ChatML-like tokenizer."""

from docfoundry.families._idefics import idefics_family, idefics_recipe

FAMILY = idefics_family(
    "smolvlm", "SmolVLM (SmolVLM-256M/500M/2.2B, SmolDocling)", ("smolvlm",), "SmolVLMProcessor",
    tiny=idefics_recipe("smolvlm", "<|im_start|>", "<|im_end|>",
                        {"micro": (64, 16, 2), "tiny": (128, 16, 2), "small": (512, 16, 4)},
                        "SmolVLMImageProcessorPil", "SmolVLMVideoProcessor"))
