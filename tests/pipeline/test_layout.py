"""The pipeline's import graph: stages borrow no stage's helpers; the executors sit in no import cycle."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"
IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+([\w, ()\n]+?)(?:#.*)?$|import\s+([\w.]+))", re.MULTILINE)
STAGES = ("extract", "normalise", "geocode", "validate", "dedupe", "load", "measure")


def pipeline_imports(module: str) -> set[str]:
    """Return the ``pipeline`` modules that ``pipeline/<module>.py`` imports (``from pipeline import x`` counted)."""
    found: set[str] = set()
    for origin, names, plain in IMPORT.findall((PIPELINE / f"{module}.py").read_text(encoding="utf-8")):
        if plain.startswith("pipeline."):
            found.add(plain.removeprefix("pipeline."))
        elif origin == "pipeline":
            found |= {name.split(" as ")[0].strip() for name in names.strip("()").split(",") if name.strip()}
        elif origin.startswith("pipeline."):
            found.add(origin.removeprefix("pipeline."))
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_no_other_stage(stage: str) -> None:
    assert not pipeline_imports(stage) & (set(STAGES) - {stage})


def _graph() -> dict[str, set[str]]:
    """Return each pipeline module (``demo.replay`` for subpackages) and the pipeline modules it imports."""
    modules = {str(p.relative_to(PIPELINE).with_suffix("")).replace("/", "."): p for p in PIPELINE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for origin, names, plain in IMPORT.findall(path.read_text(encoding="utf-8")):
            target = plain or origin
            if target == "pipeline":
                found |= {n.split(" as ")[0].strip() for n in names.strip("()").split(",") if n.strip()}
            elif target.startswith("pipeline."):
                found.add(target.removeprefix("pipeline."))
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), list(graph[start])
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


EXECUTION = ("runner", "serial", "shards", "stages", "recording", "summary", "recorder", "sources")


@pytest.mark.parametrize("module", EXECUTION)
def test_the_executors_modules_sit_in_no_import_cycle(module: str) -> None:
    graph = _graph()
    assert not _reaches(graph, module, module)


def test_the_executors_import_the_declaration_and_not_each_other() -> None:
    graph = _graph()
    assert {"stages", "recording"} <= graph["serial"] and {"stages", "recording"} <= graph["shards"]
    assert "runner" not in graph["shards"] | graph["serial"] and "shards" not in graph["serial"]
    assert "summary" in graph["recording"]


@pytest.mark.parametrize("module", [f"pipeline.{name}" for name in EXECUTION])
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    root = PIPELINE.parent
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
