"""What a reviewer does in Label Studio, through label-studio-sdk (run by the review environment's
Python, where the SDK lives; see tests/labelstudio.py).

    labelstudio_sdk.py URL TOKEN project CONFIG.xml TASKS.json          -> {"project", "tasks"}
    labelstudio_sdk.py URL TOKEN annotate PROJECT PAGE_ID EDITS.json   -> {"task", "annotation"}
    labelstudio_sdk.py URL TOKEN export PROJECT OUT.json               -> {"tasks"}

``annotate`` starts from the task's prediction (the teacher's answers, as the reviewer sees them),
sets each control named in EDITS (control name -> new text), and submits it as an annotation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from label_studio_sdk import LabelStudio


def main(url: str, token: str, action: str, *args: str) -> dict:
    ls = LabelStudio(base_url=url, api_key=token)
    if action == "project":
        config, tasks = Path(args[0]).read_text(), json.loads(Path(args[1]).read_text())
        project = ls.projects.create(title="docfoundry review", label_config=config)
        ls.projects.import_tasks(id=project.id, request=tasks)
        return {"project": project.id, "tasks": len(list(ls.tasks.list(project=project.id)))}
    if action == "annotate":
        project, page, edits = int(args[0]), args[1], json.loads(Path(args[2]).read_text())
        task = next(t for t in ls.tasks.list(project=project, fields="all") if t.data["page_id"] == page)
        result = [dict(r) for r in task.predictions[0].result] if task.predictions else []
        seen = set()
        for r in result:
            if r["from_name"] in edits:
                r["value"] = {**r["value"], "text": [edits[r["from_name"]]]}
                seen.add(r["from_name"])
        for name in set(edits) - seen:  # a field the teacher left empty
            result.append({"from_name": name, "to_name": "image", "type": "textarea",
                           "value": {"text": [edits[name]]}})
        ann = ls.annotations.create(id=task.id, result=result, was_cancelled=False, lead_time=42.0)
        return {"task": task.id, "annotation": ann.id}
    if action == "export":
        data = b"".join(ls.projects.exports.download_sync(int(args[0]), export_type="JSON", download_all_tasks=True))
        Path(args[1]).write_bytes(data)
        return {"tasks": len(json.loads(data))}
    raise SystemExit(f"unknown action {action}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
