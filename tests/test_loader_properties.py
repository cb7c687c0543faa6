"""Property tests: random and mutated inputs to the preset loader, the schema loader and the
teacher-output parsers end in a result or a one-line ``UserError``, never another exception.

Mutations start from the shipped files (``templates/degrade/*.yaml``, ``templates/*/schema.json``)
and from answers shaped like a teacher's, so most examples get past the first checks.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import yaml
from eval_fixtures import RECEIPTS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mutations import mutated_bytes, mutated_tree, values

from docfoundry.doctypes import KINDS, load_doc_type, templates_root
from docfoundry.errors import UserError

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_names = itertools.count()


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mutants")


def assert_one_line(e: UserError, names: str = "") -> None:
    msg = str(e)
    assert msg and "\n" not in msg, msg
    assert names in msg, f"{names!r} not in {msg!r}"


def _dump_yaml(tree) -> bytes:
    try:
        return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
    except (yaml.YAMLError, UnicodeError, ValueError):
        return json.dumps(tree).encode()  # JSON is YAML


# --- the preset loader (synth/degrade.py) --------------------------------------------------------

def _preset_vocabulary():
    from synth import effects as fx

    params = sorted({k for e in fx.EFFECTS.values() for k in e.params})
    options = [o for e in fx.EFFECTS.values() for v in e.params.values() if isinstance(v, fx.OneOf) for o in v.options]
    keys = ["effect", "p", "fallback", "description", *fx.PHASES, *params]
    vals = [*fx.effect_names(), *options, "light", "clean", "nope", "missing.yaml", "../light.yaml",
            0.5, 1.5, -0.1, [1, 3], [3, 1], [0.2, 0.4], [1, 2, 3], {"effect": "blur"}, {"effect": "rotate", "p": 2}]
    return keys, vals


PRESET_FILES = sorted((Path(__file__).resolve().parent.parent / "templates" / "degrade").glob("*.yaml"))
PRESET_TREES = [yaml.safe_load(p.read_text()) for p in PRESET_FILES]
PRESET_KEYS, PRESET_VALUES = _preset_vocabulary()
numbers = st.one_of(st.integers(), st.floats(), st.sampled_from([10**400, -(10**30), float("nan"), float("inf")]))


def _param_value(default):
    """A value shaped like a parameter's default (a number, a [lo, hi] range, a choice), often out of range."""
    from synth import effects as fx

    if isinstance(default, fx.OneOf):
        return st.one_of(st.sampled_from(default.options), st.lists(st.sampled_from(default.options), max_size=3))
    if isinstance(default, list):
        return st.one_of(st.lists(numbers, min_size=len(default), max_size=len(default)), numbers)
    return numbers


@st.composite
def generated_preset(draw):
    """A preset built step by step from the registered effects and their parameter names."""
    from synth import effects as fx

    def step():
        name = draw(st.sampled_from(fx.effect_names()))
        defaults = fx.EFFECTS[name].params if name in fx.EFFECTS else fx.augraphy_params(name)
        raw = {"effect": name}
        if draw(st.booleans()):
            raw["p"] = draw(st.one_of(numbers, values))
        for key in draw(st.lists(st.sampled_from(sorted(defaults) or ["x"]), max_size=3, unique=True)):
            raw[key] = draw(st.one_of(_param_value(defaults.get(key)), values) if draw(st.booleans())
                            else _param_value(defaults.get(key)))
        return raw

    preset = {phase: [step() for _ in range(draw(st.integers(0, 2)))] for phase in fx.PHASES}
    if draw(st.booleans()):
        preset["fallback"] = draw(st.one_of(st.sampled_from(["light", "nope", "x" * 300, "a\x00b", "../clean.yaml"]),
                                            values))
    return preset


preset_inputs = st.one_of(
    generated_preset().map(_dump_yaml),
    mutated_tree(PRESET_TREES, PRESET_KEYS, PRESET_VALUES).map(_dump_yaml),
    mutated_bytes([p.read_bytes() for p in PRESET_FILES]),
    values.map(_dump_yaml),
)


def _load_preset_bytes(folder: Path, data: bytes):
    from synth.degrade import Preset, load_preset

    path = folder / f"preset{next(_names)}.yaml"  # a new name each time: the loader caches by path and mtime
    path.write_bytes(data)
    try:
        preset = load_preset(str(path))
    except UserError as e:
        assert_one_line(e, str(path))
        return None
    assert isinstance(preset, Preset)
    return preset


@pytest.fixture(scope="module")
def augraphy_imported():
    """augraphy's defaults read once up front: its import touches ``random``, which hypothesis forbids in a strategy."""
    from synth import effects as fx

    for name in fx.effect_names():
        if name not in fx.EFFECTS:
            fx.augraphy_params(name)


@PROPERTY
@given(data=preset_inputs)
def test_preset_loader_gives_a_preset_or_one_line(work, augraphy_imported, data):
    event("refused" if _load_preset_bytes(work, data) is None else "loaded")  # counts: --hypothesis-show-statistics


def test_a_key_with_line_breaks_is_named_on_one_line(work):
    """Found by CI's hypothesis run: a YAML key of blank lines was quoted raw, breaking the one line."""
    assert _load_preset_bytes(work, b"? '\n\n  '\n: null\n") is None


@pytest.fixture(scope="module")
def small_page():
    """A rendered page small enough to degrade many times: 204 x 264 px, a few words and field boxes."""
    from synth.specimen import specimen_page

    return specimen_page(0, dpi=24)


def _within(limit, integral: bool):
    """A number inside ``limit``, its edges drawn often (where effects break)."""
    if integral:
        lo, hi = math.ceil(limit.lo), math.floor(limit.hi)
        return st.one_of(st.sampled_from([lo, hi]), st.integers(lo, hi))
    return st.one_of(st.sampled_from([float(limit.lo), float(limit.hi)]), st.floats(limit.lo, limit.hi))


def _near(default):
    """An augraphy value like its default: numbers scaled by 0 to 4, lists kept at their length."""
    if isinstance(default, bool) or not isinstance(default, (int, float, list)):
        return st.just(default)
    if isinstance(default, list):
        return st.tuples(*[_near(d) for d in default]).map(sorted).map(list)
    if isinstance(default, int):
        return st.integers(0, max(4 * abs(default), 4)).map(lambda v: v if default >= 0 else -v)
    return st.floats(0.0, 4.0).map(lambda f: round(f * default, 4) if default else round(f / 4, 4))


@st.composite
def plausible_preset(draw):
    """A preset the loader is likely to accept: effects in their phases, values within their limits
    (own effects) or near their defaults (augraphy), so the examples reach the pixels."""
    from synth import effects as fx

    def step(phase):
        names = [n for n in fx.effect_names() if n not in fx.EFFECTS or phase in fx.EFFECTS[n].phases]
        name = draw(st.sampled_from(names))
        raw = {"effect": name, "p": draw(st.sampled_from([1.0, 1.0, 0.5]))}
        own = fx.EFFECTS.get(name)
        defaults = own.params if own else fx.augraphy_params(name)
        for key in draw(st.lists(st.sampled_from(sorted(defaults)), max_size=3, unique=True)) if defaults else []:
            default = defaults[key]
            if own is None:
                raw[key] = draw(_near(default))
            elif isinstance(default, fx.OneOf):
                raw[key] = draw(st.sampled_from(default.options))
            else:
                integral = all(isinstance(x, int) for x in (default if isinstance(default, list) else [default]))
                one = _within(own.limits[key], integral)
                raw[key] = draw(st.one_of(one, st.tuples(one, one).map(sorted).map(list)))
        return raw

    return {phase: [step(phase) for _ in range(draw(st.integers(0, 3)))] for phase in fx.PHASES}


APPLIED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # ~10 s: each example degrades a page


@st.composite
def applied_inputs(draw):
    """Mostly plausible presets (they reach the pixels), the rest random and mutated ones."""
    return draw(preset_inputs if draw(st.integers(0, 3)) == 0 else plausible_preset().map(_dump_yaml))


@APPLIED
@given(data=applied_inputs(), seed=st.integers(0, 2**32))
def test_a_preset_that_loads_degrades_a_page_or_says_why_in_one_line(work, augraphy_imported, small_page, data, seed):
    """Loading is not enough: the degrade stage then runs the preset on pages."""
    from synth.degrade import degrade_sample

    preset = _load_preset_bytes(work, data)
    if preset is None:
        event("refused")
        return
    img, words, fields = small_page
    try:
        image, new_words, new_fields, record = degrade_sample(img, words, fields, preset.path, seed)
    except UserError as e:
        assert_one_line(e, preset.path)
        event("refused on the page")
        return
    event("degraded")
    assert image.mode in ("RGB", "L") and min(image.size) >= 1
    assert len(new_words) == len(words) and len(new_fields) == len(fields)
    json.dumps(record)  # the record goes into the page's meta


def test_the_shipped_presets_pass_through_the_same_check(work):
    assert all(_load_preset_bytes(work, p.read_bytes()) is not None for p in PRESET_FILES)


# --- the schema loader (docfoundry/doctypes.py) --------------------------------------------------

SCHEMA_FILES = sorted(templates_root().glob("*/schema.json"))
SCHEMA_TREES = [json.loads(p.read_text()) for p in SCHEMA_FILES]
SCHEMA_KEYS = ["type", "properties", "items", "x-kind", "x-category", "x-labels", "x-aliases", "x-values",
               "description", "title", "required", "pattern", "enum", "additionalProperties", "$defs", "$ref"]
SCHEMA_VALUES = ["object", "array", "string", *KINDS, "totals", "receipt", ["Tel"], [["Tel"]], True, False,
                 {"type": "string", "x-category": "c"}, {"a": True}, {"type": "array"}, {"type": "array", "items": True},
                 {"type": "object", "properties": {"a": False}}, ["string", "null"], "(", "#/$defs/x"]
schema_inputs = st.one_of(
    mutated_tree(SCHEMA_TREES, SCHEMA_KEYS, SCHEMA_VALUES).map(lambda t: json.dumps(t).encode()),
    mutated_bytes([p.read_bytes() for p in SCHEMA_FILES]),
    values.map(lambda v: json.dumps(v).encode()),
)


def _load_schema_bytes(folder: Path, data: bytes, instances=()):
    from docfoundry.prompts import extraction_prompt

    path = folder / f"custom{next(_names)}.json"  # a custom name: the file given is the file read
    path.write_bytes(data)
    try:
        doc = load_doc_type.__wrapped__(str(path))  # uncached: each example is a new file
    except UserError as e:
        assert_one_line(e, str(path))
        return None
    assert doc.leaves is not None
    extraction_prompt(doc)                          # a loaded type renders its prompt
    for instance in instances:
        try:
            doc.validate(instance)                  # and validates: a result or ValueError
        except ValueError:
            pass
    return doc


@PROPERTY
@given(data=schema_inputs, instances=st.lists(st.one_of(st.sampled_from(list(RECEIPTS.values())), values), max_size=2))
def test_schema_loader_gives_a_type_or_one_line(work, data, instances):
    event("refused" if _load_schema_bytes(work, data, instances) is None else "loaded")


def test_the_shipped_schemas_pass_through_the_same_check(work):
    assert all(_load_schema_bytes(work, p.read_bytes(), [{}]) is not None for p in SCHEMA_FILES)


# --- teacher output (eval/parse.py, distill/label.py, distill/synthesize.py) ---------------------

ANSWERS = [json.dumps(fields) for fields in RECEIPTS.values()]
ANSWERS += [f"Here you go:\n```json\n{json.dumps(RECEIPTS['r1'], indent=2)}\n```\nAnything else?",
            "Sorry, I cannot read this receipt.",
            "## Question: What is the total?\n## Informative Answer: The total line says 12.50.\n"
            "## Precise Answer: 12.50\n## Question: Date?\n## Informative Answer: It is 03/12/2024.\n"
            "## Precise Answer: 03/12/2024", "Yes", "No, the precise answer disagrees."]
answer_texts = st.one_of(mutated_bytes([a.encode() for a in ANSWERS]).map(lambda b: b.decode("utf-8", "replace")),
                         st.text(max_size=200), values.map(lambda v: json.dumps(v)))


@PROPERTY
@given(text=answer_texts)
def test_teacher_answer_parsers_give_a_result(text):
    from distill.label import check_answer
    from distill.synthesize import parse_triplets, verdict
    from distill.teachers import Answer
    from docfoundry.predictions import parse_prediction

    parsed = parse_prediction(text)
    assert parsed is None or isinstance(parsed, dict)
    fields, why = check_answer(load_doc_type("receipt"), Answer(text))
    assert (isinstance(fields, dict) and why == "") or (fields is None and isinstance(why, str) and why)
    # every part of a triplet is non-empty text the answer holds (stripped), never invented
    assert all(part and part == part.strip() and part in text for triplet in parse_triplets(text) for part in triplet)
    assert verdict(text) in ("Yes", "No", "Open", "?")


@PROPERTY
@given(row=st.one_of(values, st.fixed_dictionaries({"id": values}, optional={"prediction": values, "fields": values,
                                                                             "latency_s": values})))
def test_prediction_row_gives_a_prediction_or_one_line(row):
    from docfoundry.predictions import Prediction, parse_prediction, prediction_from_row

    try:
        pred = prediction_from_row(row, "preds.jsonl:1")
    except UserError as e:
        assert_one_line(e, "preds.jsonl:1")
        return
    assert isinstance(pred, Prediction) and pred.id == str(row["id"])
    if "fields" in row:  # given fields are taken as they are; raw text is parsed
        assert pred.fields == row["fields"] and pred.raw is None
    else:
        assert pred.raw is not None and pred.fields == parse_prediction(pred.raw)


PRED_FILE = "".join(json.dumps(r) + "\n" for r in [{"id": "r1", "prediction": ANSWERS[3]}, {"id": "r2", "fields": RECEIPTS["r2"]},
                                                    {"id": "r3", "prediction": "no json", "latency_s": 0.5}]).encode()


@PROPERTY
@given(data=mutated_bytes([PRED_FILE]))
def test_predictions_file_gives_predictions_or_one_line(work, data):
    from docfoundry.predictions import read_predictions

    path = work / f"preds{next(_names)}.jsonl"
    path.write_bytes(data)
    try:
        preds = read_predictions(path)
    except UserError as e:
        assert_one_line(e, str(path))
        return
    assert all(p.fields is None or isinstance(p.fields, dict) for p in preds.values())


# --- what the properties found, pinned -----------------------------------------------------------

@pytest.mark.parametrize("post, needle", [
    ("[{effect: blur, p: 1" + "0" * 400 + "}]", "probability p="),              # float(p) overflowed
    ("[{effect: blur, sigma: [.nan, 1]}]", "parameter 'sigma' expects a number"),  # accepted, then drawn as nan
    ("[{effect: noise, sigma: .inf}]", "parameter 'sigma' expects a number"),
])
def test_preset_numbers_must_be_finite(work, post, needle):
    from synth.degrade import load_preset

    path = work / f"pinned{next(_names)}.yaml"
    path.write_text(f"ink: []\npaper: []\npost: {post}\n")
    with pytest.raises(UserError, match=needle):
        load_preset(str(path))


def test_preset_fallback_name_too_long_is_one_line(work):
    from synth.degrade import load_preset

    path = work / f"pinned{next(_names)}.yaml"
    path.write_text("ink: []\npaper: []\npost: []\nfallback: " + "x" * 300 + "\n")
    with pytest.raises(UserError, match="fallback 'x+': .*not a degradation preset file"):
        load_preset(str(path))


def test_teacher_answer_with_a_number_past_the_digit_limit_is_rejected_not_raised():
    from distill.label import check_answer
    from distill.teachers import Answer
    from docfoundry.predictions import parse_prediction

    huge = '{"total": ' + "1" * 5000 + "}"
    # broken after its first key, it ends the search as any broken answer does (not its items or a later object)
    assert parse_prediction(huge + ' then {"total": "1.00"}') is None
    fields, why = check_answer(load_doc_type("receipt"), Answer(huge))
    assert fields is None and why.startswith("not JSON")
    assert check_answer(load_doc_type("receipt"), Answer("[" * 100_000))[0] is None


def test_prediction_file_errors_stay_on_one_line(work):
    from docfoundry.predictions import prediction_from_row, read_predictions

    with pytest.raises(UserError) as e:
        prediction_from_row({"a\nb": 1}, "preds.jsonl:1")
    assert_one_line(e.value, "'a\\nb'")
    path = work / "huge.jsonl"
    path.write_text('{"id": "r1", "latency_s": ' + "1" * 5000 + "}\n")
    with pytest.raises(UserError) as e:
        read_predictions(path)
    assert_one_line(e.value, f"{path}:1: not JSONL")
