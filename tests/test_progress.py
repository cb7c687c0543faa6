"""The console a user reads: bar rates, one line per stage, library output routed to a log file."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time

import pytest

from docfoundry.progress import rate, stage_line, track


def test_rate_is_units_over_elapsed_time_on_a_rich_task():
    from rich.progress import Progress

    clock = [100.0]
    bar = Progress(get_time=lambda: clock[0], disable=True)
    task_id = bar.add_task("label", total=4)
    clock[0] += 8.999  # label yields a batch of pages at once, after 9 s of work
    bar.update(task_id, advance=2)
    clock[0] += 0.001
    bar.update(task_id, advance=2)
    task = bar.tasks[0]
    assert task.speed > 1000  # rich's own estimate: what the bar showed ("655.4 pages/s")
    assert rate(task) == pytest.approx(4 / 9)


def test_a_bar_shows_pages_over_elapsed_time(capsys):
    def batch():
        time.sleep(1.0)
        yield from ("a", "b")  # two pages finish together

    for _ in track(batch(), 2, "label"):
        pass
    err = capsys.readouterr().err
    shown = float(re.search(r"([\d.]+) pages/s", err).group(1))
    assert 0.5 <= shown <= 2.0, err  # 2 pages in >= 1 s


def test_a_stage_is_one_line_summing_its_tracks(capsys):
    with stage_line("label"):
        for _ in track(range(2), 2, "label receipt"):
            pass
        for _ in track(range(3), 3, "label invoice"):
            pass
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("label") and "5/5" in lines[0], lines


SCRIPT = """
import logging, os, subprocess, sys, warnings
from pathlib import Path
from docfoundry.progress import note, route_output, stage_line, track

lib = logging.getLogger("somelib")
lib.addHandler(logging.StreamHandler())  # created before the routing, as libraries do at import
with route_output(Path(sys.argv[1])):
    with stage_line("stage"):
        for _ in track(range(3), 3, "work"):
            print("LIB-PRINT")
            lib.warning("LIB-LOG")
            warnings.warn("LIB-WARNING")
            os.write(2, b"LIB-FD\\n")
            subprocess.run(["echo", "LIB-CHILD"], check=True)
        print("warning: OWN-WARNING", file=sys.stderr)  # docfoundry's own: the user reads it
    note("NOTE-LINE")
print("AFTER")
"""


def test_library_output_goes_to_the_log_and_stage_lines_to_the_console(tmp_path):
    log = tmp_path / "run.log"
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT), str(log)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    console = proc.stdout + proc.stderr
    for noise in ("LIB-PRINT", "LIB-LOG", "LIB-WARNING", "LIB-FD", "LIB-CHILD"):
        assert noise not in console
        assert noise in log.read_text(), noise
    assert proc.stdout == "AFTER\n"  # stdout is the process's own again afterwards
    lines = proc.stderr.splitlines()
    assert lines[0] == "warning: OWN-WARNING" and "OWN-WARNING" in log.read_text()
    assert len(lines) == 3 and lines[1].startswith("stage") and "3/3" in lines[1] and lines[2] == "NOTE-LINE"
