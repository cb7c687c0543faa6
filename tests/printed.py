"""What a folder of synthetic pages prints: the audit tests score every leaf the pages' truth carries."""

from pathlib import Path

from docfoundry.doctypes import path_pattern
from docfoundry.records import flatten
from docfoundry.store import read_samples


def printed_leaves(pages: Path, doc) -> set[str]:
    """The schema leaves the pages' truth carries (an optional field a page leaves out is not printed)."""
    printed = {path_pattern(k) for s in read_samples(pages) for k in flatten(s.gt_parse)}
    return {leaf.pattern for leaf in doc.leaves} & printed
