"""``viscoder exec``: run a folder of scripts (or a JSONL of {"id", "code"}) in the sandbox.

    viscoder exec examples/scripts --out runs/exec/results.jsonl --workers 2

Writes one JSON line per input (status, error type and message, cleaned traceback, image
paths, blank flag, duration) and the PNGs under ``<OUT stem>_images/``. Exit status 0 when
every input got its line, whatever the scripts did; 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import collections
import logging
import sys
import time
from pathlib import Path

from viscoder.config import ConfigError, load_config
from viscoder.sandbox.config import SandboxConfig
from viscoder.sandbox.executor import SandboxPool, WorkerUnavailable
from viscoder.sandbox.inputs import BadInput, InputError, count_inputs, iter_inputs
from viscoder.sandbox.result import ExecResult, ExecStatus, safe_stem
from viscoder.sandbox.runtimes import RuntimeUnavailable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="viscoder exec", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", help="a folder of .py files or a .jsonl file of {id, code}")
    parser.add_argument("--out", required=True, help="output JSONL, one line per input")
    parser.add_argument("--workers", type=int, default=1, help="warm workers (about one per core)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per script (10)")
    parser.add_argument("--memory-mb", type=int, default=None, help="memory per script (2048)")
    parser.add_argument("--backend", choices=["fork", "jupyter"], default=None)
    parser.add_argument("--runtime", default=None,
                        help="execution runtime (default: default); see "
                        "`python -m viscoder.sandbox.runtimes list`")
    parser.add_argument("--config", default=None, help="a YAML SandboxConfig")
    parser.add_argument("--images-dir", default=None, help="where PNGs go (<OUT stem>_images)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("overrides", nargs="*", default=[],
                        help="key=value settings of SandboxConfig, e.g. dpi=80")
    return parser


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(SandboxConfig, args.config, args.overrides, timeout_s=args.timeout,
                             memory_mb=args.memory_mb, backend=args.backend,
                             runtime=args.runtime)
        config = config.resolve_runtime()  # records the runtime's versions in OUT.config.yaml
    except (ConfigError, RuntimeUnavailable) as exc:
        print(f"viscoder exec: {exc}", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("viscoder exec: --workers must be at least 1", file=sys.stderr)
        return 2
    out = Path(args.out)
    images_dir = Path(args.images_dir) if args.images_dir else out.parent / f"{out.stem}_images"
    try:
        items = iter_inputs(args.input)
        first = next(items, None)
    except InputError as exc:
        print(f"viscoder exec: {exc}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    config.write(out.parent / f"{out.stem}.config.yaml")
    if first is None:
        out.write_text("")
        print(f"viscoder exec: no scripts in {args.input} (nothing to run); wrote empty {out}",
              file=sys.stderr)
        return 0

    counts: collections.Counter[str] = collections.Counter()
    bad: list[BadInput] = []
    stems: set[str] = set()

    def runnable():
        for item in _chain(first, items):
            if isinstance(item, BadInput):
                bad.append(item)
            else:
                yield item

    progress = _progress(args.quiet, count_inputs(args.input))
    started = time.monotonic()
    with out.open("w", encoding="utf-8") as fh:
        def emit(result: ExecResult) -> None:
            stem = _unique_stem(result.id, stems)
            result.save_images(images_dir, stem)
            fh.write(result.to_json() + "\n")
            fh.flush()
            counts[result.status.value] += 1
            progress.update(1)
            progress.set_postfix_str(" ".join(f"{k}={v}" for k, v in sorted(counts.items())))

        try:
            for result in SandboxPool(config, args.workers).imap_unordered(runnable()):
                emit(result)
                while bad:
                    emit(_bad_result(bad.pop(0)))
        except WorkerUnavailable as exc:
            print(f"viscoder exec: the sandbox cannot start here: {exc}", file=sys.stderr)
            return 1
        while bad:
            emit(_bad_result(bad.pop(0)))
    progress.close()
    total = sum(counts.values())
    elapsed = time.monotonic() - started
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"viscoder exec: {total} scripts in {elapsed:.1f} s ({summary}) -> {out}", file=sys.stderr)
    return 0


def _chain(first, rest):
    yield first
    yield from rest


def _bad_result(item: BadInput) -> ExecResult:
    return ExecResult(id=item.id, status=ExecStatus.ERROR, error_type=item.error_type,
                      error_message=item.reason)


def _unique_stem(task_id: str, seen: set[str]) -> str:
    stem = base = safe_stem(task_id)
    k = 1
    while stem in seen:
        k += 1
        stem = f"{base}-{k}"
    seen.add(stem)
    return stem


def _progress(quiet: bool, total: int | None):
    from tqdm import tqdm

    return tqdm(desc="exec", unit="script", total=total, disable=quiet, file=sys.stderr,
                dynamic_ncols=True)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
