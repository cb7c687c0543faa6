"""Scan degradation with boxes that survive: presets, their validation, and the per-page pipeline.

A preset (``templates/degrade/<name>.yaml`` or a user's YAML file) lists effects in three phases,
the way a page is made: ``ink`` (the printed layer), ``paper`` (the sheet, multiplied under the
ink) and ``post`` (scanner or camera: geometry, light, blur, noise, compression). Each effect has
a probability ``p`` and parameters, fixed or ``[lo, hi]`` ranges drawn per page. Geometric effects
move every word and field box with the same mapping as the pixels.

    from synth.degrade import degrade_sample, load_preset, preset_names
    image, words, fields, record = degrade_sample(page, words, fields, "medium", seed=7, max_cer=0.05)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from docfoundry.errors import UserError
from docfoundry.records import FieldBox, WordBox
from synth import effects as fx

PRESET_DIR = Path(__file__).resolve().parent.parent / "templates" / "degrade"
GATE_TRIES = 3  # re-draws of one preset before the readability gate falls back to a lighter one
_TOP_KEYS = ("description", "fallback", *fx.PHASES)
_STEP_KEYS = ("effect", "p")


def preset_names() -> list[str]:
    """The built-in presets: one per YAML file in ``templates/degrade/``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


PRESET_NAMES = tuple(preset_names())


@dataclass(frozen=True)
class Step:
    """One effect of a preset: where it runs, how often, and its parameter specs."""

    phase: str
    effect: str
    p: float
    params: dict[str, Any]


@dataclass(frozen=True)
class Preset:
    """A validated preset: its name, file, ordered steps and the lighter preset to fall back to."""

    name: str
    path: str
    steps: tuple[Step, ...]
    fallback: str | None = None
    description: str = ""


# ------------------------------------------------------------------------- preset validation


def _preset_path(name_or_path: str) -> Path:
    if name_or_path in PRESET_NAMES:
        return PRESET_DIR / f"{name_or_path}.yaml"
    p = Path(name_or_path)
    try:
        found = p.is_file()
        if p.suffix in (".yaml", ".yml") or found or p.exists():
            if not found:
                raise UserError(f"{p}: degradation preset file not found")
            return p
    except OSError as e:  # a name too long for the file system, a path through a file
        raise UserError(f"{name_or_path[:80]}: not a degradation preset file ({e.strerror or e})") from None
    raise UserError(f"unknown degradation preset '{name_or_path}' "
                    f"(built-in: {', '.join(PRESET_NAMES)}; or a path to a .yaml file)")


def _is_number(v: Any) -> bool:
    """A finite number that fits the samplers (numpy draws int64 and float64)."""
    if isinstance(v, bool):
        return False
    return (isinstance(v, int) and abs(v) < 2**63) or (isinstance(v, float) and math.isfinite(v))


def _is_range(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and all(_is_number(x) for x in v)


def _check_own_param(key: str, value: Any, default: Any, limit: fx.Limit | None = None) -> str | None:
    """None when ``value`` fits the parameter whose default is ``default`` and its ``limit``, else the problem."""
    if isinstance(default, fx.OneOf):
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in default.options]
        if bad or not values:
            return f"parameter '{key}' must be one of {', '.join(default.options)} (or a list of them), got {value!r}"
        return None
    integral = all(isinstance(x, int) for x in (default if isinstance(default, list) else [default]))
    kind = "an integer" if integral else "a number"
    if not (_is_number(value) or _is_range(value)):
        return f"parameter '{key}' expects {kind} or a [lo, hi] range, got {value!r}"
    values = value if isinstance(value, list) else [value]
    if integral and not all(isinstance(v, int) for v in values):
        return f"parameter '{key}' expects {kind} or a [lo, hi] range of integers, got {value!r}"
    if isinstance(value, list) and value[0] > value[1]:
        return f"parameter '{key}' range [{value[0]}, {value[1]}] has lo > hi"
    if limit is not None and not all(limit.admits(v) for v in values):
        what = f"range [{value[0]}, {value[1]}]" if isinstance(value, list) else f"value {value!r}"
        return f"parameter '{key}' {what} is outside {limit}"
    return None


def _check_augraphy_param(key: str, value: Any, default: Any, limit: fx.Limit | None = None) -> str | None:
    """None when ``value`` is shaped like augraphy's ``default`` (and its numbers lie within
    ``limit``, where augraphy does not check them itself), else the problem."""
    if default is None or value is None:
        return None
    if isinstance(default, list):
        ok = isinstance(value, list) and len(value) == len(default)
        if not ok:
            return f"parameter '{key}' expects a list of {len(default)} like {default}, got {value!r}"
    elif _is_number(default):
        if not _is_number(value):
            return f"parameter '{key}' expects a number, got {value!r}"
    elif not isinstance(value, type(default)):
        return f"parameter '{key}' expects {type(default).__name__} like {default!r}, got {value!r}"
    if limit is not None:
        values = value if isinstance(value, list) else [value]
        if not all(_is_number(v) and limit.admits(v) for v in values):
            return f"parameter '{key}' expects numbers within {limit}, got {value!r}"
    return None


def _effect_defaults(name: str) -> dict[str, Any]:
    return fx.EFFECTS[name].params if name in fx.EFFECTS else fx.augraphy_params(name)


def _parse_step(path: Path, phase: str, index: int, raw: Any) -> Step:
    where = f"{path}: {phase}[{index}]"
    if not isinstance(raw, dict) or "effect" not in raw:
        raise UserError(f"{where}: each step is a mapping with an 'effect' key, got {raw!r}")
    name = raw["effect"]
    where = f"{where} effect '{name}'"
    if name not in fx.effect_names():
        raise UserError(f"{where}: unknown effect (known: {', '.join(fx.effect_names())})")
    own = fx.EFFECTS.get(name)
    if own is not None and phase not in own.phases:
        raise UserError(f"{where}: runs in {' or '.join(own.phases)}, not in the {phase} phase")
    p = raw.get("p", 1.0)
    if not _is_number(p) or not 0.0 <= float(p) <= 1.0:
        raise UserError(f"{where}: probability p={p!r} is outside [0, 1]")
    defaults = _effect_defaults(name)
    params = {k: v for k, v in raw.items() if k not in _STEP_KEYS}
    for key, value in params.items():
        if key not in defaults:
            raise UserError(f"{where}: unknown parameter '{key}' (known: {', '.join(defaults) or 'none'})")
        if own is not None:
            problem = _check_own_param(key, value, defaults[key], own.limits.get(key))
        else:
            problem = _check_augraphy_param(key, value, defaults[key], fx.AUGRAPHY_LIMITS[name].get(key))
        if problem:
            raise UserError(f"{where}: {problem}")
    return Step(phase, name, float(p), params)


@lru_cache(maxsize=64)
def _load(path: Path, mtime: float) -> Preset:
    from docfoundry.config import load_yaml

    data = load_yaml(path)
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise UserError(f"{path}: unknown key '{unknown[0]}' (known: {', '.join(_TOP_KEYS)})")
    steps = []
    for phase in fx.PHASES:
        if phase not in data:
            raise UserError(f"{path}: missing phase '{phase}' (a preset lists ink, paper and post; [] for none)")
        items = data[phase] or []
        if not isinstance(items, list):
            raise UserError(f"{path}: phase '{phase}' must be a list of effects, got {type(items).__name__}")
        steps += [_parse_step(path, phase, i, raw) for i, raw in enumerate(items)]
    fallback = data.get("fallback")
    if fallback is not None:
        if not isinstance(fallback, str):
            raise UserError(f"{path}: fallback must be a preset name or path, got {fallback!r}")
        try:
            _preset_path(fallback if fallback in PRESET_NAMES else str(path.parent / fallback))
        except UserError as e:
            raise UserError(f"{path}: fallback '{fallback}': {e}") from None
    return Preset(path.stem, str(path), tuple(steps), fallback, str(data.get("description", "")))


def load_preset(name_or_path: str) -> Preset:
    """Read and validate a preset (built-in name or YAML path); a bad one raises ``UserError`` naming
    the file, the effect and the problem."""
    path = _preset_path(str(name_or_path)).resolve()
    return _load(path, path.stat().st_mtime)


def values_problem(values: Any) -> str | None:
    """None when ``values`` is a mapping of ``"effect.param"`` to a number within the parameter's limits
    (one of docfoundry's own effects, not augraphy's), else what is wrong with it."""
    if not isinstance(values, dict):
        return f"strengths must be a mapping of effect.param to a number, got {values!r}"
    for key, value in values.items():
        effect, _, param = str(key).partition(".")
        own = fx.EFFECTS.get(effect)
        if own is None or param not in own.params:
            return f"strength '{key}' names no parameter of docfoundry's effects (e.g. paper.brightness)"
        if not _is_number(value):
            return f"strength '{key}' must be a number, got {value!r}"
        problem = _check_own_param(param, value, own.params[param], own.limits.get(param))
        if problem:
            return f"strength '{key}': {problem}"
    return None


def with_values(preset: Preset, values: dict[str, float]) -> Preset:
    """``preset`` with the parameters in ``values`` (``"effect.param"`` -> a number, as ``values_problem``
    accepts) fixed on its steps of that effect: one page's own strengths, e.g. the scan a ``--like`` page
    is drawn after. A parameter of an effect the preset lacks adds no step; probabilities stay."""
    import dataclasses

    fixed: dict[str, dict[str, float]] = {}
    for key, value in values.items():
        effect, _, param = key.partition(".")
        fixed.setdefault(effect, {})[param] = value
    steps = tuple(dataclasses.replace(s, params={**s.params, **fixed[s.effect]}) if s.effect in fixed else s
                  for s in preset.steps)
    return dataclasses.replace(preset, steps=steps)


def _fallback_of(preset: Preset) -> Preset | None:
    if preset.fallback is None:
        return None
    name = preset.fallback
    return load_preset(name if name in PRESET_NAMES else str(Path(preset.path).parent / name))


# ----------------------------------------------------------------------------- the pipeline


def _draw(spec: Any, default: Any, rng: np.random.Generator) -> Any:
    """A concrete value from a parameter spec: fixed, a [lo, hi] range, or a list of choices."""
    if isinstance(default, fx.OneOf):
        return str(rng.choice(spec)) if isinstance(spec, list) else spec
    if not isinstance(spec, list):
        return spec
    lo, hi = spec
    integral = all(isinstance(x, int) for x in (default if isinstance(default, list) else [default]))
    if integral:
        return int(rng.integers(lo, hi + 1))
    return round(float(rng.uniform(lo, hi)), 5)


def _effect_params(step: Step, rng: np.random.Generator) -> dict[str, Any]:
    defaults = fx.EFFECTS[step.effect].params
    out = {}
    for key, default in defaults.items():
        spec = step.params.get(key, default.options[0] if isinstance(default, fx.OneOf) else default)
        out[key] = _draw(spec, default, rng)
    return out


def edge_points(boxes: np.ndarray, n: int = 5) -> np.ndarray:
    """Points along each box's four edges in pixel-centre coordinates, shape (N, 4n, 2).

    Boxes travel through the warps as these outlines and become boxes again only at the end, so
    two rotations in a row do not inflate a box twice.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    t = np.linspace(0.0, 1.0, n)
    x0, y0, x1, y1 = (boxes[:, i:i + 1] - 0.5 for i in range(4))
    xs = np.concatenate([x0 + (x1 - x0) * t, x1.repeat(n, 1), x0 + (x1 - x0) * t, x0.repeat(n, 1)], axis=1)
    ys = np.concatenate([y0.repeat(n, 1), y0 + (y1 - y0) * t, y1.repeat(n, 1), y0 + (y1 - y0) * t], axis=1)
    return np.stack([xs, ys], axis=2)


def outline_boxes(points: np.ndarray) -> np.ndarray:
    """(N, 4) float boxes in pixel-edge coordinates around outlines from ``edge_points``."""
    if len(points) == 0:
        return np.zeros((0, 4))
    return np.concatenate([points.min(axis=1), points.max(axis=1)], axis=1) + 0.5


@dataclass
class Degraded:
    """The outcome of one draw of a preset: pixels, moved boxes, what was applied, and the warps."""

    image: np.ndarray
    boxes: np.ndarray  # float (N, 4), pixel-edge coordinates, not yet clipped
    applied: list[dict[str, Any]]
    warps: list[tuple[str, fx.Warp]] = field(default_factory=list)  # (phase, warp) in order


def _content(points: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box around all outlines (pixel-edge coordinates): where the page's text is."""
    if len(points) == 0:
        return None
    lo, hi = points.reshape(-1, 2).min(axis=0) + 0.5, points.reshape(-1, 2).max(axis=0) + 0.5
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def degrade_array(page: np.ndarray, boxes: np.ndarray, preset: Preset, seed: int, attempt: int = 0) -> Degraded:
    """Apply one draw of ``preset`` to a uint8 page; ``boxes`` (N, 4) move with the geometry.

    Each step gets its own random stream from (seed, attempt, step index), so changing one step's
    probability or parameters never changes what the other steps draw. Consecutive homographies
    (rotate, perspective, frame) are resampled as one warp: one interpolation, one pass.
    """
    import cv2

    img = np.ascontiguousarray(page)
    points = edge_points(boxes)
    applied: list[dict[str, Any]] = []
    warps: list[tuple[str, fx.Warp]] = []
    paper: np.ndarray | None = None  # the sheet, made when a paper effect first fires
    pending: tuple[str, fx.Warp] | None = None  # geometry decided but not yet resampled

    def resample(img: np.ndarray, pending: tuple[str, fx.Warp]) -> np.ndarray:
        phase, warp = pending
        warps.append(pending)
        return warp.apply(img, False, 255.0 if phase == "ink" else warp.info.get("fill"))

    base = [int(seed) % 2**63, int(attempt)]
    for k, step in enumerate(preset.steps):
        phase = step.phase
        if pending is not None and phase != pending[0]:
            img, pending = resample(img, pending), None
        if phase == "post" and paper is not None:  # leaving the paper phase: ink over the sheet
            img, paper = cv2.multiply(img, paper, scale=1 / 255), None
        rng = np.random.default_rng(base + [k])
        if rng.random() >= step.p:
            continue
        ctx = fx.Context(phase=phase, content=_content(points))
        effect = fx.EFFECTS.get(step.effect)
        if effect is not None and effect.kind == "geometric":
            params = _effect_params(step, rng)
            w, h = pending[1].size if pending else (img.shape[1], img.shape[0])
            warp = effect.run(h, w, rng, ctx, **params)
            points = warp.map_points(points.reshape(-1, 2)).reshape(points.shape)
            applied.append({"phase": phase, "effect": step.effect, "params": params,
                            **{k: v for k, v in warp.info.items() if k != "fill"}})
            joined = fx.then(pending[1], warp) if pending else None
            if joined is None and pending is not None:
                img = resample(img, pending)
            pending = (phase, joined or warp)
            continue
        if pending is not None:
            img, pending = resample(img, pending), None
        if phase == "paper" and paper is None:
            paper, ctx.blank = np.full_like(img, 255), True
        target = paper if phase == "paper" else img
        if effect is not None:
            params = _effect_params(step, rng)
            target = effect.run(target, rng, ctx, **params)
            applied.append({"phase": phase, "effect": step.effect, "params": params})
        else:
            sub_seed = int(rng.integers(2**31 - 1))
            params = {**fx.augraphy_params(step.effect), **step.params}
            try:
                target = fx.run_augraphy(step.effect, target, sub_seed, params)
            except Exception as e:  # augraphy checks few values: one it cannot use is the preset's fault
                index = sum(s.phase == phase for s in preset.steps[:k])
                raise UserError(f"{preset.path}: {phase}[{index}] effect '{step.effect}': augraphy failed with "
                                f"{step.params or 'its defaults'}: {' '.join(f'{type(e).__name__}: {e}'.split())}"
                                ) from None
            applied.append({"phase": phase, "effect": step.effect, "params": params, "seed": sub_seed})
        if phase == "paper":
            paper = target
        else:
            img = target
    if pending is not None:
        img = resample(img, pending)
    if paper is not None:
        img = cv2.multiply(img, paper, scale=1 / 255)
    return Degraded(img, outline_boxes(points), applied, warps)


def _int_boxes(boxes: np.ndarray, width: int, height: int) -> list[list[int]]:
    """Integer boxes that contain the float boxes, clipped to the image."""
    out = []
    for x0, y0, x1, y1 in boxes:
        x0, x1 = min(max(math.floor(x0), 0), width), min(max(math.ceil(x1), 0), width)
        y0, y1 = min(max(math.floor(y0), 0), height), min(max(math.ceil(y1), 0), height)
        out.append([int(x0), int(y0), int(x1), int(y1)])
    return out


def _attempt(page: np.ndarray, words: list[WordBox], fields: list[FieldBox], preset: Preset, seed: int,
             attempt: int) -> tuple[np.ndarray, list[WordBox], list[FieldBox], list[dict[str, Any]]]:
    boxes = np.array([w.box for w in words] + [f.box for f in fields], np.float64).reshape(-1, 4)
    out = degrade_array(page, boxes, preset, seed, attempt)
    h, w = out.image.shape[:2]
    ints = _int_boxes(out.boxes, w, h)
    new_words = [WordBox(wb.text, b, wb.page) for wb, b in zip(words, ints[:len(words)], strict=True)]
    new_fields = [FieldBox(fb.path, fb.text, b, fb.page) for fb, b in zip(fields, ints[len(words):], strict=True)]
    return out.image, new_words, new_fields, out.applied


def _to_pil(arr: np.ndarray):
    from PIL import Image

    return Image.fromarray(arr, "L" if arr.ndim == 2 else "RGB")


def degrade_sample(image, words: list[WordBox], field_boxes: list[FieldBox], preset: str | Preset, seed: int,
                   max_cer: float | None = None):
    """Degrade a clean page with a preset (a name, a YAML path or a loaded ``Preset``); boxes follow the geometry.

    Returns ``(image, words, field_boxes, record)``: the degraded PIL image (RGB, or L for
    bitonal/gray presets), the word and field boxes moved by the same mapping as the pixels
    (integer pixel boxes clipped to the image), and a JSON-ready record for
    ``meta["degradation"]`` (preset, effects applied with their parameters, and the readability
    gate's tries and achieved CER when ``max_cer`` is set). With ``max_cer`` the page is re-drawn
    with new sub-seeds (``GATE_TRIES`` per preset), then with the preset's lighter ``fallback``,
    until rapidocr's CER over the field text is at most ``max_cer``; if no draw passes, the most
    readable one is kept and the record says ``passed: false``.
    """
    current: Preset | None = preset if isinstance(preset, Preset) else load_preset(preset)
    page = np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    record: dict[str, Any] = {"preset": current.name, "seed": int(seed)}
    if max_cer is None:
        img, w, f, applied = _attempt(page, words, field_boxes, current, seed, 0)
        return _to_pil(img), w, f, {**record, "effects": applied}

    from synth.readability import field_cer

    tries: list[dict[str, Any]] = []
    best: tuple[float, Any] | None = None
    seen: set[str] = set()
    while current is not None and current.path not in seen:
        seen.add(current.path)
        for attempt in range(GATE_TRIES if current.steps else 1):
            result = _attempt(page, words, field_boxes, current, seed, attempt)
            score = field_cer(result[0], result[1], result[2])
            tries.append({"preset": current.name, "attempt": attempt, "cer": round(score.cer, 5)})
            if best is None or score.cer < best[0]:
                best = (score.cer, (current.name, result))
            if score.cer <= max_cer:
                break
        else:
            current = _fallback_of(current)
            continue
        break
    cer, (used, (img, w, f, applied)) = best
    gate = {"max_cer": max_cer, "cer": round(cer, 5), "passed": cer <= max_cer, "tries": tries}
    return _to_pil(img), w, f, {**record, "preset": used, "requested": preset if isinstance(preset, str) else preset.name, "effects": applied, "gate": gate}
