"""`docfoundry run`: the whole chain from nothing to a distilled student and its report.

    docfoundry run                                        # templates/runs/quickstart.yaml, offline
    docfoundry run my_run.yaml --out runs/acme
    docfoundry run my_run.yaml --from label --until eval  # a slice of an existing RUN_DIR
    docfoundry report runs/acme                           # re-draw the run report

Every stage writes ``RUN_DIR/<stage>/`` through its own library function. A stage is skipped when
it finished with the same inputs (hash of its config and of the stages it reads), and an
interrupted stage resumes, because each stage resumes by itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docfoundry.cli import Command
from docfoundry.config import from_dict, load_yaml, opt, to_dict
from docfoundry.errors import UserError

# --- the run config: one section per stage ------------------------------------------------------


@dataclass(kw_only=True)
class SynthSection:
    doc_types: list[str] = opt(["invoice", "receipt", "w2", "form"], "document types")
    n: int = opt(240, "synthetic pages (train/validation/test)")
    locales: list[str] = opt(["en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT"], "locales")
    degrade: str = opt("clean=0.4,light=0.3,medium=0.3", "degradation preset or weighted mix")
    splits: dict[str, float] = opt({"train": 0.8, "validation": 0.1, "test": 0.1}, "split shares")
    workers: int = opt(2, "worker processes")
    ray: str | None = opt(None, "Ray address ('local' or a cluster) for shards")


@dataclass(kw_only=True)
class UnlabeledSection:
    path: str = opt("", "folder of real unlabeled images/PDFs or a dataset folder; empty: held-out synthetic pages")
    n: int = opt(24, "held-out synthetic pages labeled as if unlabeled (when path is empty)")
    degrade: str = opt("medium", "degradation of the held-out pages")


@dataclass(kw_only=True)
class TeacherSection:
    spec: str = opt("ocr", "teacher: ocr | vllm:MODEL | openai:URL#MODEL | hf:MODEL")
    samples: int = opt(1, "answers sampled per page for voting")
    temperature: float = opt(0.7, "sampling temperature when samples > 1")
    min_confidence: float = opt(0.0, "drop fields below this confidence")
    workers: int = opt(2, "worker processes (ocr teacher)")


@dataclass(kw_only=True)
class InstructSection:
    tasks: list[str] = opt(["all"], "task families from truth")
    per_page: int = opt(6, "tasks per page")
    teacher_tasks: list[str] = opt(["extract", "qa", "subset"], "task families made from teacher labels")


@dataclass(kw_only=True)
class StudentSection:
    model: str = opt("tiny:idefics3", "student: hub id or folder, or tiny:<family> to build a tiny model offline")
    tiny_size: str = opt("tiny", "size of a tiny:<family> student")
    train: dict[str, Any] = opt({}, "options for `docfoundry train` (method, max_steps, lr, batch, ...)")


@dataclass(kw_only=True)
class EvalSection:
    split: str = opt("test", "synthetic split to evaluate on")
    limit: int = opt(24, "pages evaluated per model (0: all)")
    real: list[str] = opt([], "extra truth folders (dataset folder, labels.jsonl, SROIE, FUNSD, CORD)")
    max_new_tokens: int = opt(384, "generation limit per page")


@dataclass(kw_only=True)
class RunConfig:
    out: str = opt("runs/quickstart", "run folder")
    seed: int = opt(0, "global seed")
    synth: SynthSection = field(default_factory=SynthSection)
    unlabeled: UnlabeledSection = field(default_factory=UnlabeledSection)
    teacher: TeacherSection = field(default_factory=TeacherSection)
    instruct: InstructSection = field(default_factory=InstructSection)
    student: StudentSection = field(default_factory=StudentSection)
    eval: EvalSection = field(default_factory=EvalSection)


# --- stages ---------------------------------------------------------------------------------------


@dataclass
class Stage:
    """A step of the run: reads the folders of ``needs``, writes ``RUN_DIR/<name>``."""

    name: str
    needs: tuple[str, ...]
    section: Callable[[RunConfig], Any]  # the part of the config that defines its output
    run: Callable[[RunConfig, Path], dict[str, Any]]


def stage_synth(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    from synth.generate import SynthConfig, run

    s = cfg.synth
    return run(SynthConfig(out=str(run_dir / "synth"), doc_types=s.doc_types, n=s.n, locales=s.locales,
                           seed=cfg.seed, degrade=s.degrade, splits=s.splits, workers=s.workers, ray=s.ray))


def stage_heldout(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Fresh synthetic pages (another seed) that the teacher labels as if they were real scans."""
    from synth.generate import SynthConfig, run

    if cfg.unlabeled.path:
        return {"skipped": "unlabeled.path is set", "path": cfg.unlabeled.path}
    s = cfg.synth
    return run(SynthConfig(out=str(run_dir / "heldout"), doc_types=s.doc_types, n=cfg.unlabeled.n,
                           locales=s.locales, seed=cfg.seed + 1_000_003, degrade=cfg.unlabeled.degrade,
                           splits={"train": 1.0}, workers=s.workers, ray=s.ray))


def stage_instruct(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    from distill.instruct import InstructConfig, run

    return run(InstructConfig(input=str(run_dir / "synth"), out=str(run_dir / "instruct"), split="train",
                              tasks=cfg.instruct.tasks, per_page=cfg.instruct.per_page, seed=cfg.seed))


def student_path(cfg: RunConfig, run_dir: Path) -> str:
    """Where the student model is: the tiny model this run built, or the configured id/folder."""
    return str(run_dir / "student") if cfg.student.model.startswith("tiny:") else cfg.student.model


def stage_student(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Build the tiny student offline (``tiny:<family>``); a real student is only checked."""
    from docfoundry.models import TinyConfig, load_config, run_tiny

    if cfg.student.model.startswith("tiny:"):
        family = cfg.student.model.split(":", 1)[1]
        # a larger init lets a tiny model learn within a short run (FINDINGS)
        return run_tiny(TinyConfig(family=family, out=str(run_dir / "student"), size=cfg.student.tiny_size,
                                   seed=cfg.seed, init_range=0.15))
    config = load_config(cfg.student.model)
    return {"model": cfg.student.model, "model_type": config.model_type}


STAGES: list[Stage] = [
    Stage("synth", (), lambda c: (c.seed, c.synth), stage_synth),
    Stage("heldout", (), lambda c: (c.seed, c.synth, c.unlabeled), stage_heldout),
    Stage("instruct", ("synth",), lambda c: (c.seed, c.instruct.tasks, c.instruct.per_page), stage_instruct),
    Stage("student", (), lambda c: (c.seed, c.student.model, c.student.tiny_size), stage_student),
]


def stage_names() -> list[str]:
    return [s.name for s in STAGES]


# --- orchestration --------------------------------------------------------------------------------

DEFAULT_CONFIG = "runs/quickstart.yaml"


@dataclass(kw_only=True)
class RunArgs:
    config: str = opt("", "run config YAML (default: templates/runs/quickstart.yaml)", positional=True)
    out: str = opt("", "run folder (overrides the config's out)")
    from_stage: str = opt("", "first stage to run (earlier ones must be complete)", flag="--from")
    until: str = opt("", "last stage to run")


def load_run_config(path: str, out: str = "") -> RunConfig:
    """Read and validate a run config; errors name the key (section.key) and the file."""
    from docfoundry.doctypes import templates_root

    file = Path(path) if path else templates_root() / DEFAULT_CONFIG
    data = load_yaml(file)
    try:
        cfg = from_dict(RunConfig, data)
    except UserError as e:
        raise UserError(f"{file}: {e}") from None
    if out:
        cfg.out = out
    return cfg


def _digest(value: Any) -> str:
    data = json.dumps(value, sort_keys=True, default=lambda o: dataclasses.asdict(o)
                      if dataclasses.is_dataclass(o) else str(o))
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def stage_hashes(cfg: RunConfig) -> dict[str, str]:
    """Each stage's input hash: its config section plus the hashes of the stages it reads."""
    out: dict[str, str] = {}
    for s in STAGES:
        out[s.name] = _digest([s.name, s.section(cfg), [out[n] for n in s.needs]])
    return out


def validate_up_front(cfg: RunConfig) -> None:
    """Everything that can be checked before long work starts (paths, types, presets, teacher)."""
    from synth.generate import SynthConfig, validate

    s = cfg.synth
    validate(SynthConfig(out="unused", doc_types=s.doc_types, n=s.n, locales=s.locales, degrade=s.degrade,
                         splits=s.splits))
    validate(SynthConfig(out="unused", doc_types=s.doc_types, n=max(1, cfg.unlabeled.n), locales=s.locales,
                         degrade=cfg.unlabeled.degrade))
    for key, path in [("unlabeled.path", cfg.unlabeled.path), *[(f"eval.real[{i}]", p) for i, p in enumerate(cfg.eval.real)]]:
        if path and not Path(path).exists():
            raise UserError(f"config key '{key}': path not found: {path}")
    for extra in VALIDATORS:
        extra(cfg)


VALIDATORS: list[Callable[[RunConfig], None]] = []


def _read_state(run_dir: Path) -> dict[str, Any]:
    p = run_dir / "run.json"
    return json.loads(p.read_text()) if p.is_file() else {"stages": {}}


def _write_state(run_dir: Path, state: dict[str, Any]) -> None:
    tmp = run_dir / ".run.json.tmp"
    tmp.write_text(json.dumps(state, indent=2, default=str))
    tmp.replace(run_dir / "run.json")


def run_pipeline(cfg: RunConfig, from_stage: str = "", until: str = "") -> dict[str, Any]:
    """Run the stages in order (or a slice), skipping finished ones; returns per-stage status."""
    from docfoundry.store import versions

    names = stage_names()
    for flag, name in (("--from", from_stage), ("--until", until)):
        if name and name not in names:
            raise UserError(f"{flag}: unknown stage '{name}' (stages: {', '.join(names)})")
    first = names.index(from_stage) if from_stage else 0
    last = names.index(until) if until else len(names) - 1
    validate_up_front(cfg)
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = _read_state(run_dir)
    hashes = stage_hashes(cfg)
    for name in names[:first]:
        done = state["stages"].get(name, {})
        if done.get("status") != "complete" or done.get("hash") != hashes[name]:
            raise UserError(f"--from {names[first]}: stage '{name}' of {run_dir} is not complete for this "
                            "config; run it first (or drop --from)")
    state.update(config=to_dict(cfg), versions=versions("torch", "transformers", "peft", "vllm", "faker",
                                                           "reportlab", "augraphy", "rapidocr"))
    for stage in STAGES[first:last + 1]:
        prev = state["stages"].get(stage.name, {})
        if prev.get("status") == "complete" and prev.get("hash") == hashes[stage.name]:
            continue
        if prev.get("hash") not in (None, hashes[stage.name]):
            shutil.rmtree(run_dir / stage.name, ignore_errors=True)  # its inputs changed: redo from scratch
        state["stages"][stage.name] = {"status": "running", "hash": hashes[stage.name]}
        _write_state(run_dir, state)
        start = time.time()
        summary = stage.run(cfg, run_dir)
        state["stages"][stage.name] = {"status": "complete", "hash": hashes[stage.name],
                                       "seconds": round(time.time() - start, 1), "summary": summary}
        _write_state(run_dir, state)
    from docfoundry.run_report import write_run_report

    report = write_run_report(run_dir)
    return {"out": str(run_dir), "report": report,
            "stages": {k: v.get("status") for k, v in state["stages"].items()}}


def run_command(args: RunArgs) -> dict[str, Any]:
    return run_pipeline(load_run_config(args.config, args.out), args.from_stage, args.until)


@dataclass(kw_only=True)
class ReportArgs:
    run_dir: str = opt(help="a run folder written by `docfoundry run`", positional=True)


def report_command(args: ReportArgs) -> dict[str, Any]:
    from docfoundry.run_report import write_run_report

    if not (Path(args.run_dir) / "run.json").is_file():
        raise UserError(f"{args.run_dir}: not a run folder (no run.json)")
    return {"report": write_run_report(Path(args.run_dir))}


COMMANDS = [
    Command("run", "the whole chain: synth -> label -> instruct -> train -> eval -> report (resumable)",
            RunArgs, run_command, usage=__doc__.split("\n\n")[1]),
    Command("report", "re-draw a run's report.html / report.md", ReportArgs, report_command),
]
