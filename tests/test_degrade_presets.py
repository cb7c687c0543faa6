"""Preset files: every built-in loads, and each kind of mistake is one line naming file, effect and problem."""

from pathlib import Path

import pytest

from docfoundry.cli import main
from docfoundry.errors import UserError
from synth import effects as fx
from synth.degrade import PRESET_DIR, PRESET_NAMES, load_preset, preset_names


def test_builtin_presets_are_the_yaml_files_and_all_load():
    assert set(PRESET_NAMES) == {"clean", "light", "medium", "heavy", "fax", "archive", "photo", "thermal", "crumpled", "phone"}
    assert preset_names() == sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
    for name in PRESET_NAMES:
        preset = load_preset(name)
        assert preset.name == name
        assert all(step.effect in fx.effect_names() for step in preset.steps)
    assert load_preset("clean").steps == ()
    # fallbacks lead to lighter presets and end at clean
    chain, p = [], load_preset("heavy")
    while p.fallback:
        chain.append(p.fallback)
        p = load_preset(p.fallback)
    assert chain == ["medium", "light", "clean"]


def test_a_path_works_like_a_name():
    by_path = load_preset(str(PRESET_DIR / "medium.yaml"))
    assert by_path.steps == load_preset("medium").steps


BAD = {
    "unknown effect": ("ink: []\npaper: []\npost:\n  - {effect: sparkle}\n",
                       ["post[0]", "'sparkle'", "unknown effect", "blur"]),
    "unknown parameter": ("ink: []\npaper: []\npost:\n  - {effect: blur, radius: 2}\n",
                          ["post[0]", "'blur'", "unknown parameter 'radius'", "sigma"]),
    "wrong parameter type": ("ink: []\npaper: []\npost:\n  - {effect: jpeg, quality: high}\n",
                             ["'jpeg'", "parameter 'quality'", "integer"]),
    "float for an integer": ("ink: []\npaper: []\npost:\n  - {effect: jpeg, quality: [50.5, 60]}\n",
                             ["'jpeg'", "integers"]),
    "reversed range": ("ink: []\npaper: []\npost:\n  - {effect: blur, sigma: [2.0, 1.0]}\n",
                       ["'blur'", "lo > hi"]),
    "probability above 1": ("ink: []\npaper: []\npost:\n  - {effect: blur, p: 1.5}\n",
                            ["post[0]", "'blur'", "p=1.5", "outside [0, 1]"]),
    "negative probability": ("ink:\n  - {effect: ink_fade, p: -0.1}\npaper: []\npost: []\n",
                             ["ink[0]", "'ink_fade'", "outside [0, 1]"]),
    "missing phase": ("ink: []\npost: []\n", ["missing phase 'paper'"]),
    "geometry on paper": ("ink: []\npaper:\n  - {effect: rotate}\npost: []\n",
                          ["paper[0]", "'rotate'", "not in the paper phase"]),
    "bad choice": ("ink: []\npaper: []\npost:\n  - {effect: streaks, orientation: diagonal}\n",
                   ["'streaks'", "horizontal, vertical"]),
    "augraphy parameter": ("ink:\n  - {effect: InkBleed, intensity: 0.5}\npaper: []\npost: []\n",
                           ["'InkBleed'", "unknown parameter 'intensity'", "intensity_range"]),
    "augraphy parameter shape": ("ink:\n  - {effect: InkBleed, intensity_range: 0.5}\npaper: []\npost: []\n",
                                 ["'InkBleed'", "intensity_range", "list of 2"]),
    "unreproducible augraphy effect": ("ink:\n  - {effect: BadPhotoCopy}\npaper: []\npost: []\n",
                                       ["'BadPhotoCopy'", "unknown effect"]),
    "unknown top-level key": ("ink: []\npaper: []\npost: []\nsteps: []\n", ["unknown key 'steps'"]),
    "phase not a list": ("ink: blur\npaper: []\npost: []\n", ["phase 'ink' must be a list"]),
    "step without effect": ("ink: []\npaper: []\npost:\n  - {sigma: 1.0}\n", ["post[0]", "'effect' key"]),
    "missing fallback": ("fallback: nowhere\nink: []\npaper: []\npost: []\n", ["nowhere"]),
    # each of these loaded, then crashed the degrade stage (OverflowError, OpenCV errors)
    "gray level past uint8": ("ink: []\npaper: []\npost:\n  - {effect: speckle, value: 300}\n",
                              ["post[0]", "'speckle'", "parameter 'value'", "300", "[0, 255]"]),
    "negative blur": ("ink: []\npaper: []\npost:\n  - {effect: blur, sigma: -3}\n",
                      ["post[0]", "'blur'", "parameter 'sigma'", "-3", "[0.01, 20]"]),
    "range past the limit": ("ink: []\npaper: []\npost:\n  - {effect: jpeg}\n  - {effect: jpeg, quality: [50, 101]}\n",
                             ["post[1]", "'jpeg'", "parameter 'quality'", "[50, 101]", "[0, 100]"]),
    "gray sheet": ("ink: []\npaper:\n  - {effect: paper}\n  - {effect: gray}\npost: []\n",
                   ["paper[1]", "'gray'", "not in the paper phase"]),
    "augraphy zero period": ("ink:\n  - {effect: LowInkPeriodicLines, period_range: [0, 0]}\npaper: []\npost: []\n",
                             ["ink[0]", "'LowInkPeriodicLines'", "period_range", "[1, 1000]"]),
    "augraphy zero kernel": ("ink: []\npaper: []\npost:\n  - {effect: DirtyDrum, ksize: [0, 0]}\n",
                             ["post[0]", "'DirtyDrum'", "ksize", "[1, 31]"]),
}

REGRESSIONS = ("gray level past uint8", "negative blur", "gray sheet", "augraphy zero period", "augraphy zero kernel")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_preset_is_one_line_naming_file_effect_and_problem(case, tmp_path):
    text, expected = BAD[case]
    path = tmp_path / f"{case.replace(' ', '_')}.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        load_preset(str(path))
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)


def test_every_numeric_parameter_has_a_limit_holding_its_default():
    """Presets are checked against the limits, so every own effect declares one per number."""
    for name, effect in fx.EFFECTS.items():
        numeric = {k for k, v in effect.params.items() if not isinstance(v, fx.OneOf)}
        assert set(effect.limits) == numeric, name
    with pytest.raises(ValueError, match="limits for"):
        fx.register("unlimited", sigma=[0.1, 0.2])


@pytest.mark.parametrize("name", sorted(fx.EFFECTS))
def test_every_effect_runs_at_the_corners_of_its_limits(name):
    """The limits are what the effects survive: every corner of them, on pages down to one pixel."""
    import itertools
    import warnings

    import numpy as np

    effect = fx.EFFECTS[name]
    keys = sorted(effect.limits)
    fixed = {k: v.options[0] for k, v in effect.params.items() if isinstance(v, fx.OneOf)}
    for corner in itertools.product(*[(effect.limits[k].lo, effect.limits[k].hi) for k in keys]):
        params = {**fixed, **{k: int(v) if all(isinstance(d, int) for d in np.atleast_1d(effect.params[k]).tolist())
                              else float(v) for k, v in zip(keys, corner, strict=True)}}
        for shape in [(1, 1, 3), (1, 1), (3, 2, 3), (264, 204, 3), (264, 204)]:
            img, rng = np.full(shape, 200, np.uint8), np.random.default_rng(0)
            ctx = fx.Context("post", (0, 0, shape[1], shape[0]))
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an overflow or a division by zero is a failure too
                if effect.kind == "geometric":
                    warp = effect.run(shape[0], shape[1], rng, ctx, **params)
                    out = warp.apply(img, False, None)
                    assert np.isfinite(warp.map_points(np.array([[0.0, 0.0]]))).all(), (params, shape)
                else:
                    out = effect.run(img, rng, ctx, **params)
            assert out.dtype == np.uint8 and out.size > 0, (params, shape)


@pytest.mark.parametrize("case", REGRESSIONS)
def test_the_crashing_presets_are_refused_before_any_page(case, tmp_path):
    """Without the limits these loaded and then crashed on the first page with a traceback."""
    from synth.degrade import degrade_sample
    from synth.specimen import specimen_page

    path = tmp_path / "crash.yaml"
    path.write_text(BAD[case][0])
    img, words, fields = specimen_page(0, dpi=24)  # 204 x 264 px: small and quick
    with pytest.raises(UserError, match="crash.yaml"):
        degrade_sample(img, words, fields, str(path), seed=1)


def test_a_value_augraphy_cannot_use_fails_the_page_in_one_line(tmp_path):
    """An even blur kernel is within the limits but OpenCV refuses it inside augraphy."""
    from synth.degrade import degrade_sample
    from synth.specimen import specimen_page

    path = tmp_path / "even.yaml"
    path.write_text("ink: []\npaper: []\npost:\n  - {effect: blur}\n  - {effect: DirtyDrum, ksize: [2, 2]}\n")
    img, words, fields = specimen_page(0, dpi=24)
    with pytest.raises(UserError) as err:
        degrade_sample(img, words, fields, str(path), seed=1)
    message = str(err.value)
    assert "\n" not in message
    assert all(part in message for part in (str(path), "post[1]", "'DirtyDrum'", "ksize", "error")), message


def test_unknown_preset_name_lists_the_builtins():
    with pytest.raises(UserError, match="unknown degradation preset 'medum'.*clean, crumpled, fax, heavy"):
        load_preset("medum")
    with pytest.raises(UserError, match="not found"):
        load_preset("/nonexistent/scan.yaml")


def test_cli_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ink: []\npaper: []\npost:\n  - {effect: blur, p: 2}\n")
    (tmp_path / "in").mkdir()
    code = main(["degrade", "--in", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--preset", str(bad)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and err.startswith("error: ") and str(bad) in err and "'blur'" in err
    assert not (tmp_path / "out").exists()


def test_edited_preset_file_is_read_again(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("ink: []\npaper: []\npost:\n  - {effect: blur}\n")
    assert [s.effect for s in load_preset(str(path)).steps] == ["blur"]
    path.write_text("ink: []\npaper: []\npost:\n  - {effect: noise}\n  - {effect: jpeg}\n")
    import os

    os.utime(path, (1, 2))  # a different mtime, as an editor save would give
    assert [s.effect for s in load_preset(str(path)).steps] == ["noise", "jpeg"]


def test_every_registered_effect_runs_on_rgb_and_gray(tmp_path):
    """Each own effect keeps the page shape and dtype, on RGB and on gray pages."""
    import numpy as np

    from synth.degrade import Step, _effect_params

    rng = np.random.default_rng(0)
    page = np.full((96, 80, 3), 255, np.uint8)
    page[30:50, 10:70] = 0
    for name, effect in fx.EFFECTS.items():
        for img in (page, page[:, :, 0].copy()):
            params = _effect_params(Step("post", name, 1.0, {}), rng)
            ctx = fx.Context("post", (10, 30, 70, 50))
            if effect.kind == "geometric":
                warp = effect.run(96, 80, rng, ctx, **params)
                out = warp.apply(img, False, None)
                assert out.shape[:2] == (warp.size[1], warp.size[0]), name
            else:
                out = effect.run(img, rng, ctx, **params)
                expected = img.shape[:2] if name in ("gray", "binarize") else img.shape
                assert out.shape[:len(expected)] == expected, name
            assert out.dtype == np.uint8, name


def test_presets_and_templates_ship_in_the_wheel(tmp_path):
    # build the wheel from a copy of the sources, as pip would, and look inside it
    import shutil
    import subprocess
    import sys
    import zipfile

    repo = Path(__file__).resolve().parent.parent
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, src / name)
    for name in ("docfoundry", "synth", "distill", "finetune", "eval", "templates"):
        shutil.copytree(repo / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "dist"), str(src)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    templates = repo / "templates"
    data = [p for p in templates.rglob("*") if p.is_file() and p.suffix in (".json", ".yaml", ".j2", ".txt", ".md")]
    missing = [str(p.relative_to(repo)) for p in data if str(p.relative_to(repo)) not in shipped]
    assert not missing, missing
    assert {f"templates/degrade/{n}.yaml" for n in PRESET_NAMES} <= shipped


def test_readme_names_every_effect_and_preset():
    """The README's effect list is written by hand: keep it in step with the registry."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### `docfoundry degrade`"):]
    missing = [n for n in [*fx.effect_names(), *PRESET_NAMES] if n not in section]
    assert not missing, missing
