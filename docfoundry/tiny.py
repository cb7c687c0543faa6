"""Tiny random-weight VLMs of every registered family, built offline for tests and demos.

A tiny model is real: the family's own config, model and processor classes, a byte-level BPE
tokenizer trained here with the family's special tokens and chat template, all saved with
``save_pretrained`` so ``load_model(folder)`` takes the same code path as a hub model. Only the
weights are random. The family-specific parts come from the registry (``Family.tiny``).

    docfoundry models tiny --family qwen2vl --size micro --out models/tiny-qwen2vl

Sizes (every attention head is 64 wide, which vLLM's CPU attention needs):
    micro  0.3-0.6M parameters, hidden 64, 2 text layers, 1 vision layer: unit tests
    mini   ~0.7M parameters, micro's vision and vocabulary with micro's 2 text layers at tiny's width
           (2 heads a layer): a student that learns on a CPU budget (bench/student.py)
    tiny   2-3M parameters, hidden 128, 4 text layers, 2 vision layers: demos, quick end-to-end runs
    small  190-205M parameters, hidden 768, 26 text layers (kv heads 4), 12 vision layers of 384,
           the family's real tile / patch geometry: training and teacher benchmarks
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docfoundry.families import Family, get_family

MARKER = "docfoundry_tiny.json"  # written last: a folder without it is an unfinished build


@dataclass(frozen=True)
class TinySize:
    """Dimensions of a tiny model; the family recipe turns them into its config."""

    name: str
    hidden: int
    heads: int
    kv_heads: int
    layers: int
    intermediate: int
    vision_hidden: int
    vision_heads: int
    vision_layers: int
    vision_intermediate: int
    vision_positions: int   # learned vision position embeddings (Qwen3-VL; a square number)
    vocab: int              # BPE vocabulary cap (special tokens included; the corpus may give fewer)
    page_tokens: int        # image-token budget the saved processor is set to
    max_positions: int = 8192
    init_range: float = 0.02
    pieces: str = "bytelevel"  # how text is cut before BPE: "bytelevel" (GPT-2's regex) or "copy" (see _cutter)
    vision_of: str = ""  # the size whose family image geometry (tile, patch) this one uses; "": its own

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def geometry(self) -> str:
        """The size name a family's per-size image geometry is looked up by."""
        return self.vision_of or self.name


SIZES = {
    "micro": TinySize("micro", hidden=64, heads=1, kv_heads=1, layers=2, intermediate=128, vision_hidden=64,
                      vision_heads=1, vision_layers=1, vision_intermediate=128, vision_positions=64,
                      vocab=1024, page_tokens=64),
    "mini": TinySize("mini", hidden=128, heads=2, kv_heads=1, layers=2, intermediate=256, vision_hidden=64,
                     vision_heads=1, vision_layers=1, vision_intermediate=128, vision_positions=64,
                     vocab=1024, page_tokens=64, vision_of="micro"),
    "tiny": TinySize("tiny", hidden=128, heads=2, kv_heads=1, layers=4, intermediate=384, vision_hidden=128,
                     vision_heads=2, vision_layers=2, vision_intermediate=256, vision_positions=256,
                     vocab=2048, page_tokens=256),
    "small": TinySize("small", hidden=768, heads=12, kv_heads=4, layers=26, intermediate=2048,
                      vision_hidden=384, vision_heads=6, vision_layers=12, vision_intermediate=1536,
                      vision_positions=1024, vocab=4096, page_tokens=1024),
}

_TEXT = """Invoice number INV-2024-0042 issued on 2024-03-15, due 2024-04-14. Bill to: Acme Corporation,
1200 Market Street, Suite 400, San Francisco, CA 94103, USA. Description Qty Unit price Amount.
Consulting services 12 150.00 1,800.00. Subtotal 1,800.00 Tax (8.5%) 153.00 Total due USD 1,953.00.
Receipt: Store #118, Tel. +1 (555) 010-2233. Cash 20.00 Change 3.45. Thank you for shopping with us!
Form W-2 Wage and Tax Statement. Employee's social security number 123-45-6789. Employer
identification number (EIN) 12-3456789. Wages, tips, other compensation. Federal income tax withheld.
Rechnung Nr. 2024/117 vom 15.03.2024, Betrag 1.234,56 EUR. Facture n° F-0042, montant TTC 99,90 €.
Extract the fields of this document as JSON. What is the total amount? Answer with the value only.
The quick brown fox jumps over the lazy dog. {"total": "1,953.00", "date": "2024-03-15"}"""


def _readable(node: Any) -> Any:
    """A schema without its docfoundry keys but the printed labels: what a model reads and writes
    (field names, descriptions, labels), not the draw rules, so editing a rule keeps the tokenizer."""
    if isinstance(node, dict):
        return {k: _readable(v) for k, v in node.items()
                if not (isinstance(k, str) and k.startswith("x-")) or k in ("x-labels", "x-aliases")}
    if isinstance(node, list):
        return [_readable(v) for v in node]
    return node


def corpus() -> list[str]:
    """The tokenizer's training text: document phrases, every template schema's fields and labels,
    numbers and dates."""
    from docfoundry.doctypes import templates_root

    rng = random.Random(0)
    lines = _TEXT.splitlines()
    lines += [json.dumps(_readable(json.loads(p.read_text())), indent=2, ensure_ascii=False)
              for p in sorted(templates_root().glob("*/schema.json"))]
    lines += [f"{rng.randrange(10**6):,}.{rng.randrange(100):02d} {rng.randrange(1, 29):02d}/"
              f"{rng.randrange(1, 13):02d}/20{rng.randrange(10, 30)} #{rng.randrange(10**5)}" for _ in range(300)]
    return lines


PIECES = ("bytelevel", "copy")


def _cutter(pieces: str) -> Any:
    """The pre-tokenizer. "bytelevel" glues a space to the word after it (" 12" and "12" are different
    tokens), so a value read inside an OCR line and written after a JSON quote starts with different
    tokens; "copy" keeps every whitespace character, punctuation mark and digit a piece of its own, so
    a value is the same tokens wherever it stands and a student can learn to copy it token for token."""
    from tokenizers import Regex, pre_tokenizers

    if pieces == "bytelevel":
        return pre_tokenizers.ByteLevel(add_prefix_space=False)
    if pieces != "copy":
        raise ValueError(f"unknown tokenizer pieces '{pieces}' (known: {', '.join(PIECES)})")
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\s"), behavior="isolated"),
        pre_tokenizers.Punctuation(behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])


def train_tokenizer(family: Family, size: TinySize) -> Any:
    """A byte-level BPE tokenizer with the family's special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    recipe = family.tiny
    specials = list(dict.fromkeys([*recipe.extra_tokens, *family.media_tokens]))
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = _cutter(size.pieces)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=size.vocab, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(corpus(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=recipe.bos, eos_token=recipe.eos,
                                   pad_token=recipe.pad, chat_template=recipe.chat_template)


def build_processor(family_name: str, size_name: str | TinySize = "micro") -> Any:
    """The family's real processor class around a freshly trained tokenizer (no model needed)."""
    import transformers

    from docfoundry.loading import video_processor

    family, size = get_family(family_name), _size(size_name)
    recipe = family.tiny
    tokenizer = train_tokenizer(family, size)
    parts = {
        "tokenizer": tokenizer,
        "image_processor": getattr(transformers, recipe.image_processor)(**recipe.image_processor_kwargs(size)),
        "video_processor": video_processor(family),
    }
    cls = getattr(transformers, family.processor_class)
    processor = cls(**{a: parts[a] for a in cls.get_attributes()}, chat_template=recipe.chat_template,
                    **recipe.processor_kwargs(size))
    family.set_image_budget(processor, size.page_tokens)
    return processor


def tiny_config(family_name: str, size_name: str | TinySize, tokenizer: Any, init_range: float = 0.02) -> Any:
    """The model config of a tiny model, wired to ``tokenizer``'s special-token ids."""
    from transformers import AutoConfig

    family = get_family(family_name)
    size = replace(_size(size_name), init_range=init_range)
    ids = {**tokenizer.get_vocab(), "vocab_size": len(tokenizer)}
    return AutoConfig.for_model(**family.tiny.config(size, ids))


def build_tiny(family_name: str, size_name: str | TinySize = "micro", *, seed: int = 0,
               init_range: float = 0.02) -> tuple[Any, Any]:
    """(model, processor): a random-weight model of the family; the same seed gives the same weights."""
    import torch
    from transformers import AutoModelForImageTextToText, GenerationConfig

    recipe = get_family(family_name).tiny
    processor = build_processor(family_name, size_name)
    config = tiny_config(family_name, size_name, processor.tokenizer, init_range)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config)
    token_id = processor.tokenizer.convert_tokens_to_ids
    model.generation_config = GenerationConfig(
        bos_token_id=token_id(recipe.bos), eos_token_id=token_id(recipe.eos), pad_token_id=token_id(recipe.pad))
    model.eval()
    return model, processor


def save_tiny(model: Any, processor: Any, out: str | Path, **provenance: Any) -> Path:
    """Save model and processor with ``save_pretrained``; the marker file is written last."""
    from docfoundry.families import family_of
    from docfoundry.loading import save_processor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    save_processor(processor, family_of(model), out)
    parameters = sum(p.numel() for p in model.parameters())
    (out / MARKER).write_text(json.dumps({**provenance, "parameters": parameters}, indent=2) + "\n")
    return out


def _size(name: str | TinySize) -> TinySize:
    """A size by name, or a ``TinySize`` as it is (bench/student.py sweeps vocabularies this way)."""
    from docfoundry.errors import UserError

    if isinstance(name, TinySize):
        return name
    if name not in SIZES:
        raise UserError(f"unknown tiny model size '{name}' (known: {', '.join(SIZES)})")
    return SIZES[name]


def build_digest() -> str:
    """Changes whenever what builds a tiny model changes: this builder, the family recipes, the
    processor loading it saves through, the tokenizer corpus (the schemas) and transformers."""
    import transformers


    here = Path(__file__).resolve().parent
    parts = [Path(__file__), here / "loading.py", *sorted((here / "families").glob("*.py"))]
    h = hashlib.sha256(transformers.__version__.encode())
    for part in parts:
        h.update(part.name.encode() + b"\0" + part.read_bytes())
    h.update("\n".join(corpus()).encode())
    return h.hexdigest()[:12]


def cached_tiny(family_name: str, size_name: str = "micro", *, cache: str | Path, seed: int = 0) -> Path:
    """The folder of a tiny model under ``cache``, built once (safe when processes race to build it)."""
    cache = Path(cache)
    folder = cache / f"{family_name}-{size_name}-s{seed}-{build_digest()}"
    if (folder / MARKER).is_file():
        return folder
    model, processor = build_tiny(family_name, size_name, seed=seed)
    staging = cache / f".{folder.name}.{os.getpid()}"
    save_tiny(model, processor, staging, family=family_name, size=size_name, seed=seed)
    try:
        os.replace(staging, folder)  # atomic: readers see a whole folder or none
    except OSError:  # another process finished first; keep its copy
        shutil.rmtree(staging, ignore_errors=True)
    return folder
