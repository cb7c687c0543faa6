"""The ``ocr`` teacher: rapidocr reads the page, the schema says where each field is (no GPU, no weights).

It is the default teacher and the grounding source of the others. Its confidence per field is the
OCR score of the value's line times how the value was found (see ``distill.extract``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from distill.teachers import Answer, Request, Sampling, Teacher


class OcrTeacher(Teacher):
    name = "ocr"
    needs_ocr = True
    deterministic = True

    def identity(self) -> dict[str, Any]:
        import hashlib
        from pathlib import Path

        import distill.extract
        import distill.pairs
        import distill.skew
        import distill.spans

        files = [*sorted(Path(distill.extract.__file__).parent.glob("*.py")),  # every module of the reading
                 *(Path(m.__file__) for m in (distill.pairs, distill.skew, distill.spans))]
        code = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]
        return {"spec": self.spec, "extractor": code}  # a changed extractor re-reads cached pages

    def answer(self, requests: list[Request], sampling: Sampling) -> Iterator[tuple[int, Answer]]:
        from distill.extract import extract

        for i, req in enumerate(requests):
            started = time.perf_counter()
            fields, scores = extract(req.doc, req.ocr or [])
            yield i, Answer(json.dumps(fields, ensure_ascii=False), field_scores=scores,
                            seconds=time.perf_counter() - started)


TEACHER = OcrTeacher
