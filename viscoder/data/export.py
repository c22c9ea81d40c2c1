"""The export step (6 of 6): the dataset, the rejects table, the stats and a dataset card.

    dataset/part-*.parquet   messages (OpenAI chat format), image (PNG, as the `datasets`
                             Image feature stores it: {bytes, path}), library, source, id,
                             extractor, annotator
    dataset.jsonl            with `jsonl: true`; images as files under images/
    rejects/part-*.parquet   id, source, stage, reason
    stats.json               rows in/out per source, accepted per library, rejections per
                             stage and reason
    README.md                the dataset card (``card.py``): metadata, yield funnel,
                             near-duplicates, a grid of examples with their images
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from viscoder.data.rows import primary_library

DATASET_COLUMNS = ["id", "source", "library", "messages", "image", "extractor", "annotator",
                   "runtime"]
REJECT_COLUMNS = ["id", "source", "stage", "reason"]


def to_dataset_rows(batch: pd.DataFrame, runtime: str | None = None) -> pd.DataFrame:
    """``runtime``: the execution runtime that rendered the rows' images (recorded on each
    row with an image; rows without one, dialogues, were not executed here)."""
    out = pd.DataFrame({
        "id": batch["id"], "source": batch["source"],
        "library": [primary_library(lib) for lib in batch["libraries"]],
        "messages": [json.loads(m) for m in batch["messages"]],
        # the `datasets` Image feature's layout: cast_column("image", Image()) decodes it
        "image": [{"bytes": img, "path": f"{i.replace('/', '__')}.png"} if img else None
                  for img, i in zip(batch["image"], batch["id"], strict=True)],
        "extractor": batch["extractor"], "annotator": batch["annotator"],
        # one Arrow type in every Parquet part, also in a batch where no row has an image
        "runtime": pd.Series([runtime if img else None for img in batch["image"]],
                             index=batch.index, dtype="string[pyarrow]"),
    })
    return out[DATASET_COLUMNS]


def to_reject_rows(batch: pd.DataFrame) -> pd.DataFrame:
    return batch[REJECT_COLUMNS].reset_index(drop=True)


def write_jsonl(dataset_dir: Path, out: Path) -> int:
    images = out.parent / "images"
    images.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out, "w") as fh:
        for part in sorted(dataset_dir.glob("*.parquet")):
            for row in pd.read_parquet(part).to_dict("records"):
                image = row.pop("image") or {}
                path = None
                if image.get("bytes"):
                    path = images / f"{row['id'].replace('/', '__')}.png"
                    path.write_bytes(image["bytes"])
                row["image"] = str(path.relative_to(out.parent)) if path else None
                row["messages"] = [dict(m) for m in row["messages"]]
                # pandas reads a missing string as NaN or NA, which JSON has no word for
                row = {k: None if _missing(v) else v for k, v in row.items()}
                fh.write(json.dumps(row, allow_nan=False) + "\n")
                n += 1
    return n


def _missing(value) -> bool:
    return value is pd.NA or (isinstance(value, float) and value != value)
