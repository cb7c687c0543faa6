"""Model families on tiny offline models: build, save, load, generate, image budgets, LoRA, bad input."""

import json
import logging
import shutil

import pytest
import torch
from PIL import Image, ImageDraw

from docfoundry.cli import main
from docfoundry.errors import UserError
from docfoundry.families import FAMILIES, family_of, get_family
from docfoundry.loading import load_model, load_processor
from docfoundry.tiny import SIZES, build_processor, build_tiny, save_tiny, tiny_config

ALL = list(FAMILIES)


def page(size=(1275, 1650)) -> Image.Image:
    """A letter page at 150 DPI with a few lines of text."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(["INVOICE INV-0042", "Date 2024-03-15", "Total due 1,953.00 USD"]):
        draw.text((120, 150 + 60 * i), line, fill="black")
    return image


def model_inputs(family, processor, image, prompt="Extract the total."):
    text = processor.apply_chat_template(family.chat(image, prompt), add_generation_prompt=True)
    return processor(text=[text], images=[image], return_tensors="pt")


@pytest.mark.parametrize("name", ALL)
def test_build_save_load_generate_round_trip(name, tiny_model, tmp_path):
    family = get_family(name)
    built, processor = build_tiny(name, "micro", seed=0)
    image = page()
    inputs = model_inputs(family, processor, image)
    with torch.no_grad():
        before = built(**inputs).logits

    folder = save_tiny(built, processor, tmp_path / name, family=name, size="micro", seed=0)
    model, loaded_processor = load_model(folder)
    assert family_of(model) is family
    loaded_inputs = model_inputs(family, loaded_processor, image)
    assert all(torch.equal(inputs[k], loaded_inputs[k]) for k in inputs)
    with torch.no_grad():
        after = model(**loaded_inputs).logits
    assert torch.equal(before, after)

    # the session cache holds the same model: the builder is deterministic for a seed
    cached, _ = load_model(tiny_model(name))
    with torch.no_grad():
        assert torch.equal(cached(**loaded_inputs).logits, before)

    prompt_len = loaded_inputs["input_ids"].shape[1]
    out = model.generate(**loaded_inputs, max_new_tokens=4, do_sample=False)
    assert out.shape == (1, prompt_len + 4) or out[0, -1].item() == model.generation_config.eos_token_id
    # the saved folder answers as the built model did, token for token and in text
    built_out = built.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert torch.equal(built_out, out)
    text = loaded_processor.batch_decode(out[:, prompt_len:])[0]
    assert text == processor.batch_decode(built_out[:, prompt_len:])[0]


def test_other_seed_gives_other_weights():
    a, _ = build_tiny("qwen3vl", "micro", seed=0)
    b, _ = build_tiny("qwen3vl", "micro", seed=1)
    name = "model.language_model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(a.state_dict()[name], b.state_dict()[name])


def test_tiny_models_are_cached_and_shared(tiny_model):
    first = tiny_model("smolvlm")
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert tiny_model("smolvlm") == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp
    assert json.loads((first / "docfoundry_tiny.json").read_text())["family"] == "smolvlm"


@pytest.mark.parametrize("name", ALL)
def test_image_budget_caps_tokens_per_page(name, tiny_model):
    family = get_family(name)
    micro = load_processor(str(tiny_model(name)), family)
    real_geometry = build_processor(name, "small")  # the family's real tile / patch sizes
    images = [page(), page((1650, 1275)), page((600, 2400))]  # letter, landscape, long receipt
    for processor in (micro, real_geometry):
        per_page = []
        for budget in (64, 256, 1024):
            try:
                family.set_image_budget(processor, budget)
            except UserError as e:
                assert "below one tile" in str(e) and budget == 64  # a real Idefics3/SmolVLM tile is > 64
                continue
            tokens = [family.image_tokens(processor, image) for image in images]
            assert max(tokens) <= budget, (name, budget, tokens)
            per_page.append((budget, tokens[0]))
        # the knob is really used: a small budget is nearly filled, a larger one buys more tokens
        assert per_page[0][1] > per_page[0][0] // 4, per_page
        assert per_page[-1][1] > per_page[0][1], per_page


@pytest.mark.parametrize("name", ALL)
def test_media_tokens_and_lora_targets(name, tiny_model):
    family = get_family(name)
    model, processor = load_model(tiny_model(name))
    media = family.media_token_ids(processor)
    assert len(media) == len(family.media_tokens)
    ids = model_inputs(family, processor, page())["input_ids"][0].tolist()
    assert processor.tokenizer.convert_tokens_to_ids(family.image_token) in ids
    assert family.image_tokens(processor, page()) <= sum(1 for t in ids if t in media) + 8

    lora = family.lora_modules(model)
    layers = SIZES["micro"].layers
    assert len(lora) == 7 * layers
    assert not any(family.is_vision_module(n) for n in lora)
    assert any(family.is_vision_module(n) for n, _ in model.named_modules())


def test_peft_trains_language_model_only(tiny_model):
    from peft import LoraConfig, get_peft_model

    family = get_family("qwen25vl")  # its vision MLP has gate/up/down_proj too: must stay untouched
    model, _ = load_model(tiny_model("qwen25vl"))
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules=family.lora_targets))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and ".language_model." in n for n in trainable)


def test_adapter_folder_loads_with_its_processor(tiny_model, tmp_path):
    from peft import LoraConfig, get_peft_model

    family = get_family("smolvlm")
    model, processor = load_model(tiny_model("smolvlm"))
    adapted = get_peft_model(model, LoraConfig(r=4, target_modules=family.lora_targets, init_lora_weights=False))
    inputs = model_inputs(family, processor, page())
    with torch.no_grad():
        expected = adapted(**inputs).logits
    adapted.save_pretrained(tmp_path / "adapter")
    processor.save_pretrained(tmp_path / "adapter")
    for loaded, _ in (load_model(tmp_path / "adapter"),
                      load_model(tiny_model("smolvlm"), adapter=str(tmp_path / "adapter"))):
        with torch.no_grad():
            assert torch.equal(loaded(**inputs).logits, expected)


def test_4bit_quantizes_language_model_only(tiny_model):
    family = get_family("qwen2vl")
    model, processor = load_model(tiny_model("qwen2vl"), quantization="4bit")
    kinds = {n: type(m).__name__ for n, m in model.named_modules()}
    assert kinds["model.language_model.layers.0.self_attn.q_proj"] == "Linear4bit"
    assert kinds["model.visual.blocks.0.attn.qkv"] == "Linear"
    assert kinds["lm_head"] == "Linear"
    out = model.generate(**model_inputs(family, processor, page()), max_new_tokens=2, do_sample=False)
    assert out.shape[1] > 2


def test_chat_messages_render_with_answer():
    for name in ("smolvlm", "qwen2vl"):
        family, processor = get_family(name), build_processor(name, "micro")
        text = processor.apply_chat_template(family.chat(None, "Total?", answer="1,953.00"))
        prompt = processor.apply_chat_template(family.chat(None, "Total?"), add_generation_prompt=True)
        assert text.startswith(prompt.rstrip())
        assert text.rstrip().endswith("1,953.00" + family.end_of_turn)


def test_sizes_have_64_wide_heads_and_small_is_about_200m():
    from docfoundry.info import count_parameters

    for name in ALL:
        tokenizer = build_processor(name, "micro").tokenizer
        for size in SIZES.values():
            text = tiny_config(name, size.name, tokenizer).get_text_config()
            assert text.hidden_size // text.num_attention_heads == 64
        assert 150e6 < count_parameters(tiny_config(name, "small", tokenizer)) < 260e6


def test_family_detection_and_generic_fallback(caplog):
    assert {family_of(t).name for f in FAMILIES.values() for t in f.model_types} == set(FAMILIES)
    with caplog.at_level(logging.WARNING, logger="docfoundry.models"):
        assert family_of("llava").generic
        assert family_of("llava").generic
    assert sum("not in docfoundry's family registry" in r.message for r in caplog.records) == 1
    with pytest.raises(UserError, match=r"known: (?=.*idefics3)(?=.*smolvlm)(?=.*qwen3vl)"):  # the folder is the table
        get_family("nope")


# --- bad input: one clear line each ---------------------------------------------------------

def cli_error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    return err


def test_path_with_no_model(tmp_path, capsys):
    assert "no model here" in cli_error(capsys, "models", "info", str(tmp_path))
    assert "no such model folder" in cli_error(capsys, "models", "info", str(tmp_path / "missing"))
    with pytest.raises(UserError, match="no model here"):
        load_model(tmp_path)


def test_unsupported_architecture(tmp_path, capsys):
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    assert "not an image-text-to-text model" in cli_error(capsys, "models", "info", str(tmp_path / "text"))
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "config.json").write_text(json.dumps({"model_type": "made_up_vlm"}))
    err = cli_error(capsys, "models", "info", str(tmp_path / "odd"))
    assert "config.json: unsupported architecture" in err and "qwen3vl" in err


def test_tokenizer_missing_family_tokens(tiny_model, tmp_path, capsys):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    folder = shutil.copytree(tiny_model("idefics3"), tmp_path / "broken")
    plain = Tokenizer(models.BPE())
    plain.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    plain.train_from_iterator(["a plain text tokenizer"], trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|begin_of_text|>", "<end_of_utterance>"], show_progress=False))
    plain.save(str(folder / "tokenizer.json"))
    err = cli_error(capsys, "models", "info", str(folder))
    assert "tokenizer.json: tokenizer lacks the idefics3 special tokens <global-img>, <row_1_col_1>" in err


def test_cli_tiny_and_info(tmp_path, capsys):
    out = tmp_path / "q3"
    assert main(["models", "tiny", "--family", "qwen3vl", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["models", "info", str(out), "--max-image-tokens", "128"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["family"] == "qwen3vl" and info["lora_modules"] == 7 * SIZES["micro"].layers
    assert 0 < info["image_tokens_per_page"] <= 128
    assert info["media_tokens"]["<|image_pad|>"] is not None
    assert info["parameters"] == json.loads((out / "docfoundry_tiny.json").read_text())["parameters"]


def test_tiny_tile_geometry_divides_for_every_size():
    """The pixel-shuffle scale must divide a tile's patch grid, or the connector's reshape fails."""
    from collections import defaultdict

    from docfoundry.families import FAMILIES
    from docfoundry.tiny import SIZES

    checked = 0
    for family in FAMILIES.values():
        for size in SIZES.values():
            config = family.tiny.config(size, defaultdict(int))
            if "scale_factor" in config:
                vision = config["vision_config"]
                assert (vision["image_size"] // vision["patch_size"]) % config["scale_factor"] == 0, (family.name, size.name)
                checked += 1
    assert checked == 2 * len(SIZES)  # idefics3 and smolvlm, every size


@pytest.mark.parametrize("name", ALL)
def test_tiny_config_token_ids_are_in_the_vocabulary(name):
    """Our tiny configs give transformers no cause to warn about token ids (the pad_token_id 128002
    warning of a run comes from transformers building the class's default Idefics3Config on save)."""
    processor = build_processor(name, "micro")
    config = tiny_config(name, "micro", processor.tokenizer)
    text = config.get_text_config(decoder=True)
    ids = {k: v for c in (config.to_dict(), text.to_dict()) for k, v in c.items()
           if k.endswith("_token_id") and isinstance(v, int)}
    assert "pad_token_id" in ids and all(0 <= v < text.vocab_size for v in ids.values()), ids


def test_tokenizer_corpus_holds_field_names_and_labels_not_draw_rules():
    """Editing a schema's draw rules keeps the tiny tokenizer (and so every tiny model) as it was;
    a field name or label the model reads and writes changes it."""
    from docfoundry.doctypes import templates_root
    from docfoundry.tiny import _readable

    schema = json.loads((templates_root() / "invoice" / "schema.json").read_text())
    text = json.dumps(_readable(schema))
    assert "x-faker" in json.dumps(schema) and "x-faker" not in text and "x-derive" not in text
    first_labels = next(leaf for leaf in _leaves(schema) if "x-labels" in leaf)["x-labels"]
    assert json.dumps(first_labels) in text
    edited = json.loads(json.dumps(schema))
    for leaf in _leaves(edited):
        if "x-faker" in leaf:
            leaf["x-faker"] = {"provider": "word"}
    assert _readable(edited) == _readable(schema)
    edited["properties"]["renamed_field"] = edited["properties"].pop(next(iter(edited["properties"])))
    assert _readable(edited) != _readable(schema)


def _leaves(node):
    if isinstance(node, dict):
        if node.get("type") not in ("object", "array", None):
            yield node
        for value in node.values():
            yield from _leaves(value)
    elif isinstance(node, list):
        for value in node:
            yield from _leaves(value)


def test_copy_pieces_tokenize_a_value_alike_in_an_ocr_line_and_in_json():
    """A value read mid-line ("TOTAL: 12.50") and written after a JSON quote is the same tokens with
    the "copy" pre-tokenizer; GPT-2's byte-level cut glues the space to it (the bench compares both)."""
    import dataclasses

    from docfoundry.tiny import train_tokenizer

    def tokens(pieces, text):
        tok = train_tokenizer(get_family("idefics3"), dataclasses.replace(SIZES["micro"], pieces=pieces))
        return tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])

    value = tokens("copy", "12.50 Kopi")
    line, answer = tokens("copy", "TOTAL: 12.50 Kopi"), tokens("copy", '{"total": "12.50 Kopi"}')
    assert any(line[i:i + len(value)] == value for i in range(len(line)))
    assert any(answer[i:i + len(value)] == value for i in range(len(answer)))
    glued = tokens("bytelevel", "TOTAL: 12.50 Kopi")
    assert tokens("bytelevel", "12.50 Kopi")[0] not in glued
