"""Reference data imports no application package; trends reads it without the pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMPORT = re.compile(r"^\s*(?:from|import)\s+([a-zA-Z_][\w.]*)", re.MULTILINE)


def _imported(package: str) -> set[str]:
    """Return the top-level packages and the modules named by the import lines of ``package``."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        found |= set(IMPORT.findall(path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("forbidden", ["pipeline", "trends", "models", "api", "dashapp", "status", "flask", "dash"])
def test_reference_imports_no_application_package(forbidden: str) -> None:
    assert not {name for name in _imported("reference") if name.split(".")[0] == forbidden}


def test_trends_imports_no_pipeline_module() -> None:
    assert not {name for name in _imported("trends") if name.split(".")[0] == "pipeline"}
    assert "reference.gazetteer" in _imported("trends")
