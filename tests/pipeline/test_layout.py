"""The pipeline's import graph: stages borrow no stage's helpers; the executors sit in no import cycle."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = Path(__file__).resolve().parents[2] / "pipeline"
IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+([\w, ()\n]+?)(?:#.*)?$|import\s+([\w.]+))", re.MULTILINE)


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
                package = target.removeprefix("pipeline.")
                found |= {
                    package,
                    *(f"{package}.{n.split(' as ')[0].strip()}" for n in names.strip("()").split(",") if n.strip()),
                }
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


STAGES = ("normalise", "geocode", "validate", "dedupe", "load", "measure")
SOURCES = ("sources.base", "sources.headers", "sources.xlsx_file", "sources.csv_file", "sources.json_batch",
           "sources.generated", "sources.registry")  # fmt: skip
EXECUTION = ("runner", "serial", "shards", "stages", "recording", "summary", "recorder")


@pytest.mark.parametrize("module", [*STAGES, *SOURCES])
def test_a_stage_or_source_imports_no_stage(module: str) -> None:
    assert not _graph()[module] & (set(STAGES) - {module})


def test_no_pipeline_module_sits_in_an_import_cycle() -> None:
    graph = _graph()
    assert {"runner", "shards", "serial", "stages", "sources.registry"} <= set(graph)
    assert not [module for module in graph if _reaches(graph, module, module)]


def test_the_executors_import_the_declaration_and_not_each_other() -> None:
    graph = _graph()
    assert {"stages", "recording"} <= graph["serial"] and {"stages", "recording"} <= graph["shards"]
    assert "runner" not in graph["shards"] | graph["serial"] and "shards" not in graph["serial"]
    assert "summary" in graph["recording"]


@pytest.mark.parametrize("module", [f"pipeline.{name}" for name in (*EXECUTION, "sources.registry")])
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str) -> None:
    root = PIPELINE.parent
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
