"""``docfoundry review``: put the teacher's doubtful fields in front of a person in Label Studio,
and bring the corrections back as truth.

    docfoundry review export --in data/labeled --out review/tasks.json --below 0.8 --max-pages 200
    docfoundry review config --schema receipt --out review/receipt.xml
    docfoundry review import --in data/labeled --export review/export.json --out data/reviewed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docfoundry.commands import Command
from docfoundry.config import opt
from docfoundry.errors import UserError


@dataclass(kw_only=True)
class ExportConfig:
    input: str = opt(help="labeled dataset folder (docfoundry label output)", flag="--in", metavar="LABELED")
    out: str = opt(help="the Label Studio import file to write (tasks.json); the labeling config goes beside it (.xml)")
    schema: str = opt("", "document type or schema.json (default: the one the folder was labeled with)")
    below: float = opt(0.8, "review pages with a field below this confidence (or an ungrounded one)", min=0, max=1)
    max_pages: int = opt(0, "at most N pages, the most doubtful (0 = all)", min=0)
    order: str = opt("uncertainty", "task order: most doubtful first, or the folder's page order",
                     choices=["uncertainty", "page"])
    image: str = opt("data", "how tasks carry the image: a data URL (works anywhere) or a Label Studio local-files "
                             "URL (LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED, a Local Storage on --local-root)",
                     choices=["data", "local-files"])
    local_root: str = opt(".", "--image local-files: Label Studio's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")


@dataclass(kw_only=True)
class ConfigArgs:
    schema: str = opt(help="document type (invoice, receipt, ...) or a schema.json")
    out: str = opt("", "write the labeling config here (default: print it)")


@dataclass(kw_only=True)
class ImportConfig:
    input: str = opt(help="the labeled dataset folder the tasks were exported from", flag="--in", metavar="LABELED")
    export: str = opt(help="Label Studio's JSON export of the project (Export -> JSON)")
    out: str = opt(help="reviewed dataset folder to write (reviewed fields source=human, the rest the teacher's)")
    schema: str = opt("", "document type or schema.json (default: the one the folder was labeled with)")


def run_export(cfg: ExportConfig) -> dict[str, Any]:
    """``review export``: the tasks file and its labeling config."""
    from distill.review.tasks import export_tasks

    return export_tasks(cfg.input, cfg.out, cfg.schema, cfg.below, cfg.max_pages, cfg.order, cfg.image,
                        cfg.local_root)


def run_config(cfg: ConfigArgs) -> Any:
    """``review config``: the labeling config of a document type (printed, or written to ``--out``)."""
    from pathlib import Path

    from distill.review.labeling import labeling_config
    from docfoundry.doctypes import load_doc_type
    from docfoundry.store import atomic_write

    xml = labeling_config(load_doc_type(cfg.schema))
    if not cfg.out:
        return xml.rstrip("\n")
    if Path(cfg.out).is_dir():
        raise UserError(f"{cfg.out}: is a folder; --out names the config file (receipt.xml)")
    atomic_write(Path(cfg.out), xml.encode("utf-8"))
    return {"out": cfg.out, "schema": cfg.schema}


def run_import(cfg: ImportConfig) -> dict[str, Any]:
    """``review import``: the reviewed dataset folder and the teacher's change rates."""
    from distill.review.corrections import import_review

    return import_review(cfg.input, cfg.export, cfg.out, cfg.schema)


COMMANDS = [
    Command("review export", "Label Studio tasks of the pages whose teacher fields are most doubtful, the "
            "teacher's answers as predictions, and the labeling config made from the schema",
            ExportConfig, run_export, usage=__doc__.split("\n\n")[1]),
    Command("review config", "print the Label Studio labeling config of a document type (from its schema)",
            ConfigArgs, run_config, usage=__doc__.split("\n\n")[1]),
    Command("review import", "a Label Studio JSON export -> a dataset folder whose reviewed fields are truth, "
            "and how often the reviewer changed the teacher at each confidence", ImportConfig, run_import,
            usage=__doc__.split("\n\n")[1]),
]
