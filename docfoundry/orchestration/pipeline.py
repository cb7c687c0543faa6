"""`docfoundry run`: the whole chain from nothing to a distilled student and its report.

    docfoundry run                                        # templates/runs/quickstart.yaml, offline
    docfoundry run my_run.yaml --out runs/acme
    docfoundry run my_run.yaml --from label --until audit  # a slice of an existing RUN_DIR
    docfoundry report runs/acme                           # re-draw the run report

Every stage writes its folders (``Stage.writes``, under RUN_DIR) through its own library function.
A stage is skipped when it finished with the same inputs (hash of its config, of the content of any
outside model it reads, and of the stages it reads); when they changed, all its folders are removed
and it runs again. An interrupted stage resumes, because each stage resumes by itself. The console
shows one line per stage; library output goes to ``RUN_DIR/run.log``.
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

from distill.instruct import InstructConfig
from distill.label import LabelConfig
from docfoundry.commands import Command
from docfoundry.config import from_dict, group, grouped, load_yaml, opt, to_dict
from docfoundry.errors import UserError
from eval.run import EvalConfig
from synth.generate import SynthConfig

# --- the run config: one section per stage ------------------------------------------------------


# A section nests the real config of the stage it feeds (``group``): its keys are that config's own,
# with that config's defaults; the folders and the seed are the run's (filled with dataclasses.replace).
BY_THE_RUN = "set by the run itself (each stage's folders, the global seed)"


@grouped
@dataclass(kw_only=True)
class SynthSection:
    pages: SynthConfig = group(SynthConfig, "the training pages; their types, locales and look are also the "
                               "held-out and eval pages'", fixed=("out", "seed"), why_fixed=BY_THE_RUN,
                               out="", workers=2)  # the run uses both cores


@dataclass(kw_only=True)
class UnlabeledSection:
    path: str = opt("", "folder of real unlabeled images/PDFs or a dataset folder; empty: held-out synthetic pages")
    n: int = opt(24, "held-out synthetic pages labeled as if unlabeled (when path is empty)")
    degrade: str = opt("medium", "degradation of the held-out pages")
    schema: str = opt("", "document type of the pages in path (required with path)")
    truth: str = opt("", "labeled real pages for the pages in path (labels.jsonl, SROIE, FUNSD, CORD or a dataset "
                         "folder): the audit scores the teacher on them, next to synthetic pages")
    field_map: dict[str, str] = opt({}, "truth field -> schema field for truth (company: store_name); the "
                                        "schema's x-aliases map without it")


def label_option(name: str) -> Any:
    """A teacher key of the run that is a ``docfoundry label`` option under another name: label's
    default and help (the other label options go in ``options`` by their own names)."""
    f = next(f for f in dataclasses.fields(LabelConfig) if f.name == name)
    return opt(f.default, f.metadata["help"])


@dataclass(kw_only=True)
class TeacherSection:
    spec: str = label_option("teacher")
    min_confidence: float = label_option("min_confidence")
    options: dict[str, Any] = opt({}, "any other `docfoundry label` option by its config name (samples, temperature, "
                                      "workers, ray, max_image_tokens, tensor_parallel_size, ...), checked up front")


# label options the run sets when a config does not: both cores for the ocr teacher
RUN_LABEL_DEFAULTS: dict[str, Any] = {"workers": 2}


@grouped
@dataclass(kw_only=True)
class InstructSection:
    tasks_from_truth: InstructConfig = group(
        InstructConfig, "the instruction tasks made from the synthetic truth", why_fixed=BY_THE_RUN,
        fixed=("input", "out", "source", "split", "seed", "teacher", "filter", "max_tokens"), input="", out="")
    teacher_tasks: list[str] = opt(["extract", "qa", "subset"], "task families made from teacher labels")
    labeled: list[str] = opt([], "labeled dataset folders of your own (a `docfoundry review import` folder): made "
                                 "into teacher_tasks like the teacher's labels")


@dataclass(kw_only=True)
class StudentSection:
    model: str = opt("tiny:idefics3", "student: hub id or folder, or tiny:<family> to build a tiny model offline")
    tiny_size: str = opt("tiny", "size of a tiny:<family> student")
    train: dict[str, Any] = opt({}, "options for `docfoundry train` (method, max_steps, lr, batch, ...)")


@grouped
@dataclass(kw_only=True)
class EvalSection:
    n: int = opt(24, "fresh synthetic pages every model is scored on (the eval set)")
    degrade: str = opt("clean=0.4,light=0.3,medium=0.3", "degradation of the eval set")
    real: list[str] = opt([], "extra truth folders (dataset folder, labels.jsonl, SROIE, FUNSD, CORD)")
    scoring: EvalConfig = group(EvalConfig, "how the base, student and teacher are run and scored (engine, "
                                "max_new_tokens, ...)", why_fixed=BY_THE_RUN,
                                fixed=("truth", "out", "pred", "model", "adapter", "label", "seed"), truth="", out="")


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
    """A step of the run: reads what the stages in ``needs`` wrote, writes the folders ``writes``."""

    name: str
    needs: tuple[str, ...]
    section: Callable[[RunConfig], Any]  # what defines its output: config parts, contents of outside models
    run: Callable[[RunConfig, Path], dict[str, Any]]
    writes: tuple[str, ...]  # every folder it writes, relative to RUN_DIR: removed together when its inputs change


def synth_config(cfg: RunConfig, out: Path | str, **pages: Any) -> SynthConfig:
    """The ``docfoundry synth`` config of a run's pages: the synth section in folder ``out``, with
    ``pages`` (n, seed, degrade, splits, like) where these pages differ from the training pages."""
    return dataclasses.replace(cfg.synth.pages, out=str(out), **{"seed": cfg.seed, "like": "", **pages})


def _pages_of(cfg: RunConfig, name: str) -> dict[str, Any]:
    """How the pages of stage ``name`` differ from the synth section: the training pages alone look
    like the ``like`` scans (the fit replaces their degradation)."""
    if name == "synth":
        return {"like": cfg.synth.like, "degrade": "clean"} if cfg.synth.like else {}
    if name == "heldout":
        return {"n": cfg.unlabeled.n, "seed": cfg.seed + 1_000_003, "degrade": cfg.unlabeled.degrade,
                "splits": {"train": 1.0}}
    return {"n": cfg.eval.n, "seed": cfg.seed + 2_000_003, "degrade": cfg.eval.degrade, "splits": {"test": 1.0}}


def stage_synth(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Training pages with exact truth."""
    from synth.generate import run

    return run(synth_config(cfg, run_dir / "synth", **_pages_of(cfg, "synth")))


def stage_heldout(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Fresh synthetic pages (another seed) that the teacher labels as if they were real scans."""
    from synth.generate import run

    if cfg.unlabeled.path:
        return {"skipped": "unlabeled.path is set", "path": cfg.unlabeled.path}
    return run(synth_config(cfg, run_dir / "heldout", **_pages_of(cfg, "heldout")))


def stage_evalset(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """The pages every model (base, student, teacher) is scored on: unseen seed, exact truth."""
    from synth.generate import run

    return run(synth_config(cfg, run_dir / "evalset", **_pages_of(cfg, "evalset")))


def label_config(cfg: RunConfig, source: Path | str, schema: str, out: Path | str) -> Any:
    """The ``docfoundry label`` config of a run: ``teacher.options`` read as label keys (an unknown
    or badly typed one is an error naming it), the spec, threshold, seed and folders from the run."""
    t = cfg.teacher
    fixed = {"source": str(source), "schema": schema, "out": str(out), "teacher": t.spec,
             "min_confidence": t.min_confidence, "seed": cfg.seed}
    clash = sorted(set(fixed) & {k.replace("-", "_") for k in t.options})
    if clash:
        raise UserError(f"config key 'teacher.options.{clash[0]}': set by the run itself (teacher.spec, "
                        "teacher.min_confidence, the global seed and the run folder)")
    return from_dict(LabelConfig, {"progress": True, **RUN_LABEL_DEFAULTS, **t.options, **fixed},
                     prefix="teacher.options.")


def _label_all(cfg: RunConfig, source: Path, out: Path) -> dict[str, Any]:
    """Label a (mixed-type) dataset folder with the teacher, one schema at a time."""
    from distill.label import run
    from docfoundry.store import subset

    summaries = {}
    for doc_type in cfg.synth.doc_types:
        view = out / "pages" / doc_type
        if not subset(source, view, lambda row, d=doc_type: row["doc_type"] == d):
            continue
        summaries[doc_type] = run(label_config(cfg, view, doc_type, out / doc_type))
    return {"pages": sum(v["pages"] for v in summaries.values()),
            "failed": sum(v["failed"] for v in summaries.values()),
            "fields_kept": sum(v["fields_kept"] for v in summaries.values()),
            "teacher_calls": sum(v["teacher_calls"] for v in summaries.values())}


def stage_label(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """The teacher weak-labels the unlabeled pages (real ones, or the held-out synthetic ones)."""
    if cfg.unlabeled.path:
        from distill.label import run

        schema = cfg.unlabeled.schema
        return run(label_config(cfg, cfg.unlabeled.path, schema, run_dir / "label" / schema))
    return _label_all(cfg, run_dir / "heldout", run_dir / "label")


def stage_audit(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """How far the teacher's labels and confidences can be trusted, against exact truth."""
    from distill.label.scores import score_labels, synthetic_truth
    from docfoundry.doctypes import load_doc_type

    if cfg.unlabeled.path:
        return _audit_real(cfg, run_dir)
    out = run_dir / "audit"
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    for folder in sorted(p for p in (run_dir / "label").iterdir() if (p / "metadata.jsonl").is_file()):
        truth = synthetic_truth(run_dir / "heldout", folder.name)
        report[folder.name] = score_labels(load_doc_type(folder.name), truth, folder)  # as `label audit` scores
    (out / "audit.json").write_text(json.dumps(report, indent=2))
    (out / "confidence_buckets.png").write_bytes(_bucket_plot(report))
    return {t: r["field_accuracy"] for t, r in report.items()}


def _audit_real(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """The audit of a run on real pages: synthetic pages of their type, and with ``unlabeled.truth``
    the real pages too (scored side by side; their OCR and answers come from the label stage's cache)."""
    from distill.label import AuditConfig, run_audit, teacher_settings

    u = cfg.unlabeled
    teacher = teacher_settings(label_config(cfg, u.path, u.schema, run_dir / "label" / u.schema))
    summary = run_audit(AuditConfig(schema=u.schema, out=str(run_dir / "audit" / u.schema), n=u.n,
                                    degrade=u.degrade, truth=u.truth, field_map=u.field_map,
                                    cache=str(run_dir / "label" / u.schema / "cache"), **teacher))
    report = {u.schema: json.loads((run_dir / "audit" / u.schema / "audit.json").read_text())}
    (run_dir / "audit" / "audit.json").write_text(json.dumps(report, indent=2))  # {type: audit}, as below
    (run_dir / "audit" / "confidence_buckets.png").write_bytes(_bucket_plot(report))
    return summary


def _bucket_plot(report: dict[str, Any]) -> bytes:
    from eval.plots import grouped_bars

    buckets = sorted({b for r in report.values() for b in r["per_confidence_bucket"]})
    series = {t: [100 * r["per_confidence_bucket"][b]["accuracy"] if b in r["per_confidence_bucket"] else None
                  for b in buckets] for t, r in report.items()}
    return grouped_bars(buckets, series, "Teacher accuracy per confidence bucket", xlabel="accuracy (%)")


def stage_instruct(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Tasks from synthetic truth, plus extraction tasks from the teacher's kept labels."""
    from distill.instruct import run

    def tasks(source: Path | str, out: str, **kw: Any) -> dict[str, Any]:
        return run(dataclasses.replace(cfg.instruct.tasks_from_truth, input=str(source),
                                       out=str(run_dir / "instruct" / out), seed=cfg.seed, **kw))

    teacher_tasks = {"tasks": cfg.instruct.teacher_tasks, "per_page": max(1, cfg.instruct.per_page // 2)}
    out = {"truth": tasks(run_dir / "synth", "truth", split="train")}
    for folder in sorted(p for p in (run_dir / "label").glob("*") if (p / "metadata.jsonl").is_file()):
        out[f"teacher_{folder.name}"] = tasks(folder, f"teacher_{folder.name}", **teacher_tasks)
    for i, folder in enumerate(cfg.instruct.labeled):  # reviewed labels: human fields are truth there
        out[f"labeled_{i}"] = tasks(folder, f"labeled_{i}_{Path(folder).name}", **teacher_tasks)
    return {"conversations": sum(v["conversations"] for v in out.values()),
            "tasks": sum(v["tasks"] for v in out.values())}


def student_path(cfg: RunConfig, run_dir: Path) -> str:
    """Where the student model is: the tiny model this run built, or the configured id/folder."""
    return str(run_dir / "student") if cfg.student.model.startswith("tiny:") else cfg.student.model


def stage_student(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Build the tiny student offline (``tiny:<family>``); a real student is only checked."""
    from docfoundry.loading import load_config
    from docfoundry.models import TinyConfig, run_tiny

    if cfg.student.model.startswith("tiny:"):
        family = cfg.student.model.split(":", 1)[1]
        # a larger init lets a tiny model learn within a short run (FINDINGS)
        return run_tiny(TinyConfig(family=family, out=str(run_dir / "student"), size=cfg.student.tiny_size,
                                   seed=cfg.seed, init_range=0.15))
    config = load_config(cfg.student.model)
    return {"model": cfg.student.model, "model_type": config.model_type}


def train_config(cfg: RunConfig, run_dir: Path) -> Any:
    from finetune.train import TrainConfig

    data = sorted(str(p) for p in (run_dir / "instruct").iterdir() if (p / "conversations.jsonl").is_file()) \
        if (run_dir / "instruct").is_dir() else []
    base = {"data": data, "student": student_path(cfg, run_dir), "out": str(run_dir / "train"), "seed": cfg.seed}
    return from_dict(TrainConfig, {**base, **cfg.student.train}, prefix="student.train.")


def stage_train(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Single-stage LoRA post-training of the student on every instruction folder."""
    from finetune.train import run

    tc = train_config(cfg, run_dir)
    tc.resume = (run_dir / "train" / "checkpoints").is_dir()  # an interrupted run continues
    return run(tc)


def _eval(cfg: RunConfig, run_dir: Path, name: str, **kw: Any) -> dict[str, Any]:
    from eval.run import run

    return run(dataclasses.replace(cfg.eval.scoring, truth=str(run_dir / "evalset"), out=str(run_dir / "eval" / name),
                                   label=name, seed=cfg.seed, **kw))


def base_ocr_setting(cfg: RunConfig) -> dict[str, Any]:
    """The OCR context the base is asked with: the student's (its instruct folders'), unless eval names one.

    The base has no ``train_config.json``, so ``auto`` alone would ask it without context while the
    student gets one: the before/after would then compare two prompts, not two models.
    """
    scoring, tasks = cfg.eval.scoring, cfg.instruct.tasks_from_truth
    if scoring.ocr_context != "auto":
        return {}
    cap = tasks.ocr_max_tokens if scoring.ocr_max_tokens is None else scoring.ocr_max_tokens
    return {"ocr_context": tasks.ocr_context, "ocr_max_tokens": cap}


def stage_eval_base(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    return _eval(cfg, run_dir, "base", model=student_path(cfg, run_dir), **base_ocr_setting(cfg))


def stage_eval_student(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    # the train folder as the model: an adapter resolves to its base, a full fine-tune is the model itself
    return _eval(cfg, run_dir, "student", model=str(run_dir / "train"))


def stage_eval_teacher(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    """The teacher labels the eval set too; its labels are scored like a model's predictions."""
    from docfoundry.store import read_samples

    labels = run_dir / "teacher_eval"
    _label_all(cfg, run_dir / "evalset", labels)
    preds = labels / "predictions.jsonl"
    with preds.open("w", encoding="utf-8") as fh:
        for folder in sorted(p for p in labels.iterdir() if (p / "metadata.jsonl").is_file()):
            for s in read_samples(folder):
                fh.write(json.dumps({"id": s.id, "fields": s.gt_parse}, ensure_ascii=False) + "\n")
    return _eval(cfg, run_dir, "teacher", pred=str(preds))


def stage_compare(cfg: RunConfig, run_dir: Path) -> dict[str, Any]:
    from eval.run import CompareConfig, run_compare

    names = [n for n in ("base", "student", "teacher") if (run_dir / "eval" / n / "metrics.json").is_file()]
    return run_compare(CompareConfig(reports=[str(run_dir / "eval" / n) for n in names],
                                     out=str(run_dir / "compare"), labels=names))


def _teacher_identity(spec: str) -> Any:
    """What defines the teacher's answers beyond its spec (a local model's content digest)."""
    from distill.teachers import load_teacher

    return load_teacher(spec).identity()


def _student_content(model: str) -> str | None:
    """The content digest of a student given as a folder or hub id (a tiny one is built by the run)."""
    from docfoundry.digest import model_digest

    return None if model.startswith("tiny:") else model_digest(model)


def _labeled_content(c: RunConfig) -> list[str]:
    """What the instruct stage reads from ``instruct.labeled``: each folder's rows (a re-import redoes it)."""
    import hashlib

    rows = [Path(p) / "metadata.jsonl" for p in c.instruct.labeled]  # a missing one is refused up front
    return [hashlib.sha256(r.read_bytes()).hexdigest()[:16] if r.is_file() else "missing" for r in rows]


def _pages_key(c: RunConfig) -> UnlabeledSection:
    """What defines the unlabeled pages: their truth and its map only matter to the audit (adding
    truth to a run must not redo its labels)."""
    return dataclasses.replace(c.unlabeled, truth="", field_map={})


def _teacher_key(c: RunConfig) -> tuple[Any, ...]:
    return (c.seed, c.teacher, _pages_key(c), c.synth.doc_types, _teacher_identity(c.teacher.spec))


STAGES: list[Stage] = [
    Stage("synth", (), lambda c: (c.seed, c.synth), stage_synth, ("synth",)),
    Stage("heldout", (), lambda c: (c.seed, c.synth, _pages_key(c)), stage_heldout, ("heldout",)),
    Stage("label", ("heldout",), _teacher_key, stage_label, ("label",)),
    Stage("audit", ("label",), lambda c: (_teacher_key(c), c.unlabeled.truth, c.unlabeled.field_map), stage_audit,
          ("audit",)),
    Stage("instruct", ("synth", "label"), lambda c: (c.seed, c.instruct, _labeled_content(c)), stage_instruct,
          ("instruct",)),
    Stage("student", (), lambda c: (c.seed, c.student.model, c.student.tiny_size, _student_content(c.student.model)),
          stage_student, ("student",)),
    Stage("train", ("instruct", "student"), lambda c: (c.seed, c.student), stage_train, ("train",)),
    Stage("evalset", (), lambda c: (c.seed, c.synth, c.eval.n, c.eval.degrade), stage_evalset, ("evalset",)),
    Stage("eval_base", ("evalset", "student"), lambda c: (c.seed, c.eval, base_ocr_setting(c)), stage_eval_base,
          ("eval/base",)),
    Stage("eval_student", ("evalset", "train"), lambda c: (c.seed, c.eval), stage_eval_student, ("eval/student",)),
    Stage("eval_teacher", ("evalset",), lambda c: (_teacher_key(c), c.eval), stage_eval_teacher,
          ("teacher_eval", "eval/teacher")),
    Stage("compare", ("eval_base", "eval_student", "eval_teacher"), lambda c: (), stage_compare, ("compare",)),
]


def stage_names() -> list[str]:
    return [s.name for s in STAGES]


# --- orchestration --------------------------------------------------------------------------------

DEFAULT_CONFIG = "runs/quickstart.yaml"
LOG = "run.log"  # in RUN_DIR: what the libraries print while the stages run


@dataclass(kw_only=True)
class RunArgs:
    config: str = opt("", "run config YAML (default: templates/runs/quickstart.yaml)", positional=True)
    out: str = opt("", "run folder (overrides the config's out)")
    from_stage: str = opt("", "first stage to run (earlier ones must be complete)", flag="--from")
    until: str = opt("", f"last stage to run; stages in order: {', '.join(stage_names())}")


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


def _check_section(section: str, build: Callable[[], Any], keys: dict[str, str] | None = None) -> Any:
    """Validate the stage config a run section feeds, as the stage will (ranges, choices, its hook);
    ``keys`` names the section key behind a stage field. Returns the config."""
    from docfoundry.config import validate

    try:
        return validate(build(), keys)
    except UserError as e:
        raise UserError(str(e) if str(e).startswith("config key") else f"config section '{section}': {e}") from None


def validate_up_front(cfg: RunConfig) -> None:
    """Everything that can be checked before long work starts (paths, types, presets, teacher), each
    section through the config of the stage it feeds."""
    from docfoundry.models import TinyConfig

    def keys(section: str, cls: type) -> dict[str, str]:  # a stage field -> the section key that sets it
        return {f.name: f"{section}.{f.name}" for f in dataclasses.fields(cls)}

    _check_section("synth", lambda: synth_config(cfg, "unused", **_pages_of(cfg, "synth")), keys("synth", SynthConfig))
    heldout = {**_pages_of(cfg, "heldout"), "n": max(1, cfg.unlabeled.n) if cfg.unlabeled.path else cfg.unlabeled.n}
    _check_section("unlabeled", lambda: synth_config(cfg, "unused", **heldout),
                   {"n": "unlabeled.n", "degrade": "unlabeled.degrade"})
    _check_section("eval", lambda: synth_config(cfg, "unused", **_pages_of(cfg, "evalset")),
                   {"n": "eval.n", "degrade": "eval.degrade"})
    _check_section("eval", lambda: dataclasses.replace(cfg.eval.scoring, truth="unused", out="unused", model="unused"),
                   keys("eval", EvalConfig))
    i = cfg.instruct
    _check_section("instruct.tasks", lambda: dataclasses.replace(i.tasks_from_truth, input="unused", out="unused"),
                   keys("instruct", InstructConfig))
    _check_section("instruct.teacher_tasks", lambda: dataclasses.replace(
        i.tasks_from_truth, input="unused", out="unused", tasks=i.teacher_tasks), {"tasks": "instruct.teacher_tasks"})
    if cfg.student.model.startswith("tiny:"):
        _check_section("student", lambda: TinyConfig(family=cfg.student.model.split(":", 1)[1],
                                                     out=str(Path(cfg.out) / "student"), size=cfg.student.tiny_size),
                       {"family": "student.model", "size": "student.tiny_size"})
    for key, path in [("unlabeled.path", cfg.unlabeled.path), *[(f"eval.real[{i}]", p) for i, p in enumerate(cfg.eval.real)]]:
        if path and not Path(path).exists():
            raise UserError(f"config key '{key}': path not found: {path}")
    for i, path in enumerate(cfg.instruct.labeled):
        if not (Path(path) / "metadata.jsonl").is_file():
            raise UserError(f"config key 'instruct.labeled[{i}]': {path} is not a dataset folder (no metadata.jsonl)")
    if cfg.unlabeled.path and not cfg.unlabeled.schema:
        raise UserError("config key 'unlabeled.schema': say which document type the pages in unlabeled.path are")
    if cfg.unlabeled.truth:
        _check_real_truth(cfg)
    if cfg.unlabeled.schema:
        from docfoundry.doctypes import load_doc_type

        load_doc_type(cfg.unlabeled.schema)
    from distill.teachers import load_teacher
    from docfoundry.config import validate

    try:
        load_teacher(cfg.teacher.spec)  # a spec with a bad name or target fails here, before any work
    except UserError as e:
        raise UserError(f"config key 'teacher.spec': {e}") from None
    try:
        validate(label_config(cfg, "unused", cfg.unlabeled.schema or cfg.synth.doc_types[0], "unused"))
    except UserError as e:
        raise UserError(str(e) if str(e).startswith("config key") else f"config section 'teacher': {e}") from None

    def training() -> Any:
        tc = train_config(cfg, Path(cfg.out))
        tc.data = tc.data or ["unused"]  # the instruction folders do not exist yet
        return tc

    _check_section("student.train", training)


def _check_real_truth(cfg: RunConfig) -> None:
    """``unlabeled.truth`` is readable and its fields map onto the schema (a bad map fails before any work)."""
    from distill.label import load_real_truth

    u = cfg.unlabeled
    if not u.path:
        raise UserError("config key 'unlabeled.truth': give unlabeled.path too (the real pages the truth is for)")
    if not Path(u.truth).exists():
        raise UserError(f"config key 'unlabeled.truth': path not found: {u.truth}")
    try:
        load_real_truth(u.schema, u.truth, field_map=u.field_map, flag="config key 'unlabeled.field_map':")
    except UserError as e:
        raise UserError(str(e) if str(e).startswith("config key") else f"config key 'unlabeled.truth': {e}") from None


def _read_state(run_dir: Path) -> dict[str, Any]:
    from docfoundry.orchestration.run_report import read_state

    state = read_state(run_dir)  # a corrupt run.json is a one-line error naming it
    state.setdefault("stages", {})
    return state


def _write_state(run_dir: Path, state: dict[str, Any]) -> None:
    from docfoundry.store import atomic_write

    atomic_write(run_dir / "run.json", json.dumps(state, indent=2, default=str))


def mark_stale(state: dict[str, Any], hashes: dict[str, str], names: list[str]) -> None:
    """Stages left out of a slice (after ``--until``) whose inputs changed since they ran: ``stale``, so
    the report does not show their old results as this config's; a later run redoes them."""
    for name in names:
        done = state["stages"].get(name)
        if done and done.get("status") == "complete" and done.get("hash") != hashes[name]:
            done["status"] = "stale"


def run_pipeline(cfg: RunConfig, from_stage: str = "", until: str = "") -> dict[str, Any]:
    """Run the stages in order (or a slice), skipping finished ones; returns per-stage status.

    The console gets one line per stage; everything else written meanwhile (library logs and
    warnings, loading bars, trainer logs, child processes) goes to ``RUN_DIR/run.log``.
    """
    from docfoundry.progress import note, route_output, stage_line
    from docfoundry.store import OutputLock, versions

    names = stage_names()
    for flag, name in (("--from", from_stage), ("--until", until)):
        if name and name not in names:
            raise UserError(f"{flag}: unknown stage '{name}' (stages: {', '.join(names)})")
    first = names.index(from_stage) if from_stage else 0
    last = names.index(until) if until else len(names) - 1
    validate_up_front(cfg)
    run_dir = Path(cfg.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = OutputLock(run_dir)  # one run per folder: a second `docfoundry run` on it gets one line
    state = _read_state(run_dir)
    hashes = stage_hashes(cfg)
    for name in names[:first]:
        done = state["stages"].get(name, {})
        if done.get("status") != "complete" or done.get("hash") != hashes[name]:
            raise UserError(f"--from {names[first]}: stage '{name}' of {run_dir} is not complete for this "
                            "config; run it first (or drop --from)")
    state.update(config=to_dict(cfg), versions=versions("torch", "transformers", "peft", "vllm", "faker",
                                                           "reportlab", "augraphy", "rapidocr"))
    with route_output(run_dir / LOG):
        for stage in STAGES[first:last + 1]:
            prev = state["stages"].get(stage.name, {})
            if prev.get("status") == "complete" and prev.get("hash") == hashes[stage.name]:
                note(f"{stage.name}: done earlier with the same inputs")
                continue
            if prev.get("hash") not in (None, hashes[stage.name]):
                for folder in stage.writes:  # its inputs changed: everything it wrote is redone from scratch
                    shutil.rmtree(run_dir / folder, ignore_errors=True)
            state["stages"][stage.name] = {"status": "running", "hash": hashes[stage.name]}
            _write_state(run_dir, state)
            print(f"--- {stage.name} ({time.strftime('%Y-%m-%d %H:%M:%S')})", flush=True)  # into the log
            start = time.time()
            try:
                with stage_line(stage.name):
                    summary = stage.run(cfg, run_dir)
            except BaseException as e:  # the state says which stage stopped and why, not "running" forever
                why = "interrupted" if isinstance(e, KeyboardInterrupt) else " ".join(f"{type(e).__name__}: {e}".split())
                state["stages"][stage.name] = {"status": "failed", "hash": hashes[stage.name], "error": why[:500],
                                               "seconds": round(time.time() - start, 1)}
                _write_state(run_dir, state)
                raise
            state["stages"][stage.name] = {"status": "complete", "hash": hashes[stage.name],
                                           "seconds": round(time.time() - start, 1), "summary": summary}
            _write_state(run_dir, state)
        mark_stale(state, hashes, names[last + 1:])
        _write_state(run_dir, state)
        from docfoundry.orchestration.run_report import write_run_report

        report = write_run_report(run_dir)
    lock.release()
    return {"out": str(run_dir), "report": report,
            "stages": {k: v.get("status") for k, v in state["stages"].items()}}


def run_command(args: RunArgs) -> dict[str, Any]:
    return run_pipeline(load_run_config(args.config, args.out), args.from_stage, args.until)


@dataclass(kw_only=True)
class ReportArgs:
    run_dir: str = opt(help="a run folder written by `docfoundry run`", positional=True)


def report_command(args: ReportArgs) -> dict[str, Any]:
    from docfoundry.orchestration.run_report import write_run_report

    if not (Path(args.run_dir) / "run.json").is_file():
        raise UserError(f"{args.run_dir}: not a run folder (no run.json)")
    return {"report": write_run_report(Path(args.run_dir))}


COMMANDS = [
    Command("run", "the whole chain: synth -> label -> instruct -> train -> eval -> report (resumable)",
            RunArgs, run_command, usage=__doc__.split("\n\n")[1]),
    Command("report", "re-draw a run's report.html / report.md", ReportArgs, report_command),
]
