"""The one row shape every source is brought to, so one plan carries them all.

A row is alive while ``stage`` is empty. A step that gives up on a row sets ``stage`` (which
step) and ``reason`` (why) and leaves it in the stream; later steps pass it through. At the
end the alive rows are the dataset and the others the rejects table, so every input row
ends in exactly one of the two.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = {
    "id": "", "source": "", "libraries": "", "text": "", "code": "", "extractor": "",
    "facts": "", "table_name": "", "table_csv": "", "image": b"", "instruction": "",
    "annotator": "", "messages": "", "stage": "", "reason": "",
}


def normalise(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Give a batch every column of the row shape, in order, with empty defaults."""
    out = pd.DataFrame(index=frame.index)
    for name, default in COLUMNS.items():
        if name in frame.columns:
            out[name] = frame[name]
        else:
            out[name] = [default] * len(frame)
    out["source"] = source
    out["id"] = [f"{source}/{i}" for i in frame["id"].astype(str)] if "id" in frame else ""
    return out.reset_index(drop=True)


def alive(frame: pd.DataFrame) -> pd.Series:
    return frame["stage"] == ""


def reject(frame: pd.DataFrame, index, stage: str, reason: str) -> None:
    frame.loc[index, "stage"] = stage
    frame.loc[index, "reason"] = reason


_SPECIFIC_FIRST = ("plotly", "seaborn", "altair", "bokeh", "matplotlib")


def primary_library(libraries: str) -> str:
    """The library a sample is about: the most specific one it uses (seaborn draws on
    matplotlib, so a seaborn script that also calls plt is a seaborn sample)."""
    found = [lib for lib in libraries.split(",") if lib]
    for lib in _SPECIFIC_FIRST:
        if lib in found:
            return lib
    return found[0] if found else ""
