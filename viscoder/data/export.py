"""Step 7's output: the dataset, the rejects table, the stats and a dataset card.

    dataset/part-*.parquet   messages (OpenAI chat format), image (PNG, as the `datasets`
                             Image feature stores it: {bytes, path}), library, source, id,
                             extractor, annotator
    dataset.jsonl            with `jsonl: true`; images as files under images/
    rejects/part-*.parquet   id, source, stage, reason
    stats.json               rows in/out per source, accepted per library, rejections per
                             stage and reason
    README.md                the dataset card: the counts, and examples with their images
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from viscoder.data.rows import primary_library

DATASET_COLUMNS = ["id", "source", "library", "messages", "image", "extractor", "annotator"]
REJECT_COLUMNS = ["id", "source", "stage", "reason"]


def to_dataset_rows(batch: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "id": batch["id"], "source": batch["source"],
        "library": [primary_library(lib) for lib in batch["libraries"]],
        "messages": [json.loads(m) for m in batch["messages"]],
        # the `datasets` Image feature's layout: cast_column("image", Image()) decodes it
        "image": [{"bytes": img, "path": f"{i.replace('/', '__')}.png"} if img else None
                  for img, i in zip(batch["image"], batch["id"], strict=True)],
        "extractor": batch["extractor"], "annotator": batch["annotator"],
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
                fh.write(json.dumps(row) + "\n")
                n += 1
    return n


def write_card(out_dir: Path, stats: dict, examples: list[dict]) -> Path:
    lines = ["# viscoder plotting dataset", "",
             "Execution-validated plotting code in chat format, built by `viscoder data` "
             "(the VisCode method, arXiv 2506.03930): every code sample ran in the sandbox and "
             "rendered a non-blank image.", "",
             f"- rows in: {stats['rows_in']}", f"- accepted: {stats['accepted']}",
             f"- rejected: {stats['rejected']}", "",
             "## Accepted, by source and library", "", "| source | library | rows |",
             "| --- | --- | --- |"]
    for key, n in sorted(stats["accepted_by_source_library"].items()):
        source, _, library = key.partition("/")
        lines.append(f"| {source} | {library or '-'} | {n} |")
    lines += ["", "## Rejected, by step and reason", "", "| step | reason | rows |",
              "| --- | --- | --- |"]
    for key, n in sorted(stats["rejected_by_stage_reason"].items(), key=lambda kv: -kv[1]):
        stage, _, reason = key.partition(": ")
        lines.append(f"| {stage} | {reason.replace('|', '/')[:120]} | {n} |")
    if stats.get("benchmark_overlap"):
        o = stats["benchmark_overlap"]
        lines += ["", "## Overlap with benchmark tasks", "",
                  f"{o['ngram']}-gram overlap with the benchmark instructions: max "
                  f"{o['max']:.1%}, mean {o['mean']:.2%}; samples above {o['threshold']:.0%} "
                  f"were dropped ({o['dropped']})."]
    if examples:
        (out_dir / "card_images").mkdir(exist_ok=True)
        lines += ["", "## Examples", ""]
        for ex in examples:
            lines += [f"### {ex['id']} ({ex['source']}, {ex['library']})", ""]
            if ex.get("png"):
                name = f"card_images/{ex['id'].replace('/', '__')}.png"
                (out_dir / name).write_bytes(ex["png"])
                lines += [f"![{ex['id']}]({name})", ""]
            for m in ex["messages"]:
                lines += [f"**{m['role']}**", "", m["content"][:1500], ""]
    path = out_dir / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path
