"""``run_data``: the VisCode data plan on Ray Data, one streaming step at a time.

    from viscoder.config import load_config
    from viscoder.data.config import DataConfig
    from viscoder.data.pipeline import run_data
    stats = run_data(load_config(DataConfig, "configs/tiny/data.yaml"))

Steps, each reading the previous step's Parquet under ``output_dir/stages/`` and writing its
own (so a step can be re-run alone, and a run started again skips the steps that finished):

    ingest    raw corpus -> library filter; CoSyn -> rebuilt scripts; Code-Feedback -> dialogues
    extract   static extractor (and/or the LLM extractor through ray.data.llm)
    execute   sandbox actor pool: keep blocks that run and render a non-blank image
    annotate  five-part instruction (template annotator or a VLM through ray.data.llm)
    mix       de-duplication and benchmark-overlap check
    export    dataset/ (Parquet, + JSONL on request), rejects/, stats.json, README.md card

Rows are never dropped between steps: a step rejects a row by setting its ``stage`` and
``reason``, so at the end every input row is in the dataset or in the rejects table.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from viscoder.data.config import DataConfig
from viscoder.data.rows import primary_library
from viscoder.ray_init import ensure_ray

STEPS = ("ingest", "extract", "execute", "annotate", "mix", "export")
NEAR_DUPLICATES = "near_duplicates.json"  # the mix step's clusters, for the dataset card


def _read(paths: list[str]):
    """A source's files (files, folders, globs) as one Ray Dataset: viscoder.tables' rules,
    the same as the train stage's."""
    from viscoder.tables import read_dataset

    return read_dataset(paths)


def _stage_dir(out: Path, step: str) -> Path:
    return out / "stages" / step


def _write(ds, out: Path, step: str) -> None:
    target = _stage_dir(out, step)
    if target.exists():
        shutil.rmtree(target)  # a step that did not finish starts over
    ds.write_parquet(str(target))
    (target / "_SUCCESS").write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def _previous(out: Path, step: str):
    import ray.data

    prev = STEPS[STEPS.index(step) - 1]
    path = _stage_dir(out, prev)
    if not (path / "_SUCCESS").exists():
        raise FileNotFoundError(f"step {step!r} needs the finished output of {prev!r} in {path}")
    return ray.data.read_parquet(str(path))


def step_ingest(cfg: DataConfig, out: Path):
    from viscoder.data.sources import cosyn_rows, feedback_rows, filter_raw

    parts = []
    if cfg.raw:
        raw = _read(cfg.raw.paths)
        parts.append(raw.map_batches(
            filter_raw, batch_format="pandas",
            fn_kwargs={"id_column": cfg.raw.id_column, "text_column": _text_column(cfg, raw),
                       "libraries": cfg.libraries, "max_bytes": cfg.max_file_bytes}))
    if cfg.cosyn:
        c = cfg.cosyn
        parts.append(_read(c.paths).map_batches(
            cosyn_rows, batch_format="pandas",
            fn_kwargs={"id_column": c.id_column, "code_column": c.code_column,
                       "table_column": c.table_column, "table_name": c.table_name}))
    if cfg.feedback:
        f = cfg.feedback
        parts.append(_read(f.paths).map_batches(
            feedback_rows, batch_format="pandas",
            fn_kwargs={"id_column": f.id_column, "messages_column": f.messages_column,
                       "max_turns": f.max_turns, "max_chars": f.max_chars}))
    return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]


TEXT_COLUMNS = ("text", "content")  # content: The Stack's name for it


def _text_column(cfg: DataConfig, ds) -> str:
    """The raw source's text column, checked against the files before any row is read."""
    return pick_text_column(list(ds.schema().names), cfg.raw.text_column, cfg.raw.paths)


def pick_text_column(names: list[str], configured: str | None, paths: list[str]) -> str:
    """`configured`, or else `text` or `content`, if the files have it; a wrong name fails
    here, naming the columns there are, instead of rejecting every row."""
    wanted = [configured] if configured else list(TEXT_COLUMNS)
    found = next((c for c in wanted if c in names), None)
    if found is None:
        raise ValueError(f"raw source {paths}: no text column "
                         f"{' or '.join(repr(c) for c in wanted)}; its columns are "
                         f"{', '.join(names)} (set raw.text_column)")
    return found


def _branch(ds, needs, processor):
    """Rows for which ``needs(row)`` through ``processor``; the others unchanged."""
    return processor(ds.filter(needs)).union(ds.filter(lambda row: not needs(row)))


def step_extract(cfg: DataConfig, out: Path):
    from viscoder.data.extract import extract_batch, llm_may_help
    from viscoder.sandbox.runtimes import get_runtime

    ds = _previous(out, "extract")
    # "is this import available" asks the runtime the block will run under, not this .venv
    modules = {"modules": sorted(get_runtime(cfg.sandbox.runtime).modules)}
    if cfg.extractor == "static":
        return ds.map_batches(extract_batch, batch_format="pandas", fn_kwargs=modules)
    from viscoder.data.llm import extraction_processor

    processor = extraction_processor(cfg.llm)
    if cfg.extractor == "llm":
        return _branch(ds, lambda r: r["stage"] == "" and r["source"] == "stack", processor)
    static = ds.map_batches(extract_batch, batch_format="pandas", fn_kwargs=modules).materialize()
    return _branch(static, lambda r: r["source"] == "stack" and llm_may_help(r["stage"], r["reason"]),
                   processor)


def step_execute(cfg: DataConfig, out: Path):
    import ray
    import ray.data

    from viscoder.data.execute import SandboxExecutor

    actors = cfg.exec_actors or max(1, int(ray.cluster_resources().get("CPU", 2)) - 1)
    # Ray Data's actor pools restart a dead actor and re-run its batch (max_restarts=-1,
    # max_task_retries=-1 by default): nothing is lost or doubled (tests/data/test_pipeline.py).
    return _previous(out, "execute").map_batches(
        SandboxExecutor, batch_format="pandas", batch_size=cfg.exec_batch_rows,
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors), num_cpus=1,
        fn_constructor_kwargs={"sandbox_config": cfg.sandbox.model_dump()},
        resources=cfg.exec_resources or None)


def step_annotate(cfg: DataConfig, out: Path):
    from viscoder.data.annotate import annotate_template
    from viscoder.data.gates import gate_batch

    ds = _previous(out, "annotate")
    if cfg.annotator == "template":
        ds = ds.map_batches(annotate_template, batch_format="pandas")
    else:
        from viscoder.data.llm import annotation_processor

        ds = _branch(ds, lambda r: r["stage"] == "" and r["messages"] == "" and bool(r["code"]),
                     annotation_processor(cfg.llm))
    # the quality gates hold for either annotator: rejections with a "gate: ..." reason
    return ds.map_batches(gate_batch, batch_format="pandas")


def step_mix(cfg: DataConfig, out: Path):
    from viscoder.data.mix import add_dedup_keys, benchmark_ngrams, check_overlap, mark_duplicates

    ds = _previous(out, "mix")
    if cfg.dedup != "none":
        ds = ds.map_batches(add_dedup_keys, batch_format="pandas", fn_kwargs={"mode": cfg.dedup})
        ds = ds.groupby("dedup_key").map_groups(mark_duplicates, batch_format="pandas")
    if cfg.dedup == "near":
        from viscoder.data.neardup import near_duplicates

        ds, summary = near_duplicates(ds, cfg.near_dup_threshold, cfg.minhash_perm,
                                      cfg.shingle_tokens)
        (out / NEAR_DUPLICATES).write_text(json.dumps(summary, indent=2))
    grams = benchmark_ngrams(cfg.benchmark_paths, cfg.overlap_ngram) if cfg.benchmark_paths else set()
    return ds.map_batches(check_overlap, batch_format="pandas",
                          fn_kwargs={"grams": grams, "n": cfg.overlap_ngram,
                                     "threshold": cfg.overlap_threshold})


def step_export(cfg: DataConfig, out: Path) -> dict[str, Any]:
    from ray.data.expressions import col

    from viscoder.data.card import write_card
    from viscoder.data.export import (
        DATASET_COLUMNS,
        REJECT_COLUMNS,
        to_dataset_rows,
        to_reject_rows,
        write_jsonl,
    )

    ds = _previous(out, "export")
    for name in ("dataset", "rejects"):
        if (out / name).exists():
            shutil.rmtree(out / name)
    accepted = ds.filter(expr=col("stage") == "")
    accepted.map_batches(to_dataset_rows, batch_format="pandas",
                         fn_kwargs={"runtime": cfg.sandbox.runtime_label}).write_parquet(
        str(out / "dataset"), min_rows_per_file=cfg.shard_rows)
    ds.filter(expr=col("stage") != "").map_batches(to_reject_rows, batch_format="pandas") \
        .write_parquet(str(out / "rejects"))
    for name, columns in (("dataset", DATASET_COLUMNS), ("rejects", REJECT_COLUMNS)):
        _ensure_table(out / name, columns)
    stats = _stats(ds, cfg)
    stats["runtime"] = {"name": cfg.sandbox.runtime_label, "versions": cfg.sandbox.runtime_versions}
    if cfg.jsonl:
        write_jsonl(out / "dataset", out / "dataset.jsonl")
    examples = [{"id": r["id"], "source": r["source"],
                 "library": primary_library(r["libraries"]), "png": r["image"] or None,
                 "messages": json.loads(r["messages"]), "instruction": r["instruction"]}
                for r in accepted.take(cfg.card_examples)] if cfg.card_examples else []
    (out / "stats.json").write_text(json.dumps(stats, indent=2))
    near = out / NEAR_DUPLICATES
    write_card(out, stats, examples, json.loads(near.read_text()) if near.exists() else None)
    return stats


def _ensure_table(folder: Path, columns: list[str]) -> None:
    """Ray writes no file for an empty result; readers still expect a (empty) table."""
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.glob("*.parquet")):
        import pandas as pd

        pd.DataFrame({c: pd.Series([], dtype=object) for c in columns}).to_parquet(
            folder / "part-empty.parquet")


def _stats(ds, cfg: DataConfig) -> dict[str, Any]:
    small = ds.select_columns(["source", "libraries", "stage", "reason", "benchmark_overlap"])
    frame = small.to_pandas()  # a few short strings per row: small even for millions of rows
    kept = frame[frame["stage"] == ""]
    gone = frame[frame["stage"] != ""]
    kind = gone["reason"].str.replace(r" \(.*", "", regex=True).str.replace(
        r"duplicate of .*", "duplicate", regex=True)
    stats: dict[str, Any] = {
        "rows_in": len(frame), "accepted": len(kept), "rejected": len(gone),
        "rows_in_by_source": frame.groupby("source").size().to_dict(),
        "accepted_by_source_library": {
            f"{s}/{lib}": int(n) for (s, lib), n in kept.assign(
                library=kept["libraries"].map(primary_library)).groupby(
                ["source", "library"]).size().items()},
        "rejected_by_stage_reason": {
            f"{s}: {r}": int(n) for (s, r), n in
            gone.assign(kind=kind).groupby(["stage", "kind"]).size().items()},
    }
    per_step, remaining = {}, len(frame)
    for step in ("filter", "ingest", "extract", "execute", "annotate", "dedup", "overlap"):
        dropped = int((gone["stage"] == step).sum())
        if step in ("filter", "ingest") and dropped == 0:
            continue
        per_step[step] = {"in": remaining, "rejected": dropped, "out": remaining - dropped}
        remaining -= dropped
    stats["per_step"] = per_step
    stats["per_source_step"] = {}
    for source, rows in frame.groupby("source"):
        left, funnel = len(rows), {}
        for step in ("filter", "ingest", "extract", "execute", "annotate", "dedup", "overlap"):
            dropped = int((rows["stage"] == step).sum())
            if dropped or step in ("extract", "execute", "annotate", "dedup"):
                funnel[step] = {"in": left, "rejected": dropped, "out": left - dropped}
                left -= dropped
        stats["per_source_step"][source] = funnel
    if cfg.benchmark_paths:
        overlap = frame["benchmark_overlap"]
        stats["benchmark_overlap"] = {
            "ngram": cfg.overlap_ngram, "threshold": cfg.overlap_threshold,
            "max": float(overlap.max()), "mean": float(overlap.mean()),
            "dropped": int((gone["stage"] == "overlap").sum())}
    return stats


STEP_FUNCTIONS = {"ingest": step_ingest, "extract": step_extract, "execute": step_execute,
                  "annotate": step_annotate, "mix": step_mix}


def run_data(cfg: DataConfig, steps: list[str] | None = None, force: bool = False) -> dict[str, Any]:
    out = Path(cfg.output_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    # the execution runtime's library versions go into config.yaml and the dataset card
    cfg.sandbox = cfg.sandbox.resolve_runtime()
    cfg.write(out / "config.yaml")
    unknown = set(steps or ()) - set(STEPS)
    if unknown:
        raise ValueError(f"unknown steps {sorted(unknown)}; the steps are {', '.join(STEPS)}")
    ensure_ray(cfg.ray_address)
    stats: dict[str, Any] = {}
    for step in STEPS:
        if steps and step not in steps:
            continue
        done = (_stage_dir(out, step) / "_SUCCESS").exists() or (
            step == "export" and (out / "stats.json").exists())
        if done and not force and not steps:
            print(f"[data] {step}: done in an earlier run, skipped", flush=True)
            continue
        started = time.time()
        print(f"[data] {step} ...", flush=True)
        if step == "export":
            stats = step_export(cfg, out)
        else:
            _write(STEP_FUNCTIONS[step](cfg, out), out, step)
        print(f"[data] {step}: {time.time() - started:.1f} s", flush=True)
    if not stats and (out / "stats.json").exists():
        stats = json.loads((out / "stats.json").read_text())
    if stats:
        _print_counts(stats)
    return stats


def _print_counts(stats: dict[str, Any]) -> None:
    print(f"[data] {stats['rows_in']} rows in: {stats['accepted']} accepted, "
          f"{stats['rejected']} rejected", flush=True)
    for step, c in stats["per_step"].items():
        print(f"[data]   {step:<9} in {c['in']:>8}  rejected {c['rejected']:>8}  out {c['out']:>8}")
