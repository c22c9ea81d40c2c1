"""Measure a checkout's data stage on the real-world corpus: the funnel and why rows are lost.

    # "before" (HEAD in a worktree) and "after" (the working tree), same corpus, same settings:
    git worktree add /tmp/viscoder-head HEAD
    .venv/bin/python scripts/measure_corpus.py --checkout /tmp/viscoder-head --out .corpus/baseline
    .venv/bin/python scripts/measure_corpus.py --checkout . --out .corpus/after \
        --sandbox '{"runtime": "default"}'
    # only re-read a finished run (new classification rules, no re-execution):
    .venv/bin/python scripts/measure_corpus.py --out .corpus/baseline --summarise-only
    # another tranche of the corpus (the second, longer files), same settings:
    .venv/bin/python scripts/measure_corpus.py --checkout /tmp/viscoder-head \
        --out .corpus/baseline_long --folders plotting=plotting_long

The corpus is a folder with ``plotting/*.py`` and ``other/*.py`` (see docs/corpus.md for how it
was chosen). The script writes ``<out>/corpus.jsonl`` (one row per file: ``id`` = kind/file name,
``text``), a data config ``<out>/data.yaml`` (static extractor, template annotator, no LLM,
one sandbox actor), runs ``python -m viscoder.cli data`` inside the checkout (``PYTHONPATH`` =
the checkout, so the checkout's code is measured, not the installed one), then reads the run's
``stats.json`` and rejects and writes ``<out>/funnel.md`` (tables), ``<out>/rejects.csv`` (one
row per rejected file with its reason class) and ``<out>/summary.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml

# Reason classes, checked in order; the first whose pattern matches "stage: reason" wins.
# Patterns look only at the reason text the pipeline records (exception type and message).
VERSION_BREAKS = [
    # (library, pattern of the error a removed or changed API raises under current versions)
    ("pandas", r"has no attribute '(append|iteritems|swapaxes|lookup|ix|as_matrix|get_value|"
               r"set_value|is_monotonic|mad|backfill)'|unexpected keyword argument "
               r"'(how|line_terminator|squeeze|date_parser|infer_datetime_format)'|"
               r"pivot\(\) takes 1 positional|Passing a set as an indexer"),
    ("numpy", r"module 'numpy' has no attribute '(float|int|bool|object|str|long|unicode|"
              r"complex|NaN|Inf|PINF|NINF|infty|alltrue|sometrue|product|cumproduct|"
              r"round_|asfarray|row_stack|trapz|in1d|msort|string_|unicode_)'|"
              r"The binary mode of fromstring"),
    ("matplotlib", r"has no attribute '(hold|get_cmap|set_color_cycle|tostring_rgb|"
                   r"ColorbarBase|make_axes)'|No module named 'matplotlib\.(matlab|finance)'|"
                   r"not found in the style library|is not a valid package style|"
                   r"unexpected keyword argument '(normed|b|hold|[A-Z]\w*)'|"
                   r"gca\(\) got an unexpected keyword argument 'projection'|"
                   r"keyword grid_b is not recognized|"
                   r"bar\(\) missing 1 required positional argument: 'x'"),
    ("seaborn", r"has no attribute '(distplot|tsplot|factorplot|lvplot)'|"
                r"plot\(\) got multiple values for argument 'data'"),
    ("plotly", r"has no attribute '(scatter_mapbox|line_mapbox|choropleth_mapbox|"
               r"density_mapbox|iplot)'|titlefont|No module named 'plotly\.plotly'|"
               r"chart_studio"),
]

RULES = [
    ("non-plotting file dropped by the filter", r"^filter: no_plotting_library"),
    ("filter: other", r"^filter: "),
    ("syntax: IPython magics / shell escapes", r"^extract: syntax_error.*\[magic\]"),
    ("syntax: Python 2", r"^extract: syntax_error.*\[py2\]"),
    ("syntax: other (broken file)", r"^extract: syntax_error"),
    ("missing module", r"^extract: unavailable_module"),
    ("extract: undefined name (star import / never defined)", r"^extract: undefined_"),
    ("extract: no plotting call", r"^extract: no_plotting_(call|import)"),
    ("extract: other", r"^extract: "),
    ("timeout", r"^execute: timeout"),
    ("memory / resource limit", r"^execute: (oom|memory|killed|resource|crash)"),
    ("ran, image blank", r"^execute: blank image"),
    ("ran, no figure", r"^execute: (no_plot|no_figure|no figure)"),
    ("missing module", r"ModuleNotFoundError|No module named|ImportError"),
    ("sandbox environment (read-only home, no /dev/urandom)", r"Read-only file system|"
     r"/dev/urandom"),
    ("file or network access the mock did not replace", r"FileNotFoundError|No such file|"
     r"URLError|ConnectionError|gaierror|HTTPError|Max retries|NewConnectionError|"
     r"_src\.empty\(\)|FileExistsError|PermissionError"),
    ("extractor artefact (show() on a non-figure)", r"object has no attribute 'show'"),
    ("runtime error on mock data, or a bug in the file", r"KeyError|IndexError|ValueError|"
     r"TypeError|AttributeError|ZeroDivisionError|NameError|UnboundLocalError"),
    ("execute: other error", r"^execute: "),
    ("annotate", r"^annotate: "),
    ("dedup (duplicate of another row)", r"^dedup: "),
    ("overlap with a benchmark", r"^overlap: "),
]


def classify(stage: str, reason: str) -> str:
    text = f"{stage}: {reason}"
    if stage == "execute":
        for lib, pattern in VERSION_BREAKS:
            if re.search(pattern, text):
                return f"library-version breakage ({lib})"
    for name, pattern in RULES:
        if re.search(pattern, text):
            return name
    return f"{stage}: unclassified"


def syntax_kind(text: str) -> str:
    """Why a file does not parse, from compiling it (never running it): a tag for classify."""
    try:
        compile(text, "<corpus>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        if line[:1] in "%!" or re.match(r"^\w+\s*=\s*[%!]", line):
            return "[magic]"
        if "Missing parentheses" in str(exc.msg) or re.match(r"^(print|exec)\s+[^(=]", line) \
                or re.match(r"^except\s+\w+\s*,", line):
            return "[py2]"
        return f"[{exc.msg}]"
    except ValueError:  # e.g. NUL bytes
        return "[unparsable]"
    return "[parses here]"


def missing_module(reason: str) -> str:
    found = re.search(r"No module named '([^'.]+)", reason) or re.search(
        r"cannot import name '[^']+' from '([^'.]+)", reason) or re.search(
        r"unavailable_module: ([\w]+)", reason)
    return found.group(1) if found else ""


def build_jsonl(corpus: Path, path: Path, folders: dict[str, str] | None = None) -> Counter:
    """``folders`` maps a kind to its folder under the corpus (default: each kind's own name), so
    another tranche (e.g. ``plotting_long``) is measured with the same ids and reason classes."""
    folders = folders or {"plotting": "plotting", "other": "other"}
    kinds: Counter = Counter()
    with path.open("w") as out:
        for kind, folder in folders.items():
            for f in sorted((corpus / folder).glob("*.py")):
                text = f.read_bytes().decode("utf-8", errors="replace")
                out.write(json.dumps({"id": f"{kind}/{f.stem}", "text": text}) + "\n")
                kinds[kind] += 1
    return kinds


def write_config(out: Path, jsonl: Path, sandbox: dict) -> Path:
    cfg = {
        "output_dir": str(out / "run"),
        "raw": {"paths": [str(jsonl)]},
        "extractor": "static", "annotator": "template",
        "exec_actors": 1, "dedup": "near", "jsonl": True,
        # 30 s, not the 10 s default: the measuring machine is shared and loaded, and a
        # script that is merely slow there should not count as a timeout.
        "sandbox": {"timeout_s": 30, **sandbox},
    }
    path = out / "data.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def run(checkout: Path, config: Path, python: str, log: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    with log.open("w") as fh:
        proc = subprocess.run([python, "-m", "viscoder.cli", "data", "--config", str(config), "--force"],
                              cwd=checkout, env=env, stdout=fh, stderr=subprocess.STDOUT)
    return proc.returncode


def read_rejects(run_dir: Path) -> pd.DataFrame:
    files = sorted((run_dir / "rejects").glob("*.parquet"))
    frames = [pd.read_parquet(f) for f in files]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["id", "source", "stage", "reason"])
    return frame.astype(str)


def summarise(out: Path) -> dict:
    run_dir = out / "run"
    stats = json.loads((run_dir / "stats.json").read_text())
    rejects = read_rejects(run_dir)
    # Row ids carry a source prefix the pipeline adds ("stack/plotting/..."): match on the tail.
    texts = {_corpus_id(row["id"]): row["text"] for row in map(
        json.loads, (out / "corpus.jsonl").read_text().splitlines())}
    bad = rejects["reason"].str.startswith("syntax_error")
    rejects.loc[bad, "reason"] = [f"{r} {syntax_kind(texts.get(_corpus_id(i), ''))}" for i, r in
                                  zip(rejects.loc[bad, "id"], rejects.loc[bad, "reason"], strict=True)]
    rejects["kind"] = rejects["id"].map(_kind)
    rejects["class"] = [classify(s, r) for s, r in zip(rejects["stage"], rejects["reason"], strict=True)]
    rejects["module"] = rejects["reason"].map(missing_module)
    rejects.sort_values(["class", "id"]).to_csv(
        out / "rejects.csv", index=False, quoting=csv.QUOTE_MINIMAL,
        columns=["id", "kind", "stage", "class", "module", "reason"])
    kinds = Counter(json.loads(line)["id"].split("/")[0]
                    for line in (out / "corpus.jsonl").read_text().splitlines())
    accepted_ids = _accepted_ids(run_dir)
    log = out / "run.log"
    seconds = dict(re.findall(r"^\[data\] (\w+): ([\d.]+) s$", log.read_text(), re.M)
                   ) if log.exists() else {}
    summary = {
        "rows_in": stats.get("rows_in", 0), "accepted": stats.get("accepted", 0),
        "step_seconds": {k: float(v) for k, v in seconds.items()},
        "rows_in_by_kind": dict(kinds),
        "accepted_by_kind": dict(Counter(_kind(i) for i in accepted_ids)),
        "per_step": stats.get("per_step", {}),
        "classes": {k: dict(Counter(rejects.loc[rejects["class"] == k, "kind"]))
                    for k in rejects["class"].value_counts().index},
        "missing_modules": dict(Counter(m for m in rejects["module"] if m).most_common()),
        "version_breaks_by_reason": dict(Counter(
            _short(r) for r, c in zip(rejects["reason"], rejects["class"], strict=True)
            if c.startswith("library-version")).most_common()),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "funnel.md").write_text(render(summary))
    return summary


def _accepted_ids(run_dir: Path) -> list[str]:
    files = sorted((run_dir / "dataset").glob("*.parquet"))
    return [i for f in files for i in pd.read_parquet(f, columns=["id"])["id"].astype(str)]


def _corpus_id(row_id: str) -> str:
    found = re.search(r"(?:^|/)((?:plotting|other)/.*)$", row_id)
    return found.group(1) if found else row_id


def _kind(row_id: str) -> str:
    found = re.search(r"(?:^|/)(plotting|other)/", row_id)
    return found.group(1) if found else "?"


def _short(reason: str) -> str:
    """The exception line without quoted values: a reason class key, no code quoted."""
    head = reason.split(" (", 1)[-1].rstrip(")")
    return re.sub(r"\s+", " ", head)[:120]


def render(s: dict) -> str:
    lines = ["| step | in | rejected | out |", "| --- | ---: | ---: | ---: |"]
    for step, v in s["per_step"].items():
        lines.append(f"| {step} | {v['in']} | {v['rejected']} | {v['out']} |")
    lines.append(f"| **accepted** | | | **{s['accepted']}** of {s['rows_in']} "
                 f"(plotting {s['accepted_by_kind'].get('plotting', 0)}/"
                 f"{s['rows_in_by_kind'].get('plotting', 0)}, other "
                 f"{s['accepted_by_kind'].get('other', 0)}/"
                 f"{s['rows_in_by_kind'].get('other', 0)}) |")
    if s.get("step_seconds"):
        lines += ["", "Step wall time (s, one sandbox actor, loaded shared machine): " + ", ".join(
            f"{k} {v:.1f}" for k, v in s["step_seconds"].items())]
    lines += ["", "| rejection class | plotting files | other files |", "| --- | ---: | ---: |"]
    for name, by_kind in s["classes"].items():
        lines.append(f"| {name} | {by_kind.get('plotting', 0)} | {by_kind.get('other', 0)} |")
    if s["missing_modules"]:
        lines += ["", "| missing module | files |", "| --- | ---: |"]
        lines += [f"| {m} | {n} |" for m, n in s["missing_modules"].items()]
    if s["version_breaks_by_reason"]:
        lines += ["", "| version-breakage error | files |", "| --- | ---: |"]
        lines += [f"| {r.replace('|', '/')} | {n} |" for r, n in s["version_breaks_by_reason"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = Path(__file__).resolve().parent.parent
    ap.add_argument("--checkout", type=Path, default=repo, help="the viscoder tree to measure")
    ap.add_argument("--corpus", type=Path, default=repo / ".corpus")
    ap.add_argument("--out", type=Path, required=True, help="results folder (kept outside git)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with the deps")
    ap.add_argument("--sandbox", default="{}", help="JSON merged into the data config's sandbox")
    ap.add_argument("--summarise-only", action="store_true", help="re-read a finished run")
    ap.add_argument("--folders", default="plotting=plotting,other=other",
                    help="kind=folder pairs under --corpus, e.g. plotting=plotting_long")
    args = ap.parse_args(argv)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    if not args.summarise_only:
        folders = dict(pair.split("=", 1) for pair in args.folders.split(",") if pair)
        kinds = build_jsonl(args.corpus.resolve(), out / "corpus.jsonl", folders)
        print(f"corpus: {dict(kinds)} -> {out / 'corpus.jsonl'}")
        config = write_config(out, out / "corpus.jsonl", json.loads(args.sandbox))
        code = run(args.checkout.resolve(), config, args.python, out / "run.log")
        if code != 0:
            print(f"viscoder data exited {code}; see {out / 'run.log'}", file=sys.stderr)
            return code
    summary = summarise(out)
    print((out / "funnel.md").read_text())
    print(f"accepted {summary['accepted']} of {summary['rows_in']}; details in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
