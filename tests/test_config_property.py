"""Property-based test of the config loader: random and mutated mappings and YAML files, for every
command's config class and the run config, end in a config or a one-line UserError, never in
another exception."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docfoundry.cli import all_commands
from docfoundry.config import check_fields, from_dict, load_yaml
from docfoundry.doctypes import templates_root
from docfoundry.errors import UserError
from docfoundry.orchestration.pipeline import RunConfig, load_run_config

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((templates_root() / "runs").glob("*.yaml"))
CLASSES = sorted({c.config for c in all_commands().values()} | {RunConfig}
                 | {type(getattr(RunConfig(), f.name)) for f in dataclasses.fields(RunConfig)
                    if dataclasses.is_dataclass(getattr(RunConfig(), f.name))}, key=lambda c: c.__name__)
PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["", "none", "all", "hf", "vllm", "tpu", "gif", "jpg", "a=1,b=x", "1,2",
                                     "true", "-3", "0", "1e9", "nan", "tiny:llama", "tiny:idefics3"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def ends_well(build) -> object:
    """Run ``build``: a result, or a UserError whose message is one line; anything else fails."""
    try:
        result = build()
    except UserError as e:
        assert str(e).strip() and "\n" not in str(e), repr(str(e))
        return None
    return result


@st.composite
def mapping_for(draw: st.DrawFn) -> tuple[type, dict]:
    """A config class and a mapping with mostly its own keys, some hyphenated or unknown."""
    cls = draw(st.sampled_from(CLASSES))
    keys = st.one_of(st.sampled_from(field_names(cls)),
                     st.sampled_from(field_names(cls)).map(lambda k: k.replace("_", "-")),
                     st.text(max_size=8), st.integers(-3, 3))
    return cls, draw(st.dictionaries(keys, values, max_size=6))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_load(template):
    cfg = load_run_config(str(template))
    check_fields(cfg)


@PROPERTY
@given(mapping_for())
def test_random_mapping_gives_a_config_or_one_line(case):
    cls, data = case
    cfg = ends_well(lambda: from_dict(cls, data))
    if cfg is not None:
        assert isinstance(cfg, cls)
        ends_well(lambda: check_fields(cfg))


def paths(tree: object, prefix: tuple = ()) -> list[tuple]:
    """Every key path into nested mappings and lists."""
    out = [prefix] if prefix else []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += paths(v, (*prefix, k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += paths(v, (*prefix, i))
    return out


@st.composite
def mutated_template(draw: st.DrawFn) -> dict:
    """A run template with a few keys replaced, deleted or added."""
    data = copy.deepcopy(yaml.safe_load(draw(st.sampled_from(TEMPLATES)).read_text()))
    for _ in range(draw(st.integers(1, 4))):
        where = paths(data)
        path = draw(st.sampled_from(where)) if where else ()
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if not path or not isinstance(parent, (dict, list)):
            continue
        key = path[-1]
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(values)
        else:
            parent.append(draw(values))
    return data


@PROPERTY
@given(mutated_template())
def test_mutated_run_template_gives_a_config_or_one_line(data):
    cfg = ends_well(lambda: from_dict(RunConfig, data) if isinstance(data, dict) else from_dict(RunConfig, {}))
    if cfg is not None:
        ends_well(lambda: check_fields(cfg))


@PROPERTY
@given(mutated_template(), st.lists(st.tuples(st.integers(0, 2000), st.sampled_from(
    [":", "-", " ", "\n", "\t", "[", "{", "}", "'", '"', "&a", "*a", "!!python/object:os.system", "\x00", "\xff", "#",
     "?", "|", "%", "@", "`", "\ufeff"])), max_size=4))
def test_mutated_yaml_file_gives_a_config_or_one_line(tmp_path_factory, data, edits):
    text = yaml.safe_dump(data, allow_unicode=True)
    for pos, piece in edits:  # corrupt the text, not only the values
        pos = min(pos, len(text))
        text = text[:pos] + piece + text[pos:]
    path = tmp_path_factory.mktemp("yaml") / "run.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    ends_well(lambda: load_yaml(path))
    ends_well(lambda: load_run_config(str(path)))


def test_undecodable_and_odd_files_are_one_line(tmp_path):
    cases = {"latin1.yaml": b"seed: \xe9\n", "list.yaml": b"- 1\n- 2\n", "deep.yaml": b"[" * 5000 + b"]" * 5000,
             "tag.yaml": b"seed: !!python/object/apply:os.system [echo]\n"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(UserError) as e:
            load_run_config(str(tmp_path / name))
        assert name in str(e.value) and "\n" not in str(e.value)
