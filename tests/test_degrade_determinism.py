"""Same seed, same bytes: every preset and every vetted augraphy effect, in this process and in a
fresh one; another seed gives other bytes."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from synth import effects as fx
from synth.degrade import PRESET_NAMES, degrade_sample
from synth.specimen import specimen_page

REPO = Path(__file__).resolve().parent.parent
SEEDS = (11, 12)


def _augraphy_presets(folder: Path) -> list[str]:
    """One preset per vetted augraphy effect, always applied, in the phase it belongs to."""
    paths = []
    for name in fx.AUGRAPHY_EFFECTS:
        doc = {"ink": [], "paper": [], "post": []}
        doc["paper" if name == "Stains" else "ink"] = [{"effect": name}]
        path = folder / f"aug_{name}.yaml"
        path.write_text(yaml.safe_dump(doc))
        paths.append(str(path))
    return paths


def digests(presets: list[str], seeds=SEEDS) -> dict[str, str]:
    """sha256 of the degraded image bytes and the record, per (preset, seed)."""
    img, words, fields = specimen_page(0)
    out = {}
    for preset in presets:
        for seed in seeds:
            image, w, f, record = degrade_sample(img, words, fields, preset, seed)
            h = hashlib.sha256(np.asarray(image).tobytes())
            h.update(json.dumps([record, [x.box for x in w], [x.box for x in f]], sort_keys=True).encode())
            out[f"{Path(preset).stem}:{seed}"] = h.hexdigest()
    return out


def test_every_preset_and_augraphy_effect_reproduces_across_processes(tmp_path):
    presets = [*PRESET_NAMES, *_augraphy_presets(tmp_path)]
    here = digests(presets)
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + '/tests');"
            "from test_degrade_determinism import digests; print(json.dumps(digests(json.loads(sys.argv[2]))))")
    proc = subprocess.run([sys.executable, "-c", code, str(REPO), json.dumps(presets)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env={"PYTHONHASHSEED": "random", "PATH": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    there = json.loads(proc.stdout.strip().splitlines()[-1])
    assert there == here
    for preset in presets:
        name = Path(preset).stem
        if name != "clean":
            assert here[f"{name}:{SEEDS[0]}"] != here[f"{name}:{SEEDS[1]}"], name


def test_a_step_draws_from_its_own_stream(tmp_path):
    """Switching one step off leaves what the other steps drew unchanged."""
    both = tmp_path / "both.yaml"
    both.write_text("ink: []\npaper: []\npost:\n  - {effect: rotate, p: 1.0}\n  - {effect: noise}\n")
    first_off = tmp_path / "first_off.yaml"
    first_off.write_text("ink: []\npaper: []\npost:\n  - {effect: rotate, p: 0.0}\n  - {effect: noise}\n")
    img, words, fields = specimen_page(1)
    a = degrade_sample(img, words, fields, str(both), 5)[3]["effects"]
    b = degrade_sample(img, words, fields, str(first_off), 5)[3]["effects"]
    assert a[1] == b[0] and b[0]["effect"] == "noise"


def test_textures_are_shared_not_redrawn():
    """Paper, grain and smooth fields are made per (page size, bucket), not per page: their number
    stays bounded by the buckets however many pages are degraded."""
    caches = (fx.grain_field, fx.paper_texture, fx._smooth_canvas, fx._three_channel)
    for cache in caches:
        cache.cache_clear()
    img, words, fields = specimen_page(2)
    for seed in range(40):
        degrade_sample(img, words, fields, "medium", seed)
    made = sum(c.cache_info().misses for c in caches)
    reused = sum(c.cache_info().hits for c in caches)
    # one page size: grain (page, paper fibres), paper, two smooth fields, two RGB copies
    assert made <= 7 * fx.TEXTURE_BUCKETS
    assert reused > made
