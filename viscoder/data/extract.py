"""Step 2 as a batch function: the static extractor over every alive raw-corpus row.

Rows it cannot turn into a block are rejected with its reason; with ``extractor=static+llm``
the pipeline later hands exactly those rows (``stage == "extract"``, a reason the LLM might
fix) to the LLM extractor in ``llm.py``.
"""

from __future__ import annotations

import json

import pandas as pd

from viscoder.data.rows import alive, reject
from viscoder.data.static_extract import extract_static

# Rejections an LLM cannot do better on: the file does not parse or has nothing to plot.
FINAL_REASONS = ("syntax_error", "no_plotting_import", "no_plotting_call")


def extract_batch(batch: pd.DataFrame, modules: list[str] | None = None) -> pd.DataFrame:
    """``modules``: what the execution runtime can import (None: this interpreter's)."""
    batch = batch.copy()
    available = frozenset(modules) if modules is not None else None
    todo = alive(batch) & (batch["source"] == "stack") & (batch["code"] == "")
    for i in batch.index[todo]:
        result = extract_static(batch.at[i, "text"], available=available)
        if result.code is None:
            reject(batch, i, "extract", result.reason)
            continue
        # the figure facts are read off the code by the annotate step, not stored here
        facts = {"libraries": result.libraries, "mocked": result.mocked}
        batch.at[i, "code"] = result.code
        batch.at[i, "extractor"] = "static"
        batch.at[i, "facts"] = json.dumps(facts)
        if result.libraries:
            batch.at[i, "libraries"] = ",".join(result.libraries)
    return batch


def llm_may_help(stage: str, reason: str) -> bool:
    return stage == "extract" and not reason.startswith(FINAL_REASONS)
