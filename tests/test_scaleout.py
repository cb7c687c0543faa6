"""Ray scale-out: shards on a local Ray instance with 2 CPUs write the same folder as one process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docfoundry.cli import main


@pytest.fixture(scope="module")
def local_ray():
    """The tests' `--ray local` runs share one local instance (2 CPUs), shut down at the end."""
    import ray

    yield
    ray.shutdown()


def folder_bytes(folder: Path) -> dict[str, bytes]:
    files = sorted(folder.glob("images/*")) + [folder / "metadata.jsonl"]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def test_synth_on_local_ray_equals_single_process(tmp_path, local_ray):
    import ray

    args = ["synth", "--n", "20", "--doc-types", "receipt,invoice", "--locales", "en_US,fr_FR"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--out", str(tmp_path / "ray"), "--ray", "local", "--workers", "2"]) == 0
    assert ray.available_resources().get("CPU", 0) <= 2
    assert folder_bytes(tmp_path / "ray") == folder_bytes(tmp_path / "one")


def test_label_ocr_on_local_ray_equals_single_process(tmp_path, local_ray, capsys):
    import ray

    ray.shutdown()  # so that the run below is seen starting its own
    pages = tmp_path / "pages"
    assert main(["synth", "--n", "4", "--doc-types", "receipt", "--degrade", "light", "--out", str(pages)]) == 0
    args = ["label", "--in", str(pages), "--schema", "receipt", "--teacher", "ocr", "--batch", "4"]
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main([*args, "--out", str(tmp_path / "ray"), "--ray", "local", "--workers", "2"]) == 0
    on_ray = json.loads(capsys.readouterr().out)
    assert ray.is_initialized() and ray.available_resources().get("CPU", 0) <= 2
    assert one["ocr_calls"] == on_ray["ocr_calls"] == 4 and on_ray["failed"] == 0  # each OCR ran on Ray, none cached
    assert (tmp_path / "ray" / "metadata.jsonl").read_bytes() == (tmp_path / "one" / "metadata.jsonl").read_bytes()
