"""Ray scale-out: shards on a local Ray instance with 2 CPUs write the same folder as one process."""

from __future__ import annotations

from pathlib import Path

from docfoundry.cli import main


def folder_bytes(folder: Path) -> dict[str, bytes]:
    files = sorted(folder.glob("images/*")) + [folder / "metadata.jsonl"]
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


def test_synth_on_local_ray_equals_single_process(tmp_path):
    import ray

    args = ["synth", "--n", "20", "--doc-types", "receipt,invoice", "--locales", "en_US,fr_FR"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    try:
        assert main([*args, "--out", str(tmp_path / "ray"), "--ray", "local", "--workers", "2"]) == 0
        assert ray.available_resources().get("CPU", 0) <= 2
    finally:
        ray.shutdown()
    assert folder_bytes(tmp_path / "ray") == folder_bytes(tmp_path / "one")
