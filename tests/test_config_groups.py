"""Each config fact once: option groups nested in a config and flattened at every interface (flags,
keys, keyword arguments, attributes, to_dict), and run sections that are the stage configs themselves."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from docfoundry.config import (
    add_arguments,
    fingerprint,
    from_dict,
    from_namespace,
    group,
    grouped,
    opt,
    to_dict,
)
from docfoundry.errors import UserError


@dataclasses.dataclass(frozen=True)
class Knobs:
    temperature: float = opt(0.0, "sampling temperature", min=0)
    workers: int = opt(1, "processes", min=1, output=False)


@dataclasses.dataclass
class Paths:
    out: str = opt(help="where")
    keep: bool = opt(False, "keep it")


@grouped
@dataclasses.dataclass(kw_only=True)
class Holder:
    name: str = opt(help="required, the holder's own")
    knobs: Knobs = group(Knobs, "how", temperature=0.5)
    paths: Paths = group(Paths, "where", fixed=("out",), why_fixed="set by the holder", out="")


def test_a_group_is_flat_at_every_interface():
    parser = argparse.ArgumentParser()
    add_arguments(parser, Holder)
    ns = parser.parse_args(["--name", "x", "--temperature", "0.7", "--keep"])
    cfg = from_namespace(Holder, ns)
    assert cfg.knobs == Knobs(temperature=0.7) and cfg.paths == Paths(out="", keep=True)
    assert "--out" not in parser.format_help()  # the holder fills it
    assert "(default: 0.5)" in parser.format_help()  # the holder's default for its group
    assert Holder(name="x", temperature=0.7, keep=True) == cfg  # keyword arguments by the fields' own names
    assert cfg.temperature == 0.7
    cfg.temperature = 0.9  # a frozen group is replaced
    assert cfg.knobs.temperature == 0.9
    assert to_dict(cfg) == {"name": "x", "temperature": 0.9, "workers": 1, "keep": True}
    assert from_dict(Holder, to_dict(cfg)) == cfg
    assert set(fingerprint(cfg)) == {"name", "temperature", "keep"}  # the group fields' own output= markers
    assert dataclasses.replace(cfg, workers=3).knobs == Knobs(temperature=0.9, workers=3)


def test_group_keys_are_checked_and_named_like_the_config_own():
    with pytest.raises(UserError, match=r"^config key 'temperature': must be at least 0 \(got -1\.0\)$"):
        from_dict(Holder, {"name": "x", "temperature": -1})
    with pytest.raises(UserError, match=r"^config key 'out': set by the holder$"):
        from_dict(Holder, {"name": "x", "out": "elsewhere"})
    with pytest.raises(UserError, match=r"unknown config key 'knobs' \(known: keep, name, temperature, workers\)"):
        from_dict(Holder, {"name": "x", "knobs": {}})
    with pytest.raises(UserError, match="missing required config key"):
        from_dict(Holder, {"temperature": 1})


def test_a_name_two_groups_share_is_refused_at_import():
    with pytest.raises(TypeError, match=r"declared twice: \['workers'\]"):
        @grouped
        @dataclasses.dataclass(kw_only=True)
        class Twice:
            workers: int = opt(2, "again")
            knobs: Knobs = group(Knobs)


def test_label_config_nests_the_teacher_groups_under_the_old_flags():
    from distill.label import AuditConfig, LabelConfig
    from distill.teachers import Sampling, TeacherOptions

    cfg = LabelConfig(source="s", schema="receipt", out="o", temperature=0.7, samples=3, concurrency=2)
    assert isinstance(cfg.sampling, Sampling) and isinstance(cfg.options, TeacherOptions)
    assert cfg.sampling.temperature == 0.7 and cfg.options.concurrency == 2
    assert cfg.sampling.logprobs  # label's default: confidence from log-probabilities where the teacher has them
    assert not Sampling().logprobs
    data = to_dict(cfg)
    assert {"temperature", "top_p", "max_tokens", "concurrency", "dtype", "samples"} <= set(data)
    assert "sampling" not in data and "options" not in data
    assert from_dict(LabelConfig, data) == cfg
    audit = AuditConfig(schema="receipt", out="o", max_tokens=12)
    assert audit.sampling.max_tokens == 12


def test_run_sections_are_the_stage_configs_with_their_defaults(tmp_path):
    from distill.instruct import InstructConfig
    from docfoundry.orchestration.pipeline import (
        RunConfig,
        _pages_of,
        load_run_config,
        synth_config,
    )
    from eval.run import EvalConfig
    from synth.generate import SynthConfig

    run = RunConfig()
    stage = SynthConfig(out="o")
    assert run.synth.locales == stage.locales and run.synth.n == stage.n and run.synth.degrade == stage.degrade
    assert run.synth.workers == 2  # the run's one choice: both cores
    assert run.instruct.per_page == InstructConfig(input="i", out="o").per_page
    assert run.eval.max_new_tokens == EvalConfig(truth="t", out="o").max_new_tokens
    # any stage key works in its section (it used to be "unknown config key"), and reaches every page set
    path = tmp_path / "run.yaml"
    path.write_text("synth: {dpi: 100, n: 8}\ninstruct: {caption_position: last}\neval: {bootstrap: 0}\n")
    cfg = load_run_config(str(path))
    assert synth_config(cfg, tmp_path / "h", **_pages_of(cfg, "heldout")).dpi == 100
    assert cfg.instruct.tasks_from_truth.caption_position == "last" and cfg.eval.scoring.bootstrap == 0
    path.write_text("synth: {out: somewhere}\n")
    with pytest.raises(UserError, match="config key 'synth.out': set by the run itself"):
        load_run_config(str(path))
