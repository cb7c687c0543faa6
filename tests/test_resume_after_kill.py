"""A kill inside the first atomic write of a folder leaves only its temporary file: the re-run
resumes there instead of refusing the folder as someone else's."""

from __future__ import annotations

import json

from docfoundry.store import RUN_INFO, DatasetWriter


def test_a_folder_holding_only_an_interrupted_run_json_write_is_resumed(tmp_path):
    out = tmp_path / "labels"
    out.mkdir()
    (out / f".{RUN_INFO}.tmp").write_text('{"stage": "lab')  # killed between the write and the rename
    writer = DatasetWriter(out, stage="label", fingerprint={"a": 1}, config={})
    writer.finish({"pages": 0}, status="complete")
    assert json.loads((out / RUN_INFO).read_text())["stage"] == "label"
