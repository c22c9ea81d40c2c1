"""The dataset card (``output_dir/README.md``), on ``huggingface_hub.DatasetCard``: a YAML
metadata header the Hub reads (licence, task, tags, size, the Parquet shards as the default
config), then the yield funnel per step and per source, the rejection reasons, the
near-duplicate clusters removed with an example pair, and a grid of example images with
the plot description each one was drawn from.

    from viscoder.data.card import write_card
    write_card(out_dir, stats, examples, near_duplicates)
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from huggingface_hub import DatasetCard, DatasetCardData

GRID_COLUMNS = 3
_STEPS = ("filter", "ingest", "extract", "execute", "annotate", "dedup", "overlap")


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "10M<n<100M"


def _metadata(stats: dict) -> DatasetCardData:
    libraries = sorted({key.partition("/")[2] for key in stats["accepted_by_source_library"]} - {""})
    return DatasetCardData(
        pretty_name="viscoder plotting dataset", language=["en"], license="other",
        task_categories=["text-generation"], size_categories=[_size_category(stats["accepted"])],
        tags=["code", "visualization", "plotting", "python", "sft", *libraries],
        configs=[{"config_name": "default",
                  "data_files": [{"split": "train", "path": "dataset/*.parquet"}]}])


def _funnel(stats: dict) -> list[str]:
    lines = ["## Yield funnel", "", "| step | in | rejected | out |", "| --- | --- | --- | --- |"]
    for step, c in stats.get("per_step", {}).items():
        lines.append(f"| {step} | {c['in']} | {c['rejected']} | {c['out']} |")
    per_source = stats.get("per_source_step") or {}
    if per_source:
        steps = [s for s in _STEPS if any(s in v for v in per_source.values())]
        lines += ["", "Rows left after each step, per source:", "",
                  "| source | in | " + " | ".join(steps) + " | yield |",
                  "| --- | --- | " + " | ".join("---" for _ in steps) + " | --- |"]
        for source, by_step in sorted(per_source.items()):
            rows_in = stats["rows_in_by_source"].get(source, 0)
            outs, left = [], rows_in
            for s in steps:
                left = by_step[s]["out"] if s in by_step else left
                outs.append(str(left))
            share = f"{left / rows_in:.0%}" if rows_in else "-"
            lines.append(f"| {source} | {rows_in} | " + " | ".join(outs) + f" | {share} |")
    return lines


def _rejections(stats: dict) -> list[str]:
    lines = ["## Rejected, by step and reason", "", "| step | reason | rows |",
             "| --- | --- | --- |"]
    for key, n in sorted(stats["rejected_by_stage_reason"].items(), key=lambda kv: -kv[1]):
        stage, _, reason = key.partition(": ")
        lines.append(f"| {stage} | {reason.replace('|', '/')[:120]} | {n} |")
    return lines


def _near_duplicates(near: dict | None) -> list[str]:
    if not near:
        return []
    lines = ["## Near-duplicates", "",
             f"MinHash ({near['num_perm']} permutations) over {near['shingle']}-token code "
             f"shingles, LSH with {near['bands']} bands of {near['rows_per_band']} rows; "
             f"pairs at an estimated Jaccard similarity >= {near['threshold']} are joined into "
             f"clusters. {near['candidate_pairs']} candidate pairs, {near['clusters']} clusters, "
             f"{near['removed']} samples removed (the smallest id of each cluster is kept)."]
    ex = near.get("example")
    if ex:
        lines += ["", f"Example: `{ex['removed']}` removed as a near-duplicate of `{ex['kept']}` "
                  f"(Jaccard {ex['jaccard']}).", "",
                  "<table><tr><th>kept</th><th>removed</th></tr><tr>"
                  f"<td><pre>{html.escape(ex['kept_code'][:1200])}</pre></td>"
                  f"<td><pre>{html.escape(ex['removed_code'][:1200])}</pre></td></tr></table>"]
    return lines


def _plot_text(example: dict) -> str:
    instruction = example.get("instruction")
    if instruction:
        try:
            return json.loads(instruction).get("plot_description", "")
        except (ValueError, AttributeError):
            pass
    user = next((m["content"] for m in example["messages"] if m["role"] == "user"), "")
    return user[:300]


def _grid(out_dir: Path, examples: list[dict]) -> list[str]:
    shown = [ex for ex in examples if ex.get("png")]
    if not shown:
        return []
    (out_dir / "card_images").mkdir(exist_ok=True)
    cells = []
    for ex in shown:
        name = f"card_images/{ex['id'].replace('/', '__')}.png"
        (out_dir / name).write_bytes(ex["png"])
        cells.append(f'<td width="33%" valign="top"><img src="{name}" width="260"><br>'
                     f"<sub><b>{html.escape(ex['id'])}</b> ({ex['library']}): "
                     f"{html.escape(_plot_text(ex)[:400])}</sub></td>")
    rows = ["<tr>" + "".join(cells[i:i + GRID_COLUMNS]) + "</tr>"
            for i in range(0, len(cells), GRID_COLUMNS)]
    return ["## Examples", "", "<table>", *rows, "</table>"]


def _one_sample(examples: list[dict]) -> list[str]:
    if not examples:
        return []
    ex = examples[0]
    lines = ["", f"### One sample in full: {ex['id']}", ""]
    for m in ex["messages"]:
        lines += [f"**{m['role']}**", "", m["content"][:2000], ""]
    return lines


def _runtime_line(stats: dict) -> list[str]:
    rt = stats.get("runtime")
    if not rt:
        return []
    versions = ", ".join(f"{k} {v}" for k, v in (rt.get("versions") or {}).items())
    return [f"- executed and rendered under the execution runtime `{rt['name']}`"
            + (f" ({versions})" if versions else "")]


def write_card(out_dir: Path, stats: dict, examples: list[dict],
               near_duplicates: dict | None = None) -> Path:
    body = ["# viscoder plotting dataset", "",
            "Execution-validated plotting code in chat format, built by `viscoder data` (the "
            "VisCode method, arXiv 2506.03930): every code sample ran in the sandbox, rendered "
            "an image that is not blank, and passed the quality gates (the columns the "
            "instruction names are in its data block, the chart kinds it names are drawn by "
            "the code, mock data is not empty).", "",
            f"- rows in: {stats['rows_in']}", f"- accepted: {stats['accepted']}",
            f"- rejected: {stats['rejected']}", *_runtime_line(stats), "",
            "## Accepted, by source and library", "", "| source | library | rows |",
            "| --- | --- | --- |"]
    for key, n in sorted(stats["accepted_by_source_library"].items()):
        source, _, library = key.partition("/")
        body.append(f"| {source} | {library or '-'} | {n} |")
    body += ["", *_funnel(stats), "", *_rejections(stats)]
    if stats.get("benchmark_overlap"):
        o = stats["benchmark_overlap"]
        body += ["", "## Overlap with benchmark tasks", "",
                 f"{o['ngram']}-gram overlap with the benchmark instructions: max "
                 f"{o['max']:.1%}, mean {o['mean']:.2%}; samples above {o['threshold']:.0%} "
                 f"were dropped ({o['dropped']})."]
    near = _near_duplicates(near_duplicates)
    body += ["", *near] if near else []
    grid = _grid(out_dir, examples)
    body += ["", *grid] if grid else []
    body += _one_sample(examples)
    card = DatasetCard("---\n" + _metadata(stats).to_yaml() + "\n---\n\n" + "\n".join(body) + "\n")
    path = out_dir / "README.md"
    card.save(path)
    return path
