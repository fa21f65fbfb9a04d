"""Generated or hand-built frames of raw events (the demo generator's, a test's): read as a batch of records."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipeline.limits import Limits
from pipeline.sources.base import Extracted
from pipeline.sources.json_batch import read_records


def records_of(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Turn a raw frame into JSON-like records (missing values dropped)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return [{k: v for k, v in row.items() if v is not None} for row in clean.to_dict("records")]


@dataclass(frozen=True)
class GeneratedFrame:
    """A frame of raw events made in this process (``pipeline.demo.generate``): no name, never a path."""

    frame: pd.DataFrame
    name: str | None = None

    def read(self, limits: Limits, sheet: str | None) -> Extracted:
        """Read the frame's rows as a batch."""
        return read_records(records_of(self.frame))
