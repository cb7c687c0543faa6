"""One writer per output folder: a second `synth` on the `--out` of a running one exits 2 with one
line naming the holder, the first completes; a killed holder never blocks the resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docfoundry.errors import UserError
from docfoundry.store import LOCK_INFO, DatasetWriter, OutputLock, iter_rows

REPO = Path(__file__).resolve().parent.parent
SYNTH = [sys.executable, "-m", "docfoundry", "synth", "--n", "40", "--doc-types", "receipt,invoice",
         "--locales", "en_US", "--degrade", "medium"]
HOLD = ("import sys, time; from docfoundry.store import OutputLock; lock = OutputLock(sys.argv[1]); "
        "print('held', flush=True); time.sleep(120)")


def _wait_for(check, what: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_second_synth_on_a_busy_folder_exits_2_naming_the_holder(tmp_path):
    out = tmp_path / "ds"
    first = subprocess.Popen([*SYNTH, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, cwd=REPO)
    try:
        _wait_for(lambda: (out / "run.json").is_file() or first.poll() is not None, "the first run to start")
        assert first.poll() is None, "the first run must still be working"
        second = subprocess.run([*SYNTH, "--out", str(out)], capture_output=True, text=True, cwd=REPO, timeout=120)
        still_running = first.poll() is None
    finally:
        _, first_err = first.communicate(timeout=600)
    assert second.returncode == 2, "the second writer went ahead on a folder in use"
    assert still_running, "the second run must have been tried while the first held the folder"
    err = second.stderr.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {out}: in use by another writer (pid {first.pid} on ")
    assert "synth --n 40" in err
    assert first.returncode == 0, first_err[-2000:]
    rows = list(iter_rows(out))
    assert len(rows) == 40 and len({r["id"] for r in rows}) == 40
    assert all((out / r["file_name"]).is_file() for r in rows)
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "complete" and info["counts"]["pages"] == 40
    assert not (out / LOCK_INFO).exists()  # released: the holder's note is gone


def _holder(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_every_stage_writer_is_refused_while_another_process_holds_the_folder(tmp_path):
    out = tmp_path / "labels"
    holder = _holder(out)
    try:
        with pytest.raises(UserError) as e:
            DatasetWriter(out, stage="label", fingerprint={}, config={})
        msg = str(e.value)
        assert msg.startswith(f"{out}: in use by another writer (pid {holder.pid} on ") and "\n" not in msg
        assert not (out / "run.json").exists()  # refused before touching the folder's run
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # kill -9 frees the lock with the process: the resume goes ahead and cleans the stale note
    writer = DatasetWriter(out, stage="label", fingerprint={}, config={})
    writer.append({"id": "a"})
    writer.finish({})
    assert not (out / LOCK_INFO).exists()


def test_a_lock_is_released_for_the_next_writer_and_taken_over_in_process(tmp_path):
    out = tmp_path / "run"
    with OutputLock(out):
        assert json.loads((out / LOCK_INFO).read_text())["pid"] == os.getpid()
    assert not (out / LOCK_INFO).exists()
    abandoned = DatasetWriter(out, stage="t", fingerprint={}, config={})  # an error left it unfinished
    writer = DatasetWriter(out, stage="t", fingerprint={}, config={})
    writer.finish({})
    assert abandoned.lock is not writer.lock
    proc = _holder(out)  # another process gets it once this one has let go
    proc.kill()
    proc.wait()


def test_out_that_is_a_file_is_one_line(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        OutputLock(path)


MINI_RUN = """
seed: 3
synth: {doc_types: [receipt], n: 4, locales: [en_US]}
unlabeled: {n: 2}
teacher: {spec: ocr}
student: {model: tiny:idefics3, tiny_size: micro, train: {max_steps: 1}}
eval: {n: 2}
"""


def test_eval_and_run_outputs_are_locked_too(tmp_path, capsys):
    """The writers that do not go through DatasetWriter (an eval report, a `docfoundry run` folder)
    take the same lock: refused with one line while another process holds the folder."""
    from eval_fixtures import RECEIPTS, dataset_folder

    from docfoundry.cli import main

    truth = dataset_folder(tmp_path / "truth", {k: RECEIPTS[k] for k in ("r1", "r2")})
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"id": k, "fields": RECEIPTS[k]}) + "\n" for k in ("r1", "r2")))
    config = tmp_path / "mini.yaml"
    config.write_text(MINI_RUN)
    report, run_dir = tmp_path / "report", tmp_path / "run"
    holders = [_holder(report), _holder(run_dir)]
    try:
        for argv, folder, holder in (
                (["eval", "--truth", str(truth), "--pred", str(preds), "--bootstrap", "0", "--out", str(report)],
                 report, holders[0]),
                (["run", str(config), "--out", str(run_dir)], run_dir, holders[1])):
            capsys.readouterr()
            assert main(argv) == 2, argv[0]
            err = capsys.readouterr().err
            assert err.startswith(f"error: {folder}: in use by another writer (pid {holder.pid} on ") and err.count("\n") == 1
        assert not (report / "metrics.json").exists() and not (run_dir / "run.json").exists()
    finally:
        for h in holders:
            h.kill()
            h.wait()
    assert main(["eval", "--truth", str(truth), "--pred", str(preds), "--bootstrap", "0", "--out", str(report)]) == 0
    assert (report / "metrics.json").is_file() and not (report / LOCK_INFO).exists()


def test_a_writer_killed_while_opening_leaves_a_folder_it_resumes(tmp_path, monkeypatch):
    """A kill after the lock was taken but before run.json was written (the resume of `docfoundry
    run` hit it: "exists, is not empty and has no run.json"): the writer crashes right before its
    run.json here, and the folder it leaves opens again."""
    import docfoundry.store as store

    out = tmp_path / "out"

    def crash(*_: object) -> dict:
        raise KeyboardInterrupt  # stands for the kill: the moment between taking the lock and run.json

    with monkeypatch.context() as m:
        m.setattr(store, "versions", crash)
        with pytest.raises(KeyboardInterrupt):
            DatasetWriter(out, stage="s", fingerprint={"a": 1}, config={})
    writer = DatasetWriter(out, stage="s", fingerprint={"a": 1}, config={})
    writer.finish({})
    assert json.loads((out / "run.json").read_text())["status"] == "complete"
    (out / "run.json").unlink()  # a folder with real content and no run.json is still refused
    with pytest.raises(UserError, match="has no run.json"):
        DatasetWriter(out, stage="s", fingerprint={"a": 1}, config={})
