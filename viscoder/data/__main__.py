"""``viscoder data``: build the chat-format SFT dataset of plotting code on Ray Data.

    viscoder data --config configs/data/viscode.yaml                  # a cluster, the full corpus
    viscoder data --config configs/tiny/data.yaml                     # the bundled tiny inputs
    viscoder data --config configs/tiny/data.yaml --steps execute,annotate   # re-run two steps
    viscoder data --config configs/tiny/data.yaml --force                     # everything again

Writes output_dir/dataset/ (Parquet), rejects/, stats.json, README.md (dataset card),
config.yaml and the per-step outputs under stages/. Started again, it skips finished steps.
Exit status: 0 done; 2 bad configuration (a key, or an input path that cannot be read), before
any work; 1 a failure while running.
"""

from __future__ import annotations

import argparse
import logging
import sys

from viscoder.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(prog="viscoder data", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="a YAML DataConfig")
    p.add_argument("--steps", help="comma-separated steps to (re-)run; default: all unfinished")
    p.add_argument("--force", action="store_true", help="re-run finished steps")
    p.add_argument("--runtime", help="execution runtime the blocks run under (sandbox.runtime; "
                   "default: default); see `python -m viscoder.sandbox.runtimes list`")
    p.add_argument("overrides", nargs="*", default=[], help="key=value settings of DataConfig")
    args = p.parse_args(argv)
    from viscoder.data.config import DataConfig
    from viscoder.data.pipeline import STEPS, run_data

    try:
        cfg = load_config(DataConfig, args.config, args.overrides,
                          {"sandbox.runtime": args.runtime} if args.runtime else None)
        check_inputs(cfg)
        steps = [s.strip() for s in args.steps.split(",")] if args.steps else None
        unknown = sorted(set(steps or ()) - set(STEPS))
        if unknown:
            raise ConfigError(f"--steps: unknown {unknown}; the steps are {', '.join(STEPS)}")
    except ConfigError as exc:
        print(f"viscoder data: {exc}", file=sys.stderr)
        return 2
    try:
        run_data(cfg, steps=steps, force=args.force)
    except (FileNotFoundError, ValueError) as exc:
        print(f"viscoder data: {exc}", file=sys.stderr)
        return 1
    return 0


def check_inputs(cfg) -> None:
    """Every input path can be read as a table (viscoder.tables' rules), before Ray starts;
    a ConfigError names the key."""
    from viscoder.tables import TableError, resolve

    for key in ("raw", "cosyn", "feedback"):
        source = getattr(cfg, key)
        if source is None:
            continue
        try:
            resolve(source.paths)
        except TableError as exc:
            raise ConfigError(f"{key}.paths: {exc}") from None
    from viscoder.sandbox.runtimes import RuntimeUnavailable, get_runtime

    try:  # an unbuilt runtime fails here, naming the built ones, before Ray starts
        get_runtime(cfg.sandbox.runtime)
    except RuntimeUnavailable as exc:
        raise ConfigError(f"sandbox.runtime: {exc}") from None

if __name__ == "__main__":
    sys.exit(main())
