"""The pipeline's import graph: stages borrow no stage's helpers, and nothing imports upward."""

from __future__ import annotations

import re
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
