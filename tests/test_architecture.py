"""Imports point down and form no cycle (docs/ARCHITECTURE.md), read from the source with ``ast``.

Layers, bottom to top: the core (``docfoundry`` less its orchestration), the stages in data-flow
order (synth, distill, finetune, eval: a stage may import an earlier one, never a later one), and
orchestration (``docfoundry.cli``, ``docfoundry.orchestration``), which alone may import every stage.
Every import counts, also one inside a function: a lazy import is still a dependency.
Today's known violations are listed below with the item of issue 16 that removes each; the test
fails on any new one, and on a listed one that is gone (so the lists only shrink).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ["synth", "distill", "finetune", "eval"]  # data-flow order
PACKAGES = ["docfoundry", *STAGES]
TOP = ("docfoundry.cli", "docfoundry.__main__", "docfoundry.orchestration",
       # deprecated aliases of the moved orchestration modules
       "docfoundry.pipeline", "docfoundry.run_report")

# (importer, imported) -> the item of issue 16 that removes it
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    ("distill.label.audit", "eval.fieldmap"): "2: the truth field map shared by label and eval moves to the core",
}
# sets of modules that import each other -> the item that breaks the cycle
KNOWN_CYCLES: dict[frozenset[str], str] = {
    frozenset({"synth.values", "synth.values.schema"}):
        "4: the value helpers schema.py needs move out of synth/values/__init__.py (in-flight work)",
}


def module_files(root: Path, packages: list[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the packages (a package is its ``__init__``)."""
    out = {}
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            parts = f.relative_to(root).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def runtime_nodes(tree: ast.AST):
    """Every node that can run: like ``ast.walk``, less the body of ``if TYPE_CHECKING:``."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


def import_graph(root: Path, packages: list[str]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its body (``from a import b`` counts a.b if a module)."""
    mods = module_files(root, packages)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, f in mods.items():
        package = name if f.name == "__init__.py" else name.rpartition(".")[0]
        for node in runtime_nodes(ast.parse(f.read_text(encoding="utf-8"), str(f))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: climb from the importing package
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in mods:  # a name inside a module counts as the module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def layer(module: str) -> tuple[int, str]:
    """(rank, layer name): core 0, stages 1..4 in data-flow order, orchestration 9."""
    if any(module == t or module.startswith(t + ".") for t in TOP):
        return 9, "orchestration"
    top = module.split(".")[0]
    if top == "docfoundry":
        return 0, "core"
    return 1 + STAGES.index(top), top


def upward_imports(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """Edges from a module to one in a higher layer (a core module to a stage, a stage to a later stage)."""
    return {(a, b) for a, targets in graph.items() for b in targets if layer(b)[0] > layer(a)[0]}


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.add(m)
                    if m == node:
                        break
                if len(comp) > 1:
                    found.append(frozenset(comp))
    return found


def test_no_new_upward_import():
    upward = upward_imports(import_graph(ROOT, PACKAGES))
    new = sorted(upward - set(KNOWN_UPWARD))
    assert not new, "imports that point up (see docs/ARCHITECTURE.md): " + ", ".join(f"{a} -> {b}" for a, b in new)
    graph_modules = set(import_graph(ROOT, PACKAGES))
    gone = sorted(edge for edge in set(KNOWN_UPWARD) - upward if set(edge) <= graph_modules)  # a missing file is in-flight work
    assert not gone, "fixed, remove from KNOWN_UPWARD: " + ", ".join(f"{a} -> {b}" for a, b in gone)


def test_no_new_import_cycle():
    found = set(cycles(import_graph(ROOT, PACKAGES)))
    new = [sorted(c) for c in found if c not in KNOWN_CYCLES]
    assert not new, f"import cycles: {new}"
    graph_modules = set(import_graph(ROOT, PACKAGES))
    gone = [sorted(c) for c in KNOWN_CYCLES if c not in found and c <= graph_modules]
    assert not gone, f"cycles fixed, remove from KNOWN_CYCLES: {gone}"


# deprecated aliases (old path -> new home); code in the packages imports the new home
ALIASES = {"docfoundry.pipeline": "docfoundry.orchestration.pipeline",
           "docfoundry.run_report": "docfoundry.orchestration.run_report",
           "eval.normalize": "docfoundry.normalize", "eval.parse": "docfoundry.predictions",
           "eval.datasets": "docfoundry.adapters"}
# names a module re-exports for old importers -> where they live now
REEXPORTS = {("docfoundry.cli", "Command"): "docfoundry.commands",
             ("distill.instruct", "ROWS"): "distill.conversations",
             **{("docfoundry.models", n): "docfoundry.families" for n in ("FAMILIES", "GENERIC", "Family", "family_of",
                                                                         "get_family")},
             **{("docfoundry.models", n): "docfoundry.info" for n in ("LETTER_PAGE_150DPI", "blank_page",
                                                                      "count_parameters", "model_info")},
             **{("docfoundry.models", n): "docfoundry.loading" for n in (
                 "QUANTIZATION", "check_image_text_model", "check_special_tokens", "load_config", "load_model",
                 "load_processor", "release", "resolve_source", "save_processor", "saved_video_processor",
                 "video_processor")}}


def test_code_imports_moved_names_from_their_new_home():
    found = []
    for name, f in module_files(ROOT, PACKAGES).items():
        if name in ALIASES or name == "docfoundry.models":
            continue
        for node in runtime_nodes(ast.parse(f.read_text(encoding="utf-8"), str(f))):
            if isinstance(node, ast.ImportFrom) and not node.level:
                if node.module in ALIASES:
                    found.append(f"{name}: from {node.module} -> from {ALIASES[node.module]}")
                found += [f"{name}: {a.name} from {node.module} -> from {REEXPORTS[(node.module, a.name)]}"
                          for a in node.names if (node.module, a.name) in REEXPORTS]
            elif isinstance(node, ast.Import):
                found += [f"{name}: import {a.name} -> {ALIASES[a.name]}" for a in node.names if a.name in ALIASES]
    assert not found, "; ".join(found)


def test_every_top_level_package_has_a_layer():
    # a new top-level package must be placed in the picture (and in docs/ARCHITECTURE.md) before it is used
    outside = {"tests", "bench", "templates"}  # tests and benchmarks may import anything; templates is data
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file()} - outside
    assert packages == set(PACKAGES), packages ^ set(PACKAGES)


def test_checker_sees_an_upward_import_and_a_cycle(tmp_path):
    # the rules above can fail: a core module importing a stage lazily, and a two-module cycle
    (tmp_path / "docfoundry").mkdir()
    (tmp_path / "eval").mkdir()
    (tmp_path / "docfoundry" / "__init__.py").write_text("")
    (tmp_path / "docfoundry" / "core.py").write_text("def f():\n    from eval.score import g\n")
    (tmp_path / "eval" / "__init__.py").write_text("")
    (tmp_path / "eval" / "score.py").write_text("from . import other\ndef g(): ...\n")
    (tmp_path / "eval" / "other.py").write_text("from eval.score import g\nfrom typing import TYPE_CHECKING\n"
                                                "if TYPE_CHECKING:\n    from docfoundry.core import f\n")
    graph = import_graph(tmp_path, ["docfoundry", "eval"])
    assert upward_imports(graph) == {("docfoundry.core", "eval.score")}
    assert cycles(graph) == [frozenset({"eval.score", "eval.other"})]


def test_known_violations_are_explained():
    for reason in [*KNOWN_UPWARD.values(), *KNOWN_CYCLES.values()]:
        assert reason.split(":")[0] in {"1", "2", "3", "4", "5", "6"}, reason


def test_deprecated_aliases_still_import_the_moved_modules():
    import importlib

    for old, new in ALIASES.items():
        assert importlib.import_module(old) is importlib.import_module(new), old
    for (module, name), home in REEXPORTS.items():
        assert getattr(importlib.import_module(module), name) is getattr(importlib.import_module(home), name)
