"""Per-core rates of the data steps, and a projection of the 1.7M-file run.

    .venv/bin/python benchmarks/data_throughput.py [--files 20000] [--exec-scripts 24]
    .venv/bin/python benchmarks/data_throughput.py --corpus .corpus/plotting   # real files

* filter: files/s on one core over a corpus of real Python source (the standard library's
  own files, plus plotting files), against the naive baseline that parses every file with
  `ast` (measured in the same run). Target: >= 20,000 files/s per core.
* static extractor: plotting files/s on one core, and its yield on the test corpus (or on
  the folders given with --corpus, e.g. the real-world corpus).
* execute: scripts/s of one warm sandbox on the extracted blocks (with the image gate).
* annotate (template, with the instruction gates): rows/s on one core.
* near-duplicates: MinHash signatures/s on one core.
Then cores x hours for 1.7M files, assuming every one of them is a plotting candidate (an
upper bound: in a raw corpus most files stop at the filter).
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import sysconfig
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CORPUS = REPO / "tests" / "data" / "corpus"
SCRIPTS = REPO / "viscoder" / "examples" / "scripts"


def corpus(n: int) -> list[str]:
    stdlib = sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py"))
    texts = []
    for p in stdlib:
        try:
            texts.append(p.read_text())
        except (UnicodeDecodeError, OSError):
            continue
    plotting = [p.read_text() for p in sorted(CORPUS.glob("*.py")) + sorted(SCRIPTS.glob("*.py"))]
    out = []
    for i in range(n):
        out.append(plotting[i % len(plotting)] if i % 10 == 0 else texts[i % len(texts)])
    return out


def rate(fn, items) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--files", type=int, default=20000)
    p.add_argument("--exec-scripts", type=int, default=24)
    p.add_argument("--total-files", type=int, default=1_700_000)
    p.add_argument("--corpus", nargs="*", default=None, help="folders of plotting .py files "
                   "for the extract/execute/annotate rates (default: the test corpus and the "
                   "example scripts)")
    args = p.parse_args()

    from viscoder.data.annotate import template_parts
    from viscoder.data.filter import LibraryFilter
    from viscoder.data.gates import image_gate, instruction_gate
    from viscoder.data.neardup import signature
    from viscoder.data.static_extract import extract_static
    from viscoder.sandbox import Sandbox, SandboxConfig

    files = corpus(args.files)
    mean_kb = sum(len(t) for t in files) / len(files) / 1024
    check = LibraryFilter()
    filter_rate = rate(check, files)
    kept = [t for t in files if check(t).kept]

    def parse_all(text):
        try:
            ast.parse(text)
        except SyntaxError:
            pass

    baseline = rate(parse_all, files[: max(200, args.files // 20)])
    print(f"filter: {filter_rate:,.0f} files/s per core (mean {mean_kb:.1f} KB/file, "
          f"{len(kept)}/{len(files)} kept); ast.parse-everything baseline {baseline:,.0f} files/s; "
          f"ratio {filter_rate / baseline:.0f}x; target >= 20,000: "
          f"{'met' if filter_rate >= 20000 else 'NOT met'}")

    dirs = [Path(d) for d in args.corpus] if args.corpus else [CORPUS, SCRIPTS]
    candidates = [p.read_text(errors="replace") for d in dirs for p in sorted(d.glob("*.py"))]
    results = [extract_static(t) for t in candidates]
    extract_rate = rate(extract_static, candidates * max(1, 400 // len(candidates)))
    blocks = [r.code for r in results if r.code]
    print(f"static extractor: {extract_rate:,.0f} files/s per core; extracted "
          f"{len(blocks)}/{len(candidates)} of the test corpus + example scripts")

    with Sandbox(SandboxConfig()) as sandbox:
        sandbox.run(blocks[0])  # warm-up: imports and the first figure
        todo = (blocks * (args.exec_scripts // len(blocks) + 1))[: args.exec_scripts]
        started = time.perf_counter()
        outcomes = []
        for code in todo:
            outcome = sandbox.run(code)
            pngs = [f.png for f in outcome.counted_figures if f.png and not f.blank]
            outcomes.append((outcome, any(image_gate(png) is None for png in pngs)))
        exec_rate = len(todo) / (time.perf_counter() - started)
    rendered = sum(1 for o, good in outcomes if o.ok and good)
    print(f"execute: {exec_rate:.2f} scripts/s per sandbox (core); {rendered}/{len(todo)} rendered")

    facts = [json.loads(json.dumps({"mocked": r.mocked}))  # figure facts: computed by annotate
             for r in results if r.code]
    pairs = list(zip(blocks, facts, strict=True)) * max(1, 1000 // len(blocks))

    def annotate(pair):
        parts = template_parts(pair[0], pair[1], ["matplotlib"])
        return instruction_gate(parts, pair[0], mocked=pair[1]["mocked"])

    annotate_rate = rate(annotate, pairs)
    print(f"annotate (template + gates): {annotate_rate:,.0f} rows/s per core")
    minhash_rate = rate(lambda code: signature(code, 128, 5), blocks * max(1, 400 // len(blocks)))
    print(f"near-duplicates: {minhash_rate:,.0f} MinHash signatures/s per core")

    n = args.total_files
    per_file_s = (1 / filter_rate + 1 / extract_rate + 1 / exec_rate + 1 / annotate_rate
                  + 1 / minhash_rate)
    core_hours = n * per_file_s / 3600
    print(f"\nprojection for {n:,} files, all plotting candidates (upper bound): "
          f"{core_hours:,.0f} core-hours; execution is {100 / exec_rate / per_file_s:.0f}% of it")
    for cores in (100, 500, 1000):
        print(f"  {cores:>5} cores: {core_hours / cores:6.2f} h")


if __name__ == "__main__":
    main()
